// TransactionMarkerChannelManager against real sockets: fake partition leaders in the test
// (port 0) that answer ApiVersions and WriteTxnMarkers (the real codec decodes each request and
// encodes the answer, one scripted error per partition and attempt), hold their answers until
// released, or stay silent (a SIGSTOPped broker: the kernel accepts, nobody answers). Leaders
// come from a real MetadataCache that the tests update as the controller would.
#include "gregor/txn/transaction_marker_channel_manager.h"

#include <arpa/inet.h>
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/api_versions.h"
#include "gregor/protocol/messages/write_txn_markers.h"
#include "gregor/protocol/reader.h"

namespace gregor::txn {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using protocol::WriteTxnMarkersRequest;
using SteadyClock = std::chrono::steady_clock;

int64_t MsSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

bool WaitFor(const std::function<bool()>& cond, int ms = 10000) {
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(ms);
  while (SteadyClock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // poll interval
  }
  return cond();
}

bool ReadFully(int fd, void* p, size_t n) {
  auto* b = static_cast<uint8_t*>(p);
  for (size_t at = 0; at < n;) {
    ssize_t r = ::recv(fd, b + at, n - at, 0);
    if (r <= 0) return false;
    at += static_cast<size_t>(r);
  }
  return true;
}

bool WriteFully(int fd, const std::string& s) {
  for (size_t at = 0; at < s.size();) {
    ssize_t r = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (r <= 0) return false;
    at += static_cast<size_t>(r);
  }
  return true;
}

// A partition leader's WriteTxnMarkers side. Each partition of each marker is answered with
// `errors(tp, attempt)` (attempt counts from 0 per producer id and partition). `silent`:
// reads requests (ApiVersions answered) and never answers them; `hold`: answers wait until
// released.
class FakeLeader {
 public:
  using ErrorScript = std::function<ErrorCode(const TopicPartition&, int attempt)>;

  explicit FakeLeader(int16_t max_version = 1, bool silent = false)
      : max_version_(max_version), silent_(silent) {
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
  ~FakeLeader() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
      hold_ = false;
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  void set_silent(bool s) { silent_.store(s); }
  void set_errors(ErrorScript f) {
    std::lock_guard<std::mutex> lock(mu_);
    errors_ = std::move(f);
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }  // WriteTxnMarkers requests read
  // Decoded WriteTxnMarkers requests and their versions, in arrival order.
  std::vector<std::pair<int16_t, WriteTxnMarkersRequest>> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) {
        ::close(fd);
        return;
      }
      ++connections_;
      fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    for (;;) {
      uint8_t prefix[4];
      if (!ReadFully(fd, prefix, 4)) return;
      uint32_t n = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) |
                   (uint32_t(prefix[2]) << 8) | uint32_t(prefix[3]);
      if (n > (16u << 20)) return;
      std::string frame(n, '\0');
      if (!ReadFully(fd, frame.data(), n)) return;
      protocol::Reader r(frame);
      protocol::RequestHeader h;
      if (!protocol::DecodeRequestHeader(r, &h)) return;
      const auto key = static_cast<ApiKey>(h.api_key);
      protocol::Writer w;
      w.Int32(0);
      protocol::EncodeResponseHeader(w, key, h.api_version, h.correlation_id);
      if (key == ApiKey::kApiVersions) {
        protocol::ApiVersionsResponse resp;
        for (const auto& api : protocol::SupportedApis()) {
          if (api.key == ApiKey::kWriteTxnMarkers) continue;
          resp.api_keys.push_back({static_cast<int16_t>(api.key), api.min, api.max});
        }
        resp.api_keys.push_back({static_cast<int16_t>(ApiKey::kWriteTxnMarkers), 0, max_version_});
        resp.Encode(w, h.api_version);
      } else if (key == ApiKey::kWriteTxnMarkers) {
        WriteTxnMarkersRequest req;
        if (!req.Decode(r, h.api_version) || !r.ok()) return;
        ++requests_;
        if (silent_.load()) continue;
        protocol::WriteTxnMarkersResponse resp;
        {
          std::unique_lock<std::mutex> lock(mu_);
          received_.push_back({h.api_version, req});
          for (const auto& m : req.markers) {
            auto& mr = resp.markers.emplace_back();
            mr.producer_id = m.producer_id;
            for (const auto& t : m.topics) {
              auto& tr = mr.topics.emplace_back();
              tr.name = t.name;
              for (int32_t p : t.partition_indexes) {
                const TopicPartition tp{t.name, p};
                const int attempt = attempts_[{m.producer_id, tp}]++;
                tr.partitions.push_back({p, errors_ ? errors_(tp, attempt) : ErrorCode::kNone});
              }
            }
          }
          cv_.wait(lock, [&] { return !hold_; });
          if (stopped_) return;
        }
        resp.Encode(w, h.api_version);
      } else {
        return;
      }
      w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
      if (!WriteFully(fd, w.Flatten())) return;
    }
  }

  const int16_t max_version_;
  std::atomic<bool> silent_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool hold_ = false;
  ErrorScript errors_;
  std::map<std::pair<int64_t, TopicPartition>, int> attempts_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<std::pair<int16_t, WriteTxnMarkersRequest>> received_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
};

