// The raw blocking Kafka client of gregorctl (see protocol_client.h).

#include "tools/protocol_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gregor/config/broker_config.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/api_versions.h"
#include "gregor/protocol/messages/sasl_authenticate.h"
#include "gregor/protocol/messages/sasl_handshake.h"
#include "gregor/security/sasl_client.h"

namespace gregor::tools {

namespace {

// The largest response accepted; anything bigger means the stream is not Kafka.
constexpr int32_t kMaxResponseBytes = 256 << 20;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1 << 30));
}

// Waits for `events` on fd until the deadline. 1: ready, 0: timed out, -1: errno.
int WaitFd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, RemainingMs(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return -1;
    return rc == 0 ? 0 : 1;
  }
}

std::string Errno(int err) { return std::strerror(err); }

// Connects to one resolved address. Returns the fd or -1 with *err set.
int ConnectOne(const addrinfo* ai, Clock::time_point deadline, std::string* err) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    *err = Errno(errno);
    return -1;
  }
  int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (rc != 0 && errno != EINPROGRESS) {
    *err = Errno(errno);
    ::close(fd);
    return -1;
  }
  if (rc != 0) {
    int w = WaitFd(fd, POLLOUT, deadline);
    if (w <= 0) {
      *err = w == 0 ? "connect timed out" : Errno(errno);
      ::close(fd);
      return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
      *err = Errno(so_error != 0 ? so_error : errno);
      ::close(fd);
      return -1;
    }
  }
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// The newest OpenSSL error on this thread's queue, as text ("" when none).
std::string TlsError() {
  unsigned long e = ::ERR_get_error();
  if (e == 0) return "";
  char buf[256];
  ::ERR_error_string_n(e, buf, sizeof(buf));
  ::ERR_clear_error();
  return buf;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

int KeyPassword(char* buf, int size, int /*rwflag*/, void* userdata) {
  const auto* password = static_cast<const std::string*>(userdata);
  if (password == nullptr || static_cast<int>(password->size()) > size) return 0;
  std::memcpy(buf, password->data(), password->size());
  return static_cast<int>(password->size());
}

}  // namespace

// ---------------------------------------------------------------------------
// BrokerConnection

Result<std::unique_ptr<BrokerConnection>> BrokerConnection::Open(const HostPort& address,
                                                                 const std::string& client_id,
                                                                 const ClientSecurity& security,
                                                                 ssl_ctx_st* tls,
                                                                 Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(address.port);
  int gai = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    return Status::Unavailable("broker " + address.ToString() +
                               ": cannot resolve host: " + ::gai_strerror(gai));
  }
  std::string err = "no address";
  int fd = -1;
  for (const addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ConnectOne(ai, deadline, &err);
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    return Status::Unavailable("broker " + address.ToString() + ": cannot connect: " + err);
  }
  std::unique_ptr<BrokerConnection> conn(new BrokerConnection(fd, address, client_id));
  if (tls != nullptr) {
    GREGOR_RETURN_IF_ERROR(conn->StartTls(tls, security.verify_hostname, deadline));
  }
  GREGOR_RETURN_IF_ERROR(conn->AskApiVersions(deadline));
  if (security.sasl) GREGOR_RETURN_IF_ERROR(conn->Authenticate(security, deadline));
  return conn;
}

BrokerConnection::~BrokerConnection() {
  if (ssl_ != nullptr) ::SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

Status BrokerConnection::Fail(const std::string& what) {
  if (ssl_ != nullptr) {
    ::SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return Status::Unavailable(Where() + ": " + what);
}

Status BrokerConnection::StartTls(ssl_ctx_st* tls, bool verify_hostname,
                                  Clock::time_point deadline) {
  ssl_ = ::SSL_new(tls);
  if (ssl_ == nullptr || ::SSL_set_fd(ssl_, fd_) != 1) return Fail("TLS: " + TlsError());
  if (!IsIpLiteral(address_.host)) ::SSL_set_tlsext_host_name(ssl_, address_.host.c_str());
  if (verify_hostname) {
    // The broker's certificate must name the host we dialled (DNS or IP SAN).
    if (IsIpLiteral(address_.host)) {
      X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl_);
      if (::X509_VERIFY_PARAM_set1_ip_asc(param, address_.host.c_str()) != 1) {
        return Fail("TLS: " + TlsError());
      }
    } else if (::SSL_set1_host(ssl_, address_.host.c_str()) != 1) {
      return Fail("TLS: " + TlsError());
    }
  }
  while (true) {
    const int rc = ::SSL_connect(ssl_);
    if (rc == 1) return Status::Ok();
    const int err = ::SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const int w = WaitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
      if (w == 0) return Fail("TLS handshake timed out");
      if (w < 0) return Fail(Errno(errno));
      continue;
    }
    const long verify = ::SSL_get_verify_result(ssl_);
    std::string why = verify != X509_V_OK ? std::string("certificate verify failed: ") +
                                                ::X509_verify_cert_error_string(verify)
                                          : TlsError();
    if (why.empty()) why = "the broker closed the connection (is this a TLS listener?)";
    return Fail("TLS handshake failed: " + why);
  }
}

