// The raw blocking Kafka client of gregorctl (see protocol_client.h).

#include "tools/protocol_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gregor/config/broker_config.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/api_versions.h"

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

}  // namespace

// ---------------------------------------------------------------------------
// BrokerConnection

Result<std::unique_ptr<BrokerConnection>> BrokerConnection::Open(const HostPort& address,
                                                                 const std::string& client_id,
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
  GREGOR_RETURN_IF_ERROR(conn->AskApiVersions(deadline));
  return conn;
}

BrokerConnection::~BrokerConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Status BrokerConnection::Fail(const std::string& what) {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return Status::Unavailable(Where() + ": " + what);
}

Status BrokerConnection::SendAll(const std::string& bytes, Clock::time_point deadline) {
  size_t sent = 0;
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
  Result<std::unique_ptr<BrokerConnection>> conn =
      BrokerConnection::Open(address, client_id_, deadline_);
  if (!conn.ok()) return conn.status();
  BrokerConnection* raw = conn->get();
  connections_[key] = std::move(*conn);
  return raw;
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
