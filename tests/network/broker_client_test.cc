// BrokerClient against real sockets: a raw TCP fake broker in the test (port 0) whose
// misbehaviour is chosen per test (never answering, closing at once, answering with the wrong
// correlation id, a given ApiVersions table), and a real gregor Listener configured for SSL
// with certificates made in-process.
#include "gregor/network/broker_client.h"

#include <arpa/inet.h>
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "gregor/network/listener.h"
#include "gregor/network/tls.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/api_versions.h"
#include "gregor/protocol/reader.h"
#include "network/test_certs.h"

namespace gregor::network {
namespace {

using protocol::ApiKey;
using SteadyClock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

int64_t MsSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

bool ReadFully(int fd, void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  size_t at = 0;
  while (at < n) {
    ssize_t r = ::recv(fd, b + at, n - at, 0);
    if (r <= 0) return false;
    at += static_cast<size_t>(r);
  }
  return true;
}

bool WriteFully(int fd, const std::string& s) {
  size_t at = 0;
  while (at < s.size()) {
    ssize_t r = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (r <= 0) return false;
    at += static_cast<size_t>(r);
  }
  return true;
}

std::vector<protocol::ApiVersionsResponse::ApiVersion> AdvertisedApis() {
  std::vector<protocol::ApiVersionsResponse::ApiVersion> out;
  for (const auto& api : protocol::SupportedApis()) {
    out.push_back({static_cast<int16_t>(api.key), api.min, api.max});
  }
  return out;
}

// The answer a broker gives to ApiVersions at `h.api_version` listing `apis`; a version above
// `max_version` gets UNSUPPORTED_VERSION in a v0 body naming the range it does speak (KIP-511).
std::string ApiVersionsFrame(const protocol::RequestHeader& h,
                             const std::vector<protocol::ApiVersionsResponse::ApiVersion>& apis,
                             int16_t max_version = 3) {
  protocol::ApiVersionsResponse resp;
  int16_t version = h.api_version;
  if (version > max_version) {
    version = 0;
    resp.error_code = protocol::ErrorCode::kUnsupportedVersion;
    resp.api_keys.push_back({static_cast<int16_t>(ApiKey::kApiVersions), 0, max_version});
  } else {
    resp.api_keys = apis;
  }
  protocol::Writer w;
  w.Int32(0);
  protocol::EncodeResponseHeader(w, ApiKey::kApiVersions, version, h.correlation_id);
  resp.Encode(w, version);
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  return w.Flatten();
}

// Any other request: "pong:" + the request body, under a header with `correlation_id`.
std::string PongFrame(const protocol::RequestHeader& h, int32_t correlation_id,
                      std::string_view body) {
  protocol::Writer w;
  w.Int32(0);
  protocol::EncodeResponseHeader(w, static_cast<ApiKey>(h.api_key), h.api_version, correlation_id);
  w.Raw("pong:");
  w.Raw(body);
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  return w.Flatten();
}

// A broker's network side on a raw socket, one thread per connection.
class FakeBroker {
 public:
  enum class Mode {
    kServe,             // ApiVersions, then "pong:" answers
    kSilent,            // ApiVersions, then never answers a request
    kMute,              // never answers anything (hung before the connection is ready)
    kCloseOnAccept,     // accepts and closes at once
    kWrongCorrelation,  // ApiVersions, then answers with another correlation id
  };