Status BrokerConnection::Authenticate(const ClientSecurity& security, Clock::time_point deadline) {
  protocol::SaslHandshakeRequest hello;
  hello.mechanism = security.sasl_mechanism;
  auto shake = Call<protocol::SaslHandshakeResponse>(hello, deadline, 1);
  if (!shake.ok()) return shake.status();
  if (shake->error_code != protocol::ErrorCode::kNone) {
    std::string offered;
    for (const auto& m : shake->mechanisms) offered += (offered.empty() ? "" : ", ") + m;
    return Fail("SASL mechanism " + security.sasl_mechanism + " refused (" +
                protocol::ErrorCodeName(shake->error_code) + "; the broker offers " +
                (offered.empty() ? std::string("none") : offered) + ")");
  }
  auto step = [&](const std::string& token) -> Result<std::string> {
    protocol::SaslAuthenticateRequest req;
    req.auth_bytes = token;
    auto resp = Call<protocol::SaslAuthenticateResponse>(req, deadline);
    if (!resp.ok()) return resp.status();
    if (resp->error_code != protocol::ErrorCode::kNone) {
      return Fail(std::string("authentication failed: ") +
                  protocol::ErrorCodeName(resp->error_code) +
                  (resp->error_message ? ": " + *resp->error_message : std::string()));
    }
    return std::move(resp->auth_bytes);
  };
  Status st = security::AuthenticateSaslClient(security.sasl_mechanism, security.sasl_username,
                                               security.sasl_password, step);
  if (!st.ok() && fd_ >= 0) return Fail(st.message());
  return st;
}

Status BrokerConnection::SendAll(const std::string& bytes, Clock::time_point deadline) {
  size_t sent = 0;
  while (ssl_ != nullptr && sent < bytes.size()) {
    const int n = ::SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    const int err = ::SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const int w = WaitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
      if (w == 0) return Fail("timed out sending a request");
      if (w < 0) return Fail(Errno(errno));
      continue;
    }
    return Fail("TLS send failed: " + TlsError());
  }
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int w = WaitFd(fd_, POLLOUT, deadline);
      if (w == 0) return Fail("timed out sending a request");
      if (w < 0) return Fail(Errno(errno));
      continue;
    }
    return Fail("send failed: " + Errno(errno));
  }
  return Status::Ok();
}

Status BrokerConnection::RecvExact(size_t n, std::string* out, Clock::time_point deadline) {
  out->resize(n);
  size_t got = 0;
  while (ssl_ != nullptr && got < n) {
    const int r = ::SSL_read(ssl_, out->data() + got, static_cast<int>(n - got));
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    const int err = ::SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      const int w = WaitFd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
      if (w == 0) return Fail("timed out waiting for a response");
      if (w < 0) return Fail(Errno(errno));
      continue;
    }
    if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL) {
      return Fail("connection closed by the broker");
    }
    return Fail("TLS receive failed: " + TlsError());
  }
  while (got < n) {
    ssize_t r = ::recv(fd_, out->data() + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Fail("connection closed by the broker");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int w = WaitFd(fd_, POLLIN, deadline);
      if (w == 0) return Fail("timed out waiting for a response");
      if (w < 0) return Fail(Errno(errno));
      continue;
    }
    return Fail("receive failed: " + Errno(errno));
  }
  return Status::Ok();
}