cluster::CachedBroker Broker(int32_t id, const FakeLeader& l) {
  cluster::CachedBroker b;
  b.id = id;
  b.endpoints.push_back({"CLIENT", "127.0.0.1", 1, "PLAINTEXT"});
  b.endpoints.push_back({"INTERNAL", "127.0.0.1", l.port(), "PLAINTEXT"});
  return b;
}

cluster::PartitionUpdate Leader(const std::string& topic, int32_t partition, int32_t leader) {
  cluster::PartitionUpdate u;
  u.topic = topic;
  u.partition = partition;
  u.topic_id[0] = static_cast<uint8_t>(topic.size());
  u.state.leader = leader;
  u.state.leader_epoch = 1;
  if (leader >= 0) u.state.replicas = u.state.isr = {leader};
  return u;
}

TxnMarker Marker(int64_t pid, std::set<TopicPartition> partitions, bool commit = true) {
  TxnMarker m;
  m.producer_id = pid;
  m.producer_epoch = 3;
  m.coordinator_epoch = 7;
  m.commit = commit;
  m.partitions = std::move(partitions);
  m.transactional_id = "txn-" + std::to_string(pid);
  return m;
}

// Completion of one marker, waited on by the test.
struct Done {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  Status status;
  std::thread::id thread;

  std::function<void(Status)> Fn() {
    return [this](Status st) {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
      status = std::move(st);
      thread = std::this_thread::get_id();
      cv.notify_all();
    };
  }
  bool Wait(int ms) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return calls > 0; });
  }
  bool is_done() {
    std::lock_guard<std::mutex> lock(mu);
    return calls > 0;
  }
};

TransactionMarkerChannelManager::Options Opts(int32_t request_timeout_ms) {
  TransactionMarkerChannelManager::Options o;
  o.broker_id = 0;
  o.listener = "INTERNAL";
  o.request_timeout_ms = request_timeout_ms;
  o.connect_timeout_ms = request_timeout_ms;
  o.connect_timeout_max_ms = request_timeout_ms;
  o.reconnect_backoff_ms = 20;
  o.reconnect_backoff_max_ms = 100;
  return o;
}

// The partitions of a request's marker, as "topic-partition" in request order.
std::vector<std::string> Partitions(const WriteTxnMarkersRequest::WritableTxnMarker& m) {
  std::vector<std::string> out;
  for (const auto& t : m.topics) {
    for (int32_t p : t.partition_indexes) out.push_back(t.name + "-" + std::to_string(p));
  }
  return out;
}

