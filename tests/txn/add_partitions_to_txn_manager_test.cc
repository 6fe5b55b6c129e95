// AddPartitionsToTxnManager against real sockets: fake transaction coordinators in the test
// (port 0) that answer ApiVersions and AddPartitionsToTxn (the real codec decodes each request
// and encodes the answer, one scripted error per partition), hold their answers until
// released, or stay silent (a SIGSTOPped broker). Coordinators come from a real MetadataCache;
// the local path uses a real TransactionCoordinator over an in-memory __transaction_state.
#include "gregor/txn/add_partitions_to_txn_manager.h"

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
#include "gregor/protocol/messages/add_partitions_to_txn.h"
#include "gregor/protocol/messages/api_versions.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/txn/transaction_coordinator.h"

namespace gregor::txn {
namespace {

using protocol::AddPartitionsToTxnRequest;
using protocol::ApiKey;
using protocol::ErrorCode;
using ErrorMap = std::map<TopicPartition, ErrorCode>;
using SteadyClock = std::chrono::steady_clock;

int64_t MsSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
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

// A transaction coordinator's AddPartitionsToTxn side: each partition of each transaction is
// answered with `errors(transactional id, tp)`; `top_error` is the response's error code.
// `max_version` < 4: the broker does not speak verify_only.
class FakeCoordinator {
 public:
  using ErrorScript = std::function<ErrorCode(const std::string&, const TopicPartition&)>;

