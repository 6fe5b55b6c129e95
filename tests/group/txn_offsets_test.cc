// Transactional offset commits (TxnOffsetCommit) through the GroupCoordinator's public
// interface, over a real __consumer_offsets log: pending until the producer's marker,
// KIP-447's require_stable, KIP-447's generation checks, and the replay of transactional
// batches and markers when a new coordinator loads the partition.
#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "gregor/group/group_coordinator.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/writer.h"
#include "group_test_util.h"

namespace gregor::group {
namespace {

// TxnOffsetCommit v3's consumer fields (defaults: an older version, no member).
struct Member {
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> instance_id;
};

class TxnOffsetsTest : public testing::CoordinatorTest {
 protected:
  std::map<TopicPartition, ErrorCode> TxnCommit(const std::string& group, int64_t pid,
                                                int16_t epoch,
                                                std::map<TopicPartition, int64_t> offsets,
                                                const Member& member = {},
                                                std::string metadata = "") {
    TxnOffsetCommitParams p;
    p.group_id = group;
    p.transactional_id = "txn-" + std::to_string(pid);
    p.producer_id = pid;
    p.producer_epoch = epoch;
    p.generation_id = member.generation;
    p.member_id = member.member_id;
    p.group_instance_id = member.instance_id;
    for (const auto& [tp, o] : offsets) {
      p.offsets[tp].offset = o;
      p.offsets[tp].metadata = metadata;
    }
    auto out = std::make_shared<std::optional<std::map<TopicPartition, ErrorCode>>>();
    coordinator_->CommitTxnOffsets(p, [out](std::map<TopicPartition, ErrorCode> r) { *out = r; });
    EXPECT_TRUE(out->has_value()) << "transactional commit did not complete";
    return out->value_or(std::map<TopicPartition, ErrorCode>{});
  }

  // The transaction coordinator's marker for `pid` in __consumer_offsets-0, as WriteTxnMarkers
  // appends it (a control batch: key version 0 + type, value version 0 + coordinator epoch).
  void AppendMarker(int64_t pid, int16_t epoch, bool commit) {
    protocol::BatchSpec b;
    b.attributes = protocol::kTransactionalBit | protocol::kControlBit;
    b.producer_id = pid;
    b.producer_epoch = epoch;
    b.base_sequence = -1;
    protocol::RecordSpec r;
    r.key = EncodeControlRecordKey(commit ? ControlRecordType::kCommit : ControlRecordType::kAbort);
    protocol::Writer w;
    w.Int16(0);
    w.Int32(0);
    r.value = w.Flatten();
    r.timestamp = clock_.NowMs();
    std::string batch = protocol::BuildRecordBatch(b, {r});
    auto res =
        partitions_[0]->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(batch.data()),
                                              batch.size(), -1, 1, log::AppendOrigin::kCoordinator);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
  }

  // The marker lands, then the WriteTxnMarkers handler tells the coordinator.
  void EndTxn(int64_t pid, int16_t epoch, bool commit) {
    AppendMarker(pid, epoch, commit);
    coordinator_->HandleTxnCompletion(pid, {0}, commit);
  }

  FetchedOffset FetchStable(const std::string& group, const TopicPartition& tp) {
    auto r = coordinator_->FetchOffsets(group, std::vector<TopicPartition>{tp}, true);
    EXPECT_EQ(r.error, ErrorCode::kNone);
    return r.offsets[tp];
  }

  // A new coordinator over the same log reopened from disk (another broker takes over).
  void Failover() {
    coordinator_.reset();
    OpenPartition(1);
    MakeCoordinator();
  }

