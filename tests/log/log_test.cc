#include "gregor/log/log.h"

#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <random>
#include <thread>

#include "gregor/base/clock.h"
#include "gregor/log/checkpoint.h"
#include "gtest/gtest.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using testing::Batches;
using testing::Bytes;
using testing::FileSize;
using testing::MakeBatch;
using testing::ReadAll;
using testing::SegmentPath;
using testing::TempDir;

const TopicPartition kTp{"orders", 3};

std::unique_ptr<Log> OpenLog(const std::string& dir, const LogConfig& config, const Clock* clock,
                             int64_t recovery_point = 0, bool clean = true) {
  auto log = Log::Open(dir, kTp, config, clock, recovery_point, clean);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

AppendResult MustAppend(Log* log, std::string batch, int32_t epoch = 0) {
  auto r = log->AppendAsLeader(Bytes(batch), batch.size(), epoch);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  log->SetHighWatermark(log->LogEndOffset());
  return r.ok() ? *r : AppendResult{};
}

std::vector<protocol::Record> Decode(const std::string& bytes) {
  std::vector<protocol::Record> out;
  size_t at = 0;
  for (const auto& h : Batches(bytes)) {
    EXPECT_TRUE(protocol::DecodeBatchRecords(reinterpret_cast<const uint8_t*>(bytes.data()) + at,
                                             h.total_size(), &out));
    at += h.total_size();
  }
  return out;
}

TEST(LogTest, AppendAssignsOffsetsAndReadsBack) {
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/orders-3", LogConfig{}, &clock);
  auto a = MustAppend(log.get(), MakeBatch(3, clock.NowMs()), 5);
  EXPECT_EQ(a.first_offset, 0);
  EXPECT_EQ(a.last_offset, 2);
  EXPECT_EQ(a.record_count, 3);
  EXPECT_EQ(a.log_append_time, -1);
  auto b = MustAppend(log.get(), MakeBatch(2, clock.NowMs()), 5);
  EXPECT_EQ(b.first_offset, 3);
  EXPECT_EQ(b.last_offset, 4);
  EXPECT_EQ(log->LogEndOffset(), 5);

  auto r = log->Read(0, 1 << 20, log->HighWatermark(), false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->log_end_offset, 5);
  std::string bytes = ReadAll(*r);
  auto hs = Batches(bytes);
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[0].base_offset, 0);
  EXPECT_EQ(hs[0].partition_leader_epoch, 5);
  EXPECT_EQ(hs[1].base_offset, 3);
  auto recs = Decode(bytes);
  ASSERT_EQ(recs.size(), 5u);
  EXPECT_EQ(recs[4].offset, 4);
  EXPECT_EQ(*recs[4].key, "k1");
  EXPECT_EQ(recs[0].value->substr(0, 2), "v0");
}

TEST(LogTest, ReadFromMiddleOfBatchReturnsWholeBatch) {
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/orders-3", LogConfig{}, &clock);
  MustAppend(log.get(), MakeBatch(4, clock.NowMs()));
  MustAppend(log.get(), MakeBatch(4, clock.NowMs()));
  auto r = log->Read(6, 1 << 20, log->HighWatermark(), false);
  ASSERT_TRUE(r.ok());
  auto hs = Batches(ReadAll(*r));
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].base_offset, 4);
}

TEST(LogTest, ReadAtLogEndIsEmptyAndPastEndIsOutOfRange) {
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/orders-3", LogConfig{}, &clock);
  auto empty = log->Read(0, 1000, 0, true);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->regions.empty());
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()));
  auto at_end = log->Read(2, 1000, 2, true);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->regions.empty());
  EXPECT_EQ(at_end->log_end_offset, 2);
  auto past = log->Read(3, 1000, 2, true);
  EXPECT_EQ(past.status().code(), Status::Code::kOutOfRange);
  auto negative = log->Read(-1, 1000, 2, true);
  EXPECT_EQ(negative.status().code(), Status::Code::kOutOfRange);
}

