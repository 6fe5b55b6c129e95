#include "gregor/network/broker_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "gregor/config/broker_config.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/api_versions.h"
#include "gregor/protocol/reader.h"

namespace gregor::network {

namespace {

using protocol::ApiKey;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Errno(int err) { return std::strerror(err); }

// Kafka's CommonClientConfigs: RECONNECT_BACKOFF_JITTER and the connection-setup jitter.
constexpr double kJitter = 0.2;

bool IsIpAddress(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// What went wrong in an OpenSSL call, with the certificate verdict when that is the cause.
std::string TlsError(SSL* ssl, int ssl_error, int saved_errno) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  unsigned long e = ERR_get_error();
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
  if (e != 0 && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return "connection closed by peer (no TLS close_notify)";
  }
#endif
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    return buf;
  }
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return "connection closed by peer";
  if (ssl_error == SSL_ERROR_SYSCALL) {
    return saved_errno != 0 ? Errno(saved_errno) : "connection closed by peer";
  }
  return "TLS error " + std::to_string(ssl_error);
}

// OpenSSL writes to the socket with write(2), which raises SIGPIPE on a reset connection.
// gregord ignores SIGPIPE; a library must not rely on that, so the signal is blocked on
// this thread around TLS writes and a SIGPIPE they raise is consumed (libpq does the same).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
  bool blocked_ = false;
};

}  // namespace

int64_t ExponentialBackoffMs(int64_t initial_ms, int64_t max_ms, int attempts, double jitter,
                             std::mt19937_64* rng) {
  if (initial_ms <= 0) return 0;
  // Kafka's ExponentialBackoff: with max <= initial there is no growth (and no jitter).
  if (max_ms <= initial_ms) return initial_ms;
  const double exp_max = std::log(static_cast<double>(max_ms) / initial_ms) / std::log(2.0);
  const double exp = std::min<double>(std::max(attempts, 0), exp_max);
  const double term = initial_ms * std::pow(2.0, exp);
  double factor = 1.0;
  if (jitter > 0 && rng != nullptr) {
    factor = std::uniform_real_distribution<double>(1 - jitter, 1 + jitter)(*rng);
  }
  const auto v = static_cast<int64_t>(factor * term);
  return std::min(v, max_ms);
}

BrokerClient::BrokerClient(BrokerClientOptions options)
    : options_(std::move(options)), rng_(std::random_device{}()) {
  // Without the eventfd Interrupt() degrades to "at the next deadline"; never fatal.
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  connect_timeout_ms_ = std::max(1, options_.connect_timeout_ms);
}

BrokerClient::~BrokerClient() {
  CloseSocket();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::string BrokerClient::Where() const { return host_ + ":" + std::to_string(port_); }

void BrokerClient::SetPeer(const std::string& host, int32_t port, bool tls) {
  if (host == host_ && port == port_ && tls == tls_) return;
  Close();
  host_ = host;
  port_ = port;
  tls_ = tls;
  failed_attempts_ = 0;
  failed_connect_attempts_ = 0;
  last_attempt_ms_ = 0;
  reconnect_backoff_ms_ = 0;
  connect_timeout_ms_ = std::max(1, options_.connect_timeout_ms);
}

void BrokerClient::Interrupt() {
  interrupted_.store(true);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    // The counter only grows; the fd stays readable, which is what we want.
    ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    (void)n;
  }
}

int64_t BrokerClient::ReconnectDelayMs() const {
  if (state_ == State::kReady || last_attempt_ms_ == 0) return 0;
  return std::max<int64_t>(0, last_attempt_ms_ + reconnect_backoff_ms_ - NowMs());
}