  const TopicPartition tp_{"t1", 0};
  const TopicPartition tp2_{"t1", 1};
};

TEST_F(TxnOffsetsTest, PendingIsInvisibleUntilCommitMarker) {
  auto r = TxnCommit("g", 1000, 0, {{tp_, 5}, {tp2_, 6}});
  EXPECT_EQ(r[tp_], ErrorCode::kNone);
  EXPECT_EQ(r[tp2_], ErrorCode::kNone);
  // A producer that never joined creates the group, empty.
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kEmpty);
  EXPECT_EQ(Fetched("g", tp_), -1);
  EXPECT_TRUE(coordinator_->FetchOffsets("g", std::nullopt).offsets.empty());
  // Another producer's marker, or a marker in another partition, changes nothing.
  coordinator_->HandleTxnCompletion(2000, {0}, true);
  coordinator_->HandleTxnCompletion(1000, {7}, true);
  EXPECT_EQ(Fetched("g", tp_), -1);

  EndTxn(1000, 0, true);
  EXPECT_EQ(Fetched("g", tp_), 5);
  EXPECT_EQ(Fetched("g", tp2_), 6);
  EXPECT_EQ(FetchStable("g", tp_).error, ErrorCode::kNone);
  // A repeated completion (a retried WriteTxnMarkers) is harmless.
  coordinator_->HandleTxnCompletion(1000, {0}, false);
  EXPECT_EQ(Fetched("g", tp_), 5);
}

TEST_F(TxnOffsetsTest, AbortMarkerDropsPendingOffsets) {
  ASSERT_EQ(Commit("g", "", -1, {{tp_, 3}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(TxnCommit("g", 1000, 0, {{tp_, 5}, {tp2_, 6}})[tp_], ErrorCode::kNone);
  EndTxn(1000, 0, false);
  EXPECT_EQ(Fetched("g", tp_), 3);
  EXPECT_EQ(Fetched("g", tp2_), -1);
  EXPECT_EQ(FetchStable("g", tp_).error, ErrorCode::kNone);
  EXPECT_EQ(FetchStable("g", tp_).offset, 3);
  // The next transaction of the same producer commits normally.
  ASSERT_EQ(TxnCommit("g", 1000, 0, {{tp_, 8}})[tp_], ErrorCode::kNone);
  EndTxn(1000, 0, true);
  EXPECT_EQ(Fetched("g", tp_), 8);
}

TEST_F(TxnOffsetsTest, RequireStableAnswersUnstableWhilePending) {
  ASSERT_EQ(Commit("g", "", -1, {{tp_, 3}, {tp2_, 4}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(TxnCommit("g", 1000, 0, {{tp_, 5}})[tp_], ErrorCode::kNone);
  // KIP-447: the pending partition is unstable, the other one is not.
  FetchedOffset f = FetchStable("g", tp_);
  EXPECT_EQ(f.error, ErrorCode::kUnstableOffsetCommit);
  EXPECT_EQ(f.offset, -1);
  EXPECT_EQ(FetchStable("g", tp2_).offset, 4);
  EXPECT_EQ(FetchStable("g", tp2_).error, ErrorCode::kNone);
  auto all = coordinator_->FetchOffsets("g", std::nullopt, true);
  EXPECT_EQ(all.offsets[tp_].error, ErrorCode::kUnstableOffsetCommit);
  EXPECT_EQ(all.offsets[tp2_].offset, 4);
  // Without require_stable the last committed offset is served.
  EXPECT_EQ(Fetched("g", tp_), 3);
  EndTxn(1000, 0, true);
  f = FetchStable("g", tp_);
  EXPECT_EQ(f.error, ErrorCode::kNone);
  EXPECT_EQ(f.offset, 5);
}

TEST_F(TxnOffsetsTest, GenerationAndMemberChecks) {
  EXPECT_EQ(TxnCommit("", 1000, 0, {{tp_, 1}})[tp_], ErrorCode::kInvalidGroupId);
  auto ids = StableGroup(1);
  ASSERT_EQ(ids.size(), 1u);
  // KIP-447 (v3): the consumer's generation and member id are checked.
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 1}}, {1, ids[0], std::nullopt})[tp_], ErrorCode::kNone);
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 2}}, {2, ids[0], std::nullopt})[tp_],
            ErrorCode::kIllegalGeneration);
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 2}}, {1, "stranger", std::nullopt})[tp_],
            ErrorCode::kUnknownMemberId);
  // Before v3 the request carries no member: accepted even for an active group.
  EXPECT_EQ(TxnCommit("g", 1001, 0, {{tp2_, 3}})[tp2_], ErrorCode::kNone);
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 1}}, {1, ids[0], std::nullopt}, std::string(5000, 'x'))
                .at(tp_),
            ErrorCode::kOffsetMetadataTooLarge);
}

