// Idempotent producer state: sequence and epoch checks, retries answered with their original
// offsets, Kafka's .snapshot format, and the state surviving restarts, truncation and
// replication, all through Log on real files.
#include "gregor/log/producer_state.h"

#include <filesystem>
#include <limits>

#include "gregor/base/clock.h"
#include "gregor/base/crc32c.h"
#include "gregor/log/log.h"
#include "gtest/gtest.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using testing::Bytes;
using testing::TempDir;

const TopicPartition kTp{"payments", 0};

std::string IdempotentBatch(int64_t pid, int16_t epoch, int32_t seq, int n, int64_t ts = 1000,
                            bool transactional = false) {
  protocol::BatchSpec spec;
  spec.producer_id = pid;
  spec.producer_epoch = epoch;
  spec.base_sequence = seq;
  if (transactional) spec.attributes = protocol::kTransactionalBit;
  std::vector<protocol::RecordSpec> records;
  for (int i = 0; i < n; ++i) {
    records.push_back({"k" + std::to_string(i), "v" + std::to_string(seq + i), ts, {}});
  }
  return protocol::BuildRecordBatch(spec, records);
}

// A COMMIT (or ABORT) marker as a transaction coordinator writes it, already at `offset`.
std::string MarkerBatch(int64_t pid, int16_t epoch, int64_t offset, bool commit,
                        int32_t coordinator_epoch) {
  protocol::BatchSpec spec;
  spec.base_offset = offset;
  spec.producer_id = pid;
  spec.producer_epoch = epoch;
  spec.attributes = protocol::kTransactionalBit | protocol::kControlBit;
  std::string key = {0, 0, 0, static_cast<char>(commit ? 1 : 0)};
  std::string value = {0, 0};
  for (int s = 24; s >= 0; s -= 8) value.push_back(static_cast<char>(coordinator_epoch >> s));
  return protocol::BuildRecordBatch(spec, {{key, value, 2000, {}}});
}

class ProducerStateLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<Log> Open(bool clean = true, LogConfig config = LogConfig()) {
    auto log = Log::Open(dir_.path(), kTp, config, &clock_, 0, clean);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(*log) : nullptr;
  }
  Result<AppendResult> Append(Log* log, std::string batch) {
    return log->AppendAsLeader(Bytes(batch), batch.size(), 0);
  }
  std::vector<std::string> Snapshots() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      if (e.path().extension() == ".snapshot") out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  TempDir dir_;
  FakeClock clock_{5000};
};

TEST(ProducerSequenceTest, SequencesWrapAtIntMax) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(IncrementSequence(5, 3), 8);
  EXPECT_EQ(IncrementSequence(kMax, 1), 0);
  EXPECT_EQ(IncrementSequence(kMax - 1, 3), 1);
  EXPECT_EQ(DecrementSequence(8, 3), 5);
  EXPECT_EQ(DecrementSequence(1, 3), kMax - 1);
  ProducerBatchMetadata b{1, 100, 3, 0};
  EXPECT_EQ(b.first_seq(), kMax - 1);
  EXPECT_EQ(b.first_offset(), 97);
}

TEST(ProducerSnapshotTest, GoldenBytesOfOneEntry) {
  ProducerStateEntry e;
  e.producer_id = 7;
  e.epoch = 2;
  e.AddBatch(2, {9, 42, 4, 1000});
  const std::string body = std::string("\x00\x00\x00\x01", 4) +                  // one entry
                           std::string("\x00\x00\x00\x00\x00\x00\x00\x07", 8) +  // producer id
                           std::string("\x00\x02", 2) +                          // epoch
                           std::string("\x00\x00\x00\x09", 4) +                  // last sequence
                           std::string("\x00\x00\x00\x00\x00\x00\x00\x2a", 8) +  // last offset
                           std::string("\x00\x00\x00\x04", 4) +                  // offset delta
                           std::string("\x00\x00\x00\x00\x00\x00\x03\xe8", 8) +  // timestamp
                           std::string("\xff\xff\xff\xff", 4) +                 // coordinator epoch
                           std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8);  // no open txn
  uint32_t crc = Crc32c(0, body.data(), body.size());
  std::string expected = std::string("\x00\x01", 2);
  for (int s = 24; s >= 0; s -= 8) expected.push_back(static_cast<char>(crc >> s));
  expected += body;
  EXPECT_EQ(ProducerStateManager::EncodeSnapshot({e}), expected);

  auto decoded = ProducerStateManager::DecodeSnapshot(expected);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 1u);
  const auto& d = (*decoded)[0];
  EXPECT_EQ(d.producer_id, 7);
  EXPECT_EQ(d.epoch, 2);
  EXPECT_EQ(d.last_seq(), 9);
  EXPECT_EQ(d.last_data_offset(), 42);
  EXPECT_EQ(d.last_batch().first_seq(), 5);
  EXPECT_EQ(d.last_timestamp, 1000);
  EXPECT_EQ(d.coordinator_epoch, -1);
  EXPECT_EQ(d.current_txn_first_offset, -1);
}