  explicit FakeCoordinator(int16_t max_version = 4, bool silent = false)
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
  ~FakeCoordinator() {
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
  void set_errors(ErrorScript f) {
    std::lock_guard<std::mutex> lock(mu_);
    errors_ = std::move(f);
  }
  void set_top_error(ErrorCode e) { top_error_.store(e); }
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
  int requests() const { return requests_.load(); }
  std::vector<std::pair<int16_t, AddPartitionsToTxnRequest>> received() const {
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
          if (api.key == ApiKey::kAddPartitionsToTxn) continue;
          resp.api_keys.push_back({static_cast<int16_t>(api.key), api.min, api.max});
        }
        resp.api_keys.push_back(
            {static_cast<int16_t>(ApiKey::kAddPartitionsToTxn), 0, max_version_});
        resp.Encode(w, h.api_version);
      } else if (key == ApiKey::kAddPartitionsToTxn) {
        AddPartitionsToTxnRequest req;
        if (!req.Decode(r, h.api_version) || !r.ok()) return;
        ++requests_;
        if (silent_) continue;
        protocol::AddPartitionsToTxnResponse resp;
        resp.error_code = top_error_.load();
        {
          std::unique_lock<std::mutex> lock(mu_);
          received_.push_back({h.api_version, req});
          for (const auto& t : req.transactions) {
            auto& tr = resp.results_by_transaction.emplace_back();
            tr.transactional_id = t.transactional_id;
            for (const auto& topic : t.topics) {
              auto& top = tr.topic_results.emplace_back();
              top.name = topic.name;
              for (int32_t p : topic.partitions) {
                const TopicPartition tp{topic.name, p};
                top.results_by_partition.push_back(
                    {p, errors_ ? errors_(t.transactional_id, tp) : ErrorCode::kNone});
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
  const bool silent_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  bool hold_ = false;
  ErrorScript errors_;
  std::atomic<ErrorCode> top_error_{ErrorCode::kNone};
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::vector<std::pair<int16_t, AddPartitionsToTxnRequest>> received_;
  std::atomic<int> requests_{0};
};

cluster::CachedBroker Broker(int32_t id, int port) {
  cluster::CachedBroker b;
  b.id = id;
  b.endpoints.push_back({"CLIENT", "127.0.0.1", 1, "PLAINTEXT"});
  b.endpoints.push_back({"INTERNAL", "127.0.0.1", port, "PLAINTEXT"});
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

// __transaction_state with two partitions led by `leader0` and `leader1`; ids "a" and "b" hash
// to partition ... (computed through TransactionPartitionFor in the tests).
std::vector<cluster::PartitionUpdate> TxnTopic(int32_t leader0, int32_t leader1) {
  return {Leader(kTransactionStateTopicName, 0, leader0),
          Leader(kTransactionStateTopicName, 1, leader1), Leader("t", 0, 9), Leader("t", 1, 9)};
}

// A transactional id whose __transaction_state partition (of 2) is `partition`.
std::string IdIn(int32_t partition, const std::string& prefix = "id") {
  for (int i = 0;; ++i) {
    std::string id = prefix + std::to_string(i);
    if (TransactionPartitionFor(id, 2) == partition) return id;
  }
}

// One verification's outcome, waited on by the test.
struct Done {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  ErrorMap errors;
  std::thread::id thread;

  AddPartitionsToTxnManager::Callback Fn() {
    return [this](ErrorMap e) {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
      errors = std::move(e);
      thread = std::this_thread::get_id();
      cv.notify_all();
    };
  }
  bool Wait(int ms = 10000) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return calls > 0; });
  }
};

AddPartitionsToTxnManager::Options Opts(int32_t request_timeout_ms = 5000) {
  AddPartitionsToTxnManager::Options o;
  o.broker_id = 0;
  o.listener = "INTERNAL";
  o.num_partitions = 2;
  o.request_timeout_ms = request_timeout_ms;
  o.connect_timeout_ms = request_timeout_ms;
  o.connect_timeout_max_ms = request_timeout_ms;
  o.reconnect_backoff_ms = 20;
  o.reconnect_backoff_max_ms = 100;
  return o;
}

const TopicPartition kT0{"t", 0};
const TopicPartition kT1{"t", 1};

TEST(AddPartitionsToTxnManagerTest, AsksTheRemoteCoordinatorWithVerifyOnly) {
  FakeCoordinator c1;
  const std::string id = IdIn(0);
  c1.set_errors([](const std::string&, const TopicPartition& tp) {
    return tp.partition == 0 ? ErrorCode::kNone : ErrorCode::kInvalidTxnState;
  });
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, c1.port())}, TxnTopic(1, 1));
  Done done;
  AddPartitionsToTxnManager m(Opts(), &metadata, nullptr);
  m.Verify(id, 42, 3, {kT0, kT1}, done.Fn());
  ASSERT_TRUE(done.Wait());
  EXPECT_EQ(1, done.calls);
  EXPECT_NE(std::this_thread::get_id(), done.thread);
  EXPECT_EQ(ErrorCode::kNone, done.errors[kT0]);
  EXPECT_EQ(ErrorCode::kInvalidTxnState, done.errors[kT1]);
  const auto got = c1.received();
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(4, got[0].first);
  ASSERT_EQ(1u, got[0].second.transactions.size());
  const auto& t = got[0].second.transactions[0];
  EXPECT_EQ(id, t.transactional_id);
  EXPECT_EQ(42, t.producer_id);
  EXPECT_EQ(3, t.producer_epoch);
  EXPECT_TRUE(t.verify_only);
  ASSERT_EQ(1u, t.topics.size());
  EXPECT_EQ("t", t.topics[0].name);
  EXPECT_EQ((std::vector<int32_t>{0, 1}), t.topics[0].partitions);
  EXPECT_EQ(1u, m.NumSenders());
}

// A Kafka 3.8+ coordinator (v5) is asked with v5 and its TRANSACTION_ABORTABLE is left for the
// produce or TxnOffsetCommit handler to map by its client's version.
TEST(AddPartitionsToTxnManagerTest, AsksAV5CoordinatorWithV5) {
  FakeCoordinator c1(/*max_version=*/5);
  c1.set_errors([](const std::string&, const TopicPartition& tp) {
    return tp.partition == 0 ? ErrorCode::kNone : ErrorCode::kTransactionAbortable;
  });
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, c1.port())}, TxnTopic(1, 1));
  Done done;
  AddPartitionsToTxnManager m(Opts(), &metadata, nullptr);
  m.Verify(IdIn(0), 42, 3, {kT0, kT1}, done.Fn());
  ASSERT_TRUE(done.Wait());
  EXPECT_EQ(ErrorCode::kNone, done.errors[kT0]);
  EXPECT_EQ(ErrorCode::kTransactionAbortable, done.errors[kT1]);
  const auto got = c1.received();
  ASSERT_EQ(1u, got.size());
  EXPECT_EQ(5, got[0].first);
  EXPECT_TRUE(got[0].second.transactions.at(0).verify_only);
  m.Shutdown();
}

