// Leader/follower rules of Partition: follower positions, ISR expansion and
// shrink (replica.lag.time.max.ms), the high watermark as the smallest log end
// of the ISR, acks=all completion, and truncation by leader epoch. Real logs in
// a temp dir, a fake clock, and an in-memory ISR writer standing in for
// ZooKeeper; records travel from leader reads to follower appends as bytes.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <filesystem>

#include "gregor/cluster/partition.h"
#include "gregor/protocol/record_batch.h"

namespace gregor::cluster {
namespace {

// Records the ISR changes leaders propose; the test decides how each ends.
struct FakeIsrWriter {
  struct Call {
    IsrChange change;
    std::function<void(Result<int32_t>)> done;
  };
  std::deque<Call> calls;
  IsrWriter Writer() {
    return [this](IsrChange c, std::function<void(Result<int32_t>)> done) {
      calls.push_back({std::move(c), std::move(done)});
    };
  }
  // Accepts the oldest proposal, as ZooKeeper would with a matching version.
  IsrChange Accept() {
    Call c = std::move(calls.front());
    calls.pop_front();
    c.done(c.change.zk_version + 1);
    return c.change;
  }
};

PartitionRole Role(int32_t leader, int32_t epoch, std::vector<int32_t> isr,
                   std::vector<int32_t> replicas, int32_t zk_version = 0) {
  PartitionRole r;
  r.leader = leader;
  r.leader_epoch = epoch;
  r.zk_version = zk_version;
  r.isr = std::move(isr);
  r.replicas = std::move(replicas);
  return r;
}

std::string Bytes(const log::ReadResult& read) {
  std::string out;
  for (const auto& region : read.regions) {
    std::string buf(region.length, '\0');
    EXPECT_EQ(static_cast<ssize_t>(region.length),
              pread(region.file->fd(), buf.data(), region.length, region.position));
    out += buf;
  }
  return out;
}

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gregor-replication-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<Partition> Make(int32_t broker) {
    std::string d = dir_ + "/b" + std::to_string(broker) + "/t-0";
    std::filesystem::create_directories(d);
    auto log = log::Log::Open(d, {"t", 0}, log::LogConfig{}, &clock_, 0, true);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    auto p = std::make_shared<Partition>(TopicPartition{"t", 0}, TopicId{}, broker,
                                         std::shared_ptr<log::Log>(std::move(*log)), &clock_);
    p->set_isr_writer(isr_.Writer());
    p->set_on_high_watermark([this](const TopicPartition&) { ++hw_moves_; });
    return p;
  }

  log::AppendResult Produce(Partition* leader, int records, int16_t acks = -1) {
    std::vector<protocol::KeyValue> kvs;
    for (int i = 0; i < records; ++i) kvs.push_back({std::string("k"), std::string("value")});
    std::string b = protocol::BuildRecordBatch(0, clock_.NowMs(), kvs);
    auto r = leader->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(b.data()), b.size(), acks, 1);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : log::AppendResult{};
  }

  // One fetch round of `follower` (broker `id`) from `leader`: what the replica fetcher does.
  Result<FollowerReadResult> FetchOnce(Partition* leader, Partition* follower, int32_t id,
                                       int32_t epoch) {
    FollowerFetch f;
    f.replica_id = id;
    f.fetch_offset = follower->log()->LogEndOffset();
    f.last_fetched_epoch = follower->log()->LatestEpoch().value_or(-1);
    f.current_leader_epoch = epoch;
    f.max_bytes = 1 << 20;
    auto r = leader->ReadForFollower(f);
    if (!r.ok()) return r;
    if (r->diverging_epoch) {
      auto t = follower->TruncateToDivergence(*r->diverging_epoch, epoch);
      EXPECT_TRUE(t.ok()) << t.status().ToString();
      return r;
    }
    std::string data = Bytes(r->read);
    if (!data.empty()) {
      auto a = follower->AppendRecordsAsFollower(reinterpret_cast<uint8_t*>(data.data()),
                                                 data.size(), epoch);
      EXPECT_TRUE(a.ok()) << a.status().ToString();
    }
    follower->UpdateFollowerHighWatermark(r->read.high_watermark);
    return r;
  }

