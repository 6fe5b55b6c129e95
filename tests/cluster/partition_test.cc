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

}  // namespace
}  // namespace gregor::cluster