TEST(AddPartitionsToTxnManagerTest, MapsCoordinatorErrorsAsKafkaDoesForProduce) {
  FakeCoordinator c1;
  const std::map<std::string, ErrorCode> script = {
      {"fenced", ErrorCode::kProducerFenced},
      {"notcoord", ErrorCode::kNotCoordinator},
      {"loading", ErrorCode::kCoordinatorLoadInProgress},
      {"ending", ErrorCode::kConcurrentTransactions},
      {"mapping", ErrorCode::kInvalidProducerIdMapping},
  };
  const std::map<std::string, ErrorCode> want = {
      {"fenced", ErrorCode::kInvalidProducerEpoch},
      {"notcoord", ErrorCode::kNotEnoughReplicas},
      {"loading", ErrorCode::kNotEnoughReplicas},
      {"ending", ErrorCode::kNotEnoughReplicas},
      {"mapping", ErrorCode::kInvalidProducerIdMapping},
  };
  c1.set_errors([&](const std::string& id, const TopicPartition&) {
    for (const auto& [k, e] : script) {
      if (id.rfind(k, 0) == 0) return e;
    }
    return ErrorCode::kNone;
  });
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, c1.port())}, TxnTopic(1, 1));
  AddPartitionsToTxnManager m(Opts(), &metadata, nullptr);
  std::map<std::string, std::unique_ptr<Done>> dones;
  for (const auto& [k, e] : script) {
    dones[k] = std::make_unique<Done>();
    m.Verify(k, 7, 1, {kT0}, dones[k]->Fn());
  }
  for (const auto& [k, d] : dones) {
    ASSERT_TRUE(d->Wait()) << k;
    EXPECT_EQ(want.at(k), d->errors[kT0]) << k;
  }
  // A response-level error applies to every partition (CLUSTER_AUTHORIZATION_FAILED is not
  // shown to clients).
  c1.set_top_error(ErrorCode::kClusterAuthorizationFailed);
  Done top;
  m.Verify("x", 7, 1, {kT0, kT1}, top.Fn());
  ASSERT_TRUE(top.Wait());
  EXPECT_EQ(ErrorCode::kInvalidTxnState, top.errors[kT0]);
  EXPECT_EQ(ErrorCode::kInvalidTxnState, top.errors[kT1]);
}

TEST(AddPartitionsToTxnManagerTest, NoCoordinatorIsNotEnoughReplicasOnTheManagersThread) {
  cluster::MetadataCache metadata;
  metadata.Update(0, {}, {Leader("t", 0, 9)});  // no __transaction_state
  AddPartitionsToTxnManager m(Opts(), &metadata, nullptr);
  Done done;
  m.Verify("a", 1, 0, {kT0, kT1}, done.Fn());
  ASSERT_TRUE(done.Wait());
  EXPECT_NE(std::this_thread::get_id(), done.thread);
  EXPECT_EQ(ErrorCode::kNotEnoughReplicas, done.errors[kT0]);
  EXPECT_EQ(ErrorCode::kNotEnoughReplicas, done.errors[kT1]);
  // A leaderless coordinator partition, or a leader that is not alive, likewise.
  metadata.Update(0, {}, TxnTopic(-1, 5));
  Done leaderless, dead;
  m.Verify(IdIn(0), 1, 0, {kT0}, leaderless.Fn());
  m.Verify(IdIn(1), 1, 0, {kT0}, dead.Fn());
  ASSERT_TRUE(leaderless.Wait());
  ASSERT_TRUE(dead.Wait());
  EXPECT_EQ(ErrorCode::kNotEnoughReplicas, leaderless.errors[kT0]);
  EXPECT_EQ(ErrorCode::kNotEnoughReplicas, dead.errors[kT0]);
  EXPECT_EQ(0u, m.NumSenders());
}