// Below inter.broker.protocol.version 2.8-IV0 Kafka's coordinator sends WriteTxnMarkers v0
// even to a leader that speaks v1.
TEST(TransactionMarkerChannelManagerTest, InterBrokerProtocolBelow2_8SendsV0) {
  for (auto [ibp, want] : {std::pair{config::MetadataVersion::kIbp2_7_IV2, 0},
                           std::pair{config::MetadataVersion::kIbp2_8_IV0, 1}}) {
    SCOPED_TRACE(config::MetadataVersionName(ibp));
    FakeLeader leader(/*max_version=*/1);
    cluster::MetadataCache metadata;
    metadata.Update(0, {Broker(1, leader)}, {Leader("t", 0, 1)});
    Done done;
    TransactionMarkerChannelManager::Options o = Opts(5000);
    o.inter_broker_protocol = ibp;
    TransactionMarkerChannelManager channel(o, &metadata);
    channel.AddMarker(Marker(42, {{"t", 0}}), done.Fn());
    ASSERT_TRUE(done.Wait(5000));
    EXPECT_TRUE(done.status.ok()) << done.status.ToString();
    const auto got = leader.received();
    ASSERT_EQ(1u, got.size());
    EXPECT_EQ(want, got[0].first);
  }
}

TEST(TransactionMarkerChannelManagerTest, WritesToEachLeaderAtTheNegotiatedVersion) {
  FakeLeader v1(/*max_version=*/1);
  FakeLeader v0(/*max_version=*/0);
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, v1), Broker(2, v0)},
                  {Leader("t", 0, 1), Leader("t", 1, 2), Leader("u", 0, 1)});
  Done done, abort, empty;  // outlive the channel: its callbacks reach them
  TransactionMarkerChannelManager channel(Opts(5000), &metadata);
  channel.AddMarker(Marker(42, {{"t", 0}, {"t", 1}, {"u", 0}}), done.Fn());
  ASSERT_TRUE(done.Wait(5000));
  EXPECT_TRUE(done.status.ok()) << done.status.ToString();
  EXPECT_EQ(1, done.calls);
  EXPECT_NE(std::this_thread::get_id(), done.thread);  // on the channel's thread
  EXPECT_EQ(0u, channel.PendingMarkers());

  // One request per leader, each at the highest version both sides speak, with the marker's
  // fields and only that leader's partitions, grouped by topic.
  const auto a = v1.received();
  ASSERT_EQ(1u, a.size());
  EXPECT_EQ(1, a[0].first);
  ASSERT_EQ(1u, a[0].second.markers.size());
  const auto& m = a[0].second.markers[0];
  EXPECT_EQ(42, m.producer_id);
  EXPECT_EQ(3, m.producer_epoch);
  EXPECT_EQ(7, m.coordinator_epoch);
  EXPECT_TRUE(m.transaction_result);
  EXPECT_EQ((std::vector<std::string>{"t-0", "u-0"}), Partitions(m));
  ASSERT_EQ(2u, m.topics.size());
  const auto b = v0.received();
  ASSERT_EQ(1u, b.size());
  EXPECT_EQ(0, b[0].first);
  ASSERT_EQ(1u, b[0].second.markers.size());
  EXPECT_EQ((std::vector<std::string>{"t-1"}), Partitions(b[0].second.markers[0]));

  // An abort, and an empty marker (nothing to write: done at once).
  channel.AddMarker(Marker(43, {{"t", 1}}, /*commit=*/false), abort.Fn());
  channel.AddMarker(Marker(44, {}), empty.Fn());
  ASSERT_TRUE(abort.Wait(5000) && empty.Wait(5000));
  EXPECT_TRUE(abort.status.ok() && empty.status.ok());
  ASSERT_EQ(2u, v0.received().size());
  EXPECT_FALSE(v0.received()[1].second.markers[0].transaction_result);
}

