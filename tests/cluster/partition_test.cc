#include "gregor/cluster/partition.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "gregor/protocol/record_batch.h"

namespace gregor::cluster {
namespace {

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gregor-partition-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto log = log::Log::Open(dir_ + "/t-0", {"t", 0}, log::LogConfig{}, &clock_, 0, true);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    partition_ = std::make_unique<Partition>(TopicPartition{"t", 0}, TopicId{}, 1,
                                             std::shared_ptr<log::Log>(std::move(*log)));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static PartitionRole Role(int32_t leader, int32_t epoch, std::vector<int32_t> isr,
                            std::vector<int32_t> replicas) {
    PartitionRole r;
    r.leader = leader;
    r.leader_epoch = epoch;
    r.isr = std::move(isr);
    r.replicas = std::move(replicas);
    return r;
  }
  std::string Batch(int n) {
    std::vector<protocol::KeyValue> kvs;
    for (int i = 0; i < n; ++i) kvs.push_back({std::string("k"), std::string("value")});
    return protocol::BuildRecordBatch(0, clock_.NowMs(), kvs);
  }

  FakeClock clock_;
  std::string dir_;
  std::unique_ptr<Partition> partition_;
};

TEST_F(PartitionTest, FollowerRefusesAppendsAndReads) {
  ASSERT_TRUE(partition_->ApplyRole(Role(2, 0, {2, 1}, {2, 1})).ok());
  std::string b = Batch(1);
  auto r = partition_->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(b.data()), b.size(), 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Status::Code::kNotLeader, r.status().code());
  EXPECT_EQ(Status::Code::kNotLeader,
            partition_->Read(0, 1024, true, std::nullopt).status().code());
}

TEST_F(PartitionTest, SoleLeaderAppendAdvancesHighWatermark) {
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 0, {1}, {1})).ok());
  std::string b = Batch(3);
  auto r = partition_->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(b.data()), b.size(), -1, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(0, r->first_offset);
  EXPECT_EQ(2, r->last_offset);
  EXPECT_EQ(3, partition_->log()->HighWatermark());
  auto read = partition_->Read(0, 1 << 20, true, 0);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(b.size(), read->bytes());
}

TEST_F(PartitionTest, AcksAllBelowMinIsrWritesNothing) {
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 0, {1}, {1, 2, 3})).ok());
  std::string b = Batch(1);
  auto r = partition_->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(b.data()), b.size(), -1, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Status::Code::kUnavailable, r.status().code());
  EXPECT_EQ(0, partition_->log()->LogEndOffset());
  // acks=1 is not subject to min.insync.replicas.
  auto ok = partition_->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(b.data()), b.size(), 1, 2);
  EXPECT_TRUE(ok.ok());
}

TEST_F(PartitionTest, StaleLeaderEpochIsRejected) {
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 5, {1}, {1})).ok());
  EXPECT_EQ(Status::Code::kStale, partition_->ApplyRole(Role(1, 4, {1}, {1})).code());
  EXPECT_EQ(5, partition_->leader_epoch());
  EXPECT_TRUE(partition_->ApplyRole(Role(1, 6, {1}, {1})).ok());
}

TEST_F(PartitionTest, ReadFencesOnLeaderEpoch) {
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 3, {1}, {1})).ok());
  EXPECT_EQ(Status::Code::kStale, partition_->Read(0, 100, true, 2).status().code());
  EXPECT_EQ(Status::Code::kNotFound, partition_->Read(0, 100, true, 4).status().code());
  EXPECT_TRUE(partition_->Read(0, 100, true, 3).ok());
}

// --- transactions: markers as leader, the last stable offset ---

std::string TxnBatch(int64_t pid, int32_t seq, int n, int64_t ts, int16_t epoch = 0) {
  protocol::BatchSpec spec;
  spec.producer_id = pid;
  spec.producer_epoch = epoch;
  spec.base_sequence = seq;
  spec.attributes = protocol::kTransactionalBit;
  std::vector<protocol::RecordSpec> records;
  for (int i = 0; i < n; ++i) records.push_back({"k", "txn", ts, {}});
  return protocol::BuildRecordBatch(spec, records);
}

TEST_F(PartitionTest, TxnMarkersNeedLeadershipAndMinIsr) {
  ASSERT_TRUE(partition_->ApplyRole(Role(2, 0, {2, 1}, {2, 1})).ok());
  auto r = partition_->AppendTxnMarker(7, 0, 0, true, 1);
  EXPECT_EQ(Status::Code::kNotLeader, r.status().code());
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 1, {1}, {1, 2, 3})).ok());
  // Markers are written with acks=all's rule, as Kafka's requiredAcks=-1.
  r = partition_->AppendTxnMarker(7, 0, 0, true, 2);
  EXPECT_EQ(Status::Code::kUnavailable, r.status().code());
  EXPECT_EQ(0, partition_->log()->LogEndOffset());
  r = partition_->AppendTxnMarker(7, 0, 0, true, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(1, r->leader_epoch);
  EXPECT_EQ(0, r->first_offset);
}