TEST(LogTest, ReadHonoursMaxBytesAndMinOneMessage) {
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/orders-3", LogConfig{}, &clock);
  std::string one = MakeBatch(1, clock.NowMs(), 200);
  size_t batch_size = one.size();
  for (int i = 0; i < 5; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs(), 200));
  // Room for two and a half batches: only whole batches come back.
  auto r = log->Read(0, static_cast<int32_t>(batch_size * 5 / 2), 5, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes(), 2 * batch_size);
  // Too small for one batch: nothing, unless min_one_message.
  auto none = log->Read(1, 10, 5, false);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->bytes(), 0u);
  auto forced = log->Read(1, 10, 5, true);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->bytes(), batch_size);
  EXPECT_EQ(Batches(ReadAll(*forced))[0].base_offset, 1);
}

TEST(LogTest, ReadStopsAtHighWatermark) {
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/orders-3", LogConfig{}, &clock);
  for (int i = 0; i < 4; ++i) {
    std::string b = MakeBatch(2, clock.NowMs());
    ASSERT_TRUE(log->AppendAsLeader(Bytes(b), b.size(), 0).ok());
  }
  log->SetHighWatermark(4);
  auto r = log->Read(0, 1 << 20, log->HighWatermark(), true);
  ASSERT_TRUE(r.ok());
  auto hs = Batches(ReadAll(*r));
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[1].last_offset(), 3);
  auto beyond = log->Read(4, 1 << 20, 4, true);
  ASSERT_TRUE(beyond.ok());
  EXPECT_TRUE(beyond->regions.empty());
}

TEST(LogTest, RollsBySizeWithKafkaFileNames) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  std::string sample = MakeBatch(1, clock.NowMs(), 100);
  config.segment_bytes = static_cast<int64_t>(sample.size() * 3);  // three batches per segment
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, config, &clock);
  for (int i = 0; i < 10; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs(), 100));
  EXPECT_EQ(log->NumberOfSegments(), 4);
  for (int64_t base : {0, 3, 6, 9}) {
    EXPECT_GE(FileSize(SegmentPath(dir, base, ".log")), 0) << base;
    EXPECT_GE(FileSize(SegmentPath(dir, base, ".index")), 0) << base;
    EXPECT_GE(FileSize(SegmentPath(dir, base, ".timeindex")), 0) << base;
  }
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".log")), static_cast<int64_t>(sample.size() * 3));
  // A rolled segment's indexes are trimmed; the active one's are preallocated.
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".index")) % 8, 0);
  EXPECT_LT(FileSize(SegmentPath(dir, 0, ".index")), config.segment_index_bytes);
  EXPECT_EQ(FileSize(SegmentPath(dir, 9, ".index")), config.segment_index_bytes);
  // Every offset is readable and the read serves from one segment.
  for (int64_t o = 0; o < 10; ++o) {
    auto r = log->Read(o, 1 << 20, 10, false);
    ASSERT_TRUE(r.ok());
    auto hs = Batches(ReadAll(*r));
    ASSERT_FALSE(hs.empty());
    EXPECT_EQ(hs[0].base_offset, o);
    EXPECT_LE(hs.back().last_offset(), (o / 3) * 3 + 2);
  }
}

TEST(LogTest, RollsBySegmentMs) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.segment_ms = 1000;
  auto log = OpenLog(tmp.path() + "/orders-3", config, &clock);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  clock.AdvanceMs(500);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(log->NumberOfSegments(), 1);
  clock.AdvanceMs(600);  // 1100 ms after the segment's first batch
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(log->NumberOfSegments(), 2);
}