Result<std::string> BrokerConnection::RoundTrip(protocol::ApiKey key, int16_t version,
                                                const std::string& frame,
                                                Clock::time_point deadline) {
  if (fd_ < 0) return Status::Unavailable(Where() + ": connection is closed");
  GREGOR_RETURN_IF_ERROR(SendAll(frame, deadline));
  std::string head;
  GREGOR_RETURN_IF_ERROR(RecvExact(4, &head, deadline));
  protocol::Reader size_reader(head);
  const int32_t size = size_reader.Int32();
  if (size < 4 || size > kMaxResponseBytes) {
    return Fail("bad response size " + std::to_string(size));
  }
  std::string body;
  GREGOR_RETURN_IF_ERROR(RecvExact(static_cast<size_t>(size), &body, deadline));
  protocol::Reader r(body);
  const int32_t correlation_id = r.Int32();
  if (protocol::ResponseHeaderVersion(key, version) >= 1) r.SkipTaggedFields();
  if (!r.ok()) return Fail("unreadable response header");
  if (correlation_id != correlation_id_) {
    return Fail("response has correlation id " + std::to_string(correlation_id) + ", expected " +
                std::to_string(correlation_id_));
  }
  return body.substr(r.position());
}

Status BrokerConnection::AskApiVersions(Clock::time_point deadline) {
  // KIP-511: ask at our highest version; a broker that does not know it
  // answers UNSUPPORTED_VERSION in the v0 layout with its own range, and we
  // ask again at the highest version both speak.
  int16_t version = protocol::ApiVersionsRequest::kMaxVersion;
  for (int attempt = 0; attempt < 2; ++attempt) {
    protocol::ApiVersionsRequest req;
    req.client_software_name = "gregorctl";
    req.client_software_version = config::kGregorVersion;
    protocol::Writer w;
    w.Int32(0);
    protocol::EncodeRequestHeader(
        w, {protocol::ApiVersionsRequest::kApiKey, version, ++correlation_id_, client_id_});
    req.Encode(w, version);
    w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
    Result<std::string> body =
        RoundTrip(protocol::ApiKey::kApiVersions, version, w.Flatten(), deadline);
    if (!body.ok()) return body.status();
    protocol::ApiVersionsResponse resp;
    protocol::Reader r(*body);
    const bool decoded = resp.Decode(r, version) && r.ok();
    const protocol::ErrorCode unsupported = protocol::ErrorCode::kUnsupportedVersion;
    if (!decoded || resp.error_code == unsupported) {
      protocol::ApiVersionsResponse v0;
      protocol::Reader r0(*body);
      if (attempt == 0 && v0.Decode(r0, 0) && v0.error_code == unsupported) {
        int16_t peer_max = -1;
        for (const auto& k : v0.api_keys) {
          if (k.api_key == protocol::ApiVersionsRequest::kApiKey) peer_max = k.max_version;
        }
        if (peer_max >= 0 && peer_max < version) {
          version = peer_max;
          continue;
        }
      }
      return Fail("unreadable or refused ApiVersions v" + std::to_string(version) + " response");
    }
    if (resp.error_code != protocol::ErrorCode::kNone) {
      return Fail(std::string("ApiVersions: ") + protocol::ErrorCodeName(resp.error_code));
    }
    versions_.clear();
    for (const auto& k : resp.api_keys) versions_[k.api_key] = {k.min_version, k.max_version};
    return Status::Ok();
  }
  return Fail("ApiVersions did not converge");
}

Result<int16_t> BrokerConnection::PickVersion(protocol::ApiKey key, int16_t min,
                                              int16_t max) const {
  auto it = versions_.find(static_cast<int16_t>(key));
  if (it == versions_.end()) {
    return Status::InvalidArgument(Where() + " does not support " + protocol::ApiKeyName(key) +
                                   " (UNSUPPORTED_VERSION)");
  }
  const int16_t lo = std::max(min, it->second.first);
  const int16_t hi = std::min(max, it->second.second);
  if (hi < lo) {
    return Status::InvalidArgument(
        Where() + " speaks " + protocol::ApiKeyName(key) + " v" + std::to_string(it->second.first) +
        "-" + std::to_string(it->second.second) + ", gregorctl v" + std::to_string(min) + "-" +
        std::to_string(max) + " (UNSUPPORTED_VERSION)");
  }
  return hi;
}

// ---------------------------------------------------------------------------
// Cluster