  explicit FakeBroker(Mode mode) : mode_(mode), apis_(AdvertisedApis()) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_EQ(0, ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)));
    CHECK_EQ(0, ::listen(listen_fd_, 64));
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeBroker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    for (auto& t : threads_) t.join();
    for (int fd : conn_fds_) ::close(fd);
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  void set_mode(Mode m) { mode_.store(m); }
  void set_apis(std::vector<protocol::ApiVersionsResponse::ApiVersion> apis,
                int16_t max = protocol::ApiVersionsRequest::kMaxVersion) {
    std::lock_guard<std::mutex> lock(mu_);
    apis_ = std::move(apis);
    api_versions_max_ = max;
  }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  std::vector<int16_t> api_versions_asked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return api_versions_asked_;
  }
  std::vector<int64_t> accept_times() const {
    std::lock_guard<std::mutex> lock(mu_);
    return accept_times_;
  }
  protocol::RequestHeader last_header() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_header_;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      accept_times_.push_back(NowMs());
      ++connections_;
      if (stopped_ || mode_.load() == Mode::kCloseOnAccept) {
        ::close(fd);
        if (stopped_) return;
        continue;
      }
      conn_fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    for (;;) {
      uint8_t prefix[4];
      if (!ReadFully(fd, prefix, 4)) return;
      uint32_t n = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) |
                   (uint32_t(prefix[2]) << 8) | uint32_t(prefix[3]);
      if (n > (64u << 20)) {
        // Not a Kafka frame (a TLS ClientHello, say). A mute peer keeps the connection open
        // and silent; the others hang up.
        if (mode_.load() != Mode::kMute) return;
        char sink[4096];
        while (::recv(fd, sink, sizeof(sink), 0) > 0) {
        }
        return;
      }
      std::string frame(n, '\0');
      if (!ReadFully(fd, frame.data(), n)) return;
      protocol::Reader r(frame);
      protocol::RequestHeader h;
      if (!protocol::DecodeRequestHeader(r, &h)) return;
      const Mode mode = mode_.load();
      std::string answer;
      if (h.api_key == static_cast<int16_t>(ApiKey::kApiVersions)) {
        std::lock_guard<std::mutex> lock(mu_);
        api_versions_asked_.push_back(h.api_version);
        if (mode == Mode::kMute) continue;
        answer = ApiVersionsFrame(h, apis_, api_versions_max_);
      } else {
        {
          std::lock_guard<std::mutex> lock(mu_);
          last_header_ = h;
        }
        ++requests_;
        if (mode == Mode::kSilent || mode == Mode::kMute) continue;
        const int32_t corr =
            mode == Mode::kWrongCorrelation ? h.correlation_id + 1 : h.correlation_id;
        answer = PongFrame(h, corr, std::string_view(frame).substr(r.position()));
      }
      if (!WriteFully(fd, answer)) return;
    }
  }

  std::atomic<Mode> mode_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::vector<int> conn_fds_;
  std::vector<std::thread> threads_;
  std::vector<protocol::ApiVersionsResponse::ApiVersion> apis_;
  int16_t api_versions_max_ = protocol::ApiVersionsRequest::kMaxVersion;  // as this broker
  std::vector<int16_t> api_versions_asked_;
  std::vector<int64_t> accept_times_;
  protocol::RequestHeader last_header_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
};

BrokerClient::Encoder Body(const std::string& s) {
  return [s](protocol::Writer& w, int16_t) { w.Raw(s); };
}

std::string Text(const BrokerClient::Response& r) {
  return std::string(reinterpret_cast<const char*>(r.body), r.size);
}

BrokerClientOptions FastOptions() {
  BrokerClientOptions o;
  o.client_id = "test-client";
  o.request_timeout_ms = 5000;
  o.connect_timeout_ms = 5000;
  o.connect_timeout_max_ms = 5000;
  o.reconnect_backoff_ms = 0;
  o.reconnect_backoff_max_ms = 0;
  return o;
}

constexpr VersionRange kAny{0, 32767};

