// The transaction coordinator through its public interface, over an in-memory
// __transaction_state (records really encoded and decoded) and a recording marker sender.
#include "gregor/txn/transaction_coordinator.h"

#include <chrono>
#include <deque>
#include <thread>

#include "gregor/protocol/record_batch.h"
#include "gtest/gtest.h"

namespace gregor::txn {
namespace {

using protocol::ErrorCode;

class MemoryTxnLog final : public TransactionLogStore {
 public:
  void Append(int32_t partition, std::string batch, std::function<void(Status)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fail_next_ || failing_) {
        fail_next_ = false;
        done(Status::Unavailable("not enough replicas"));
        return;
      }
      batches_[partition].push_back(std::move(batch));
    }
    done(Status::Ok());
  }
  Status Load(int32_t partition,
              const std::function<void(const protocol::Record&)>& visitor) override {
    std::vector<std::string> copy;
    {
      std::lock_guard<std::mutex> lock(mu_);
      copy = batches_[partition];
    }
    for (const auto& b : copy) {
      std::vector<protocol::Record> records;
      if (!protocol::DecodeBatchRecords(reinterpret_cast<const uint8_t*>(b.data()), b.size(),
                                        &records)) {
        return Status::Corruption("bad batch");
      }
      for (const auto& r : records) visitor(r);
    }
    return Status::Ok();
  }
  void FailNextAppend() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = true;
  }
  // Every append fails while set (a partition below min.insync.replicas).
  void SetFailing(bool failing) {
    std::lock_guard<std::mutex> lock(mu_);
    failing_ = failing;
  }
  size_t Records(int32_t partition) {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_[partition].size();
  }

 private:
  std::mutex mu_;
  std::map<int32_t, std::vector<std::string>> batches_;
  bool fail_next_ = false;
  bool failing_ = false;
};

struct SentMarker {
  TxnMarker marker;
  std::function<void(Status)> done;
};

class TransactionCoordinatorTest : public ::testing::Test {
 protected:
  TransactionCoordinatorTest()
      : ids_([this]() -> Result<zk::ProducerIdBlock> {
          zk::ProducerIdBlock b{0, next_block_, next_block_ + 999};
          next_block_ += 1000;
          return b;
        }) {
    config_.num_partitions = 4;
    config_.max_timeout_ms = 60000;
    config_.transactional_id_expiration_ms = 3600000;
  }
  ~TransactionCoordinatorTest() override {
    if (coordinator_) coordinator_->Shutdown();
  }

  std::unique_ptr<TransactionCoordinator> Make() {
    auto c = std::make_unique<TransactionCoordinator>(
        config_, &log_, &ids_,
        [this](TxnMarker m, std::function<void(Status)> done) {
          std::lock_guard<std::mutex> lock(mu_);
          sent_.push_back({std::move(m), std::move(done)});
        },
        &clock_);
    c->Start();
    return c;
  }
  // Elects `c` for every partition and waits for the loads.
  void ElectAll(TransactionCoordinator* c, int32_t epoch) {
    for (int32_t p = 0; p < config_.num_partitions; ++p) c->OnElection(p, epoch);
    for (int i = 0; i < 500; ++i) {
      bool all = true;
      for (int32_t p = 0; p < config_.num_partitions; ++p) all = all && c->Owns(p);
      if (all) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "partitions not loaded";
  }
  InitProducerIdResult Init(const std::string& id,
                            std::optional<std::pair<int64_t, int16_t>> exp = std::nullopt) {
    InitProducerIdResult out{ErrorCode::kUnknownServerError, -1, -1};
    coordinator_->InitProducerId(id, 30000, exp, [&](InitProducerIdResult r) { out = r; });
    return out;
  }
  ErrorCode Add(const std::string& id, const InitProducerIdResult& p,
                std::set<TopicPartition> tps) {
    ErrorCode out = ErrorCode::kUnknownServerError;
    coordinator_->AddPartitions(id, p.producer_id, p.producer_epoch, tps,
                                [&](ErrorCode e) { out = e; });
    return out;
  }
  ErrorCode End(const std::string& id, int64_t pid, int16_t epoch, bool commit) {
    ErrorCode out = ErrorCode::kUnknownServerError;
    coordinator_->EndTxn(id, pid, epoch, commit, [&](ErrorCode e) { out = e; });
    return out;
  }
  // Completes the oldest marker sent (as if every leader wrote it).
  TxnMarker AckMarker(Status st = Status::Ok()) {
    SentMarker m;
    {
      std::lock_guard<std::mutex> lock(mu_);
      EXPECT_FALSE(sent_.empty());
      if (sent_.empty()) return {};
      m = std::move(sent_.front());
      sent_.pop_front();
    }
    m.done(st);
    return m.marker;
  }
  size_t MarkersSent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.size();
  }

