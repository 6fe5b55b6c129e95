// ControllerChannelManager against real sockets: fake brokers in the test (port 0) that answer
// ApiVersions, LeaderAndIsr, UpdateMetadata and StopReplica at the version asked, or stay
// silent (a SIGSTOPped broker: the kernel accepts, nobody answers).
#include "gregor/controller/controller_channel_manager.h"

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
#include <mutex>
#include <thread>
#include <vector>

#include "gregor/protocol/api_key.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/api_versions.h"
#include "gregor/protocol/messages/leader_and_isr.h"
#include "gregor/protocol/messages/stop_replica.h"
#include "gregor/protocol/messages/update_metadata.h"
#include "gregor/protocol/reader.h"

namespace gregor::controller {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
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

// A broker's control-plane side. `silent`: reads requests (ApiVersions answered) and never
// answers the controller's requests. LeaderAndIsr answers one error per partition: 0, or
// `partition_error` for partition 1.
class FakeBroker {
 public:
  explicit FakeBroker(bool silent, int16_t leader_and_isr_max = 6)
      : silent_(silent), leader_and_isr_max_(leader_and_isr_max) {
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
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  void set_silent(bool s) { silent_.store(s); }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  std::vector<std::pair<int16_t, int16_t>> seen() const {  // (api key, version) answered
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  // "topic-partition" of each partition named by the requests answered, in order, whatever
  // their layout (grouped by topic, or ungrouped in LeaderAndIsr v0-1, UpdateMetadata v0-4 and
  // StopReplica v0).
  std::vector<std::string> partitions_seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return partitions_seen_;
  }
  ErrorCode partition_error = ErrorCode::kNone;

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
          int16_t max = api.max;
          if (api.key == ApiKey::kLeaderAndIsr) max = leader_and_isr_max_;
          resp.api_keys.push_back({static_cast<int16_t>(api.key), api.min, max});
        }
        resp.Encode(w, h.api_version);
      } else {
        ++requests_;
        if (silent_.load()) continue;
        if (key == ApiKey::kLeaderAndIsr) {
          protocol::LeaderAndIsrRequest req;
          if (!req.Decode(r, h.api_version)) return;
          protocol::LeaderAndIsrResponse resp;
          for (const auto& t : req.topic_states) {
            std::vector<protocol::LeaderAndIsrResponse::LeaderAndIsrPartitionError> errs;
            for (const auto& p : t.partition_states) {
              errs.push_back({t.topic_name, p.partition_index,
                              p.partition_index == 1 ? partition_error : ErrorCode::kNone});
              Saw(t.topic_name, p.partition_index);
            }
            if (h.api_version >= 5) {
              resp.topics.push_back({t.topic_id, errs});
            } else {
              for (auto& e : errs) resp.partition_errors.push_back(e);
            }
          }
          for (const auto& p : req.ungrouped_partition_states) {
            resp.partition_errors.push_back(
                {p.topic_name, p.partition_index,
                 p.partition_index == 1 ? partition_error : ErrorCode::kNone});
            Saw(p.topic_name, p.partition_index);
          }
          resp.Encode(w, h.api_version);
        } else if (key == ApiKey::kUpdateMetadata) {
          protocol::UpdateMetadataRequest req;
          if (!req.Decode(r, h.api_version)) return;
          for (const auto& t : req.topic_states) {
            for (const auto& p : t.partition_states) Saw(t.topic_name, p.partition_index);
          }
          for (const auto& p : req.ungrouped_partition_states) {
            Saw(p.topic_name, p.partition_index);
          }
          protocol::UpdateMetadataResponse().Encode(w, h.api_version);
        } else if (key == ApiKey::kStopReplica) {
          protocol::StopReplicaRequest req;
          if (!req.Decode(r, h.api_version)) return;
          protocol::StopReplicaResponse resp;
          for (const auto& t : req.topic_states) {
            for (const auto& p : t.partition_states) {
              resp.partition_errors.push_back({t.topic_name, p.partition_index, ErrorCode::kNone});
              Saw(t.topic_name, p.partition_index);
            }
          }
          for (const auto& t : req.topics) {
            for (int32_t p : t.partition_indexes) {
              resp.partition_errors.push_back({t.name, p, ErrorCode::kNone});
              Saw(t.name, p);
            }
          }
          for (const auto& p : req.ungrouped_partitions) {
            resp.partition_errors.push_back({p.topic_name, p.partition_index, ErrorCode::kNone});
            Saw(p.topic_name, p.partition_index);
          }
          if (h.api_version < 3 && !req.delete_partitions) Saw("not-deleted", -1);
          resp.Encode(w, h.api_version);
        } else {
          return;
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back({h.api_key, h.api_version});
      }
      w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
      if (!WriteFully(fd, w.Flatten())) return;
    }
  }

  void Saw(const std::string& topic, int32_t partition) {
    std::lock_guard<std::mutex> lock(mu_);
    partitions_seen_.push_back(topic + "-" + std::to_string(partition));
  }

  std::atomic<bool> silent_;
  const int16_t leader_and_isr_max_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<std::pair<int16_t, int16_t>> seen_;
  std::vector<std::string> partitions_seen_;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
};