TEST_F(PartitionTest, TxnMarkerFencingReachesTheCaller) {
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 0, {1}, {1})).ok());
  std::string b = TxnBatch(7, 0, 1, clock_.NowMs(), /*epoch=*/5);
  ASSERT_TRUE(
      partition_->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(b.data()), b.size(), -1, 1)
          .ok());
  EXPECT_EQ(Status::Code::kFenced, partition_->AppendTxnMarker(7, 4, 3, true, 1).status().code());
  ASSERT_TRUE(partition_->AppendTxnMarker(7, 5, 3, false, 1).ok());
  EXPECT_EQ(Status::Code::kStale, partition_->AppendTxnMarker(7, 5, 2, false, 1).status().code());
}

TEST_F(PartitionTest, SoleLeaderMarkerMovesTheLastStableOffsetAndWakesWaiters) {
  int notified = 0;
  partition_->set_on_high_watermark([&](const TopicPartition&) { ++notified; });
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 0, {1}, {1})).ok());
  std::string plain = Batch(2);
  ASSERT_TRUE(
      partition_
          ->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(plain.data()), plain.size(), -1, 1)
          .ok());
  std::string txn = TxnBatch(9, 0, 3, clock_.NowMs());
  ASSERT_TRUE(
      partition_->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(txn.data()), txn.size(), -1, 1)
          .ok());
  EXPECT_EQ(5, partition_->log()->HighWatermark());
  EXPECT_EQ(2, partition_->LastStableOffset());
  auto committed = partition_->Read(2, 1 << 20, true, 0, log::FetchIsolation::kTxnCommitted);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(0u, committed->bytes());
  EXPECT_EQ(2, committed->last_stable_offset);
  auto uncommitted = partition_->Read(2, 1 << 20, true, 0);
  ASSERT_TRUE(uncommitted.ok());
  EXPECT_EQ(txn.size(), uncommitted->bytes());

  const int before = notified;
  auto marker = partition_->AppendTxnMarker(9, 0, 0, /*commit=*/true, 1);
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  EXPECT_EQ(5, marker->first_offset);
  EXPECT_GT(notified, before);  // the HW moved, and the LSO with it
  EXPECT_EQ(6, partition_->LastStableOffset());
  committed = partition_->Read(2, 1 << 20, true, 0, log::FetchIsolation::kTxnCommitted);
  ASSERT_TRUE(committed.ok());
  EXPECT_GT(committed->bytes(), txn.size());
  EXPECT_TRUE(committed->aborted_txns.empty());
}

TEST_F(PartitionTest, TheLastStableOffsetWaitsForTheMarkerToReachTheIsr) {
  int notified = 0;
  partition_->set_on_high_watermark([&](const TopicPartition&) { ++notified; });
  ASSERT_TRUE(partition_->ApplyRole(Role(1, 0, {1, 2}, {1, 2})).ok());
  std::string txn = TxnBatch(4, 0, 2, clock_.NowMs());
  ASSERT_TRUE(
      partition_->AppendRecordsToLeader(reinterpret_cast<uint8_t*>(txn.data()), txn.size(), -1, 1)
          .ok());
  FollowerFetch fetch;
  fetch.replica_id = 2;
  fetch.fetch_offset = 2;
  fetch.max_bytes = 1 << 20;
  ASSERT_TRUE(partition_->ReadForFollower(fetch).ok());
  EXPECT_EQ(2, partition_->log()->HighWatermark());
  EXPECT_EQ(0, partition_->LastStableOffset());

  auto marker = partition_->AppendTxnMarker(4, 0, 0, /*commit=*/false, 2);
  ASSERT_TRUE(marker.ok()) << marker.status().ToString();
  EXPECT_EQ(ReplicationStatus::kPending,
            partition_->CheckReplicated(marker->last_offset + 1, 2, marker->leader_epoch));
  EXPECT_EQ(0, partition_->LastStableOffset());  // decided, not replicated
  const int before = notified;
  fetch.fetch_offset = 3;
  auto fr = partition_->ReadForFollower(fetch);
  ASSERT_TRUE(fr.ok());
  EXPECT_EQ(before + 1, notified);
  EXPECT_EQ(ReplicationStatus::kDone,
            partition_->CheckReplicated(marker->last_offset + 1, 2, marker->leader_epoch));
  EXPECT_EQ(3, partition_->LastStableOffset());
  auto committed = partition_->Read(0, 1 << 20, true, 0, log::FetchIsolation::kTxnCommitted);
  ASSERT_TRUE(committed.ok());
  ASSERT_EQ(1u, committed->aborted_txns.size());
  EXPECT_EQ(4, committed->aborted_txns[0].producer_id);
  EXPECT_EQ(0, committed->aborted_txns[0].first_offset);
}

}  // namespace
}  // namespace gregor::cluster