void BrokerClient::CloseSocket() {
  if (ssl_ != nullptr) {
    // No close_notify: the peer treats a plain close the same way, and a write to a dead
    // peer here could block or raise SIGPIPE.
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  tls_ctx_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  peer_versions_.clear();
}

void BrokerClient::Close() {
  CloseSocket();
  state_ = State::kDisconnected;
}

void BrokerClient::Disconnect() {
  const bool was_setting_up = state_ == State::kSettingUp;
  CloseSocket();
  state_ = State::kDisconnected;
  // Kafka's ClusterConnectionStates.disconnected(): the backoff grows with every failure since
  // the last successful connection; a setup that failed also lengthens the next setup timeout.
  last_attempt_ms_ = NowMs();
  reconnect_backoff_ms_ =
      ExponentialBackoffMs(options_.reconnect_backoff_ms, options_.reconnect_backoff_max_ms,
                           failed_attempts_, kJitter, &rng_);
  ++failed_attempts_;
  if (was_setting_up) {
    ++failed_connect_attempts_;
    connect_timeout_ms_ = ExponentialBackoffMs(std::max(1, options_.connect_timeout_ms),
                                               options_.connect_timeout_max_ms,
                                               failed_connect_attempts_, kJitter, &rng_);
  } else {
    connect_timeout_ms_ = std::max(1, options_.connect_timeout_ms);
  }
}

Status BrokerClient::WaitFor(short events, int64_t deadline_ms, const char* what) {
  for (;;) {
    if (interrupted()) return Status::Unavailable("interrupted");
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) {
      return Status::Timeout(std::string(what) + " " + Where() + " timed out");
    }
    pollfd fds[2];
    fds[0] = {fd_, events, 0};
    fds[1] = {wake_fd_, POLLIN, 0};
    int n = ::poll(fds, wake_fd_ >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(std::string("poll: ") + Errno(errno));
    }
    if (n == 0) continue;  // the deadline check above reports the timeout
    if (wake_fd_ >= 0 && (fds[1].revents & POLLIN)) return Status::Unavailable("interrupted");
    if (fds[0].revents != 0) return Status::Ok();  // ready, or an error the next call reports
  }
}

Status BrokerClient::SleepUntil(int64_t until_ms) {
  for (;;) {
    if (interrupted()) return Status::Unavailable("interrupted");
    int64_t left = until_ms - NowMs();
    if (left <= 0) return Status::Ok();
    if (wake_fd_ < 0) {
      ::usleep(static_cast<useconds_t>(std::min<int64_t>(left, 50) * 1000));
      continue;
    }
    pollfd pfd{wake_fd_, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (n > 0) return Status::Unavailable("interrupted");
  }
}

Status BrokerClient::Connect() {
  if (state_ == State::kReady) return Status::Ok();
  if (interrupted()) return Status::Unavailable("interrupted");
  if (host_.empty() || port_ <= 0) return Status::InvalidArgument("no peer to connect to");
  if (tls_ && !options_.tls) {
    return Status::InvalidArgument(Where() + " speaks SSL and no TLS settings were given");
  }
  if (int64_t delay = ReconnectDelayMs(); delay > 0) {
    VLOG(2) << "[BrokerClient " << Where() << "] reconnect backoff " << delay << " ms";
    GREGOR_RETURN_IF_ERROR(SleepUntil(NowMs() + delay));
  }
  last_attempt_ms_ = NowMs();
  const int64_t deadline = last_attempt_ms_ + connect_timeout_ms_;
  state_ = State::kSettingUp;
  Status st = SetUp(deadline);
  if (!st.ok()) {
    Disconnect();
    if (st.code() == Status::Code::kTimeout) {
      return Status::Timeout("connection setup with " + Where() + " took longer than " +
                             std::to_string(deadline - last_attempt_ms_) + " ms: " + st.message());
    }
    return st;
  }
  state_ = State::kReady;
  // Kafka's ClusterConnectionStates.ready(): a good connection resets both exponents.
  failed_attempts_ = 0;
  failed_connect_attempts_ = 0;
  reconnect_backoff_ms_ = 0;
  connect_timeout_ms_ = std::max(1, options_.connect_timeout_ms);
  return Status::Ok();
}

Status BrokerClient::SetUp(int64_t deadline_ms) {
  GREGOR_RETURN_IF_ERROR(TcpConnect(deadline_ms));
  if (tls_) GREGOR_RETURN_IF_ERROR(TlsHandshake(deadline_ms));
  GREGOR_RETURN_IF_ERROR(NegotiateApiVersions(deadline_ms));
  if (options_.authenticate) {
    Status st = options_.authenticate(*this, deadline_ms);
    if (!st.ok())
      return Status::Unavailable("authentication with " + Where() + ": " + st.message());
  }
  return Status::Ok();
}

Status BrokerClient::TcpConnect(int64_t deadline_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res);
  if (rc != 0) return Status::Unavailable("resolve " + host_ + ": " + ::gai_strerror(rc));
  Status last = Status::Unavailable("connect " + Where() + ": no address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd_ = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd_ < 0) {
      last = Status::Unavailable("socket: " + Errno(errno));
      continue;
    }
    if (::connect(fd_, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = Status::Unavailable("connect " + Where() + ": " + Errno(errno));
        CloseSocket();
        continue;
      }
      Status st = WaitFor(POLLOUT, deadline_ms, "connect to");
      if (!st.ok()) {
        CloseSocket();
        ::freeaddrinfo(res);
        return st;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = Status::Unavailable("connect " + Where() + ": " + Errno(err));
        CloseSocket();
        continue;
      }
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::freeaddrinfo(res);
    return Status::Ok();
  }
  ::freeaddrinfo(res);
  return last;
}