TEST(LogTest, OffsetIndexLookupAcrossSegmentsAfterReopen) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.index_interval_bytes = 100;
  config.segment_bytes = 4000;
  std::string dir = tmp.path() + "/orders-3";
  {
    auto log = OpenLog(dir, config, &clock);
    for (int i = 0; i < 60; ++i) MustAppend(log.get(), MakeBatch(2, clock.NowMs(), 40));
    ASSERT_TRUE(log->Close().ok());
  }
  EXPECT_GT(FileSize(SegmentPath(dir, 0, ".index")), 0);  // sparse entries were written
  auto log = OpenLog(dir, config, &clock, 120, /*clean=*/true);
  EXPECT_EQ(log->LogEndOffset(), 120);
  EXPECT_GT(log->NumberOfSegments(), 2);
  for (int64_t o = 0; o < 120; ++o) {
    auto r = log->Read(o, 1, 120, true);
    ASSERT_TRUE(r.ok());
    auto hs = Batches(ReadAll(*r));
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].base_offset, o - o % 2) << o;
  }
}

TEST(LogTest, FetchOffsetByTimestampAcrossSegments) {
  TempDir tmp;
  FakeClock clock(1'000'000);
  LogConfig config;
  config.index_interval_bytes = 50;
  config.segment_bytes = 1000;
  auto log = OpenLog(tmp.path() + "/orders-3", config, &clock);
  for (int i = 0; i < 40; ++i) {
    // Batch i (offsets 2i, 2i+1) has timestamp 1'000'000 + 10*i.
    MustAppend(log.get(), MakeBatch(2, 1'000'000 + 10 * i, 30), 7);
  }
  ASSERT_GT(log->NumberOfSegments(), 2);
  for (int i = 0; i < 40; ++i) {
    auto exact = log->FetchOffsetByTimestamp(1'000'000 + 10 * i);
    ASSERT_TRUE(exact.ok());
    EXPECT_EQ(exact->offset, 2 * i);
    EXPECT_EQ(exact->timestamp, 1'000'000 + 10 * i);
    EXPECT_EQ(exact->leader_epoch, 7);
    auto between = log->FetchOffsetByTimestamp(1'000'000 + 10 * i - 5);
    ASSERT_TRUE(between.ok());
    EXPECT_EQ(between->offset, 2 * i);
  }
  EXPECT_EQ(log->FetchOffsetByTimestamp(2'000'000).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(log->FetchOffsetByTimestamp(-1)->offset, 80);
  EXPECT_EQ(log->FetchOffsetByTimestamp(-2)->offset, 0);
  EXPECT_EQ(log->FetchOffsetByTimestamp(-3)->timestamp, 1'000'000 + 390);
}

TEST(LogTest, LogAppendTimeStampsBatches) {
  TempDir tmp;
  FakeClock clock(5'000'000);
  LogConfig config;
  config.log_append_time = true;
  auto log = OpenLog(tmp.path() + "/orders-3", config, &clock);
  auto a = MustAppend(log.get(), MakeBatch(3, 42));
  EXPECT_EQ(a.log_append_time, 5'000'000);
  auto r = log->Read(0, 1 << 20, 3, false);
  ASSERT_TRUE(r.ok());
  std::string bytes = ReadAll(*r);
  auto hs = Batches(bytes);  // also checks the recomputed CRC
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_TRUE(hs[0].log_append_time());
  EXPECT_EQ(hs[0].max_timestamp, 5'000'000);
  for (const auto& rec : Decode(bytes)) EXPECT_EQ(rec.timestamp, 5'000'000);
}

TEST(LogTest, RejectsInvalidRecordSetsWithoutWriting) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.max_message_bytes = 500;
  auto log = OpenLog(tmp.path() + "/orders-3", config, &clock);
  std::string bad_crc = MakeBatch(2, clock.NowMs());
  bad_crc[bad_crc.size() - 1] ^= 0x01;
  EXPECT_EQ(log->AppendAsLeader(Bytes(bad_crc), bad_crc.size(), 0).status().code(),
            Status::Code::kCorruption);
  std::string bad_magic = MakeBatch(2, clock.NowMs());
  bad_magic[16] = 1;
  EXPECT_EQ(log->AppendAsLeader(Bytes(bad_magic), bad_magic.size(), 0).status().code(),
            Status::Code::kInvalidArgument);
  std::string big = MakeBatch(1, clock.NowMs(), 600);
  EXPECT_EQ(log->AppendAsLeader(Bytes(big), big.size(), 0).status().code(),
            Status::Code::kTooLarge);
  std::string truncated = MakeBatch(2, clock.NowMs());
  truncated.resize(truncated.size() - 3);
  EXPECT_EQ(log->AppendAsLeader(Bytes(truncated), truncated.size(), 0).status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(log->LogEndOffset(), 0);
  EXPECT_EQ(log->Size(), 0);
  EXPECT_FALSE(log->offline());
}

TEST(LogTest, InjectedDiskFullLeavesNoTornBatch) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, LogConfig{}, &clock);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()));
  int64_t size_before = FileSize(SegmentPath(dir, 0, ".log"));
  log->InjectWriteFaultForTest(17);
  std::string b = MakeBatch(2, clock.NowMs());
  auto r = log->AppendAsLeader(Bytes(b), b.size(), 0);
  EXPECT_EQ(r.status().code(), Status::Code::kNoSpace);
  EXPECT_TRUE(log->offline());
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".log")), size_before);
  EXPECT_EQ(log->LogEndOffset(), 2);
  // Refuses further appends even without the fault.
  log->InjectWriteFaultForTest(-1);
  std::string c = MakeBatch(1, clock.NowMs());
  EXPECT_FALSE(log->AppendAsLeader(Bytes(c), c.size(), 0).ok());
  log.reset();
  auto reopened = OpenLog(dir, LogConfig{}, &clock, 0, /*clean=*/false);
  EXPECT_EQ(reopened->LogEndOffset(), 2);
  MustAppend(reopened.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(reopened->LogEndOffset(), 3);
}