TEST(TransactionMarkerChannelManagerTest, BatchesMarkersPerLeaderOnePerProducer) {
  FakeLeader leader;
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, leader)}, {Leader("t", 0, 1), Leader("t", 1, 1)});
  Done d[4];
  TransactionMarkerChannelManager channel(Opts(5000), &metadata);
  leader.Hold();
  channel.AddMarker(Marker(1, {{"t", 0}}), d[0].Fn());
  ASSERT_TRUE(WaitFor([&] { return leader.received().size() == 1; }));
  // While the first request waits for its answer, three more markers queue, two of them for
  // producer 2 (a request answers per producer id, so they cannot share one).
  channel.AddMarker(Marker(2, {{"t", 0}}), d[1].Fn());
  channel.AddMarker(Marker(3, {{"t", 0}, {"t", 1}}), d[2].Fn());
  TxnMarker again = Marker(2, {{"t", 1}});
  again.producer_epoch = 4;
  channel.AddMarker(again, d[3].Fn());
  ASSERT_TRUE(WaitFor([&] { return channel.QueuedMarkers(1) == 4; }));
  leader.Release();
  for (auto& x : d) {
    ASSERT_TRUE(x.Wait(5000));
    EXPECT_TRUE(x.status.ok()) << x.status.ToString();
  }
  const auto got = leader.received();
  ASSERT_EQ(3u, got.size());
  ASSERT_EQ(2u, got[1].second.markers.size());
  EXPECT_EQ(2, got[1].second.markers[0].producer_id);
  EXPECT_EQ(3, got[1].second.markers[1].producer_id);
  EXPECT_EQ((std::vector<std::string>{"t-0", "t-1"}), Partitions(got[1].second.markers[1]));
  ASSERT_EQ(1u, got[2].second.markers.size());
  EXPECT_EQ(2, got[2].second.markers[0].producer_id);
  EXPECT_EQ(4, got[2].second.markers[0].producer_epoch);
}

TEST(TransactionMarkerChannelManagerTest, RetriesNotLeaderUntilWritten) {
  FakeLeader leader;
  leader.set_errors([](const TopicPartition& tp, int attempt) {
    if (tp.partition == 0 && attempt < 2) return ErrorCode::kNotLeaderOrFollower;
    return ErrorCode::kNone;
  });
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, leader)}, {Leader("t", 0, 1), Leader("t", 1, 1)});
  Done done;
  TransactionMarkerChannelManager channel(Opts(5000), &metadata);
  channel.AddMarker(Marker(9, {{"t", 0}, {"t", 1}}), done.Fn());
  ASSERT_TRUE(done.Wait(5000));
  EXPECT_TRUE(done.status.ok()) << done.status.ToString();
  // Only the partition that failed is sent again.
  const auto got = leader.received();
  ASSERT_EQ(3u, got.size());
  EXPECT_EQ((std::vector<std::string>{"t-0", "t-1"}), Partitions(got[0].second.markers[0]));
  EXPECT_EQ((std::vector<std::string>{"t-0"}), Partitions(got[1].second.markers[0]));
  EXPECT_EQ((std::vector<std::string>{"t-0"}), Partitions(got[2].second.markers[0]));
  EXPECT_EQ(0u, channel.PendingMarkers());
}

TEST(TransactionMarkerChannelManagerTest, FollowsALeaderThatMoved) {
  FakeLeader old_leader;
  FakeLeader new_leader;
  old_leader.set_errors([](const TopicPartition&, int) { return ErrorCode::kNotLeaderOrFollower; });
  cluster::MetadataCache metadata;
  const std::vector<cluster::CachedBroker> brokers = {Broker(1, old_leader), Broker(2, new_leader)};
  metadata.Update(0, brokers, {Leader("t", 0, 1)});
  Done done;
  TransactionMarkerChannelManager channel(Opts(5000), &metadata);
  channel.AddMarker(Marker(5, {{"t", 0}}), done.Fn());
  ASSERT_TRUE(WaitFor([&] { return old_leader.requests() >= 2; }));
  EXPECT_FALSE(done.is_done());
  // The controller moves the leadership: the next lookup finds broker 2.
  metadata.Update(0, brokers, {Leader("t", 0, 2)});
  ASSERT_TRUE(done.Wait(5000));
  EXPECT_TRUE(done.status.ok()) << done.status.ToString();
  const auto got = new_leader.received();
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ((std::vector<std::string>{"t-0"}), Partitions(got[0].second.markers[0]));
}