Status BrokerClient::TlsHandshake(int64_t deadline_ms) {
  tls_ctx_ = options_.tls->Get();
  if (tls_ctx_ == nullptr) return Status::InvalidArgument("no TLS context");
  ssl_ = SSL_new(tls_ctx_->native_handle());
  if (ssl_ == nullptr) return Status::Unavailable("SSL_new failed");
  SSL_set_fd(ssl_, fd_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const bool ip = IsIpAddress(host_);
  if (!ip) SSL_set_tlsext_host_name(ssl_, host_.c_str());
  if (options_.verify_hostname) {
    // ssl.endpoint.identification.algorithm=https: RFC 2818 / RFC 6125 name checks, as the
    // JDK's HTTPS endpoint identification does (IP addresses against IP SANs only).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, host_.c_str(), 0);
    }
  }
  for (;;) {
    ERR_clear_error();
    int r;
    int saved_errno;
    {
      ScopedSigpipeBlock no_sigpipe;
      r = SSL_connect(ssl_);
      saved_errno = errno;
    }
    if (r == 1) return Status::Ok();
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ) {
      GREGOR_RETURN_IF_ERROR(WaitFor(POLLIN, deadline_ms, "TLS handshake with"));
    } else if (err == SSL_ERROR_WANT_WRITE) {
      GREGOR_RETURN_IF_ERROR(WaitFor(POLLOUT, deadline_ms, "TLS handshake with"));
    } else {
      return Status::Unavailable("TLS handshake with " + Where() + ": " +
                                 TlsError(ssl_, err, saved_errno));
    }
  }
}

Status BrokerClient::SendAll(const std::string& bytes, int64_t deadline_ms) {
  size_t at = 0;
  while (at < bytes.size()) {
    if (interrupted()) return Status::Unavailable("interrupted");
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int r;
      int saved_errno;
      {
        ScopedSigpipeBlock no_sigpipe;
        r = SSL_write(ssl_, bytes.data() + at,
                      static_cast<int>(std::min<size_t>(bytes.size() - at, 1 << 30)));
        saved_errno = errno;
      }
      if (r > 0) {
        at += static_cast<size_t>(r);
        continue;
      }
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_WRITE) {
        GREGOR_RETURN_IF_ERROR(WaitFor(POLLOUT, deadline_ms, "send to"));
      } else if (err == SSL_ERROR_WANT_READ) {
        GREGOR_RETURN_IF_ERROR(WaitFor(POLLIN, deadline_ms, "send to"));
      } else {
        return Status::Unavailable("send to " + Where() + ": " + TlsError(ssl_, err, saved_errno));
      }
      continue;
    }
    ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n > 0) {
      at += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      GREGOR_RETURN_IF_ERROR(WaitFor(POLLOUT, deadline_ms, "send to"));
      continue;
    }
    return Status::Unavailable("send to " + Where() + ": " + Errno(errno));
  }
  return Status::Ok();
}