TEST(LogTest, FileSizeLimitGivesStorageErrorAndNoTornBatch) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, LogConfig{}, &clock);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()));
  int64_t size_before = FileSize(SegmentPath(dir, 0, ".log"));
  std::string big = MakeBatch(20, clock.NowMs(), 200);
  // A real EFBIG from the kernel: the write stops at the limit, mid-batch.
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = static_cast<rlim_t>(size_before + 100);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  auto r = log->AppendAsLeader(Bytes(big), big.size(), 0);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(r.status().code(), Status::Code::kIOError) << r.status().ToString();
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".log")), size_before);
  EXPECT_TRUE(log->offline());
}

// Appends three batches, closes uncleanly (no Close), and returns the .log path.
std::string WriteThreeBatches(const std::string& dir, FakeClock* clock, int64_t* second_end) {
  auto log = OpenLog(dir, LogConfig{}, clock);
  MustAppend(log.get(), MakeBatch(2, clock->NowMs()));
  MustAppend(log.get(), MakeBatch(2, clock->NowMs()));
  *second_end = log->Size();
  MustAppend(log.get(), MakeBatch(2, clock->NowMs()));
  EXPECT_TRUE(log->Flush().ok());
  return SegmentPath(dir, 0, ".log");
}

TEST(LogTest, RecoveryTruncatesTornTail) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  int64_t second_end;
  std::string path = WriteThreeBatches(dir, &clock, &second_end);
  ASSERT_EQ(::truncate(path.c_str(), FileSize(path) - 7), 0);  // last batch torn
  auto log = OpenLog(dir, LogConfig{}, &clock, 0, /*clean=*/false);
  EXPECT_EQ(log->LogEndOffset(), 4);
  EXPECT_EQ(FileSize(path), second_end);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(log->LogEndOffset(), 5);
  auto r = log->Read(4, 1 << 20, 5, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Batches(ReadAll(*r))[0].base_offset, 4);
}

TEST(LogTest, RecoveryDropsAppendedGarbage) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  int64_t second_end;
  std::string path = WriteThreeBatches(dir, &clock, &second_end);
  int64_t full = FileSize(path);
  {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << std::string(100, '\x5a');  // "nonsense block added" (inode size before data)
  }
  auto log = OpenLog(dir, LogConfig{}, &clock, 0, /*clean=*/false);
  EXPECT_EQ(log->LogEndOffset(), 6);
  EXPECT_EQ(FileSize(path), full);
}

