#pragma once
// BrokerClient: one blocking request/response connection from this broker to another
// broker (Kafka's NetworkClient as the inter-broker senders use it: BrokerBlockingSender for
// the replica fetcher, RequestSendThread for the controller, the controlled-shutdown client).
//
// What it does: size-prefixed framing, request headers with correlation ids (a response with
// another id is an error), TCP connect and TLS handshake, ApiVersions on every new connection
// (the version used for each API is the highest both sides support), an optional
// authentication step (the SASL seam), a connect deadline and a per-request deadline, and
// Kafka's reconnect backoff (`reconnect.backoff.ms` / `reconnect.backoff.max.ms`: exponential,
// factor 2, 20% jitter, reset by a successful connection) and exponential connection-setup
// timeout (`socket.connection.setup.timeout.ms` / `.max.ms`).
//
// Owner: one dedicated thread (a fetcher thread, a controller sender thread, the thread running
// a controlled shutdown). Every method but Interrupt() must be called from that thread; nothing
// here runs on a network thread (conventions: network threads never block).
// Blocking: Connect() and Call() block the calling thread, bounded by their deadlines: a peer
// that accepts and never answers costs at most the connection-setup timeout to connect and
// the request timeout per request. Interrupt() (any thread) wakes a blocked call at once
// through an eventfd polled next to the socket; it is permanent.
// Lifecycle: construct -> SetPeer() -> Call()* (connects on demand) -> destroy. A failed call
// closes the connection; the next call reconnects after the backoff.
// Errors (Status codes): kUnavailable (resolve/connect/TLS failure, reset, interrupted,
// backing off past the deadline), kTimeout (a deadline passed), kCorruption (a frame size out
// of range, a response with the wrong correlation id or an unreadable header: the stream is
// out of step), kInvalidArgument (the peer supports no version of the API in the range the
// caller can encode: Kafka's UNSUPPORTED_VERSION; the connection stays up).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "gregor/base/status.h"
#include "gregor/network/asio.h"
#include "gregor/network/tls.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/writer.h"

typedef struct ssl_st SSL;

namespace gregor::network {

// Kafka's ExponentialBackoff: initial * 2^attempts, times a random factor in
// [1 - jitter, 1 + jitter], capped at max. attempts counts from 0.
int64_t ExponentialBackoffMs(int64_t initial_ms, int64_t max_ms, int attempts, double jitter,
                             std::mt19937_64* rng);

struct VersionRange {
  int16_t min = 0;
  int16_t max = -1;  // max < min: empty
  bool empty() const { return max < min; }
};

class BrokerClient;

struct BrokerClientOptions {
  std::string client_id;                         // request header client id
  int32_t request_timeout_ms = 30000;            // default per-request deadline
  int32_t connect_timeout_ms = 10000;            // socket.connection.setup.timeout.ms
  int32_t connect_timeout_max_ms = 30000;        // socket.connection.setup.timeout.max.ms
  int32_t reconnect_backoff_ms = 50;             // reconnect.backoff.ms (0: none)
  int32_t reconnect_backoff_max_ms = 1000;       // reconnect.backoff.max.ms
  size_t max_response_bytes = size_t{64} << 20;  // frames larger than this are kCorruption
  // TLS settings for peers whose listener speaks SSL (MakeClientTlsContext, replaced in the
  // slot when the key or trust stores are reloaded); null: SSL peers are refused
  // (kInvalidArgument).
  std::shared_ptr<TlsContextSlot> tls;
  // ssl.endpoint.identification.algorithm=https: the peer certificate must name the host
  // dialled (a DNS name or an IP address in its subjectAltName).
  bool verify_hostname = true;
  // Versions this side can encode and decode, per API; APIs not listed use the codec's range
  // (protocol::AllApis()). Callers restrict further per call.
  std::map<protocol::ApiKey, VersionRange> local_versions;
  // The SASL seam: runs on each new connection after ApiVersions and before it is ready,
  // and may exchange requests with Call() (SaslHandshake, SaslAuthenticate). A failure
  // closes the connection. Must finish before `deadline_ms` (steady clock, ms).
  std::function<Status(BrokerClient& client, int64_t deadline_ms)> authenticate;
};

class BrokerClient {
 public:
  // A response body (after the response header) in the client's receive buffer: valid and
  // writable until the next call on this client, so record sets can be handed to the log
  // without a copy.
  struct Response {
    uint8_t* body = nullptr;
    size_t size = 0;
    int16_t api_version = -1;
  };
  using Encoder = std::function<void(protocol::Writer& body, int16_t version)>;