TEST(AddPartitionsToTxnManagerTest, BatchesPerCoordinatorOneTransactionPerIdPerRequest) {
  FakeCoordinator c1;
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, c1.port())}, TxnTopic(1, 1));
  AddPartitionsToTxnManager m(Opts(), &metadata, nullptr);
  c1.Hold();
  Done first;
  m.Verify("first", 1, 0, {kT0}, first.Fn());
  ASSERT_TRUE([&] {
    for (int i = 0; i < 1000 && c1.received().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
    }
    return !c1.received().empty();
  }());
  // While "first" is in flight, three more queue: two ids in the next request, and the second
  // verification of "b" in the one after.
  Done a, b1, b2;
  m.Verify("a", 2, 0, {kT0}, a.Fn());
  m.Verify("b", 3, 0, {kT1}, b1.Fn());
  m.Verify("b", 3, 0, {kT0}, b2.Fn());
  c1.Release();
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(a.Wait());
  ASSERT_TRUE(b1.Wait());
  ASSERT_TRUE(b2.Wait());
  const auto got = c1.received();
  ASSERT_EQ(3u, got.size());
  EXPECT_EQ(1u, got[0].second.transactions.size());
  ASSERT_EQ(2u, got[1].second.transactions.size());
  EXPECT_EQ("a", got[1].second.transactions[0].transactional_id);
  EXPECT_EQ("b", got[1].second.transactions[1].transactional_id);
  EXPECT_EQ(1u, got[2].second.transactions.size());
  EXPECT_EQ(ErrorCode::kNone, b1.errors[kT1]);
  EXPECT_EQ(ErrorCode::kNone, b2.errors[kT0]);
}

TEST(AddPartitionsToTxnManagerTest, SilentCoordinatorCostsItsOwnVerificationsTheTimeout) {
  FakeCoordinator silent(/*max_version=*/4, /*silent=*/true);
  FakeCoordinator fine;
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, silent.port()), Broker(2, fine.port())}, TxnTopic(1, 2));
  AddPartitionsToTxnManager m(Opts(/*request_timeout_ms=*/500), &metadata, nullptr);
  Done stuck, ok;
  const auto start = SteadyClock::now();
  m.Verify(IdIn(0), 1, 0, {kT0}, stuck.Fn());
  m.Verify(IdIn(1), 2, 0, {kT0}, ok.Fn());
  ASSERT_TRUE(ok.Wait(400));  // not held up by the silent broker
  EXPECT_EQ(ErrorCode::kNone, ok.errors[kT0]);
  ASSERT_TRUE(stuck.Wait(5000));
  EXPECT_GE(MsSince(start), 400);
  // NETWORK_EXCEPTION underneath; producers get the error they retry (Kafka 3.8's mapping).
  EXPECT_EQ(ErrorCode::kNotEnoughReplicas, stuck.errors[kT0]);
  EXPECT_EQ(2u, m.NumSenders());
}

TEST(AddPartitionsToTxnManagerTest, DeadCoordinatorIsRetriableAtOnce) {
  // A coordinator killed between two verifications: its connection closes and its port then
  // refuses. The producer must hear a retriable error at once (not after request.timeout.ms),
  // so that it keeps retrying until the coordinator moves.
  cluster::MetadataCache metadata;
  auto c1 = std::make_unique<FakeCoordinator>();
  metadata.Update(0, {Broker(1, c1->port())}, TxnTopic(1, 1));
  AddPartitionsToTxnManager m(Opts(/*request_timeout_ms=*/30000), &metadata, nullptr);
  Done before;
  m.Verify("a", 1, 0, {kT0}, before.Fn());
  ASSERT_TRUE(before.Wait());
  EXPECT_EQ(ErrorCode::kNone, before.errors[kT0]);
  c1.reset();
  for (int i = 0; i < 3; ++i) {
    Done after;
    const auto start = SteadyClock::now();
    m.Verify("a", 1, 0, {kT0}, after.Fn());
    ASSERT_TRUE(after.Wait(5000)) << "verification " << i << " after the coordinator died";
    EXPECT_LT(MsSince(start), 5000);
    EXPECT_EQ(ErrorCode::kNotEnoughReplicas, after.errors[kT0]) << "verification " << i;
  }
}

TEST(AddPartitionsToTxnManagerTest, CoordinatorWithoutVerifyOnlyVerifiesNothing) {
  FakeCoordinator old(/*max_version=*/3);
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, old.port())}, TxnTopic(1, 1));
  AddPartitionsToTxnManager m(Opts(), &metadata, nullptr);
  Done done;
  m.Verify("a", 1, 0, {kT0, kT1}, done.Fn());
  ASSERT_TRUE(done.Wait());
  EXPECT_EQ(ErrorCode::kNone, done.errors[kT0]);
  EXPECT_EQ(ErrorCode::kNone, done.errors[kT1]);
  EXPECT_EQ(0, old.requests());  // never sent at a version that would add the partitions
}