TEST(LogTest, RecoveryTruncatesAtFlippedByte) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  int64_t second_end;
  std::string path = WriteThreeBatches(dir, &clock, &second_end);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(FileSize(path) - 2);
    f.put('\x7f');
  }
  auto log = OpenLog(dir, LogConfig{}, &clock, 0, /*clean=*/false);
  EXPECT_EQ(log->LogEndOffset(), 4);
  EXPECT_EQ(FileSize(path), second_end);
}

TEST(LogTest, RecoveryAfterRecoveryPointOnlyChecksLaterSegments) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  LogConfig config;
  config.segment_bytes = static_cast<int64_t>(MakeBatch(1, 0).size() * 2);
  {
    auto log = OpenLog(dir, config, &clock);
    for (int i = 0; i < 6; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  }
  // Tear the last segment (base 4, at the recovery point); earlier ones are not re-read.
  std::string last = SegmentPath(dir, 4, ".log");
  ASSERT_EQ(::truncate(last.c_str(), FileSize(last) - 5), 0);
  auto log = OpenLog(dir, config, &clock, /*recovery_point=*/4, /*clean=*/false);
  EXPECT_EQ(log->LogEndOffset(), 5);
  EXPECT_EQ(log->NumberOfSegments(), 3);
}

TEST(LogTest, RecoveryOfPureGarbageEmptiesTheSegment) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  {
    std::ofstream out(SegmentPath(dir, 0, ".log"), std::ios::binary);
    std::mt19937 rng(7);
    for (int i = 0; i < 10000; ++i) out.put(static_cast<char>(rng()));
  }
  auto log = OpenLog(dir, LogConfig{}, &clock, 0, /*clean=*/false);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->LogEndOffset(), 0);
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".log")), 0);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(log->LogEndOffset(), 1);
}

TEST(LogTest, RecoveryRebuildsDeletedIndexes) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.index_interval_bytes = 64;
  std::string dir = tmp.path() + "/orders-3";
  int64_t index_size;
  {
    auto log = OpenLog(dir, config, &clock);
    for (int i = 0; i < 30; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs() + i, 50));
    ASSERT_TRUE(log->Close().ok());
    index_size = FileSize(SegmentPath(dir, 0, ".index"));
    ASSERT_GT(index_size, 0);
  }
  ASSERT_EQ(::unlink(SegmentPath(dir, 0, ".index").c_str()), 0);
  ASSERT_EQ(::unlink(SegmentPath(dir, 0, ".timeindex").c_str()), 0);
  auto log = OpenLog(dir, config, &clock, 30, /*clean=*/true);
  EXPECT_EQ(log->LogEndOffset(), 30);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".index")), index_size);
  EXPECT_GT(FileSize(SegmentPath(dir, 0, ".timeindex")), 0);
}

TEST(LogTest, RetentionByTimeDeletesOldSegmentsAndAdvancesStart) {
  TempDir tmp;
  FakeClock clock(10'000'000);
  LogConfig config;
  config.segment_bytes = static_cast<int64_t>(MakeBatch(1, 0).size() * 2);
  config.retention_ms = 1000;
  config.file_delete_delay_ms = 0;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, config, &clock);
  for (int i = 0; i < 4; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs()));  // segs 0, 2
  clock.AdvanceMs(2000);
  for (int i = 0; i < 2; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs()));  // seg 4
  EXPECT_EQ(log->NumberOfSegments(), 3);
  EXPECT_EQ(log->DeleteRetentionExpiredSegments(), 2);
  EXPECT_EQ(log->LogStartOffset(), 4);
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".log")), -1);
  EXPECT_EQ(FileSize(SegmentPath(dir, 2, ".log")), -1);
  EXPECT_EQ(log->Read(1, 1000, 6, true).status().code(), Status::Code::kOutOfRange);
  // Everything expires: the active segment is rolled first, so an empty one remains.
  clock.AdvanceMs(2000);
  EXPECT_EQ(log->DeleteRetentionExpiredSegments(), 1);
  EXPECT_EQ(log->LogStartOffset(), 6);
  EXPECT_EQ(log->LogEndOffset(), 6);
  EXPECT_EQ(log->NumberOfSegments(), 1);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(log->LogEndOffset(), 7);
}