BrokerInfo Info(int32_t id, const FakeBroker& b, int64_t epoch = 100) {
  BrokerInfo info;
  info.id = id;
  info.epoch = epoch;
  info.endpoints.push_back({"CLIENT", "127.0.0.1", 1, "PLAINTEXT"});
  info.endpoints.push_back({"INTERNAL", "127.0.0.1", b.port(), "PLAINTEXT"});
  return info;
}

// Completion of one request, waited on by the test.
struct Done {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  PartitionErrors errors;
  SteadyClock::time_point at;

  void Set(Status st, PartitionErrors e = {}) {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    status = std::move(st);
    errors = std::move(e);
    at = SteadyClock::now();
    cv.notify_all();
  }
  bool Wait(int ms) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return done; });
  }
  bool is_done() {
    std::lock_guard<std::mutex> lock(mu);
    return done;
  }
  std::function<void(Status)> Status1() {
    return [this](Status st) { Set(std::move(st)); };
  }
  std::function<void(Status, PartitionErrors)> Status2() {
    return [this](Status st, PartitionErrors e) { Set(std::move(st), std::move(e)); };
  }
};

ControllerChannelManager::Options Opts(int32_t request_timeout_ms) {
  ControllerChannelManager::Options o;
  o.broker_id = 0;
  o.listener = "INTERNAL";
  o.request_timeout_ms = request_timeout_ms;
  o.connect_timeout_ms = request_timeout_ms;
  o.connect_timeout_max_ms = request_timeout_ms;
  o.reconnect_backoff_ms = 20;
  o.reconnect_backoff_max_ms = 100;
  return o;
}

std::vector<PartitionState> States(const std::string& topic, int n) {
  std::vector<PartitionState> out;
  for (int p = 0; p < n; ++p) {
    PartitionState s;
    s.tp = {topic, p};
    s.topic_id[0] = static_cast<uint8_t>(topic.size());
    s.topic_id[1] = 7;
    s.leader = 1;
    s.leader_epoch = 3;
    s.isr = {1, 2};
    s.replicas = {1, 2};
    out.push_back(s);
  }
  return out;
}

TEST(ControllerChannelManagerTest, SilentBrokerHoldsUpOnlyItsOwnQueueAndIsRetriedOnNewConnections) {
  FakeBroker stopped(/*silent=*/true);
  FakeBroker healthy(/*silent=*/false);
  Done to_stopped;  // completions outlive the channel: its callbacks reach them
  Done healthy_done[5];
  ControllerChannelManager channel(Opts(300));
  const std::vector<BrokerInfo> live = {Info(1, stopped), Info(2, healthy)};
  channel.SendUpdateMetadata(live[0], 0, 5, States("t", 2), live, to_stopped.Status1());
  ASSERT_TRUE(WaitFor([&] { return stopped.requests() >= 1; }));

  // Decisions about the healthy broker are not delayed by the stopped one.
  for (int i = 0; i < 5; ++i) {
    Done& d = healthy_done[i];
    const auto start = SteadyClock::now();
    channel.SendLeaderAndIsr(live[1], 0, 5, States("t", 2), live, d.Status2());
    ASSERT_TRUE(d.Wait(2000)) << "request " << i;
    EXPECT_TRUE(d.status.ok()) << d.status.ToString();
    EXPECT_LT(MsSince(start), 250);  // well inside the stopped broker's request timeout
  }
  // The stopped broker's request times out after 300 ms and is sent again on a new
  // connection, again and again, without completing.
  ASSERT_TRUE(WaitFor([&] { return stopped.connections() >= 3 && stopped.requests() >= 3; }))
      << stopped.connections() << " connections, " << stopped.requests() << " requests";
  EXPECT_FALSE(to_stopped.is_done());
  EXPECT_EQ(1u, channel.QueuedRequests(1));
  EXPECT_EQ(0u, channel.QueuedRequests(2));

  // Once it answers again, the retried request completes: nothing is lost.
  stopped.set_silent(false);
  ASSERT_TRUE(to_stopped.Wait(3000));
  EXPECT_TRUE(to_stopped.status.ok()) << to_stopped.status.ToString();
}