  explicit BrokerClient(BrokerClientOptions options);
  ~BrokerClient();
  BrokerClient(const BrokerClient&) = delete;
  BrokerClient& operator=(const BrokerClient&) = delete;

  // The peer to talk to, over TLS when `tls` (its listener speaks SSL). Another peer than the
  // current one closes the connection and forgets the negotiated versions and the backoff.
  void SetPeer(const std::string& host, int32_t port, bool tls = false);
  const std::string& host() const { return host_; }
  int32_t port() const { return port_; }
  bool tls() const { return tls_; }
  bool connected() const { return state_ == State::kReady; }

  // Connects unless connected: waits out the reconnect backoff (interruptibly), then TCP,
  // TLS, ApiVersions and `authenticate`, all within the connection-setup timeout.
  Status Connect();
  // Closes the connection (not counted as a failure).
  void Close();

  // The version of `key` to use with the connected peer: the highest in the intersection of
  // the peer's range, this side's range and `want`. kInvalidArgument when empty.
  Result<int16_t> NegotiatedVersion(protocol::ApiKey key, VersionRange want = {0, 32767}) const;
  // What the peer said in ApiVersions (empty until connected).
  const std::map<protocol::ApiKey, VersionRange>& peer_versions() const { return peer_versions_; }

  // Connects if needed, picks the version (NegotiatedVersion(key, want)), encodes the body
  // with `encode`, sends the request and waits for its response, at most `timeout_ms` from
  // the time the request is written (options.request_timeout_ms when <= 0). Any failure but
  // kInvalidArgument closes the connection.
  Status Call(protocol::ApiKey key, VersionRange want, const Encoder& encode, Response* out,
              int32_t timeout_ms = 0);

  // Any thread: wakes the current and every later blocking call (kUnavailable "interrupted").
  void Interrupt();
  bool interrupted() const { return interrupted_.load(); }

  // Observability (tests, logs): ms until the next connection attempt may start, the failed
  // attempts since the last successful connection, and the connection-setup timeout of the
  // next attempt.
  int64_t ReconnectDelayMs() const;
  int failed_attempts() const { return failed_attempts_; }
  int64_t next_connect_timeout_ms() const { return connect_timeout_ms_; }

 private:
  enum class State { kDisconnected, kSettingUp, kReady };

  Status SetUp(int64_t deadline_ms);
  Status TcpConnect(int64_t deadline_ms);
  Status TlsHandshake(int64_t deadline_ms);
  Status NegotiateApiVersions(int64_t deadline_ms);
  // One request/response on the open connection.
  Status Exchange(protocol::ApiKey key, int16_t version, const Encoder& encode, Response* out,
                  int64_t deadline_ms);
  Status SendAll(const std::string& bytes, int64_t deadline_ms);
  Status RecvAll(uint8_t* p, size_t n, int64_t deadline_ms);
  // Waits until the socket is ready for `events`, the deadline passes or Interrupt() is called.
  Status WaitFor(short events, int64_t deadline_ms, const char* what);
  Status SleepUntil(int64_t until_ms);
  // A failed connection or request: close and update the backoff as Kafka's
  // ClusterConnectionStates.disconnected() does.
  void Disconnect();
  void CloseSocket();
  VersionRange LocalRange(protocol::ApiKey key) const;
  std::string Where() const;

  const BrokerClientOptions options_;
  std::string host_;
  int32_t port_ = 0;
  bool tls_ = false;
  // The context the TLS session in use was made from (kept alive with it).
  std::shared_ptr<asio::ssl::context> tls_ctx_;
  State state_ = State::kDisconnected;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  int wake_fd_ = -1;  // eventfd, readable once interrupted
  std::atomic<bool> interrupted_{false};
  int32_t correlation_id_ = 0;
  std::map<protocol::ApiKey, VersionRange> peer_versions_;

  // Backoff state (Kafka's NodeConnectionState).
  int failed_attempts_ = 0;          // reconnect backoff exponent
  int failed_connect_attempts_ = 0;  // connection-setup timeout exponent
  int64_t last_attempt_ms_ = 0;      // steady ms of the last connect or disconnect
  int64_t reconnect_backoff_ms_ = 0;
  int64_t connect_timeout_ms_ = 0;
  std::mt19937_64 rng_;

  std::string send_buf_;
  std::unique_ptr<uint8_t[]> buffer_;  // receive buffer, grows only
  size_t capacity_ = 0;
};

}  // namespace gregor::network
