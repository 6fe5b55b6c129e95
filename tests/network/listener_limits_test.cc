// The listener's limits with real sockets: the request memory pool
// (queued.max.request.bytes), queued.max.requests, max.connections,
// max.connections.per.ip(.overrides) and socket.request.read.timeout.ms.

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gregor/network/listener.h"

namespace gregor::network {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// "wait..." is held until `released` (counting how many are held at once);
// "size..." answers the frame's size; anything else is answered reversed.
class Handler : public RequestHandler {
 public:
  std::atomic<bool> released{false};
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};

  asio::awaitable<bool> Handle(ConnectionContext& ctx, std::string& frame,
                               protocol::Writer& out) override {
    // "park..." gives its queued.max.requests slot back, then waits like "wait..."; "release"
    // ends every wait.
    if (frame == "release-all") released = true;
    if (frame.rfind("park", 0) == 0) ctx.ParkRequest();
    if (frame.rfind("wait", 0) == 0 || frame.rfind("park", 0) == 0) {
      int now = ++active;
      int prev = max_active.load();
      while (now > prev && !max_active.compare_exchange_weak(prev, now)) {
      }
      asio::steady_timer t(co_await asio::this_coro::executor);
      while (!released) {
        t.expires_after(milliseconds(5));
        co_await t.async_wait(asio::use_awaitable);
      }
      --active;
    }
    std::string body = frame.rfind("size", 0) == 0 ? std::to_string(frame.size())
                                                   : std::string(frame.rbegin(), frame.rend());
    out.Int32(static_cast<int32_t>(body.size()));
    out.Raw(body);
    co_return true;
  }
};

template <typename Pred>
bool PollUntil(Pred pred, milliseconds timeout = milliseconds(3000)) {
  auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

std::string Prefix(uint32_t n) {
  std::string f(4, '\0');
  f[0] = static_cast<char>(n >> 24);
  f[1] = static_cast<char>(n >> 16);
  f[2] = static_cast<char>(n >> 8);
  f[3] = static_cast<char>(n);
  return f;
}
std::string Frame(const std::string& body) {
  return Prefix(static_cast<uint32_t>(body.size())) + body;
}

bool Readable(tcp::socket& s, milliseconds timeout) {
  pollfd p{s.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

// Reads one response; false when the server closed the socket or nothing
// came within the timeout.
bool ReadFrame(tcp::socket& s, std::string* body, milliseconds timeout = milliseconds(3000)) {
  if (!Readable(s, timeout)) return false;
  uint8_t h[4];
  boost::system::error_code ec;
  asio::read(s, asio::buffer(h, 4), ec);
  if (ec) return false;
  uint32_t n = (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
  body->resize(n);
  asio::read(s, asio::buffer(body->data(), n), ec);
  return !ec;
}

// True when the server closes the connection within the timeout.
bool ClosedWithin(tcp::socket& s, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !Readable(s, left)) return false;
    char buf[4096];
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    if (ec) return true;
  }
}

class ListenerLimitsTest : public ::testing::Test {
 protected:
  ListenerOptions Options() {
    ListenerOptions o;
    o.name = "PLAINTEXT";
    o.security_protocol = "PLAINTEXT";
    o.host = "127.0.0.1";
    o.max_request_bytes = 200 * 1000 * 1000;
    return o;
  }
  void Start(ListenerOptions o) {
    options_ = o;
    listener_ = std::make_unique<Listener>(io_, o, &handler_);
    ASSERT_TRUE(listener_->Bind().ok());
    listener_->Start();
    work_.emplace(io_.get_executor());
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  void TearDown() override {
    handler_.released = true;
    if (listener_) listener_->Stop();
    if (extra_) extra_->Stop();
    work_.reset();
    for (auto& t : threads_) t.join();
  }
  tcp::socket Connect(const char* from = nullptr) {
    tcp::socket s(client_io_);
    if (from != nullptr) {
      s.open(tcp::v4());
      s.bind(tcp::endpoint(asio::ip::make_address(from), 0));
    }
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), listener_->port()));
    return s;
  }
  // A connection the listener serves: it answers a request.
  bool Served(tcp::socket& s, milliseconds timeout = milliseconds(3000)) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(Frame("ping-1234")), ec);
    std::string body;
    return !ec && ReadFrame(s, &body, timeout) && body == "4321-gnip";
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  Handler handler_;
  ListenerOptions options_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<Listener> extra_;  // a second listener sharing the quotas
  std::vector<std::thread> threads_;
};