TEST(ControllerChannelManagerTest, RequestsAreEncodedAtTheNegotiatedVersion) {
  FakeBroker v6(false);
  FakeBroker v4(false, /*leader_and_isr_max=*/4);
  v6.partition_error = ErrorCode::kNotLeaderOrFollower;  // for partition 1
  v4.partition_error = ErrorCode::kUnknownLeaderEpoch;
  Done a, b, stop, um;
  ControllerChannelManager channel(Opts(5000));
  const std::vector<BrokerInfo> live = {Info(1, v6), Info(2, v4)};
  channel.SendLeaderAndIsr(live[0], 0, 5, States("orders", 2), live, a.Status2());
  channel.SendLeaderAndIsr(live[1], 0, 5, States("orders", 2), live, b.Status2());
  ASSERT_TRUE(a.Wait(5000) && b.Wait(5000));
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  // v6 answers name topics by id, v4 answers by name: both map back to the partition.
  const PartitionErrors want_a = {{{"orders", 0}, ErrorCode::kNone},
                                  {{"orders", 1}, ErrorCode::kNotLeaderOrFollower}};
  const PartitionErrors want_b = {{{"orders", 0}, ErrorCode::kNone},
                                  {{"orders", 1}, ErrorCode::kUnknownLeaderEpoch}};
  EXPECT_EQ(want_a, a.errors);
  EXPECT_EQ(want_b, b.errors);
  EXPECT_EQ((std::vector<std::pair<int16_t, int16_t>>{{18, 4}, {4, 6}}), v6.seen());
  EXPECT_EQ((std::vector<std::pair<int16_t, int16_t>>{{18, 4}, {4, 4}}), v4.seen());

  channel.SendStopReplica(live[1], 0, 5, {{"orders", 0}}, true, stop.Status2());
  channel.SendUpdateMetadata(live[1], 0, 5, States("orders", 1), live, um.Status1());
  ASSERT_TRUE(stop.Wait(5000) && um.Wait(5000));
  EXPECT_TRUE(stop.status.ok() && um.status.ok());
  // At the default (newest) inter.broker.protocol.version: StopReplica v4, UpdateMetadata v8.
  EXPECT_EQ((std::vector<std::pair<int16_t, int16_t>>{{18, 4}, {4, 4}, {5, 4}, {6, 8}}), v4.seen());
}