TEST(LogTest, RetentionBySizeKeepsNewestSegments) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  int64_t batch = static_cast<int64_t>(MakeBatch(1, 0).size());
  config.segment_bytes = batch * 2;
  config.retention_bytes = batch * 3;
  config.file_delete_delay_ms = 0;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, config, &clock);
  for (int i = 0; i < 7; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs()));  // 0,2,4,6
  EXPECT_EQ(log->DeleteRetentionExpiredSegments(), 2);
  EXPECT_EQ(log->LogStartOffset(), 4);
  EXPECT_EQ(log->Size(), batch * 3);
  EXPECT_EQ(FileSize(SegmentPath(dir, 2, ".index")), -1);
}

TEST(LogTest, RetentionHonoursFileDeleteDelay) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  int64_t batch = static_cast<int64_t>(MakeBatch(1, 0).size());
  config.segment_bytes = batch;
  config.retention_bytes = batch;
  config.file_delete_delay_ms = 60000;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, config, &clock);
  for (int i = 0; i < 2; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(log->DeleteRetentionExpiredSegments(), 1);
  std::string deleted = SegmentPath(dir, 0, ".log.deleted");
  EXPECT_GT(FileSize(deleted), 0);
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".log")), -1);
  log->RemoveDueDeletedFiles();
  EXPECT_GT(FileSize(deleted), 0) << "removed before file.delete.delay.ms";
  clock.AdvanceMs(60001);
  // The periodic sweep (no retention pass needed) removes it once due.
  log->RemoveDueDeletedFiles();
  EXPECT_EQ(FileSize(deleted), -1);
}

TEST(LogTest, ReadRegionSurvivesSegmentDeletion) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  int64_t batch = static_cast<int64_t>(MakeBatch(1, 0).size());
  config.segment_bytes = batch;
  config.retention_bytes = 0;
  config.file_delete_delay_ms = 0;
  auto log = OpenLog(tmp.path() + "/orders-3", config, &clock);
  std::string first = MakeBatch(1, clock.NowMs());
  MustAppend(log.get(), first);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  auto r = log->Read(0, 1 << 20, 2, false);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(log->DeleteRetentionExpiredSegments(), 1);
  EXPECT_EQ(Batches(ReadAll(*r)).at(0).base_offset, 0);  // the fd outlives the file name
}

TEST(LogTest, DeleteRecordsBeforeAdvancesStartAndDropsWholeSegments) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.segment_bytes = static_cast<int64_t>(MakeBatch(2, 0).size() * 2);
  config.file_delete_delay_ms = 0;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, config, &clock);
  for (int i = 0; i < 5; ++i) MustAppend(log.get(), MakeBatch(2, clock.NowMs()));  // 0,4,8
  ASSERT_EQ(log->NumberOfSegments(), 3);
  EXPECT_EQ(log->DeleteRecordsBefore(11).code(), Status::Code::kOutOfRange);  // above HW
  ASSERT_TRUE(log->DeleteRecordsBefore(5).ok());
  EXPECT_EQ(log->LogStartOffset(), 5);
  EXPECT_EQ(log->NumberOfSegments(), 2);
  EXPECT_EQ(FileSize(SegmentPath(dir, 0, ".log")), -1);
  EXPECT_EQ(log->Read(4, 1000, 10, true).status().code(), Status::Code::kOutOfRange);
  auto r = log->Read(5, 1 << 20, 10, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Batches(ReadAll(*r))[0].base_offset, 4);  // the batch holding 5
  // The start survives a restart through the checkpointed value.
  log.reset();
  auto reopened = Log::Open(dir, kTp, config, &clock, 10, true, /*log_start_offset=*/5);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->LogStartOffset(), 5);
}