TEST(BrokerClientTest, RoundTripNegotiatesOnceAndFramesRequests) {
  FakeBroker server(FakeBroker::Mode::kServe);
  BrokerClient client(FastOptions());
  client.SetPeer("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) {
    BrokerClient::Response resp;
    ASSERT_TRUE(
        client.Call(ApiKey::kMetadata, kAny, Body("ping-" + std::to_string(i)), &resp).ok());
    EXPECT_EQ("pong:ping-" + std::to_string(i), Text(resp));
    EXPECT_EQ(12, resp.api_version);  // Metadata: gregor's codec and its Listener both 0-12
  }
  EXPECT_EQ(1, server.connections());
  EXPECT_EQ(std::vector<int16_t>{4}, server.api_versions_asked());
  protocol::RequestHeader h = server.last_header();
  EXPECT_EQ("test-client", h.client_id.value_or(""));
  EXPECT_EQ(12, h.api_version);
  // The response body is writable in place (zero-copy hand-off to the log).
  BrokerClient::Response resp;
  ASSERT_TRUE(client.Call(ApiKey::kMetadata, kAny, Body("abc"), &resp).ok());
  resp.body[0] = 'P';
  EXPECT_EQ("Pong:abc", Text(resp));
}

TEST(BrokerClientTest, PeerThatNeverAnswersFailsWithinTheRequestDeadline) {
  FakeBroker server(FakeBroker::Mode::kSilent);
  BrokerClientOptions o = FastOptions();
  o.request_timeout_ms = 300;
  BrokerClient client(o);
  client.SetPeer("127.0.0.1", server.port());
  ASSERT_TRUE(client.Connect().ok());
  const auto start = SteadyClock::now();
  BrokerClient::Response resp;
  Status st = client.Call(ApiKey::kMetadata, kAny, Body("hello?"), &resp);
  const int64_t took = MsSince(start);
  EXPECT_EQ(Status::Code::kTimeout, st.code()) << st.ToString();
  EXPECT_GE(took, 290);
  EXPECT_LT(took, 1300);
  EXPECT_FALSE(client.connected());  // a timed-out connection is not reused
  // A per-call deadline overrides the default.
  const auto start2 = SteadyClock::now();
  st = client.Call(ApiKey::kMetadata, kAny, Body("again?"), &resp, 100);
  EXPECT_EQ(Status::Code::kTimeout, st.code()) << st.ToString();
  EXPECT_LT(MsSince(start2), 1000);
  EXPECT_EQ(2, server.connections());
}

TEST(BrokerClientTest, PeerThatAcceptsButNeverAnswersApiVersionsFailsWithinTheConnectDeadline) {
  FakeBroker server(FakeBroker::Mode::kMute);
  BrokerClientOptions o = FastOptions();
  o.connect_timeout_ms = 100;
  o.connect_timeout_max_ms = 400;
  o.request_timeout_ms = 60000;
  BrokerClient client(o);
  client.SetPeer("127.0.0.1", server.port());
  auto start = SteadyClock::now();
  BrokerClient::Response resp;
  Status st = client.Call(ApiKey::kMetadata, kAny, Body("x"), &resp);
  EXPECT_EQ(Status::Code::kTimeout, st.code()) << st.ToString();
  EXPECT_GE(MsSince(start), 95);
  EXPECT_LT(MsSince(start), 1000);
  EXPECT_EQ(0, server.requests());
  // socket.connection.setup.timeout.ms doubles per failed setup (20% jitter), up to the max.
  EXPECT_GE(client.next_connect_timeout_ms(), 160);
  EXPECT_LE(client.next_connect_timeout_ms(), 240);
  ASSERT_FALSE(client.Connect().ok());
  EXPECT_GE(client.next_connect_timeout_ms(), 320);
  EXPECT_LE(client.next_connect_timeout_ms(), 400);
  // Capped: 100 * 2^3 would be 800; the jittered value stays within [320, 400].
  ASSERT_FALSE(client.Connect().ok());
  EXPECT_GE(client.next_connect_timeout_ms(), 320);
  EXPECT_LE(client.next_connect_timeout_ms(), 400);
}