  FakeClock clock_;
  std::string dir_;
  FakeIsrWriter isr_;
  int hw_moves_ = 0;
};

TEST_F(ReplicationTest, HighWatermarkIsSmallestLogEndOfIsr) {
  auto leader = Make(1), f2 = Make(2), f3 = Make(3);
  ASSERT_TRUE(leader->ApplyRole(Role(1, 0, {1, 2, 3}, {1, 2, 3})).ok());
  ASSERT_TRUE(f2->ApplyRole(Role(1, 0, {1, 2, 3}, {1, 2, 3})).ok());
  ASSERT_TRUE(f3->ApplyRole(Role(1, 0, {1, 2, 3}, {1, 2, 3})).ok());
  auto a = Produce(leader.get(), 5);
  EXPECT_EQ(0, leader->log()->HighWatermark());  // nobody else has it
  EXPECT_EQ(ReplicationStatus::kPending, leader->CheckReplicated(a.last_offset + 1, 2, 0));
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  EXPECT_EQ(5, f2->log()->LogEndOffset());
  // f2 fetched the records, but the leader learns that only from f2's next fetch offset.
  EXPECT_EQ(0, leader->log()->HighWatermark());
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  EXPECT_EQ(0, leader->log()->HighWatermark());  // f3 (in the ISR) has not fetched
  ASSERT_TRUE(FetchOnce(leader.get(), f3.get(), 3, 0).ok());
  ASSERT_TRUE(FetchOnce(leader.get(), f3.get(), 3, 0).ok());
  EXPECT_EQ(5, leader->log()->HighWatermark());
  EXPECT_GT(hw_moves_, 0);
  EXPECT_EQ(ReplicationStatus::kDone, leader->CheckReplicated(a.last_offset + 1, 2, 0));
  // Followers learn the HW from the next response, capped at their own log end.
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  EXPECT_EQ(5, f2->log()->HighWatermark());
  // Consumers read only up to the HW.
  Produce(leader.get(), 2);
  auto read = leader->Read(5, 1 << 20, true, std::nullopt);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->regions.empty());
}