TEST_F(ListenerLimitsTest, HugeDeclaredFrameReservesOnlyWhatArrived) {
  auto o = Options();
  o.memory_pool = std::make_shared<MemoryPool>(256 << 20);
  Start(o);
  auto pool = o.memory_pool;
  std::vector<tcp::socket> hostile;
  for (int i = 0; i < 4; ++i) {
    hostile.push_back(Connect());
    asio::write(hostile.back(), asio::buffer(Prefix(100 * 1000 * 1000) + std::string(4096, 'x')));
  }
  ASSERT_TRUE(PollUntil([&] { return pool->used() >= 4 * 4096; })) << pool->used();
  std::this_thread::sleep_for(milliseconds(100));
  // 100 MB declared four times, 4 KiB sent each: a first chunk each, no more.
  EXPECT_LE(pool->used(), 4 * 64 * 1024) << "the pool lent what the clients declared";
  auto ok = Connect();
  EXPECT_TRUE(Served(ok));
  // What arrives later is admitted as it arrives.
  asio::write(hostile[0], asio::buffer(std::string(1 << 20, 'y')));
  ASSERT_TRUE(PollUntil([&] { return pool->used() >= (1 << 20); })) << pool->used();
  EXPECT_LE(pool->used(), 3 * 64 * 1024 + 3 * (1 << 20));
  hostile.clear();  // closed: the memory goes back
  EXPECT_TRUE(PollUntil([&] { return pool->used() == 0; })) << pool->used();
}

TEST_F(ListenerLimitsTest, MutedConnectionResumesWhenMemoryFrees) {
  auto o = Options();
  o.max_request_bytes = 4 << 20;
  o.memory_pool = std::make_shared<MemoryPool>(256 * 1024);
  Start(o);
  auto pool = o.memory_pool;
  // A: 600 KiB of a 1 MiB request. It overdraws the pool (the one overdraft).
  auto a = Connect();
  std::string a_body = "size" + std::string((1 << 20) - 4, 'a');
  std::string a_frame = Frame(a_body);
  asio::write(a, asio::buffer(a_frame.data(), 4 + 600 * 1024));
  ASSERT_TRUE(PollUntil([&] { return pool->used() >= 600 * 1024; })) << pool->used();
  // B: a whole 512 KiB request, which the pool cannot admit: B is muted.
  auto b = Connect();
  std::string b_frame = Frame("size" + std::string(512 * 1024 - 4, 'b'));
  std::thread bw([&] {
    boost::system::error_code ec;
    asio::write(b, asio::buffer(b_frame), ec);
  });
  // On an early return, unblock the writer before joining it.
  struct Joiner {
    tcp::socket& s;
    std::thread& t;
    ~Joiner() {
      if (!t.joinable()) return;
      boost::system::error_code ec;
      s.shutdown(tcp::socket::shutdown_both, ec);
      t.join();
    }
  } joiner{b, bw};
  ASSERT_TRUE(PollUntil([&] { return pool->waiting() >= 1; })) << "B never waited for memory";
  std::string body;
  EXPECT_FALSE(ReadFrame(b, &body, milliseconds(300))) << "B was answered while muted";
  EXPECT_LE(pool->used(), (1 << 20) + MemoryPool::kGraceBytes);
  // C: small requests still get through while the pool is held.
  auto c = Connect();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Served(c, milliseconds(1000))) << i;
  // A completes; its memory frees; B resumes.
  asio::write(a, asio::buffer(a_frame.data() + 4 + 600 * 1024, a_frame.size() - 4 - 600 * 1024));
  ASSERT_TRUE(ReadFrame(a, &body));
  EXPECT_EQ(std::to_string(1 << 20), body);
  ASSERT_TRUE(ReadFrame(b, &body)) << "B not resumed after memory was released";
  EXPECT_EQ(std::to_string(512 * 1024), body);
  bw.join();
  EXPECT_TRUE(PollUntil([&] { return pool->used() == 0; })) << pool->used();
}