TEST(BrokerClientTest, InterruptFromAnotherThreadReturnsPromptly) {
  FakeBroker server(FakeBroker::Mode::kSilent);
  BrokerClientOptions o = FastOptions();
  o.request_timeout_ms = 30000;
  BrokerClient client(o);
  client.SetPeer("127.0.0.1", server.port());
  ASSERT_TRUE(client.Connect().ok());
  std::thread interrupter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // let the call block first
    client.Interrupt();
  });
  const auto start = SteadyClock::now();
  BrokerClient::Response resp;
  Status st = client.Call(ApiKey::kMetadata, kAny, Body("wait"), &resp);
  const int64_t took = MsSince(start);
  interrupter.join();
  EXPECT_EQ(Status::Code::kUnavailable, st.code()) << st.ToString();
  EXPECT_NE(std::string::npos, st.message().find("interrupted")) << st.ToString();
  EXPECT_LT(took, 2000);
  EXPECT_EQ(1, server.requests());
  // Permanent: the next call fails at once without touching the network.
  const auto again = SteadyClock::now();
  st = client.Call(ApiKey::kMetadata, kAny, Body("more"), &resp);
  EXPECT_EQ(Status::Code::kUnavailable, st.code());
  EXPECT_LT(MsSince(again), 100);
  EXPECT_EQ(1, server.connections());
}

TEST(BrokerClientTest, InterruptWakesAConnectStuckInSetupAndABackoffWait) {
  FakeBroker mute(FakeBroker::Mode::kMute);
  BrokerClientOptions o = FastOptions();
  o.connect_timeout_ms = 30000;
  o.connect_timeout_max_ms = 30000;
  BrokerClient stuck(o);
  stuck.SetPeer("127.0.0.1", mute.port());
  std::thread t1([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stuck.Interrupt();
  });
  auto start = SteadyClock::now();
  EXPECT_EQ(Status::Code::kUnavailable, stuck.Connect().code());
  EXPECT_LT(MsSince(start), 2000);
  t1.join();

  FakeBroker closing(FakeBroker::Mode::kCloseOnAccept);
  o.reconnect_backoff_ms = 20000;
  o.reconnect_backoff_max_ms = 20000;
  BrokerClient waiting(o);
  waiting.SetPeer("127.0.0.1", closing.port());
  ASSERT_FALSE(waiting.Connect().ok());
  EXPECT_GT(waiting.ReconnectDelayMs(), 10000);
  std::thread t2([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    waiting.Interrupt();
  });
  start = SteadyClock::now();
  EXPECT_EQ(Status::Code::kUnavailable, waiting.Connect().code());
  EXPECT_LT(MsSince(start), 2000);
  t2.join();
  EXPECT_EQ(1, closing.connections());
}

TEST(BrokerClientTest, ExponentialBackoffFollowsKafkasFormula) {
  std::mt19937_64 rng(7);
  // No jitter: initial * 2^attempts, capped at the max.
  EXPECT_EQ(50, ExponentialBackoffMs(50, 1000, 0, 0, nullptr));
  EXPECT_EQ(100, ExponentialBackoffMs(50, 1000, 1, 0, nullptr));
  EXPECT_EQ(800, ExponentialBackoffMs(50, 1000, 4, 0, nullptr));
  EXPECT_EQ(1000, ExponentialBackoffMs(50, 1000, 5, 0, nullptr));
  EXPECT_EQ(1000, ExponentialBackoffMs(50, 1000, 60, 0, nullptr));
  // A max not above the initial value means a constant backoff; 0 means none.
  EXPECT_EQ(100, ExponentialBackoffMs(100, 100, 9, 0.2, &rng));
  EXPECT_EQ(0, ExponentialBackoffMs(0, 1000, 3, 0.2, &rng));
  for (int i = 0; i < 200; ++i) {
    int64_t v = ExponentialBackoffMs(50, 1000, 2, 0.2, &rng);
    EXPECT_GE(v, 160);
    EXPECT_LE(v, 240);
  }
}