  TxnConfig config_;
  MemoryTxnLog log_;
  int64_t next_block_ = 4000;
  ProducerIdManager ids_;
  FakeClock clock_{1'000'000};
  std::mutex mu_;
  std::deque<SentMarker> sent_;
  std::unique_ptr<TransactionCoordinator> coordinator_;
};

const TopicPartition kA{"orders", 0};
const TopicPartition kB{"orders", 1};

TEST_F(TransactionCoordinatorTest, CommitWritesPrepareThenMarkersThenComplete) {
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 3);
  auto p = Init("app-1");
  ASSERT_EQ(p.error, ErrorCode::kNone);
  EXPECT_EQ(p.producer_id, 4000);
  EXPECT_EQ(p.producer_epoch, 0);
  ASSERT_EQ(Add("app-1", p, {kA, kB}), ErrorCode::kNone);
  EXPECT_EQ(coordinator_->Describe("app-1").state, "Ongoing");
  ASSERT_EQ(End("app-1", p.producer_id, p.producer_epoch, true), ErrorCode::kNone);
  EXPECT_EQ(coordinator_->Describe("app-1").state, "PrepareCommit");
  // Until the markers are written the producer's next transaction waits.
  EXPECT_EQ(Add("app-1", p, {kA}), ErrorCode::kConcurrentTransactions);
  ASSERT_EQ(MarkersSent(), 1u);
  TxnMarker m = AckMarker();
  EXPECT_TRUE(m.commit);
  EXPECT_EQ(m.producer_id, p.producer_id);
  EXPECT_EQ(m.producer_epoch, p.producer_epoch);
  EXPECT_EQ(m.coordinator_epoch, 3);
  EXPECT_EQ(m.partitions, (std::set<TopicPartition>{kA, kB}));
  EXPECT_EQ(m.txn_topic_partition, coordinator_->PartitionFor("app-1"));
  auto d = coordinator_->Describe("app-1");
  EXPECT_EQ(d.state, "CompleteCommit");
  EXPECT_TRUE(d.partitions.empty());
  // init, add, prepare, complete: four records in the transactional id's partition.
  EXPECT_EQ(log_.Records(coordinator_->PartitionFor("app-1")), 4u);
  // A retried EndTxn of the finished transaction is fine; the opposite is not.
  EXPECT_EQ(End("app-1", p.producer_id, p.producer_epoch, true), ErrorCode::kNone);
  EXPECT_EQ(End("app-1", p.producer_id, p.producer_epoch, false), ErrorCode::kInvalidTxnState);
}

TEST_F(TransactionCoordinatorTest, ANewProducerWithTheSameIdFencesTheOldOne) {
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 1);
  auto first = Init("app");
  ASSERT_EQ(Add("app", first, {kA}), ErrorCode::kNone);
  // The second instance's InitProducerId aborts the ongoing transaction and asks it to retry.
  EXPECT_EQ(Init("app").error, ErrorCode::kConcurrentTransactions);
  TxnMarker abort = AckMarker();
  EXPECT_FALSE(abort.commit);
  EXPECT_EQ(abort.producer_epoch, first.producer_epoch + 1);
  auto second = Init("app");
  ASSERT_EQ(second.error, ErrorCode::kNone);
  EXPECT_EQ(second.producer_id, first.producer_id);
  EXPECT_EQ(second.producer_epoch, first.producer_epoch + 2);
  // The zombie is fenced everywhere.
  EXPECT_EQ(Add("app", first, {kB}), ErrorCode::kProducerFenced);
  EXPECT_EQ(End("app", first.producer_id, first.producer_epoch, true), ErrorCode::kProducerFenced);
  EXPECT_EQ(End("app", 777, second.producer_epoch, true), ErrorCode::kInvalidProducerIdMapping);
}