TEST(AddPartitionsToTxnManagerTest, ShutdownCompletesPendingVerifications) {
  FakeCoordinator c1;
  cluster::MetadataCache metadata;
  metadata.Update(0, {Broker(1, c1.port())}, TxnTopic(1, 1));
  Done held, queued, late;
  {
    AddPartitionsToTxnManager m(Opts(), &metadata, nullptr);
    c1.Hold();
    m.Verify("h", 1, 0, {kT0}, held.Fn());
    for (int i = 0; i < 1000 && c1.received().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
    }
    m.Verify("h", 1, 0, {kT1}, queued.Fn());
    m.Shutdown();
    EXPECT_EQ(1, held.calls);
    EXPECT_EQ(1, queued.calls);
    EXPECT_EQ(ErrorCode::kNotEnoughReplicas, held.errors[kT0]);
    EXPECT_EQ(ErrorCode::kNotEnoughReplicas, queued.errors[kT1]);
    m.Verify("h", 1, 0, {kT0}, late.Fn());
    EXPECT_EQ(1, late.calls);
    EXPECT_EQ(ErrorCode::kNotEnoughReplicas, late.errors[kT0]);
  }
  c1.Release();
}

// __transaction_state in memory, enough for InitProducerId and AddPartitions.
class MemoryTxnLog final : public TransactionLogStore {
 public:
  void Append(int32_t partition, std::string batch, std::function<void(Status)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      batches_[partition].push_back(std::move(batch));
    }
    done(Status::Ok());
  }
  Status Load(int32_t, const std::function<void(const protocol::Record&)>&) override {
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::map<int32_t, std::vector<std::string>> batches_;
};

TEST(AddPartitionsToTxnManagerTest, AsksTheLocalCoordinatorWithoutTheNetwork) {
  MemoryTxnLog store;
  int64_t next_block = 0;
  ProducerIdManager ids([&]() -> Result<zk::ProducerIdBlock> {
    zk::ProducerIdBlock b{0, next_block, next_block + 999};
    next_block += 1000;
    return b;
  });
  TxnConfig tc;
  tc.num_partitions = 2;
  TransactionCoordinator coordinator(
      tc, &store, &ids, [](TxnMarker, std::function<void(Status)> done) { done(Status::Ok()); });
  coordinator.Start();
  coordinator.OnElection(0, 1);
  coordinator.OnElection(1, 1);
  for (int i = 0; i < 1000 && !(coordinator.Owns(0) && coordinator.Owns(1)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval
  }
  InitProducerIdResult p{ErrorCode::kUnknownServerError, -1, -1};
  coordinator.InitProducerId("loc", 60000, std::nullopt, [&](InitProducerIdResult r) { p = r; });
  ASSERT_EQ(ErrorCode::kNone, p.error);
  ErrorCode added = ErrorCode::kUnknownServerError;
  coordinator.AddPartitions("loc", p.producer_id, p.producer_epoch, {kT0},
                            [&](ErrorCode e) { added = e; });
  ASSERT_EQ(ErrorCode::kNone, added);

  cluster::MetadataCache metadata;  // this broker (0) leads both: no endpoint needed
  metadata.Update(0, {Broker(0, 1)}, TxnTopic(0, 0));
  AddPartitionsToTxnManager m(Opts(), &metadata, &coordinator);
  Done done, fenced, unknown;
  m.Verify("loc", p.producer_id, p.producer_epoch, {kT0, kT1}, done.Fn());
  m.Verify("loc", p.producer_id, p.producer_epoch + 1, {kT0}, fenced.Fn());
  m.Verify("nobody", 5, 0, {kT0}, unknown.Fn());
  ASSERT_TRUE(done.Wait());
  ASSERT_TRUE(fenced.Wait());
  ASSERT_TRUE(unknown.Wait());
  EXPECT_NE(std::this_thread::get_id(), done.thread);
  EXPECT_EQ(ErrorCode::kNone, done.errors[kT0]);
  // The coordinator's Kafka 3.8+ answer, left for the produce handler to map by version.
  EXPECT_EQ(ErrorCode::kTransactionAbortable, done.errors[kT1]);
  EXPECT_EQ(ErrorCode::kInvalidProducerEpoch, fenced.errors[kT0]);
  EXPECT_EQ(ErrorCode::kInvalidProducerIdMapping, unknown.errors[kT0]);
  EXPECT_EQ(0u, m.NumSenders());
  EXPECT_EQ(0u, m.RequestsSent());
  m.Shutdown();
  coordinator.Shutdown();
}

}  // namespace
}  // namespace gregor::txn