TEST(LogTest, LeaderEpochCacheTracksEpochStarts) {
  TempDir tmp;
  FakeClock clock;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, LogConfig{}, &clock);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()), 1);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()), 1);
  MustAppend(log.get(), MakeBatch(3, clock.NowMs()), 4);
  auto text = std::ifstream(dir + "/leader-epoch-checkpoint");
  std::string content((std::istreambuf_iterator<char>(text)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "0\n2\n1 0\n4 4\n");
  using E = gregor::log::EpochEndOffset;
  EXPECT_EQ(log->EndOffsetForEpoch(1), (E{1, 4}));
  EXPECT_EQ(log->EndOffsetForEpoch(2), (E{1, 4}));    // floor epoch 1 ends where 4 starts
  EXPECT_EQ(log->EndOffsetForEpoch(4), (E{4, 7}));    // the latest ends at LEO
  EXPECT_EQ(log->EndOffsetForEpoch(0), (E{0, 0}));    // older than every epoch: first start
  EXPECT_EQ(log->EndOffsetForEpoch(5), (E{-1, -1}));  // newer than every epoch: unknown
  EXPECT_EQ(log->EndOffsetForEpoch(-1), (E{-1, -1}));
  ASSERT_TRUE(log->AssignEpochStartOffset(6, 7).ok());  // a new leader with nothing appended
  EXPECT_EQ(log->EndOffsetForEpoch(4), (E{4, 7}));
  EXPECT_EQ(log->EndOffsetForEpoch(5), (E{4, 7}));
  EXPECT_EQ(log->EndOffsetForEpoch(6), (E{6, 7}));
  ASSERT_TRUE(log->TruncateTo(4).ok());
  EXPECT_EQ(log->LatestEpoch(), 1);
  EXPECT_EQ(log->EndOffsetForEpoch(1), (E{1, 4}));
}

TEST(LogTest, TruncateToRemovesTailAndAcceptsNewAppends) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.segment_bytes = static_cast<int64_t>(MakeBatch(2, 0).size() * 2);
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, config, &clock);
  for (int i = 0; i < 5; ++i) MustAppend(log.get(), MakeBatch(2, clock.NowMs()));  // 0,4,8
  ASSERT_TRUE(log->TruncateTo(6).ok());
  EXPECT_EQ(log->LogEndOffset(), 6);
  EXPECT_EQ(log->NumberOfSegments(), 2);
  EXPECT_EQ(FileSize(SegmentPath(dir, 8, ".log")), -1);
  EXPECT_LE(log->HighWatermark(), 6);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()));
  auto r = log->Read(6, 1 << 20, 8, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Batches(ReadAll(*r))[0].base_offset, 6);
}

TEST(LogTest, FollowerAppendKeepsOffsetsAndRejectsGaps) {
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/orders-3", LogConfig{}, &clock);
  std::string b = MakeBatch(3, clock.NowMs());
  protocol::StampBatch(Bytes(b), 0, 2, -1);
  ASSERT_TRUE(log->AppendAsFollower(Bytes(b), b.size()).ok());
  EXPECT_EQ(log->LogEndOffset(), 3);
  EXPECT_EQ(log->LatestEpoch(), 2);
  std::string gap = MakeBatch(1, clock.NowMs());
  protocol::StampBatch(Bytes(gap), 10, 2, -1);
  EXPECT_EQ(log->AppendAsFollower(Bytes(gap), gap.size()).status().code(),
            Status::Code::kOutOfRange);
}

TEST(LogTest, FlushMovesRecoveryPoint) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.flush_interval_messages = 4;
  auto log = OpenLog(tmp.path() + "/orders-3", config, &clock);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()));
  EXPECT_EQ(log->RecoveryPoint(), 0);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()));  // flush.messages reached
  EXPECT_EQ(log->RecoveryPoint(), 4);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_EQ(log->RecoveryPoint(), 5);
}