TEST(ProducerSnapshotTest, CorruptOrTruncatedSnapshotsAreRejected) {
  ProducerStateEntry e;
  e.producer_id = 1;
  e.AddBatch(0, {4, 4, 4, 10});
  const std::string good = ProducerStateManager::EncodeSnapshot({e, e});
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(ProducerStateManager::DecodeSnapshot(good.substr(0, n)).ok()) << n;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x40;
    EXPECT_FALSE(ProducerStateManager::DecodeSnapshot(bad).ok()) << i;
  }
  EXPECT_TRUE(ProducerStateManager::DecodeSnapshot(good).ok());
}

TEST_F(ProducerStateLogTest, RetryOfARetainedBatchGetsItsOriginalOffsetsAndAppendsNothing) {
  auto log = Open();
  ASSERT_TRUE(Append(log.get(), testing::MakeBatch(3, 1000)).ok());  // offsets 0-2, no producer
  auto first = Append(log.get(), IdempotentBatch(42, 0, 0, 5));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  EXPECT_EQ(first->first_offset, 3);
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(42, 0, 5, 2)).ok());  // offsets 8-9
  const int64_t leo = log->LogEndOffset();

  auto retry = Append(log.get(), IdempotentBatch(42, 0, 0, 5));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_offset, 3);
  EXPECT_EQ(retry->last_offset, 7);
  EXPECT_EQ(log->LogEndOffset(), leo);
}

TEST_F(ProducerStateLogTest, OnlyTheLastFiveBatchesAreRecognisedAsRetries) {
  auto log = Open();
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Append(log.get(), IdempotentBatch(1, 0, i * 2, 2)).ok());
  auto oldest = Append(log.get(), IdempotentBatch(1, 0, 0, 2));  // evicted: a sequence gap now
  EXPECT_EQ(oldest.status().code(), Status::Code::kOutOfOrder);
  auto second = Append(log.get(), IdempotentBatch(1, 0, 2, 2));  // still retained
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->first_offset, 2);
  EXPECT_EQ(log->LogEndOffset(), 12);
}

TEST_F(ProducerStateLogTest, SequenceGapsAndStaleEpochsAreRefused) {
  auto log = Open();
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(9, 3, 0, 2)).ok());
  const int64_t leo = log->LogEndOffset();
  auto gap = Append(log.get(), IdempotentBatch(9, 3, 5, 1));
  EXPECT_EQ(gap.status().code(), Status::Code::kOutOfOrder) << gap.status().ToString();
  auto stale = Append(log.get(), IdempotentBatch(9, 2, 2, 1));
  EXPECT_EQ(stale.status().code(), Status::Code::kFenced) << stale.status().ToString();
  auto new_epoch_mid_sequence = Append(log.get(), IdempotentBatch(9, 4, 2, 1));
  EXPECT_EQ(new_epoch_mid_sequence.status().code(), Status::Code::kOutOfOrder);
  EXPECT_EQ(log->LogEndOffset(), leo);
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(9, 3, 2, 1)).ok());  // in sequence
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(9, 4, 0, 1)).ok());  // new epoch from 0
  EXPECT_EQ(log->ProducerState(9)->epoch, 4);
  // A producer the partition never saw (its state expired) may continue at any sequence.
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(77, 1, 500, 1)).ok());
}

TEST_F(ProducerStateLogTest, ClientControlBatchesAndMixedTransactionalWritesAreRefused) {
  auto log = Open();
  std::string marker = MarkerBatch(5, 0, 0, true, 1);
  auto r = log->AppendAsLeader(Bytes(marker), marker.size(), 0);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(5, 0, 0, 1, 1000, /*transactional=*/true)).ok());
  EXPECT_EQ(log->ProducerState(5)->current_txn_first_offset, 0);
  auto plain = Append(log.get(), IdempotentBatch(5, 0, 1, 1));
  EXPECT_EQ(plain.status().code(), Status::Code::kFailedPrecondition);
}

TEST_F(ProducerStateLogTest, CleanShutdownWritesASnapshotThatTheNextOpenLoads) {
  {
    auto log = Open();
    ASSERT_TRUE(Append(log.get(), IdempotentBatch(11, 0, 0, 4)).ok());
    ASSERT_TRUE(log->Close().ok());
  }
  EXPECT_EQ(Snapshots(), std::vector<std::string>{"00000000000000000004.snapshot"});
  auto log = Open();
  auto retry = Append(log.get(), IdempotentBatch(11, 0, 0, 4));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(Append(log.get(), IdempotentBatch(11, 0, 9, 1)).status().code(),
            Status::Code::kOutOfOrder);
}

TEST_F(ProducerStateLogTest, UncleanRestartRebuildsTheStateFromTheLog) {
  LogConfig config;
  config.segment_bytes = 400;  // a few batches per segment: rolls write snapshots
  {
    auto log = Open(true, config);
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(Append(log.get(), IdempotentBatch(3, 0, i * 3, 3)).ok());
    }
    ASSERT_GT(log->NumberOfSegments(), 2);
    // No Close: as after kill -9. The snapshots of the rolls are on disk.
  }
  ASSERT_FALSE(Snapshots().empty());
  auto log = Open(/*clean=*/false, config);
  EXPECT_EQ(log->LogEndOffset(), 36);
  auto retry = Append(log.get(), IdempotentBatch(3, 0, 33, 3));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_offset, 33);
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(3, 0, 36, 1)).ok());
}