TEST_F(ListenerLimitsTest, PerIpLimitAndOverrides) {
  auto o = Options();
  ConnectionQuotaOptions q;
  q.max_connections_per_ip = 2;
  q.max_connections_per_ip_overrides = {{"127.0.0.2", 3}};
  o.connection_quotas = std::make_shared<ConnectionQuotas>(q);
  Start(o);
  auto quotas = o.connection_quotas;
  std::vector<tcp::socket> mine;
  for (int i = 0; i < 2; ++i) {
    mine.push_back(Connect());
    EXPECT_TRUE(Served(mine.back())) << i;
  }
  auto third = Connect();
  EXPECT_TRUE(ClosedWithin(third, milliseconds(2000))) << "over max.connections.per.ip, not closed";
  // One closes; a new one is admitted.
  mine[0].close();
  // Once the listener has seen that close, a new connection is admitted.
  tcp::socket again(client_io_);
  EXPECT_TRUE(PollUntil([&] {
    auto s = Connect();
    if (!Served(s, milliseconds(500))) return false;
    again = std::move(s);
    return true;
  }));
  // 127.0.0.2 has its own override of 3.
  std::vector<tcp::socket> other;
  for (int i = 0; i < 3; ++i) {
    other.push_back(Connect("127.0.0.2"));
    EXPECT_TRUE(Served(other.back())) << i;
  }
  auto fourth = Connect("127.0.0.2");
  EXPECT_TRUE(ClosedWithin(fourth, milliseconds(2000)));
  EXPECT_EQ(3, quotas->MaxConnectionsPerIp(asio::ip::make_address("::ffff:127.0.0.2")));
}