TEST(LogTest, ConcurrentReadersSeeOnlyWholeValidBatches) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.segment_bytes = 8192;
  config.index_interval_bytes = 256;
  auto log = OpenLog(tmp.path() + "/orders-3", config, &clock);
  constexpr int kBatches = 1500;
  std::atomic<bool> done{false};
  std::atomic<int64_t> reads{0};
  std::atomic<int> bad{0};
  auto reader = [&](unsigned seed) {
    std::mt19937 rng(seed);
    while (!done.load()) {
      int64_t hw = log->HighWatermark();
      if (hw == 0) continue;
      int64_t offset = static_cast<int64_t>(rng() % static_cast<uint64_t>(hw));
      auto r = log->Read(offset, 2000, hw, true);
      if (!r.ok()) {
        ++bad;
        continue;
      }
      std::string bytes = ReadAll(*r);
      int64_t expect = -1;
      size_t at = 0;
      while (at < bytes.size()) {
        protocol::RecordBatchHeader h;
        if (protocol::CheckStoredBatch(reinterpret_cast<const uint8_t*>(bytes.data()) + at,
                                       bytes.size() - at, &h) != protocol::BatchError::kNone ||
            (expect >= 0 && h.base_offset != expect) || h.last_offset() >= hw) {
          ++bad;
          break;
        }
        if (at == 0 && (h.base_offset > offset || h.last_offset() < offset)) ++bad;
        expect = h.last_offset() + 1;
        at += h.total_size();
      }
      if (bytes.empty()) ++bad;  // min_one_message below the HW always returns a batch
      ++reads;
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  for (int i = 0; i < kBatches; ++i) MustAppend(log.get(), MakeBatch(1 + i % 3, clock.NowMs(), 20));
  // Let the readers observe the final state at least a little (bounded, no sleeping).
  int64_t target = reads.load() + 50;
  for (int spins = 0; reads.load() < target && spins < 100000000; ++spins) {
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_GT(log->NumberOfSegments(), 5);
}

TEST(LogTest, FlushKeepsRolledSegmentIndexesTrimmed) {
  TempDir tmp;
  FakeClock clock;
  LogConfig config;
  config.segment_bytes = static_cast<int64_t>(MakeBatch(1, 0).size() * 2);
  config.flush_interval_messages = 3;
  std::string dir = tmp.path() + "/orders-3";
  auto log = OpenLog(dir, config, &clock);
  for (int i = 0; i < 3; ++i) MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  EXPECT_EQ(log->RecoveryPoint(), 3);
  EXPECT_LT(FileSize(SegmentPath(dir, 0, ".index")), config.segment_index_bytes);
  EXPECT_EQ(FileSize(SegmentPath(dir, 2, ".index")), config.segment_index_bytes);
}

}  // namespace
}  // namespace gregor::log

namespace gregor::log {
namespace {

TEST(LogTest, AppendAfterCloseIsNotLeaderNotStorageError) {
  // A produce racing a StopReplica/deletion must not look like a failed disk.
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/t-0", LogConfig{}, &clock);
  MustAppend(log.get(), MakeBatch(1, clock.NowMs()));
  ASSERT_TRUE(log->Close().ok());
  std::string b = MakeBatch(1, clock.NowMs());
  auto r = log->AppendAsLeader(Bytes(b), b.size(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotLeader);
}

TEST(LogTest, MarkOfflineRefusesAppendsButKeepsData) {
  TempDir tmp;
  FakeClock clock;
  auto log = OpenLog(tmp.path() + "/t-0", LogConfig{}, &clock);
  MustAppend(log.get(), MakeBatch(2, clock.NowMs()));
  log->MarkOffline();
  EXPECT_TRUE(log->offline());
  std::string b = MakeBatch(1, clock.NowMs());
  auto r = log->AppendAsLeader(Bytes(b), b.size(), 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_EQ(log->LogEndOffset(), 2);
}

}  // namespace
}  // namespace gregor::log