TEST(BrokerClientTest, ReconnectBackoffGrowsAndResetsOnSuccess) {
  FakeBroker server(FakeBroker::Mode::kCloseOnAccept);
  BrokerClientOptions o = FastOptions();
  o.reconnect_backoff_ms = 40;
  o.reconnect_backoff_max_ms = 640;
  BrokerClient client(o);
  client.SetPeer("127.0.0.1", server.port());
  std::vector<int64_t> delays;
  for (int i = 0; i < 7; ++i) {
    Status st = client.Connect();  // waits out the previous backoff first
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(Status::Code::kUnavailable, st.code()) << st.ToString();
    EXPECT_EQ(i + 1, client.failed_attempts());
    delays.push_back(client.ReconnectDelayMs());
  }
  for (size_t i = 0; i < delays.size(); ++i) {
    const int64_t expected = std::min<int64_t>(40LL << i, 640);
    EXPECT_GE(delays[i], expected * 8 / 10 - 20) << "attempt " << i;
    EXPECT_LE(delays[i], std::min<int64_t>(expected * 12 / 10, 640)) << "attempt " << i;
  }
  // The server saw the attempts spaced by at least those delays.
  const std::vector<int64_t> accepts = server.accept_times();
  ASSERT_EQ(7u, accepts.size());
  for (size_t i = 1; i < accepts.size(); ++i) {
    const int64_t expected = std::min<int64_t>(40LL << (i - 1), 640);
    EXPECT_GE(accepts[i] - accepts[i - 1], expected * 8 / 10 - 5) << "gap " << i;
  }
  EXPECT_GT(accepts[6] - accepts[5], 4 * (accepts[1] - accepts[0]));

  // A successful connection resets the backoff (Kafka's ClusterConnectionStates.ready()).
  server.set_mode(FakeBroker::Mode::kServe);
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_EQ(0, client.failed_attempts());
  EXPECT_EQ(0, client.ReconnectDelayMs());
}