TEST_F(TransactionCoordinatorTest, TimedOutTransactionsAreAbortedWithAFencingEpoch) {
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 1);
  auto p = Init("slow");
  ASSERT_EQ(Add("slow", p, {kA}), ErrorCode::kNone);
  coordinator_->AbortTimedOutTransactions();
  EXPECT_EQ(MarkersSent(), 0u);  // not yet
  clock_.AdvanceMs(30001);
  coordinator_->AbortTimedOutTransactions();
  TxnMarker m = AckMarker();
  EXPECT_FALSE(m.commit);
  EXPECT_EQ(m.producer_epoch, p.producer_epoch + 1);
  EXPECT_EQ(coordinator_->Describe("slow").state, "CompleteAbort");
  EXPECT_EQ(End("slow", p.producer_id, p.producer_epoch, true), ErrorCode::kProducerFenced);
}

TEST_F(TransactionCoordinatorTest, ANewCoordinatorCompletesPreparedTransactions) {
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 1);
  auto p = Init("moving");
  ASSERT_EQ(Add("moving", p, {kA}), ErrorCode::kNone);
  ASSERT_EQ(End("moving", p.producer_id, p.producer_epoch, true), ErrorCode::kNone);
  // The coordinator dies before the markers are written.
  coordinator_->Shutdown();
  AckMarker(Status::Unavailable("shut down"));
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 2);
  EXPECT_EQ(coordinator_->Describe("moving").state, "PrepareCommit");
  TxnMarker m = AckMarker();
  EXPECT_TRUE(m.commit);
  EXPECT_EQ(m.coordinator_epoch, 2);
  EXPECT_EQ(m.partitions, std::set<TopicPartition>{kA});
  EXPECT_EQ(coordinator_->Describe("moving").state, "CompleteCommit");
  // And the next producer session continues from the loaded epoch.
  auto again = Init("moving");
  ASSERT_EQ(again.error, ErrorCode::kNone);
  EXPECT_EQ(again.producer_epoch, p.producer_epoch + 1);
}

TEST_F(TransactionCoordinatorTest, NotCoordinatorLoadingAndBadRequests) {
  coordinator_ = Make();
  EXPECT_EQ(Init("x").error, ErrorCode::kNotCoordinator);
  ElectAll(coordinator_.get(), 1);
  EXPECT_EQ(Init("").error, ErrorCode::kInvalidRequest);
  InitProducerIdResult r;
  coordinator_->InitProducerId("x", 0, std::nullopt, [&](InitProducerIdResult v) { r = v; });
  EXPECT_EQ(r.error, ErrorCode::kInvalidTransactionTimeout);
  coordinator_->InitProducerId("x", 60001, std::nullopt, [&](InitProducerIdResult v) { r = v; });
  EXPECT_EQ(r.error, ErrorCode::kInvalidTransactionTimeout);
  EXPECT_EQ(End("x", 1, 0, true), ErrorCode::kInvalidProducerIdMapping);
  auto p = Init("x");
  EXPECT_EQ(End("x", p.producer_id, p.producer_epoch, true), ErrorCode::kInvalidTxnState);  // Empty
  coordinator_->OnResignation(coordinator_->PartitionFor("x"));
  EXPECT_EQ(Add("x", p, {kA}), ErrorCode::kNotCoordinator);
  EXPECT_EQ(coordinator_->Describe("x").error, ErrorCode::kNotCoordinator);
}

TEST_F(TransactionCoordinatorTest, AFailedLogWriteLeavesTheStateUnchanged) {
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 1);
  auto p = Init("flaky");
  log_.FailNextAppend();
  EXPECT_EQ(Add("flaky", p, {kA}), ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(coordinator_->Describe("flaky").state, "Empty");
  EXPECT_EQ(Add("flaky", p, {kA}), ErrorCode::kNone);
  EXPECT_EQ(coordinator_->Describe("flaky").state, "Ongoing");
}