// inter.broker.protocol.version caps each request at what Kafka's controller sends at that
// version (the broker would take newer ones); below 2.2 the partition states go ungrouped.
TEST(ControllerChannelManagerTest, InterBrokerProtocolPinsTheVersionsSent) {
  struct Case {
    config::MetadataVersion ibp;
    // (api key, version) answered, in order; ApiVersions is not pinned (the newest, v4).
    std::vector<std::pair<int16_t, int16_t>> want;
  };
  const Case cases[] = {
      {config::MetadataVersion::kIbp2_1_IV2, {{18, 4}, {4, 1}, {6, 4}, {5, 0}}},
      {config::MetadataVersion::kIbp2_4_IV1, {{18, 4}, {4, 4}, {6, 6}, {5, 2}}},
      {config::MetadataVersion::kIbp2_6_IV0, {{18, 4}, {4, 4}, {6, 6}, {5, 3}}},
      {config::MetadataVersion::kIbp2_8_IV1, {{18, 4}, {4, 5}, {6, 7}, {5, 3}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(config::MetadataVersionName(c.ibp));
    FakeBroker broker(false);
    broker.partition_error = ErrorCode::kNotLeaderOrFollower;
    ControllerChannelManager::Options o = Opts(5000);
    o.inter_broker_protocol = c.ibp;
    ControllerChannelManager channel(o);
    const std::vector<BrokerInfo> live = {Info(1, broker)};
    Done lai, um, stop;
    channel.SendLeaderAndIsr(live[0], 0, 5, States("orders", 2), live, lai.Status2());
    channel.SendUpdateMetadata(live[0], 0, 5, States("orders", 1), live, um.Status1());
    channel.SendStopReplica(live[0], 0, 5, {{"orders", 0}, {"orders", 1}}, true, stop.Status2());
    ASSERT_TRUE(lai.Wait(5000) && um.Wait(5000) && stop.Wait(5000));
    ASSERT_TRUE(lai.status.ok()) << lai.status.ToString();
    EXPECT_TRUE(um.status.ok() && stop.status.ok());
    const PartitionErrors want_errors = {{{"orders", 0}, ErrorCode::kNone},
                                         {{"orders", 1}, ErrorCode::kNotLeaderOrFollower}};
    EXPECT_EQ(want_errors, lai.errors);
    EXPECT_EQ(2u, stop.errors.size());
    EXPECT_EQ(c.want, broker.seen());
    EXPECT_EQ(
        (std::vector<std::string>{"orders-0", "orders-1", "orders-0", "orders-0", "orders-1"}),
        broker.partitions_seen());
  }
}

TEST(ControllerChannelManagerTest, DeadOrReRegisteredBrokerLosesItsQueueAtOnce) {
  FakeBroker stopped(true);
  FakeBroker healthy(false);
  Done first, second, third;
  ControllerChannelManager channel(Opts(30000));
  std::vector<BrokerInfo> live = {Info(1, stopped), Info(2, healthy)};
  channel.SendUpdateMetadata(live[0], 0, 5, {}, live, first.Status1());
  channel.SendUpdateMetadata(live[0], 0, 5, {}, live, second.Status1());
  ASSERT_TRUE(WaitFor([&] { return stopped.requests() == 1; }));
  EXPECT_EQ(1u, channel.NumSenders());

  // Broker 1 re-registers (a new broker epoch): the old incarnation's requests are void.
  const auto start = SteadyClock::now();
  channel.SendUpdateMetadata(Info(1, stopped, 200), 0, 5, {}, live, third.Status1());
  ASSERT_TRUE(first.Wait(2000) && second.Wait(2000));
  EXPECT_LT(MsSince(start), 1000);
  EXPECT_EQ(Status::Code::kUnavailable, first.status.code());
  EXPECT_EQ(Status::Code::kUnavailable, second.status.code());
  ASSERT_TRUE(WaitFor([&] { return stopped.requests() == 2; }));

  // The controller then tells the others that broker 1 is gone: its sender stops.
  channel.SendUpdateMetadata(live[1], 0, 6, {}, {live[1]}, [](Status) {});
  ASSERT_TRUE(third.Wait(2000));
  EXPECT_EQ(Status::Code::kUnavailable, third.status.code());
  EXPECT_NE(std::string::npos, third.status.message().find("no longer live"))
      << third.status.ToString();
  EXPECT_EQ(1u, channel.NumSenders());
}

TEST(ControllerChannelManagerTest, ShutdownIsPromptAndFailsWhatIsQueued) {
  FakeBroker stopped(true);
  Done in_flight, queued, after;
  auto channel = std::make_unique<ControllerChannelManager>(Opts(30000));
  const std::vector<BrokerInfo> live = {Info(1, stopped)};
  channel->SendUpdateMetadata(live[0], 0, 5, {}, live, in_flight.Status1());
  channel->SendUpdateMetadata(live[0], 0, 5, {}, live, queued.Status1());
  ASSERT_TRUE(WaitFor([&] { return stopped.requests() == 1; }));
  const auto start = SteadyClock::now();
  channel->Shutdown();
  EXPECT_LT(MsSince(start), 2000);
  ASSERT_TRUE(in_flight.is_done() && queued.is_done());
  EXPECT_EQ(Status::Code::kUnavailable, in_flight.status.code());
  EXPECT_EQ(Status::Code::kUnavailable, queued.status.code());
  channel->SendUpdateMetadata(live[0], 0, 5, {}, live, after.Status1());
  ASSERT_TRUE(after.is_done());
  EXPECT_EQ(Status::Code::kUnavailable, after.status.code());
}

TEST(ControllerChannelManagerTest, QueueIsBounded) {
  FakeBroker stopped(true);
  std::vector<std::unique_ptr<Done>> dones;  // outlives the channel: callbacks reach them
  ControllerChannelManager::Options o = Opts(30000);
  o.max_queued_per_broker = 3;
  ControllerChannelManager channel(o);
  const std::vector<BrokerInfo> live = {Info(1, stopped)};
  for (int i = 0; i < 6; ++i) {
    dones.push_back(std::make_unique<Done>());
    channel.SendUpdateMetadata(live[0], 0, 5, {}, live, dones.back()->Status1());
    if (i == 0) {
      ASSERT_TRUE(WaitFor([&] { return stopped.requests() == 1; }));
    }
  }
  // One in flight, three queued; the two oldest waiting ones made room.
  EXPECT_EQ(4u, channel.QueuedRequests(1));
  EXPECT_FALSE(dones[0]->is_done());
  EXPECT_TRUE(dones[1]->is_done());
  EXPECT_TRUE(dones[2]->is_done());
  for (int i = 3; i < 6; ++i) EXPECT_FALSE(dones[i]->is_done()) << i;
  channel.Shutdown();
  for (const auto& d : dones) EXPECT_TRUE(d->is_done());
}

}  // namespace
}  // namespace gregor::controller