Status BrokerClient::RecvAll(uint8_t* p, size_t n, int64_t deadline_ms) {
  size_t at = 0;
  while (at < n) {
    if (ssl_ != nullptr) {
      // SSL_read first: it may hold decrypted bytes that poll() on the socket cannot see.
      ERR_clear_error();
      int r;
      int saved_errno;
      {
        ScopedSigpipeBlock no_sigpipe;
        r = SSL_read(ssl_, p + at, static_cast<int>(std::min<size_t>(n - at, 1 << 30)));
        saved_errno = errno;
      }
      if (r > 0) {
        at += static_cast<size_t>(r);
        continue;
      }
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ) {
        GREGOR_RETURN_IF_ERROR(WaitFor(POLLIN, deadline_ms, "response from"));
      } else if (err == SSL_ERROR_WANT_WRITE) {
        GREGOR_RETURN_IF_ERROR(WaitFor(POLLOUT, deadline_ms, "response from"));
      } else {
        return Status::Unavailable("receive from " + Where() + ": " +
                                   TlsError(ssl_, err, saved_errno));
      }
      continue;
    }
    ssize_t r = ::recv(fd_, p + at, n - at, 0);
    if (r > 0) {
      at += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Status::Unavailable("connection to " + Where() + " closed by peer");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      GREGOR_RETURN_IF_ERROR(WaitFor(POLLIN, deadline_ms, "response from"));
      continue;
    }
    return Status::Unavailable("receive from " + Where() + ": " + Errno(errno));
  }
  return Status::Ok();
}

Status BrokerClient::Exchange(ApiKey key, int16_t version, const Encoder& encode, Response* out,
                              int64_t deadline_ms) {
  protocol::Writer w;
  w.Int32(0);
  protocol::RequestHeader h;
  h.api_key = static_cast<int16_t>(key);
  h.api_version = version;
  h.correlation_id = ++correlation_id_;
  h.client_id = options_.client_id;
  protocol::EncodeRequestHeader(w, h);
  encode(w, version);
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  send_buf_.clear();
  send_buf_.reserve(w.size());
  for (const auto& c : w.chunks()) {
    if (c.is_file) {
      send_buf_ = w.Flatten();  // requests carry no file data today; correct if one does
      break;
    }
    send_buf_ += c.bytes;
  }
  GREGOR_RETURN_IF_ERROR(SendAll(send_buf_, deadline_ms));

  uint8_t prefix[4];
  GREGOR_RETURN_IF_ERROR(RecvAll(prefix, 4, deadline_ms));
  const uint32_t n = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) |
                     (uint32_t(prefix[2]) << 8) | uint32_t(prefix[3]);
  if (n < 4 || n > options_.max_response_bytes) {
    return Status::Corruption("response frame of " + std::to_string(n) + " bytes from " + Where());
  }
  if (n > capacity_) {
    // Grows only; uninitialised on purpose (a std::string would zero it on every resize).
    size_t cap = std::max<size_t>(n, capacity_ * 2);
    cap = std::max<size_t>(std::min<size_t>(cap, options_.max_response_bytes), n);
    buffer_.reset(new uint8_t[cap]);
    capacity_ = cap;
  }
  GREGOR_RETURN_IF_ERROR(RecvAll(buffer_.get(), n, deadline_ms));
  protocol::Reader r(buffer_.get(), n);
  const int32_t correlation_id = r.Int32();
  if (protocol::ResponseHeaderVersion(key, version) >= 1) r.SkipTaggedFields();
  if (!r.ok()) return Status::Corruption("unreadable response header from " + Where());
  if (correlation_id != h.correlation_id) {
    // Kafka's NetworkClient.correlate(): the stream is out of step; nothing read from it can
    // be trusted any more.
    return Status::Corruption("response from " + Where() + " has correlation id " +
                              std::to_string(correlation_id) + ", expected " +
                              std::to_string(h.correlation_id));
  }
  out->body = buffer_.get() + r.position();
  out->size = n - r.position();
  out->api_version = version;
  return Status::Ok();
}

VersionRange BrokerClient::LocalRange(ApiKey key) const {
  auto it = options_.local_versions.find(key);
  if (it != options_.local_versions.end()) return it->second;
  const protocol::ApiVersionRange* api = protocol::FindAnyApi(static_cast<int16_t>(key));
  if (api == nullptr) return VersionRange{0, -1};
  return VersionRange{api->min, api->max};
}