TEST_F(TransactionCoordinatorTest, AFailedCompleteWriteIsRetriedUntilItLands) {
  // The markers are written, then the CompleteCommit record cannot be (the coordinator's
  // partition fell below min.insync.replicas, e.g. while cut from its followers): the
  // transaction must not stay in PrepareCommit for good.
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 1);
  auto p = Init("stuck");
  ASSERT_EQ(Add("stuck", p, {kA}), ErrorCode::kNone);
  ASSERT_EQ(End("stuck", p.producer_id, p.producer_epoch, true), ErrorCode::kNone);
  log_.SetFailing(true);
  AckMarker();
  EXPECT_EQ(coordinator_->Describe("stuck").state, "PrepareCommit");
  // Still being completed: the producer is told to retry, not that its state is invalid.
  EXPECT_EQ(Add("stuck", p, {kB}), ErrorCode::kConcurrentTransactions);
  EXPECT_EQ(End("stuck", p.producer_id, p.producer_epoch, false),
            ErrorCode::kConcurrentTransactions);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few timer ticks of retries
  coordinator_->RetryCompletions();
  EXPECT_EQ(coordinator_->Describe("stuck").state, "PrepareCommit");
  log_.SetFailing(false);
  bool landed = false;
  for (int i = 0; i < 500 && !landed; ++i) {  // the timer retries every 100 ms
    landed = coordinator_->Describe("stuck").state == "CompleteCommit";
    if (!landed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(landed) << coordinator_->Describe("stuck").state;
  ASSERT_EQ(Add("stuck", p, {kB}), ErrorCode::kNone);  // the next transaction
  EXPECT_EQ(MarkersSent(), 0u);                        // markers are not sent again
}

TEST_F(TransactionCoordinatorTest, VerifyListAndExpiry) {
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 1);
  auto p = Init("v");
  ASSERT_EQ(Add("v", p, {kA}), ErrorCode::kNone);
  auto verified = coordinator_->VerifyPartitions("v", p.producer_id, p.producer_epoch, {kA, kB});
  EXPECT_EQ(verified[kA], ErrorCode::kNone);
  EXPECT_EQ(verified[kB], ErrorCode::kTransactionAbortable);  // Kafka 3.8+ (KIP-890)
  EXPECT_EQ(coordinator_->VerifyPartitions("v", p.producer_id, p.producer_epoch + 1, {kA})[kA],
            ErrorCode::kProducerFenced);
  auto q = Init("idle");
  ASSERT_EQ(q.error, ErrorCode::kNone);
  std::vector<TransactionListing> listed;
  ASSERT_EQ(coordinator_->List({}, {"Ongoing"}, &listed), ErrorCode::kNone);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].transactional_id, "v");
  // ListTransactions v1 (KIP-994): only transactions running longer than the filter.
  clock_.AdvanceMs(500);
  listed.clear();
  ASSERT_EQ(coordinator_->List({}, {"Ongoing"}, &listed, 500), ErrorCode::kNone);
  EXPECT_TRUE(listed.empty());
  ASSERT_EQ(coordinator_->List({}, {"Ongoing"}, &listed, 499), ErrorCode::kNone);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].transactional_id, "v");
  // Idle ids expire (a tombstone); ongoing ones do not.
  clock_.AdvanceMs(config_.transactional_id_expiration_ms + 1);
  coordinator_->RemoveExpiredTransactionalIds();
  EXPECT_EQ(coordinator_->Describe("idle").error, ErrorCode::kTransactionalIdNotFound);
  EXPECT_EQ(coordinator_->Describe("v").state, "Ongoing");
  // A new coordinator does not bring the expired id back.
  coordinator_->Shutdown();
  coordinator_ = Make();
  ElectAll(coordinator_.get(), 2);
  EXPECT_EQ(coordinator_->Describe("idle").error, ErrorCode::kTransactionalIdNotFound);
  EXPECT_EQ(coordinator_->Describe("v").state, "Ongoing");
}

}  // namespace
}  // namespace gregor::txn