TEST(TransactionMarkerChannelManagerTest, DropsPartitionsOfDeletedTopics) {
  FakeLeader leader;
  leader.set_errors([](const TopicPartition& tp, int) {
    return tp.topic == "gone" ? ErrorCode::kUnknownTopicOrPartition : ErrorCode::kNone;
  });
  cluster::MetadataCache metadata;
  const std::vector<cluster::CachedBroker> brokers = {Broker(1, leader)};
  metadata.Update(0, brokers, {Leader("t", 0, 1), Leader("gone", 0, 1)});
  Done unknown, done;  // outlive the channel: its callbacks reach them
  TransactionMarkerChannelManager channel(Opts(5000), &metadata);

  // A partition the cache does not know is skipped without a request.
  channel.AddMarker(Marker(1, {{"never", 0}, {"t", 7}}), unknown.Fn());
  ASSERT_TRUE(unknown.Wait(5000));
  EXPECT_TRUE(unknown.status.ok()) << unknown.status.ToString();
  EXPECT_EQ(0, leader.requests());

  // UNKNOWN_TOPIC_OR_PARTITION while the cache still has the topic: retried (the leader may
  // not know it yet); once the deletion reaches the cache, dropped.
  channel.AddMarker(Marker(2, {{"t", 0}, {"gone", 0}}), done.Fn());
  ASSERT_TRUE(WaitFor([&] { return leader.requests() >= 3; }));
  EXPECT_FALSE(done.is_done());
  metadata.Update(0, brokers, {Leader("gone", 0, cluster::kLeaderDuringDelete)});
  ASSERT_TRUE(done.Wait(5000));
  EXPECT_TRUE(done.status.ok()) << done.status.ToString();
  const auto got = leader.received();
  EXPECT_EQ((std::vector<std::string>{"gone-0", "t-0"}), Partitions(got[0].second.markers[0]));
  for (size_t i = 1; i < got.size(); ++i) {
    EXPECT_EQ((std::vector<std::string>{"gone-0"}), Partitions(got[i].second.markers[0]));
  }
}

TEST(TransactionMarkerChannelManagerTest, WaitsForALeader) {
  FakeLeader leader;
  cluster::MetadataCache metadata;
  const std::vector<cluster::CachedBroker> brokers = {Broker(1, leader)};
  // t-0 has no leader; t-1's leader is not live.
  metadata.Update(0, brokers, {Leader("t", 0, -1), Leader("t", 1, 3)});
  Done done;
  TransactionMarkerChannelManager channel(Opts(5000), &metadata);
  channel.AddMarker(Marker(4, {{"t", 0}, {"t", 1}}), done.Fn());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several lookups
  EXPECT_FALSE(done.is_done());
  EXPECT_EQ(0, leader.requests());
  EXPECT_EQ(1u, channel.PendingMarkers());
  metadata.Update(0, brokers, {Leader("t", 0, 1), Leader("t", 1, 1)});
  ASSERT_TRUE(done.Wait(5000));
  EXPECT_TRUE(done.status.ok()) << done.status.ToString();
  EXPECT_EQ(1, leader.requests());
}