// KIP-207: a follower promoted with records past its high watermark cannot tell consumers
// where the log ends until a follower has fetched up to its epoch's start offset.
TEST_F(ReplicationTest, NewLeaderHighWatermarkBelowEpochStartUntilFollowersCatchUp) {
  auto b1 = Make(1), b2 = Make(2);
  ASSERT_TRUE(b1->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  ASSERT_TRUE(b2->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  Produce(b1.get(), 4);
  ASSERT_TRUE(FetchOnce(b1.get(), b2.get(), 2, 0).ok());
  EXPECT_EQ(4, b2->log()->LogEndOffset());
  EXPECT_EQ(0, b2->log()->HighWatermark());  // b2 has not learnt the leader's HW yet
  EXPECT_FALSE(b1->HighWatermarkBelowEpochStart());
  EXPECT_FALSE(b2->HighWatermarkBelowEpochStart());  // a follower never is
  // b2 takes over with 4 records it cannot yet call committed.
  ASSERT_TRUE(b2->ApplyRole(Role(2, 1, {2, 1}, {1, 2})).ok());
  ASSERT_TRUE(b1->ApplyRole(Role(2, 1, {2, 1}, {1, 2})).ok());
  EXPECT_TRUE(b2->HighWatermarkBelowEpochStart());
  ASSERT_TRUE(FetchOnce(b2.get(), b1.get(), 1, 1).ok());
  EXPECT_EQ(4, b2->log()->HighWatermark());
  EXPECT_FALSE(b2->HighWatermarkBelowEpochStart());
}

TEST_F(ReplicationTest, LaggingFollowerIsDroppedAndHighWatermarkMoves) {
  auto leader = Make(1), f2 = Make(2), f3 = Make(3);
  ASSERT_TRUE(leader->ApplyRole(Role(1, 0, {1, 2, 3}, {1, 2, 3})).ok());
  ASSERT_TRUE(f2->ApplyRole(Role(1, 0, {1, 2, 3}, {1, 2, 3})).ok());
  auto a = Produce(leader.get(), 3);
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  clock_.AdvanceMs(4000);
  leader->MaybeShrinkIsr(5000);
  EXPECT_TRUE(isr_.calls.empty()) << "within replica.lag.time.max.ms nobody is dropped";
  clock_.AdvanceMs(2000);
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());  // f2 keeps fetching; f3 never
  leader->MaybeShrinkIsr(5000);
  ASSERT_EQ(1u, isr_.calls.size());
  EXPECT_EQ((std::vector<int32_t>{1, 2}), isr_.calls.front().change.isr);
  EXPECT_EQ(0, isr_.calls.front().change.zk_version);
  // While the shrink is in flight, f3 still holds the HW (maximal ISR).
  EXPECT_EQ(0, leader->log()->HighWatermark());
  isr_.Accept();
  EXPECT_EQ((std::vector<int32_t>{1, 2}), leader->role().isr);
  EXPECT_EQ(1, leader->role().zk_version);
  EXPECT_EQ(3, leader->log()->HighWatermark());
  EXPECT_EQ(ReplicationStatus::kDone, leader->CheckReplicated(a.last_offset + 1, 2, 0));
  EXPECT_EQ(ReplicationStatus::kNotEnoughReplicasAfterAppend,
            leader->CheckReplicated(a.last_offset + 1, 3, 0));
}

TEST_F(ReplicationTest, CaughtUpFollowerJoinsIsr) {
  auto leader = Make(1), f2 = Make(2);
  ASSERT_TRUE(leader->ApplyRole(Role(1, 3, {1}, {1, 2})).ok());
  ASSERT_TRUE(f2->ApplyRole(Role(1, 3, {1}, {1, 2})).ok());
  Produce(leader.get(), 4);
  EXPECT_EQ(4, leader->log()->HighWatermark());  // sole ISR member
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 3).ok());
  EXPECT_TRUE(isr_.calls.empty()) << "not caught up yet when it fetched from 0";
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 3).ok());
  ASSERT_EQ(1u, isr_.calls.size());
  EXPECT_EQ((std::vector<int32_t>{1, 2}), isr_.calls.front().change.isr);
  EXPECT_EQ(3, isr_.calls.front().change.leader_epoch);
  isr_.Accept();
  EXPECT_EQ((std::vector<int32_t>{1, 2}), leader->role().isr);
  // acks=all now waits for f2.
  auto a = Produce(leader.get(), 1);
  EXPECT_EQ(ReplicationStatus::kPending, leader->CheckReplicated(a.last_offset + 1, 1, 3));
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 3).ok());
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 3).ok());
  EXPECT_EQ(ReplicationStatus::kDone, leader->CheckReplicated(a.last_offset + 1, 1, 3));
}

TEST_F(ReplicationTest, IsrAnswerForAnOlderRoleIsIgnored) {
  auto leader = Make(1), f2 = Make(2);
  ASSERT_TRUE(leader->ApplyRole(Role(1, 0, {1}, {1, 2})).ok());
  ASSERT_TRUE(f2->ApplyRole(Role(1, 0, {1}, {1, 2})).ok());
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  ASSERT_EQ(1u, isr_.calls.size());
  // The controller moves on (new epoch) before ZooKeeper answers.
  ASSERT_TRUE(leader->ApplyRole(Role(1, 1, {1}, {1, 2}, 1)).ok());
  isr_.Accept();
  EXPECT_EQ((std::vector<int32_t>{1}), leader->role().isr);
  EXPECT_EQ(1, leader->role().zk_version);
}

TEST_F(ReplicationTest, RejectedIsrChangeBacksOff) {
  auto leader = Make(1), f2 = Make(2);
  ASSERT_TRUE(leader->ApplyRole(Role(1, 0, {1}, {1, 2})).ok());
  ASSERT_TRUE(f2->ApplyRole(Role(1, 0, {1}, {1, 2})).ok());
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  ASSERT_EQ(1u, isr_.calls.size());
  auto call = std::move(isr_.calls.front());
  isr_.calls.pop_front();
  call.done(Status::Stale("version conflict"));
  EXPECT_EQ((std::vector<int32_t>{1}), leader->role().isr);
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  EXPECT_TRUE(isr_.calls.empty()) << "retried without backing off";
  clock_.AdvanceMs(1001);
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  EXPECT_EQ(1u, isr_.calls.size());
}