TEST_F(TxnOffsetsTest, StaticMemberIsFencedByInstanceId) {
  auto a = Join(JoinParams("", {"t1"}, "instance-a"));
  Advance(3000);
  ASSERT_TRUE(a.done());
  ASSERT_EQ(a.get().error, ErrorCode::kNone);
  const std::string id = a.get().member_id;
  ASSERT_TRUE(Sync(id, 1, {{id, "x"}}, "instance-a").done());
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 1}}, {1, "old-id", "instance-a"})[tp_],
            ErrorCode::kFencedInstanceId);
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 1}}, {1, id, "instance-b"})[tp_],
            ErrorCode::kUnknownMemberId);
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 1}}, {1, id, "instance-a"})[tp_], ErrorCode::kNone);
}

TEST_F(TxnOffsetsTest, StaleProducerEpochIsRejected) {
  ASSERT_EQ(TxnCommit("g", 1000, 3, {{tp_, 1}})[tp_], ErrorCode::kNone);
  EXPECT_EQ(TxnCommit("g", 1000, 2, {{tp_, 2}})[tp_], ErrorCode::kInvalidProducerEpoch);
  EndTxn(1000, 3, true);
  EXPECT_EQ(Fetched("g", tp_), 1);
}

// Of a transactional and a regular commit of the same partition, the one later in the log is
// the committed offset, whichever completes first (and a reload agrees).
TEST_F(TxnOffsetsTest, RegularCommitAfterTheTransactionalOneWins) {
  ASSERT_EQ(TxnCommit("g", 1000, 0, {{tp_, 5}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(Commit("g", "", -1, {{tp_, 7}})[tp_], ErrorCode::kNone);
  EXPECT_EQ(Fetched("g", tp_), 7);
  EXPECT_EQ(FetchStable("g", tp_).error, ErrorCode::kUnstableOffsetCommit);
  EndTxn(1000, 0, true);
  EXPECT_EQ(Fetched("g", tp_), 7);
  Failover();
  EXPECT_EQ(Fetched("g", tp_), 7);
}

TEST_F(TxnOffsetsTest, TransactionalCommitAfterTheRegularOneWins) {
  ASSERT_EQ(Commit("g", "", -1, {{tp_, 7}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(TxnCommit("g", 1000, 0, {{tp_, 5}})[tp_], ErrorCode::kNone);
  EXPECT_EQ(Fetched("g", tp_), 7);
  EndTxn(1000, 0, true);
  EXPECT_EQ(Fetched("g", tp_), 5);
  Failover();
  EXPECT_EQ(Fetched("g", tp_), 5);
}

TEST_F(TxnOffsetsTest, LoadReplaysTransactionalBatchesAndMarkers) {
  ASSERT_EQ(Commit("committed", "", -1, {{tp_, 1}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(TxnCommit("committed", 1, 0, {{tp_, 10}, {tp2_, 11}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(Commit("aborted", "", -1, {{tp_, 2}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(TxnCommit("aborted", 2, 0, {{tp_, 20}})[tp_], ErrorCode::kNone);
  ASSERT_EQ(TxnCommit("open", 3, 0, {{tp_, 30}})[tp_], ErrorCode::kNone);
  // One producer, two groups, one marker.
  ASSERT_EQ(TxnCommit("open", 4, 0, {{tp2_, 40}})[tp2_], ErrorCode::kNone);
  ASSERT_EQ(TxnCommit("committed", 4, 0, {{tp2_, 41}})[tp2_], ErrorCode::kNone);
  AppendMarker(1, 0, true);
  AppendMarker(2, 0, false);
  AppendMarker(4, 0, true);

  Failover();
  EXPECT_EQ(Fetched("committed", tp_), 10);
  EXPECT_EQ(Fetched("committed", tp2_), 41);
  EXPECT_EQ(Fetched("aborted", tp_), 2);
  EXPECT_EQ(FetchStable("aborted", tp_).error, ErrorCode::kNone);
  EXPECT_EQ(Fetched("open", tp2_), 40);
  // Producer 3 has no marker yet: its offset stays pending, in a group loaded for it alone.
  EXPECT_EQ(coordinator_->GroupStateForTest("open"), GroupState::kEmpty);
  EXPECT_EQ(Fetched("open", tp_), -1);
  EXPECT_EQ(FetchStable("open", tp_).error, ErrorCode::kUnstableOffsetCommit);
  EndTxn(3, 0, true);
  EXPECT_EQ(Fetched("open", tp_), 30);

  // A second failover reads the same history plus the last marker.
  Failover();
  EXPECT_EQ(Fetched("open", tp_), 30);
  EXPECT_EQ(Fetched("committed", tp_), 10);
  EXPECT_EQ(FetchStable("open", tp_).error, ErrorCode::kNone);
}

TEST_F(TxnOffsetsTest, PendingOnlyGroupIsNotExpiredOrDeletedUnderTheProducer) {
  config_.offsets_retention_ms = 1000;
  MakeCoordinator();
  ASSERT_EQ(TxnCommit("g", 1000, 0, {{tp_, 5}})[tp_], ErrorCode::kNone);
  Advance(5000);  // retention runs: the group has a pending offset, it stays
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kEmpty);
  EndTxn(1000, 0, true);
  EXPECT_EQ(Fetched("g", tp_), 5);
}

// An OffsetsLog whose Load waits until released: a marker may land while loading.
class GatedLoadLog final : public OffsetsLog {
 public:
  explicit GatedLoadLog(OffsetsLog* inner) : inner_(inner) {}
  void Append(int32_t p, std::string batch, std::optional<log::VerificationGuard> verification,
              AppendCallback done) override {
    inner_->Append(p, std::move(batch), verification, std::move(done));
  }
  Status Load(int32_t p, const LoadVisitor& v) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
    return inner_->Load(p, v);
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  OffsetsLog* inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_F(TxnOffsetsTest, CompletionWhileLoadingAppliesAfterTheLoad) {
  ASSERT_EQ(TxnCommit("g", 1000, 0, {{tp_, 5}})[tp_], ErrorCode::kNone);
  coordinator_.reset();
  OpenPartition(1);
  GatedLoadLog gated(log_.get());
  coordinator_ = std::make_unique<GroupCoordinator>(config_, &gated, &clock_);
  coordinator_->Start();
  coordinator_->OnLeadershipChange(0, true);
  ASSERT_TRUE(coordinator_->IsLoading(0));
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 6}})[tp_], ErrorCode::kCoordinatorLoadInProgress);
  // The marker landed after the load read the log end (here: it is not in the log at all),
  // and the WriteTxnMarkers handler tells the coordinator while it is still loading.
  coordinator_->HandleTxnCompletion(1000, {0}, true);
  gated.Open();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (coordinator_->IsLoading(0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_FALSE(coordinator_->IsLoading(0));
  EXPECT_EQ(Fetched("g", tp_), 5);
  coordinator_.reset();
}

TEST_F(TxnOffsetsTest, NotCoordinatorForAnotherBrokersGroup) {
  MakeCoordinator(false);
  EXPECT_EQ(TxnCommit("g", 1000, 0, {{tp_, 5}})[tp_], ErrorCode::kNotCoordinator);
  coordinator_->HandleTxnCompletion(1000, {0}, true);  // not ours: ignored
}

}  // namespace
}  // namespace gregor::group