TEST(TransactionMarkerChannelManagerTest, FencedStopsTheWholeMarker) {
  for (ErrorCode fence : {ErrorCode::kTransactionCoordinatorFenced,
                          ErrorCode::kInvalidProducerEpoch, ErrorCode::kProducerFenced}) {
    SCOPED_TRACE(protocol::ErrorCodeName(fence));
    FakeLeader fencing;
    FakeLeader stopped(1, /*silent=*/true);
    fencing.set_errors([fence](const TopicPartition&, int) { return fence; });
    cluster::MetadataCache metadata;
    metadata.Update(0, {Broker(1, fencing), Broker(2, stopped)},
                    {Leader("t", 0, 1), Leader("t", 1, 2)});
    Done done;
    TransactionMarkerChannelManager channel(Opts(300), &metadata);
    channel.AddMarker(Marker(6, {{"t", 0}, {"t", 1}}), done.Fn());
    ASSERT_TRUE(done.Wait(5000));
    EXPECT_EQ(Status::Code::kFenced, done.status.code()) << done.status.ToString();
    EXPECT_EQ(0u, channel.PendingMarkers());
    // The silent leader's copy is not sent again once its request times out.
    ASSERT_TRUE(WaitFor([&] { return channel.QueuedMarkers(2) == 0; }));
    const int sent = stopped.requests();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past a retry's backoff
    EXPECT_EQ(sent, stopped.requests());
    EXPECT_EQ(1, fencing.requests());
    EXPECT_EQ(1, done.calls);
  }
}

TEST(TransactionMarkerChannelManagerTest, SilentLeaderDoesNotHoldUpOtherBrokers) {
  FakeLeader stopped(1, /*silent=*/true);
  FakeLeader healthy;
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, stopped), Broker(2, healthy)},
                  {Leader("a", 0, 1), Leader("b", 0, 2)});
  Done to_stopped, spanning;
  Done healthy_done[5];
  TransactionMarkerChannelManager channel(Opts(300), &metadata);
  channel.AddMarker(Marker(100, {{"a", 0}}), to_stopped.Fn());
  channel.AddMarker(Marker(101, {{"a", 0}, {"b", 0}}), spanning.Fn());
  ASSERT_TRUE(WaitFor([&] { return stopped.requests() >= 1; }));

  for (int i = 0; i < 5; ++i) {
    const auto start = SteadyClock::now();
    channel.AddMarker(Marker(i, {{"b", 0}}), healthy_done[i].Fn());
    ASSERT_TRUE(healthy_done[i].Wait(2000)) << "marker " << i;
    EXPECT_TRUE(healthy_done[i].status.ok()) << healthy_done[i].status.ToString();
    EXPECT_LT(MsSince(start), 250);  // well inside the silent leader's request timeout
  }
  // The silent leader's requests time out after 300 ms and are sent again on new
  // connections; the marker spanning both leaders waits for it.
  ASSERT_TRUE(WaitFor([&] { return stopped.connections() >= 3 && stopped.requests() >= 3; }))
      << stopped.connections() << " connections, " << stopped.requests() << " requests";
  EXPECT_FALSE(to_stopped.is_done());
  EXPECT_FALSE(spanning.is_done());
  EXPECT_EQ(2u, channel.PendingMarkers());

  // Once it answers again, both complete: nothing is lost.
  stopped.set_silent(false);
  ASSERT_TRUE(to_stopped.Wait(5000) && spanning.Wait(5000));
  EXPECT_TRUE(to_stopped.status.ok()) << to_stopped.status.ToString();
  EXPECT_TRUE(spanning.status.ok()) << spanning.status.ToString();
}

TEST(TransactionMarkerChannelManagerTest, ShutdownIsPromptAndFailsPendingMarkers) {
  FakeLeader stopped(1, /*silent=*/true);
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, stopped)}, {Leader("t", 0, 1), Leader("t", 1, -1)});
  Done in_flight, queued, leaderless, after;
  auto channel = std::make_unique<TransactionMarkerChannelManager>(Opts(30000), &metadata);
  channel->AddMarker(Marker(1, {{"t", 0}}), in_flight.Fn());
  ASSERT_TRUE(WaitFor([&] { return stopped.requests() == 1; }));
  channel->AddMarker(Marker(2, {{"t", 0}}), queued.Fn());
  channel->AddMarker(Marker(3, {{"t", 1}}), leaderless.Fn());
  ASSERT_TRUE(WaitFor([&] { return channel->QueuedMarkers(1) == 2; }));
  EXPECT_EQ(3u, channel->PendingMarkers());
  const auto start = SteadyClock::now();
  channel->Shutdown();
  EXPECT_LT(MsSince(start), 2000);
  for (Done* d : {&in_flight, &queued, &leaderless}) {
    ASSERT_TRUE(d->is_done());
    EXPECT_EQ(Status::Code::kUnavailable, d->status.code());
    EXPECT_EQ(1, d->calls);
  }
  EXPECT_EQ(0u, channel->PendingMarkers());
  channel->AddMarker(Marker(4, {{"t", 0}}), after.Fn());
  ASSERT_TRUE(after.is_done());
  EXPECT_EQ(Status::Code::kUnavailable, after.status.code());
  channel.reset();  // a second Shutdown() changes nothing
  for (Done* d : {&in_flight, &queued, &leaderless, &after}) EXPECT_EQ(1, d->calls);
}