TEST_F(ProducerStateLogTest, ReplayWithoutAnySnapshotFindsEveryProducer) {
  {
    auto log = Open();
    ASSERT_TRUE(Append(log.get(), IdempotentBatch(1, 0, 0, 2)).ok());
    ASSERT_TRUE(Append(log.get(), IdempotentBatch(2, 5, 10, 2)).ok());
  }
  for (const auto& s : Snapshots()) std::filesystem::remove(dir_.path() + "/" + s);
  auto log = Open(/*clean=*/false);
  ASSERT_TRUE(log->ProducerState(1).has_value());
  EXPECT_EQ(log->ProducerState(2)->epoch, 5);
  EXPECT_EQ(log->ProducerState(2)->last_seq(), 11);
  EXPECT_EQ(log->ActiveProducers().size(), 2u);
}

TEST_F(ProducerStateLogTest, FollowersBuildTheSameStateSoANewLeaderDeduplicates) {
  TempDir leader_dir;
  auto leader = Log::Open(leader_dir.path(), kTp, LogConfig(), &clock_, 0, true);
  ASSERT_TRUE(leader.ok());
  ASSERT_TRUE(Append(leader->get(), IdempotentBatch(8, 1, 0, 3)).ok());
  ASSERT_TRUE(Append(leader->get(), IdempotentBatch(8, 1, 3, 3)).ok());
  (*leader)->SetHighWatermark((*leader)->LogEndOffset());
  auto read = (*leader)->Read(0, 1 << 20, (*leader)->LogEndOffset(), true);
  ASSERT_TRUE(read.ok());
  std::string replicated = testing::ReadAll(*read);

  auto follower = Open();
  ASSERT_TRUE(follower->AppendAsFollower(Bytes(replicated), replicated.size()).ok());
  // The follower becomes leader; the producer retries its last batch there.
  auto retry = Append(follower.get(), IdempotentBatch(8, 1, 3, 3));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_offset, 3);
  EXPECT_EQ(follower->LogEndOffset(), 6);
}

TEST_F(ProducerStateLogTest, TruncationForgetsTheBatchesItRemoves) {
  auto log = Open();
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(4, 0, 0, 2)).ok());  // 0-1
  ASSERT_TRUE(Append(log.get(), IdempotentBatch(4, 0, 2, 2)).ok());  // 2-3
  ASSERT_TRUE(log->TruncateTo(2).ok());
  EXPECT_EQ(log->ProducerState(4)->last_seq(), 1);
  // The removed batch is not a duplicate any more: it is appended again at offset 2.
  auto again = Append(log.get(), IdempotentBatch(4, 0, 2, 2));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->duplicate);
  EXPECT_EQ(again->first_offset, 2);
}

TEST_F(ProducerStateLogTest, MarkersCloseTransactionsOnFollowersAndOnReplay) {
  auto log = Open();
  std::string data = IdempotentBatch(6, 2, 0, 2, 1000, /*transactional=*/true);
  protocol::StampBatch(Bytes(data), 0, 0, -1);
  ASSERT_TRUE(log->AppendAsFollower(Bytes(data), data.size()).ok());
  EXPECT_EQ(log->ProducerState(6)->current_txn_first_offset, 0);
  std::string marker = MarkerBatch(6, 2, 2, /*commit=*/true, 17);
  ASSERT_TRUE(log->AppendAsFollower(Bytes(marker), marker.size()).ok());
  EXPECT_EQ(log->ProducerState(6)->current_txn_first_offset, -1);
  EXPECT_EQ(log->ProducerState(6)->coordinator_epoch, 17);
  log.reset();
  for (const auto& s : Snapshots()) std::filesystem::remove(dir_.path() + "/" + s);
  log = Open(/*clean=*/false);
  EXPECT_EQ(log->ProducerState(6)->current_txn_first_offset, -1);
  EXPECT_EQ(log->ProducerState(6)->coordinator_epoch, 17);
}

TEST_F(ProducerStateLogTest, IdleProducersExpireAndRetentionDropsOldSnapshots) {
  LogConfig config;
  config.segment_bytes = 300;
  config.producer_id_expiration_ms = 60'000;
  config.retention_bytes = 100;
  config.file_delete_delay_ms = 0;
  auto log = Open(true, config);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Append(log.get(), IdempotentBatch(2, 0, i, 1, clock_.NowMs())).ok());
  }
  const size_t before = Snapshots().size();
  ASSERT_GT(before, 2u);
  ASSERT_GT(log->DeleteRetentionExpiredSegments(), 0);
  EXPECT_LT(Snapshots().size(), before);
  EXPECT_EQ(log->RemoveExpiredProducers(), 0);
  clock_.AdvanceMs(60'000);
  EXPECT_EQ(log->RemoveExpiredProducers(), 1);
  EXPECT_FALSE(log->ProducerState(2).has_value());
}

}  // namespace
}  // namespace gregor::log