Status BrokerClient::NegotiateApiVersions(int64_t deadline_ms) {
  // KIP-35/KIP-511: ask with our highest ApiVersions version; a broker that does not know it
  // answers UNSUPPORTED_VERSION with a v0 body listing its own range, and we ask again at the
  // highest version both know.
  const VersionRange local = LocalRange(ApiKey::kApiVersions);
  int16_t version = std::min<int16_t>(local.max, protocol::ApiVersionsRequest::kMaxVersion);
  for (int attempt = 0; attempt < 2; ++attempt) {
    Response resp;
    GREGOR_RETURN_IF_ERROR(Exchange(
        ApiKey::kApiVersions, version,
        [](protocol::Writer& w, int16_t v) {
          protocol::ApiVersionsRequest req;
          req.client_software_name = "gregor";
          req.client_software_version = config::kGregorVersion;
          req.Encode(w, v);
        },
        &resp, deadline_ms));
    protocol::ApiVersionsResponse decoded;
    protocol::Reader r(resp.body, resp.size);
    bool ok = decoded.Decode(r, version);
    if (!ok || decoded.error_code == protocol::ErrorCode::kUnsupportedVersion) {
      protocol::ApiVersionsResponse v0;
      protocol::Reader r0(resp.body, resp.size);
      if (v0.Decode(r0, 0) && v0.error_code == protocol::ErrorCode::kUnsupportedVersion) {
        int16_t peer_max = -1;
        for (const auto& k : v0.api_keys) {
          if (k.api_key == static_cast<int16_t>(ApiKey::kApiVersions)) peer_max = k.max_version;
        }
        if (attempt == 0 && peer_max >= local.min && peer_max < version) {
          version = peer_max;
          continue;
        }
      }
      return Status::Unavailable("unreadable or refused ApiVersions v" + std::to_string(version) +
                                 " response from " + Where());
    }
    if (decoded.error_code != protocol::ErrorCode::kNone) {
      return Status::Unavailable("ApiVersions to " + Where() + ": " +
                                 protocol::ErrorCodeName(decoded.error_code));
    }
    peer_versions_.clear();
    for (const auto& k : decoded.api_keys) {
      peer_versions_[static_cast<ApiKey>(k.api_key)] = VersionRange{k.min_version, k.max_version};
    }
    return Status::Ok();
  }
  return Status::Unavailable("ApiVersions with " + Where() + " did not converge");
}

Result<int16_t> BrokerClient::NegotiatedVersion(ApiKey key, VersionRange want) const {
  auto peer = peer_versions_.find(key);
  if (peer == peer_versions_.end()) {
    return Status::InvalidArgument(std::string("UNSUPPORTED_VERSION: ") + Where() +
                                   " does not offer " + protocol::ApiKeyName(key));
  }
  const VersionRange local = LocalRange(key);
  const int16_t lo = std::max({peer->second.min, local.min, want.min});
  const int16_t hi = std::min({peer->second.max, local.max, want.max});
  if (hi < lo) {
    return Status::InvalidArgument(std::string("UNSUPPORTED_VERSION: no common version of ") +
                                   protocol::ApiKeyName(key) + " (" + Where() + " speaks " +
                                   std::to_string(peer->second.min) + "-" +
                                   std::to_string(peer->second.max) + ", this broker " +
                                   std::to_string(std::max(local.min, want.min)) + "-" +
                                   std::to_string(std::min(local.max, want.max)) + ")");
  }
  return hi;
}

Status BrokerClient::Call(ApiKey key, VersionRange want, const Encoder& encode, Response* out,
                          int32_t timeout_ms) {
  if (interrupted()) return Status::Unavailable("interrupted");
  // During setup (the authenticate hook) the connection is already being established.
  if (state_ != State::kSettingUp) GREGOR_RETURN_IF_ERROR(Connect());
  auto version = NegotiatedVersion(key, want);
  if (!version.ok()) return version.status();
  const int64_t deadline =
      NowMs() + std::max(1, timeout_ms > 0 ? timeout_ms : options_.request_timeout_ms);
  Status st = Exchange(key, *version, encode, out, deadline);
  if (!st.ok() && state_ == State::kReady) Disconnect();
  return st;
}

}  // namespace gregor::network