TEST_F(ReplicationTest, DivergentFollowerTruncatesToLeaderHistory) {
  auto a = Make(1), b = Make(2);
  // Epoch 0: a leads, b copies 3 records; a appends 2 more that b never gets.
  ASSERT_TRUE(a->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  ASSERT_TRUE(b->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  Produce(a.get(), 3, 1);
  ASSERT_TRUE(FetchOnce(a.get(), b.get(), 2, 0).ok());
  Produce(a.get(), 2, 1);
  EXPECT_EQ(5, a->log()->LogEndOffset());
  EXPECT_EQ(3, b->log()->LogEndOffset());
  // Epoch 1: b leads (a was cut off) and takes 4 new records.
  ASSERT_TRUE(b->ApplyRole(Role(2, 1, {2}, {1, 2}, 1)).ok());
  Produce(b.get(), 4, 1);
  // a comes back as follower: its offsets 3-4 (epoch 0) conflict with b's epoch 1.
  ASSERT_TRUE(a->ApplyRole(Role(2, 2, {2}, {1, 2}, 2)).ok());
  ASSERT_TRUE(b->ApplyRole(Role(2, 2, {2}, {1, 2}, 2)).ok());
  auto r = FetchOnce(b.get(), a.get(), 1, 2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->diverging_epoch.has_value());
  EXPECT_EQ((log::EpochEndOffset{0, 3}), *r->diverging_epoch);
  EXPECT_EQ(3, a->log()->LogEndOffset());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(FetchOnce(b.get(), a.get(), 1, 2).ok());
  EXPECT_EQ(7, a->log()->LogEndOffset());
  auto ra = a->log()->Read(0, 1 << 20, 7, true);
  auto rb = b->log()->Read(0, 1 << 20, 7, true);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(Bytes(*rb), Bytes(*ra));
  EXPECT_EQ(b->log()->EndOffsetForEpoch(0), a->log()->EndOffsetForEpoch(0));
  // b's epoch 2 has no records yet: a knows epochs from the batches it holds.
  EXPECT_EQ(b->log()->EndOffsetForEpoch(1), a->log()->EndOffsetForEpoch(1));
  EXPECT_EQ(1, a->log()->LatestEpoch());
}

TEST_F(ReplicationTest, EpochStartedWithoutRecordsIsDroppedOnDivergence) {
  auto a = Make(1), b = Make(2);
  ASSERT_TRUE(a->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  ASSERT_TRUE(b->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  Produce(a.get(), 3, 1);
  ASSERT_TRUE(FetchOnce(a.get(), b.get(), 2, 0).ok());
  // Leadership bounces: b at 1, a at 2 (neither appends), then b at 3 with new records.
  ASSERT_TRUE(b->ApplyRole(Role(2, 1, {1, 2}, {1, 2}, 1)).ok());
  ASSERT_TRUE(a->ApplyRole(Role(1, 2, {1, 2}, {1, 2}, 2)).ok());
  ASSERT_TRUE(b->ApplyRole(Role(2, 3, {1, 2}, {1, 2}, 3)).ok());
  ASSERT_TRUE(a->ApplyRole(Role(2, 3, {1, 2}, {1, 2}, 3)).ok());
  Produce(b.get(), 2, 1);
  EXPECT_EQ(2, a->log()->LatestEpoch());  // a's empty epoch 2, unknown to b
  auto r = FetchOnce(b.get(), a.get(), 1, 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->diverging_epoch.has_value());
  EXPECT_EQ(3, a->log()->LogEndOffset());  // nothing to cut...
  EXPECT_EQ(0, a->log()->LatestEpoch());   // ...but the conflicting epoch is gone
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(FetchOnce(b.get(), a.get(), 1, 3).ok());
  EXPECT_EQ(5, a->log()->LogEndOffset());
  auto ra = a->log()->Read(0, 1 << 20, 5, true);
  auto rb = b->log()->Read(0, 1 << 20, 5, true);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(Bytes(*rb), Bytes(*ra));
}

TEST_F(ReplicationTest, FencingOfFollowersAndLeaders) {
  auto leader = Make(1), f2 = Make(2);
  ASSERT_TRUE(leader->ApplyRole(Role(1, 5, {1, 2}, {1, 2})).ok());
  ASSERT_TRUE(f2->ApplyRole(Role(1, 5, {1, 2}, {1, 2})).ok());
  auto a = Produce(leader.get(), 1);
  // A follower at an older epoch is fenced; at a newer one the leader does not know it yet.
  EXPECT_EQ(Status::Code::kStale, FetchOnce(leader.get(), f2.get(), 2, 4).status().code());
  EXPECT_EQ(Status::Code::kNotFound, FetchOnce(leader.get(), f2.get(), 2, 6).status().code());
  // A broker that is not a replica gets NotLeader.
  FollowerFetch f;
  f.replica_id = 9;
  f.max_bytes = 100;
  EXPECT_EQ(Status::Code::kNotLeader, leader->ReadForFollower(f).status().code());
  // Losing leadership fails a pending acks=all, even if it comes back at a later epoch.
  ASSERT_TRUE(leader->ApplyRole(Role(2, 6, {2}, {1, 2})).ok());
  EXPECT_EQ(ReplicationStatus::kNotLeader, leader->CheckReplicated(a.last_offset + 1, 1, 5));
  ASSERT_TRUE(leader->ApplyRole(Role(1, 7, {1}, {1, 2})).ok());
  EXPECT_EQ(ReplicationStatus::kNotLeader, leader->CheckReplicated(a.last_offset + 1, 1, 5));
  // A follower's append for an old leadership is refused.
  std::string junk = "x";
  EXPECT_EQ(
      Status::Code::kStale,
      f2->AppendRecordsAsFollower(reinterpret_cast<uint8_t*>(junk.data()), 1, 4).status().code());
}

// The controller removing a dead follower from the ISR bumps the leader epoch but keeps the
// leader: a waiting acks=all completes at once with the new ISR (no NOT_LEADER_OR_FOLLOWER, which
// would make the producer retry records already appended), and what the live follower fetched
// still counts for the high watermark.
TEST_F(ReplicationTest, EpochBumpKeepingTheLeaderCompletesWaitingProduce) {
  auto leader = Make(1), f2 = Make(2);
  ASSERT_TRUE(leader->ApplyRole(Role(1, 0, {1, 2, 3}, {1, 2, 3})).ok());
  ASSERT_TRUE(f2->ApplyRole(Role(1, 0, {1, 2, 3}, {1, 2, 3})).ok());
  auto a = Produce(leader.get(), 4);
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  ASSERT_TRUE(FetchOnce(leader.get(), f2.get(), 2, 0).ok());
  // Broker 3 is dead: it never fetches, so the HW stays and the produce waits.
  EXPECT_EQ(0, leader->log()->HighWatermark());
  EXPECT_EQ(ReplicationStatus::kPending, leader->CheckReplicated(a.last_offset + 1, 2, 0));
  ASSERT_TRUE(leader->ApplyRole(Role(1, 1, {1, 2}, {1, 2, 3}, 1)).ok());
  EXPECT_EQ(4, leader->log()->HighWatermark());
  EXPECT_EQ(ReplicationStatus::kDone, leader->CheckReplicated(a.last_offset + 1, 2, 0));
  // The new epoch starts at the log end, for followers' truncation.
  EXPECT_EQ(1, leader->log()->LatestEpoch().value_or(-1));
  EXPECT_EQ(4, leader->log()->EndOffsetForEpoch(0).end_offset);
}

TEST_F(ReplicationTest, FollowerBehindLeaderLogStartStartsOver) {
  auto f2 = Make(2);
  ASSERT_TRUE(f2->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  ASSERT_TRUE(f2->TruncateFullyAndStartAt(42, 0).ok());
  EXPECT_EQ(42, f2->log()->LogStartOffset());
  EXPECT_EQ(42, f2->log()->LogEndOffset());
  EXPECT_EQ(Status::Code::kStale, f2->TruncateFullyAndStartAt(7, 3).code());
}

}  // namespace
}  // namespace gregor::cluster