Result<BrokerConnection*> Cluster::Connect(const HostPort& address) {
  const std::string key = address.ToString();
  auto it = connections_.find(key);
  if (it != connections_.end()) {
    if (!it->second->broken()) return it->second.get();
    connections_.erase(it);
  }
  ssl_ctx_st* tls = nullptr;
  if (security_.tls) {
    Result<ssl_ctx_st*> ctx = TlsContext();
    if (!ctx.ok()) return ctx.status();
    tls = *ctx;
  }
  Result<std::unique_ptr<BrokerConnection>> conn =
      BrokerConnection::Open(address, client_id_, security_, tls, deadline_);
  if (!conn.ok()) return conn.status();
  BrokerConnection* raw = conn->get();
  connections_[key] = std::move(*conn);
  return raw;
}

Result<ssl_ctx_st*> Cluster::TlsContext() {
  if (tls_) return tls_.get();
  std::shared_ptr<SSL_CTX> ctx(::SSL_CTX_new(::TLS_client_method()), ::SSL_CTX_free);
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("TLS: " + what + ": " + TlsError());
  };
  if (!ctx) return bad("cannot create a context");
  ::SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  ::SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY);
  if (security_.verify_certificate) {
    ::SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    const std::string& ca = security_.ca_location;
    struct stat st {};
    if (ca.empty() || ca == "probe") {
      if (::SSL_CTX_set_default_verify_paths(ctx.get()) != 1) return bad("system trust store");
    } else if (::stat(ca.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      if (::SSL_CTX_load_verify_locations(ctx.get(), nullptr, ca.c_str()) != 1) {
        return bad("ssl.ca.location " + ca);
      }
    } else if (::SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1) {
      return bad("ssl.ca.location " + ca);
    }
  }
  if (!security_.certificate_location.empty()) {
    ::SSL_CTX_set_default_passwd_cb(ctx.get(), KeyPassword);
    ::SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), &security_.key_password);
    if (::SSL_CTX_use_certificate_chain_file(ctx.get(), security_.certificate_location.c_str()) !=
        1) {
      return bad("ssl.certificate.location " + security_.certificate_location);
    }
    if (::SSL_CTX_use_PrivateKey_file(ctx.get(), security_.key_location.c_str(),
                                      SSL_FILETYPE_PEM) != 1 ||
        ::SSL_CTX_check_private_key(ctx.get()) != 1) {
      return bad("ssl.key.location " + security_.key_location);
    }
  }
  tls_ = std::move(ctx);
  return tls_.get();
}

Result<BrokerConnection*> Cluster::AnyBroker() {
  for (auto& [key, conn] : connections_) {
    if (!conn->broken()) return conn.get();
  }
  Status last = Status::Unavailable("no bootstrap server given");
  for (const auto& address : bootstrap_) {
    Result<BrokerConnection*> conn = Connect(address);
    if (conn.ok()) return conn;
    last = conn.status();
  }
  return last;
}

Result<const protocol::MetadataResponse*> Cluster::Metadata(bool refresh) {
  if (metadata_ && !refresh) return &*metadata_;
  Status last = Status::Unavailable("no broker reachable");
  // One attempt per reachable broker: a broker that fails is dropped and the
  // next one (or the next bootstrap server) is asked.
  for (size_t attempt = 0; attempt < bootstrap_.size() + connections_.size() + 1; ++attempt) {
    Result<BrokerConnection*> conn = AnyBroker();
    if (!conn.ok()) return conn.status();
    protocol::MetadataRequest req;
    Result<int16_t> v =
        (*conn)->PickVersion(protocol::ApiKey::kMetadata, protocol::MetadataRequest::kMinVersion,
                             protocol::MetadataRequest::kMaxVersion);
    if (!v.ok()) return v.status();
    // Every topic: null from v1 on (v0 spells it as an empty list).
    if (*v >= 1) req.topics.reset();
    req.allow_auto_topic_creation = false;
    Result<protocol::MetadataResponse> resp =
        (*conn)->Call<protocol::MetadataResponse>(req, *v, deadline_);
    if (resp.ok()) {
      metadata_ = std::move(*resp);
      return &*metadata_;
    }
    last = resp.status();
    Drop((*conn)->address());
    if (expired()) break;
  }
  return last;
}

Result<BrokerConnection*> Cluster::Broker(int32_t node_id) {
  Result<const protocol::MetadataResponse*> md = Metadata();
  if (!md.ok()) return md.status();
  for (const auto& b : (*md)->brokers) {
    if (b.node_id == node_id) return Connect(HostPort{b.host, b.port});
  }
  return Status::NotFound("broker " + std::to_string(node_id) +
                          " is not in the cluster's metadata (BROKER_NOT_AVAILABLE)");
}

}  // namespace gregor::tools