TEST(BrokerClientTest, ApiVersionsNegotiationPicksTheHighestCommonVersion) {
  FakeBroker server(FakeBroker::Mode::kServe);
  // Peer ranges against gregor's codec ranges (Fetch 4-17, Metadata 0-12, LeaderAndIsr 0-7).
  server.set_apis({{static_cast<int16_t>(ApiKey::kFetch), 4, 9},
                   {static_cast<int16_t>(ApiKey::kMetadata), 1, 20},
                   {static_cast<int16_t>(ApiKey::kLeaderAndIsr), 8, 9},
                   {static_cast<int16_t>(ApiKey::kApiVersions), 0, 3}});
  BrokerClient client(FastOptions());
  client.SetPeer("127.0.0.1", server.port());
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_EQ(4u, client.peer_versions().size());
  EXPECT_EQ(9, *client.NegotiatedVersion(ApiKey::kFetch));          // the peer's max
  EXPECT_EQ(12, *client.NegotiatedVersion(ApiKey::kMetadata));      // ours
  EXPECT_EQ(5, *client.NegotiatedVersion(ApiKey::kFetch, {0, 5}));  // the caller's
  // Disjoint ranges and an API the peer does not list: UNSUPPORTED_VERSION.
  auto none = client.NegotiatedVersion(ApiKey::kLeaderAndIsr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(Status::Code::kInvalidArgument, none.status().code());
  EXPECT_FALSE(client.NegotiatedVersion(ApiKey::kFetch, {10, 12}).ok());
  EXPECT_FALSE(client.NegotiatedVersion(ApiKey::kProduce).ok());

  // Requests go out at the negotiated version; an impossible one is refused without a send
  // and without dropping the connection.
  BrokerClient::Response resp;
  ASSERT_TRUE(client.Call(ApiKey::kFetch, kAny, Body("f"), &resp).ok());
  EXPECT_EQ(9, server.last_header().api_version);
  EXPECT_EQ(9, resp.api_version);
  Status st = client.Call(ApiKey::kLeaderAndIsr, kAny, Body("l"), &resp);
  EXPECT_EQ(Status::Code::kInvalidArgument, st.code()) << st.ToString();
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(1, server.requests());

  // This side can narrow its own ranges (options.local_versions).
  BrokerClientOptions o = FastOptions();
  o.local_versions[ApiKey::kFetch] = {4, 7};
  BrokerClient narrow(o);
  narrow.SetPeer("127.0.0.1", server.port());
  ASSERT_TRUE(narrow.Connect().ok());
  EXPECT_EQ(7, *narrow.NegotiatedVersion(ApiKey::kFetch));
}

TEST(BrokerClientTest, OlderPeerAnswersApiVersionsV0AndTheClientAsksAgain) {
  FakeBroker server(FakeBroker::Mode::kServe);
  server.set_apis({{static_cast<int16_t>(ApiKey::kApiVersions), 0, 2},
                   {static_cast<int16_t>(ApiKey::kMetadata), 0, 8}},
                  2);
  BrokerClient client(FastOptions());
  client.SetPeer("127.0.0.1", server.port());
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_EQ((std::vector<int16_t>{4, 2}), server.api_versions_asked());
  EXPECT_EQ(8, *client.NegotiatedVersion(ApiKey::kMetadata));
}

TEST(BrokerClientTest, CorrelationIdMismatchIsAnError) {
  FakeBroker server(FakeBroker::Mode::kWrongCorrelation);
  BrokerClient client(FastOptions());
  client.SetPeer("127.0.0.1", server.port());
  BrokerClient::Response resp;
  Status st = client.Call(ApiKey::kMetadata, kAny, Body("x"), &resp);
  EXPECT_EQ(Status::Code::kCorruption, st.code()) << st.ToString();
  EXPECT_NE(std::string::npos, st.message().find("correlation id")) << st.ToString();
  EXPECT_FALSE(client.connected());
  // The next call starts over on a new connection.
  server.set_mode(FakeBroker::Mode::kServe);
  ASSERT_TRUE(client.Call(ApiKey::kMetadata, kAny, Body("y"), &resp).ok());
  EXPECT_EQ("pong:y", Text(resp));
  EXPECT_EQ(2, server.connections());
}

TEST(BrokerClientTest, OversizedResponseFrameIsAnError) {
  FakeBroker server(FakeBroker::Mode::kServe);
  BrokerClientOptions o = FastOptions();
  o.max_response_bytes = 1024;
  BrokerClient client(o);
  client.SetPeer("127.0.0.1", server.port());
  BrokerClient::Response resp;
  Status st = client.Call(ApiKey::kMetadata, kAny, Body(std::string(2000, 'z')), &resp);
  EXPECT_EQ(Status::Code::kCorruption, st.code()) << st.ToString();
  EXPECT_FALSE(client.connected());
}

TEST(BrokerClientTest, AuthenticateHookRunsAfterApiVersionsAndCanRefuse) {
  FakeBroker server(FakeBroker::Mode::kServe);
  std::vector<std::string> seen;
  bool refuse = true;
  BrokerClientOptions o = FastOptions();
  o.authenticate = [&](BrokerClient& c, int64_t deadline_ms) -> Status {
    EXPECT_GT(deadline_ms, NowMs());
    seen.push_back("versions:" + std::to_string(c.peer_versions().size()));
    // A SASL exchange would go here (SaslHandshake, SaslAuthenticate).
    BrokerClient::Response resp;
    GREGOR_RETURN_IF_ERROR(c.Call(ApiKey::kMetadata, kAny, Body("auth"), &resp));
    seen.push_back(Text(resp));
    return refuse ? Status::Unavailable("bad credentials") : Status::Ok();
  };
  BrokerClient client(o);
  client.SetPeer("127.0.0.1", server.port());
  Status st = client.Connect();
  EXPECT_EQ(Status::Code::kUnavailable, st.code());
  EXPECT_NE(std::string::npos, st.message().find("bad credentials")) << st.ToString();
  EXPECT_FALSE(client.connected());
  refuse = false;
  ASSERT_TRUE(client.Connect().ok());
  EXPECT_EQ((std::vector<std::string>{
                "versions:" + std::to_string(AdvertisedApis().size()), "pong:auth",
                "versions:" + std::to_string(AdvertisedApis().size()), "pong:auth"}),
            seen);
}

// ---------------------------------------------------------------- TLS to a real Listener

// Answers ApiVersions with gregor's advertised table; anything else with "pong:" + body, or
// with N bytes of a pattern when the body is "big:N".
class PongHandler : public RequestHandler {
 public:
  asio::awaitable<bool> Handle(ConnectionContext&, std::string& frame,
                               protocol::Writer& out) override {
    protocol::Reader r(frame);
    protocol::RequestHeader h;
    if (!protocol::DecodeRequestHeader(r, &h)) co_return false;
    std::string answer;
    if (h.api_key == static_cast<int16_t>(ApiKey::kApiVersions)) {
      answer = ApiVersionsFrame(h, AdvertisedApis());
    } else {
      std::string body(std::string_view(frame).substr(r.position()));
      if (body.rfind("big:", 0) == 0) {
        std::string big(std::stoul(body.substr(4)), '\0');
        for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
        body = big;
      }
      answer = PongFrame(h, h.correlation_id, body);
    }
    out.Raw(answer);
    co_return true;
  }
};

class BrokerClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = testing::MakeCa("gregor-test-ca");
    other_ca_ = testing::MakeCa("someone-else");
    // The server certificate names "localhost" only, so dialling 127.0.0.1 must fail
    // hostname verification.
    server_ = testing::MakeLeaf(ca_, "broker", {"DNS:localhost"});
    client_ = testing::MakeLeaf(ca_, "broker-client", {"DNS:client"});
  }
  void TearDown() override {
    if (listener_) listener_->Stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  void StartListener(const std::string& client_auth) {
    TlsOptions t;
    t.keystore_certificate_chain = server_.cert_pem;
    t.keystore_key = server_.key_pem;
    t.truststore_certificates = ca_.cert_pem;
    t.client_auth = client_auth;
    auto ctx = MakeServerTlsContext(t);
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    ListenerOptions o;
    o.name = "SSL";
    o.security_protocol = "SSL";
    o.host = "127.0.0.1";
    o.tls = *ctx;
    listener_ = std::make_unique<Listener>(io_, o, &handler_);
    ASSERT_TRUE(listener_->Bind().ok());
    listener_->Start();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  // A client trusting `ca`, presenting `keystore` when given.
  BrokerClientOptions ClientTls(const testing::TestCert& ca, bool verify_hostname,
                                const testing::TestCert* keystore = nullptr) {
    TlsOptions t;
    t.truststore_certificates = ca.cert_pem;
    if (keystore != nullptr) {
      t.keystore_certificate_chain = keystore->cert_pem;
      t.keystore_key = keystore->key_pem;
    }
    auto ctx = MakeClientTlsContext(t);
    EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
    BrokerClientOptions o = FastOptions();
    o.tls = ctx.ok() ? std::make_shared<TlsContextSlot>(*ctx) : nullptr;
    o.verify_hostname = verify_hostname;
    return o;
  }

  testing::TestCert ca_, other_ca_, server_, client_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  PongHandler handler_;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
};

TEST_F(BrokerClientTlsTest, RoundTripsOverTlsWithHostnameVerification) {
  StartListener("none");
  BrokerClient client(ClientTls(ca_, true));
  client.SetPeer("localhost", listener_->port(), true);
  BrokerClient::Response resp;
  Status st = client.Call(ApiKey::kMetadata, kAny, Body("over tls"), &resp);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ("pong:over tls", Text(resp));
  EXPECT_EQ(12, resp.api_version);
  // A response of several TLS records (max 16 KiB each) arrives whole.
  ASSERT_TRUE(client.Call(ApiKey::kMetadata, kAny, Body("big:3000000"), &resp).ok());
  ASSERT_EQ(5u + 3000000u, resp.size);
  EXPECT_EQ('a', resp.body[5]);
  EXPECT_EQ(static_cast<char>('a' + 2999999 % 23), static_cast<char>(resp.body[5 + 2999999]));
  EXPECT_EQ(1u, listener_->connection_count());
}

TEST_F(BrokerClientTlsTest, HostnameVerificationFollowsEndpointIdentification) {
  StartListener("none");
  // https: the certificate names localhost, not 127.0.0.1.
  BrokerClient strict(ClientTls(ca_, true));
  strict.SetPeer("127.0.0.1", listener_->port(), true);
  Status st = strict.Connect();
  EXPECT_EQ(Status::Code::kUnavailable, st.code());
  EXPECT_NE(std::string::npos, st.message().find("certificate verify failed")) << st.ToString();
  // Empty algorithm: the chain is still verified, the name is not.
  BrokerClient lenient(ClientTls(ca_, false));
  lenient.SetPeer("127.0.0.1", listener_->port(), true);
  BrokerClient::Response resp;
  st = lenient.Call(ApiKey::kMetadata, kAny, Body("ok"), &resp);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ("pong:ok", Text(resp));
}

TEST_F(BrokerClientTlsTest, UntrustedCertificateAndPlaintextAreRefused) {
  StartListener("none");
  BrokerClient untrusting(ClientTls(other_ca_, false));
  untrusting.SetPeer("localhost", listener_->port(), true);
  Status st = untrusting.Connect();
  EXPECT_EQ(Status::Code::kUnavailable, st.code());
  EXPECT_NE(std::string::npos, st.message().find("certificate verify failed")) << st.ToString();
  // A plaintext client against the SSL port: the listener drops it.
  BrokerClient plain(FastOptions());
  plain.SetPeer("127.0.0.1", listener_->port(), false);
  EXPECT_FALSE(plain.Connect().ok());
  // SSL peer without TLS settings: refused before dialling.
  BrokerClient no_settings(FastOptions());
  no_settings.SetPeer("localhost", listener_->port(), true);
  EXPECT_EQ(Status::Code::kInvalidArgument, no_settings.Connect().code());
}

TEST_F(BrokerClientTlsTest, ClientCertificateWhenTheListenerRequiresOne) {
  StartListener("required");
  BrokerClient anonymous(ClientTls(ca_, true));
  anonymous.SetPeer("localhost", listener_->port(), true);
  EXPECT_FALSE(anonymous.Connect().ok());
  BrokerClient with_cert(ClientTls(ca_, true, &client_));
  with_cert.SetPeer("localhost", listener_->port(), true);
  BrokerClient::Response resp;
  Status st = with_cert.Call(ApiKey::kMetadata, kAny, Body("mtls"), &resp);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ("pong:mtls", Text(resp));
}

TEST_F(BrokerClientTlsTest, AReloadedContextServesTheNextConnection) {
  // The key and trust stores reloaded (ssl.reload.check.interval.ms): the client's slot gets
  // a context trusting the listener's CA; the open connection is not touched, the next one
  // takes the new context.
  StartListener("none");
  BrokerClientOptions o = ClientTls(other_ca_, false);
  BrokerClient client(o);
  client.SetPeer("localhost", listener_->port(), true);
  EXPECT_EQ(Status::Code::kUnavailable, client.Connect().code());
  o.tls->Set(ClientTls(ca_, false).tls->Get());
  BrokerClient::Response resp;
  Status st = client.Call(ApiKey::kMetadata, kAny, Body("reloaded"), &resp);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ("pong:reloaded", Text(resp));
}

TEST_F(BrokerClientTlsTest, InterruptWakesATlsHandshakeThatNeverCompletes) {
  // A plain TCP peer that never speaks TLS: the handshake waits for its ServerHello.
  FakeBroker mute(FakeBroker::Mode::kMute);
  BrokerClientOptions o = ClientTls(ca_, false);
  o.connect_timeout_ms = 30000;
  o.connect_timeout_max_ms = 30000;
  BrokerClient client(o);
  client.SetPeer("127.0.0.1", mute.port(), true);
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    client.Interrupt();
  });
  const auto start = SteadyClock::now();
  EXPECT_EQ(Status::Code::kUnavailable, client.Connect().code());
  EXPECT_LT(MsSince(start), 2000);
  t.join();
}

}  // namespace
}  // namespace gregor::network