TEST(ConnectionRateTest, IpRateQuotaThrottlesPastTheRateAndRecoversAfterTheWindow) {
  ConnectionQuotas quotas;
  quotas.SetIpConnectionRateWindow(QuotaWindow{2, 1000});
  const auto a = asio::ip::make_address("10.0.0.1");
  const auto b = asio::ip::make_address("10.0.0.2");
  // No quota: nothing recorded or kept.
  EXPECT_EQ(0, quotas.RecordIpConnection(a, 0));
  EXPECT_EQ(0u, quotas.ip_rate_count());
  // 5/s for a (named; an IPv4-mapped address is the same address), 1/s by default.
  quotas.SetIpConnectionRate(asio::ip::make_address("::ffff:10.0.0.1"), 5);
  quotas.SetIpConnectionRate(std::nullopt, 1);
  EXPECT_EQ(5, quotas.IpConnectionRate(a));
  EXPECT_EQ(1, quotas.IpConnectionRate(b));
  // The rate divides by at least (samples - 1) windows, 1 s: five connections at once fit,
  // the sixth is throttled and not counted, so the next one is throttled the same.
  int64_t now = 10'000;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(0, quotas.RecordIpConnection(a, now)) << i;
  int64_t throttle = quotas.RecordIpConnection(a, now);
  EXPECT_EQ(200, throttle);  // (6 - 5) / 5 * 1000 ms
  EXPECT_NEAR(throttle, quotas.RecordIpConnection(a, now + 1), 1);
  EXPECT_EQ(0, quotas.RecordIpConnection(b, now));
  EXPECT_GT(quotas.RecordIpConnection(b, now), 0);
  // Once the samples are older than the window span, a burst is admitted again.
  now += 2 * 1000 + 1;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(0, quotas.RecordIpConnection(a, now)) << i;
  // Removing a's quota leaves it with the default; a rate of 0 refuses every connection for
  // at most one window.
  quotas.SetIpConnectionRate(a, std::nullopt);
  EXPECT_EQ(1, quotas.IpConnectionRate(a));
  quotas.SetIpConnectionRate(std::nullopt, 0);
  EXPECT_EQ(1000, quotas.RecordIpConnection(b, now + 10'000));
}

TEST_F(ListenerLimitsTest, ConnectionsOverTheIpRateAreClosedAfterTheThrottleTime) {
  auto o = Options();
  o.connection_quotas = std::make_shared<ConnectionQuotas>();
  o.connection_quotas->SetIpConnectionRateWindow(QuotaWindow{2, 1000});
  o.connection_quotas->SetIpConnectionRate(asio::ip::make_address("127.0.0.1"), 3);
  Start(o);
  // The rate divides by at least one 1 s window: three at once fit, the rest of the burst is
  // throttled (kept unread, then closed after ~333 ms).
  std::vector<tcp::socket> burst;
  for (int i = 0; i < 6; ++i) burst.push_back(Connect());
  int served = 0, closed = 0;
  for (auto& s : burst) {
    if (Served(s, milliseconds(1500))) {
      ++served;
    } else if (ClosedWithin(s, milliseconds(2000))) {
      ++closed;
    }
  }
  EXPECT_EQ(3, served);
  EXPECT_EQ(3, closed);
  EXPECT_EQ(6, served + closed);
  // Another address has no quota.
  auto other = Connect("127.0.0.2");
  EXPECT_TRUE(Served(other));
}

TEST_F(ListenerLimitsTest, MaxConnectionsStopsAcceptingUntilOneCloses) {
  auto o = Options();
  ConnectionQuotaOptions q;
  q.max_connections = 2;
  o.connection_quotas = std::make_shared<ConnectionQuotas>(q);
  Start(o);
  auto c1 = Connect();
  auto c2 = Connect();
  EXPECT_TRUE(Served(c1));
  EXPECT_TRUE(Served(c2));
  // The third completes its TCP handshake (backlog) but is not accepted.
  auto c3 = Connect();
  asio::write(c3, asio::buffer(Frame("ping-1234")));
  std::string body;
  EXPECT_FALSE(ReadFrame(c3, &body, milliseconds(300))) << "served past max.connections";
  EXPECT_EQ(2, o.connection_quotas->total());
  c1.close();
  ASSERT_TRUE(ReadFrame(c3, &body)) << "not accepted after a connection closed";
  EXPECT_EQ("4321-gnip", body);
}

TEST_F(ListenerLimitsTest, ListenerLimitAndInterBrokerExemption) {
  ConnectionQuotaOptions q;
  q.max_connections = 1;
  q.listener_max_connections = {{"PLAINTEXT", 2}};
  auto o = Options();
  o.inter_broker = true;  // exempt from max.connections, not from its own limit
  o.connection_quotas = std::make_shared<ConnectionQuotas>(q);
  Start(o);
  auto c1 = Connect();
  auto c2 = Connect();
  EXPECT_TRUE(Served(c1));
  EXPECT_TRUE(Served(c2));
  auto c3 = Connect();
  asio::write(c3, asio::buffer(Frame("ping-1234")));
  std::string body;
  EXPECT_FALSE(ReadFrame(c3, &body, milliseconds(300))) << "served past the listener's limit";
  c2.close();
  EXPECT_TRUE(ReadFrame(c3, &body));
}

TEST_F(ListenerLimitsTest, InterBrokerConnectionPastMaxConnectionsEvictsLeastRecentlyActive) {
  // KIP-402: CLIENT holds max.connections=2; a connection to the exempt
  // inter-broker listener takes the broker to 3, so CLIENT's least recently
  // active connection is closed and the broker is back at 2.
  ConnectionQuotaOptions q;
  q.max_connections = 2;
  auto quotas = std::make_shared<ConnectionQuotas>(q);
  auto o = Options();
  o.name = "CLIENT";
  o.connection_quotas = quotas;
  Start(o);
  auto bo = Options();
  bo.name = "BROKER";
  bo.inter_broker = true;
  bo.connection_quotas = quotas;
  extra_ = std::make_unique<Listener>(io_, bo, &handler_);
  Listener& broker_listener = *extra_;
  ASSERT_TRUE(broker_listener.Bind().ok());
  broker_listener.Start();

  auto c1 = Connect();
  ASSERT_TRUE(Served(c1));
  std::this_thread::sleep_for(milliseconds(20));
  auto c2 = Connect();
  ASSERT_TRUE(Served(c2));  // c1 is now the least recently active
  EXPECT_EQ(0, quotas->evictions());

  tcp::socket b1(client_io_);
  b1.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), broker_listener.port()));
  EXPECT_TRUE(Served(b1));
  EXPECT_TRUE(ClosedWithin(c1, milliseconds(3000))) << "the LRU client connection stayed open";
  EXPECT_TRUE(Served(c2));
  EXPECT_EQ(1, quotas->evictions());
  EXPECT_TRUE(PollUntil([&] { return listener_->connection_count() == 1; }));
  // Still at the limit: a new client connection waits in the backlog.
  auto c3 = Connect();
  asio::write(c3, asio::buffer(Frame("ping-1234")));
  std::string body;
  EXPECT_FALSE(ReadFrame(c3, &body, milliseconds(300))) << "served past max.connections";
  b1.close();
  EXPECT_TRUE(ReadFrame(c3, &body)) << "not accepted after the inter-broker connection closed";
}