TEST(TransactionMarkerChannelManagerTest, RemovesMarkersOfAnEmigratedTxnPartition) {
  FakeLeader stopped(1, /*silent=*/true);
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, stopped)}, {Leader("t", 0, 1)});
  Done kept, gone;
  TransactionMarkerChannelManager channel(Opts(30000), &metadata);
  TxnMarker a = Marker(1, {{"t", 0}});
  a.txn_topic_partition = 4;
  TxnMarker b = Marker(2, {{"t", 0}});
  b.txn_topic_partition = 3;
  channel.AddMarker(a, kept.Fn());
  ASSERT_TRUE(WaitFor([&] { return stopped.requests() == 1; }));
  channel.AddMarker(b, gone.Fn());
  ASSERT_TRUE(WaitFor([&] { return channel.QueuedMarkers(1) == 2; }));
  channel.RemoveMarkersForTxnTopicPartition(3);
  EXPECT_EQ(1u, channel.PendingMarkers());
  EXPECT_EQ(1u, channel.QueuedMarkers(1));  // a, in flight; b was queued and is gone
  ASSERT_TRUE(gone.Wait(2000));
  EXPECT_EQ(Status::Code::kUnavailable, gone.status.code());
  EXPECT_NE(std::this_thread::get_id(), gone.thread);
  EXPECT_FALSE(kept.is_done());
  channel.RemoveMarkersForTxnTopicPartition(9);  // none: nothing changes
  EXPECT_EQ(1u, channel.PendingMarkers());
}

TEST(TransactionMarkerChannelManagerTest, QueuesAreBounded) {
  FakeLeader leader;
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, leader)}, {Leader("t", 0, 1)});
  TransactionMarkerChannelManager::Options o = Opts(5000);
  o.max_queued_per_broker = 1;
  o.max_pending_markers = 3;
  Done d[4];
  TransactionMarkerChannelManager channel(o, &metadata);
  leader.Hold();
  channel.AddMarker(Marker(1, {{"t", 0}}), d[0].Fn());
  ASSERT_TRUE(WaitFor([&] { return leader.received().size() == 1; }));
  channel.AddMarker(Marker(2, {{"t", 0}}), d[1].Fn());
  channel.AddMarker(Marker(3, {{"t", 0}}), d[2].Fn());
  // One in flight, one queued; the third waits outside the full queue.
  ASSERT_TRUE(WaitFor([&] { return channel.QueuedMarkers(1) == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // several routing attempts
  EXPECT_EQ(2u, channel.QueuedMarkers(1));
  EXPECT_EQ(3u, channel.PendingMarkers());
  // A fourth is refused: the channel holds max_pending_markers.
  channel.AddMarker(Marker(4, {{"t", 0}}), d[3].Fn());
  ASSERT_TRUE(d[3].Wait(2000));
  EXPECT_EQ(Status::Code::kUnavailable, d[3].status.code());
  EXPECT_NE(std::this_thread::get_id(), d[3].thread);
  leader.Release();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(d[i].Wait(5000)) << i;
    EXPECT_TRUE(d[i].status.ok()) << d[i].status.ToString();
  }
  EXPECT_EQ(0u, channel.PendingMarkers());
}

}  // namespace
}  // namespace gregor::txn