TEST_F(ListenerLimitsTest, StalledRequestIsClosedIdleConnectionIsNot) {
  auto o = Options();
  o.request_read_timeout_ms = 300;
  o.idle_timeout_ms = -1;
  Start(o);
  auto t0 = Clock::now();
  auto partial_body = Connect();
  asio::write(partial_body, asio::buffer(Prefix(100) + std::string(10, 'x')));
  auto partial_size = Connect();
  asio::write(partial_size, asio::buffer(Prefix(100).substr(0, 2)));
  auto idle = Connect();
  auto trickle = Connect();
  std::string slow = Frame("ping-" + std::string(15, '.'));
  std::thread tw([&] {
    for (char ch : slow) {  // one byte every 100 ms: slow, but never 300 ms without progress
      boost::system::error_code ec;
      asio::write(trickle, asio::buffer(&ch, 1), ec);
      std::this_thread::sleep_for(milliseconds(100));
    }
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{tw};
  EXPECT_TRUE(ClosedWithin(partial_body, milliseconds(2000)));
  EXPECT_TRUE(ClosedWithin(partial_size, milliseconds(2000)));
  EXPECT_GE(Clock::now() - t0, milliseconds(290));
  tw.join();
  std::string body;
  EXPECT_TRUE(ReadFrame(trickle, &body)) << "a slow but progressing request was closed";
  // No frame started: only connections.max.idle.ms applies (never, here).
  EXPECT_FALSE(ClosedWithin(idle, milliseconds(200)));
  EXPECT_TRUE(Served(idle));
}

TEST_F(ListenerLimitsTest, QueuedMaxRequestsBoundsRequestsBeingHandled) {
  auto o = Options();
  o.request_slots = std::make_shared<RequestSlots>(2);
  Start(o);
  std::vector<tcp::socket> conns;
  for (int i = 0; i < 4; ++i) {
    conns.push_back(Connect());
    asio::write(conns.back(), asio::buffer(Frame("wait-request-" + std::to_string(i))));
  }
  ASSERT_TRUE(PollUntil([&] { return handler_.active == 2; }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(2, handler_.active);
  EXPECT_EQ(2, o.request_slots->in_use());
  handler_.released = true;
  for (int i = 0; i < 4; ++i) {
    std::string body;
    ASSERT_TRUE(ReadFrame(conns[i], &body)) << i;
    std::string want = "wait-request-" + std::to_string(i);
    EXPECT_EQ(std::string(want.rbegin(), want.rend()), body);
  }
  EXPECT_EQ(2, handler_.max_active);
  EXPECT_TRUE(PollUntil([&] { return o.request_slots->in_use() == 0; }));
}

// A parked request (Kafka's purgatory: waiting for acks=all or a long poll) gives its slot back,
// so the request that ends its wait is handled even with queued.max.requests=1.
TEST_F(ListenerLimitsTest, ParkedRequestLeavesItsSlotToOthers) {
  auto o = Options();
  o.request_slots = std::make_shared<RequestSlots>(1);
  Start(o);
  tcp::socket waiting = Connect();
  asio::write(waiting, asio::buffer(Frame("park-until-released")));
  ASSERT_TRUE(PollUntil([&] { return handler_.active == 1; }));
  EXPECT_TRUE(PollUntil([&] { return o.request_slots->in_use() == 0; }));
  tcp::socket releasing = Connect();
  asio::write(releasing, asio::buffer(Frame("release-all")));
  std::string body;
  ASSERT_TRUE(ReadFrame(releasing, &body));
  EXPECT_EQ("lla-esaeler", body);
  ASSERT_TRUE(ReadFrame(waiting, &body));
  EXPECT_EQ("desaeler-litnu-krap", body);
  EXPECT_TRUE(PollUntil([&] { return o.request_slots->in_use() == 0; }));
}

}  // namespace
}  // namespace gregor::network
