#include "log/cleaner.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "gregor/base/clock.h"
#include "gregor/log/checkpoint.h"
#include "gregor/log/log.h"
#include "gregor/log/log_cleaner.h"
#include "gregor/log/log_manager.h"
#include "gregor/protocol/compression.h"
#include "gregor/protocol/record_batch_reader.h"
#include "gtest/gtest.h"
#include "log/batch_filter.h"
#include "log/offset_map.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using protocol::KeyValue;
using testing::Batches;
using testing::Bytes;
using testing::FileSize;
using testing::ReadAll;
using testing::SegmentPath;
using testing::TempDir;

namespace fs = std::filesystem;

const TopicPartition kTp{"orders", 3};

LogConfig CompactConfig() {
  LogConfig c;
  c.compact = true;
  c.delete_enabled = false;
  c.segment_bytes = 1024;
  c.index_interval_bytes = 128;
  c.segment_index_bytes = 4096;
  c.file_delete_delay_ms = 0;
  return c;
}

LogCleaner::Options SmallCleaner() {
  LogCleaner::Options o;
  o.dedupe_buffer_size = 1 << 20;
  o.io_buffer_size = 4096;
  return o;
}

std::unique_ptr<Log> OpenLog(const std::string& dir, const LogConfig& config, const Clock* clock,
                             bool clean = true) {
  auto log = Log::Open(dir, kTp, config, clock, 0, clean);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

// One record per batch: returns its offset.
int64_t Put(Log* log, std::optional<std::string> key, std::optional<std::string> value,
            int64_t ts) {
  std::string batch =
      protocol::BuildRecordBatch(0, ts, {KeyValue(std::move(key), std::move(value))});
  auto r = log->AppendAsLeader(Bytes(batch), batch.size(), 0);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  log->SetHighWatermark(log->LogEndOffset());
  return r.ok() ? r->first_offset : -1;
}

// Every record readable from the log start, in order.
std::vector<protocol::Record> ReadRecords(const Log& log) {
  std::vector<protocol::Record> out;
  int64_t offset = log.LogStartOffset();
  const int64_t leo = log.LogEndOffset();
  while (offset < leo) {
    auto rr = log.Read(offset, 1 << 20, leo, true);
    EXPECT_TRUE(rr.ok()) << rr.status().ToString();
    if (!rr.ok() || rr->regions.empty()) break;
    std::string bytes = ReadAll(*rr);
    size_t at = 0;
    for (const auto& h : Batches(bytes)) {
      // Any codec; a cleaned batch has gaps in its offset deltas.
      protocol::RecordBatchReader reader;
      EXPECT_TRUE(
          reader
              .Reset({reinterpret_cast<const uint8_t*>(bytes.data()) + at, h.total_size()}, 1 << 24)
              .ok());
      protocol::RecordView r;
      while (reader.Next(&r)) {
        protocol::Record rec;
        rec.offset = r.offset;
        rec.timestamp = r.timestamp;
        if (r.has_key) rec.key = std::string(r.key.begin(), r.key.end());
        if (r.has_value) rec.value = std::string(r.value.begin(), r.value.end());
        out.push_back(std::move(rec));
      }
      EXPECT_TRUE(reader.status().ok()) << reader.status().ToString();
      at += h.total_size();
      offset = h.last_offset() + 1;
    }
  }
  return out;
}

// key -> value of the last record of each key (nullopt value = tombstone).
std::map<std::string, std::optional<std::string>> LatestByKey(
    const std::vector<protocol::Record>& records) {
  std::map<std::string, std::optional<std::string>> m;
  for (const auto& r : records) {
    if (r.key) m[*r.key] = r.value;
  }
  return m;
}

std::set<std::string> FilesWithSuffix(const std::string& dir, const std::string& suffix) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() >= suffix.size() &&
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.insert(n);
  }
  return out;
}

struct Fixture {
  TempDir tmp;
  FakeClock clock{SystemClock::Get()->NowMs()};
  std::string dir = tmp.path() + "/orders-3";
  std::unique_ptr<Log> log;
  std::unique_ptr<LogCleaner> cleaner;

  explicit Fixture(LogConfig config = CompactConfig(), LogCleaner::Options o = SmallCleaner()) {
    log = OpenLog(dir, config, &clock);
    MakeCleaner(o);
  }
  void MakeCleaner(LogCleaner::Options o = SmallCleaner()) {
    cleaner = std::make_unique<LogCleaner>(
        o, std::vector<std::string>{tmp.path()},
        [this] {
          return std::vector<std::shared_ptr<Log>>{std::shared_ptr<Log>(log.get(), [](Log*) {})};
        },
        &clock);
  }
  std::optional<LogCleaner::CleanResult> CleanOnce() {
    auto r = cleaner->CleanOnce();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }
  // `n` updates cycling over `keys` keys, value "v<offset>" padded.
  void Updates(int n, int keys, size_t pad = 60) {
    for (int i = 0; i < n; ++i) {
      std::string v = "v" + std::to_string(log->LogEndOffset());
      v.resize(pad, '.');
      Put(log.get(), "k" + std::to_string(i % keys), v, clock.NowMs());
    }
  }
};

// Expected survivors of one full clean: below `end`, only each key's last record below `end`
// (keyless records stay); everything from `end` on.
std::vector<int64_t> ExpectedOffsets(const std::vector<protocol::Record>& before, int64_t end) {
  std::map<std::string, int64_t> last;
  for (const auto& r : before) {
    if (r.key && r.offset < end) last[*r.key] = r.offset;
  }
  std::vector<int64_t> out;
  for (const auto& r : before) {
    if (r.offset >= end || !r.key || last[*r.key] == r.offset) out.push_back(r.offset);
  }
  return out;
}

std::vector<int64_t> Offsets(const std::vector<protocol::Record>& records) {
  std::vector<int64_t> out;
  for (const auto& r : records) out.push_back(r.offset);
  return out;
}

TEST(SkimpyOffsetMapTest, KeepsLatestOffsetAndRefusesWhenFull) {
  SkimpyOffsetMap map(24 * 10, 0.5);  // 10 slots, 5 entries
  EXPECT_EQ(map.max_entries(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(map.Put("k" + std::to_string(i), i));
  EXPECT_TRUE(map.Put("k2", 9));  // an update of a known key always fits
  EXPECT_FALSE(map.Put("k5", 10));
  EXPECT_EQ(map.Get("k2"), 9);
  EXPECT_EQ(map.Get("k0"), 0);
  EXPECT_EQ(map.Get("k5"), -1);
  EXPECT_EQ(map.latest_offset(), 9);
  map.Clear();
  EXPECT_EQ(map.Get("k2"), -1);
  EXPECT_EQ(map.size(), 0u);
}

TEST(LogCleanerTest, ManyUpdatesToFewKeysShrinkAndKeepLatestWithOffsets) {
  Fixture f;
  f.Updates(300, 5);
  {
    // The cleaner keeps keyless records (a compacted topic refuses them on append, so this one
    // is written while the topic is not yet compacted).
    LogConfig plain = f.log->config();
    plain.compact = false;
    f.log->UpdateConfig(plain);
    Put(f.log.get(), std::nullopt, "keyless", f.clock.NowMs());
    plain.compact = true;
    f.log->UpdateConfig(plain);
  }
  f.Updates(20, 5);
  auto before = ReadRecords(*f.log);
  const int64_t size_before = f.log->Size();
  const int segments_before = f.log->NumberOfSegments();
  const int64_t active_base = f.log->ViewForCleaning().active_base_offset;
  ASSERT_GT(segments_before, 10);

  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first_dirty_offset, 0);
  EXPECT_EQ(r->end_offset, active_base);
  EXPECT_GT(r->records_removed, 250);

  auto after = ReadRecords(*f.log);
  EXPECT_LT(f.log->Size(), size_before / 5);
  // Groups are made from the old sizes (Kafka's rule), so the first clean keeps the segment
  // count; its small products are merged by the next clean.
  EXPECT_EQ(f.log->NumberOfSegments(), segments_before);
  EXPECT_EQ(Offsets(after), ExpectedOffsets(before, active_base));
  EXPECT_EQ(LatestByKey(after), LatestByKey(before));
  // Offsets are preserved: each value still names the offset it was written at.
  for (const auto& rec : after) {
    if (rec.key) {
      EXPECT_EQ(rec.value->substr(0, rec.value->find('.')), "v" + std::to_string(rec.offset));
    }
  }
  EXPECT_EQ(f.log->LogStartOffset(), 0);
  EXPECT_EQ(f.log->LogEndOffset(), 321);
  f.Updates(300, 5);
  auto before2 = ReadRecords(*f.log);
  const int64_t active2 = f.log->ViewForCleaning().active_base_offset;
  ASSERT_TRUE(f.CleanOnce().has_value());
  after = ReadRecords(*f.log);
  EXPECT_LT(f.log->NumberOfSegments(), segments_before);
  EXPECT_EQ(Offsets(after), ExpectedOffsets(before2, active2));
  EXPECT_EQ(LatestByKey(after), LatestByKey(before2));
  // The cleaned log survives a restart as it is.
  ASSERT_TRUE(f.log->Close().ok());
  auto reopened = OpenLog(f.dir, CompactConfig(), &f.clock);
  reopened->SetHighWatermark(reopened->LogEndOffset());
  EXPECT_EQ(Offsets(ReadRecords(*reopened)), Offsets(after));
  EXPECT_TRUE(FilesWithSuffix(f.dir, ".cleaned").empty());
  EXPECT_TRUE(FilesWithSuffix(f.dir, ".swap").empty());
}

TEST(LogCleanerTest, PartlyObsoleteBatchIsRebuiltWithSameOffsetsAndValidCrc) {
  Fixture f;
  std::vector<KeyValue> ten, five;
  for (int i = 0; i < 10; ++i) ten.emplace_back("x" + std::to_string(i), std::string(40, 'a'));
  for (int i = 0; i < 5; ++i) five.emplace_back("x" + std::to_string(2 * i), std::string(40, 'b'));
  std::string b1 = protocol::BuildRecordBatch(0, f.clock.NowMs(), ten);
  std::string b2 = protocol::BuildRecordBatch(0, f.clock.NowMs(), five);
  ASSERT_TRUE(f.log->AppendAsLeader(Bytes(b1), b1.size(), 3).ok());
  ASSERT_TRUE(f.log->AppendAsLeader(Bytes(b2), b2.size(), 3).ok());
  f.Updates(40, 3);  // rolls: both batches end up in inactive segments
  f.log->SetHighWatermark(f.log->LogEndOffset());
  ASSERT_TRUE(f.CleanOnce().has_value());

  auto rr = f.log->Read(0, 1 << 20, f.log->LogEndOffset(), true);
  ASSERT_TRUE(rr.ok());
  std::string bytes = ReadAll(*rr);
  auto headers = Batches(bytes);  // checks every CRC
  ASSERT_GE(headers.size(), 2u);
  EXPECT_EQ(headers[0].base_offset, 0);
  EXPECT_EQ(headers[0].last_offset_delta, 9);  // Kafka keeps a v2 batch's last offset
  EXPECT_EQ(headers[0].records_count, 5);
  EXPECT_EQ(headers[0].partition_leader_epoch, 3);
  std::vector<RawRecord> recs;
  ASSERT_TRUE(ParseRawRecords(reinterpret_cast<const uint8_t*>(bytes.data()), headers[0], &recs));
  std::vector<int64_t> offsets;
  for (const auto& r : recs) offsets.push_back(r.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 3, 5, 7, 9}));
  EXPECT_EQ(headers[1].base_offset, 10);
  EXPECT_EQ(headers[1].records_count, 5);
}

TEST(LogCleanerTest, TombstonesKeptUntilDeleteRetentionThenRemoved) {
  LogConfig config = CompactConfig();
  config.delete_retention_ms = 3600'000;
  Fixture f(config);
  Put(f.log.get(), "a", "1", f.clock.NowMs());
  Put(f.log.get(), "b", "1", f.clock.NowMs());
  Put(f.log.get(), "a", std::nullopt, f.clock.NowMs());
  f.Updates(40, 3);
  ASSERT_TRUE(f.CleanOnce().has_value());
  auto latest = LatestByKey(ReadRecords(*f.log));
  ASSERT_TRUE(latest.count("a"));
  EXPECT_FALSE(latest["a"].has_value()) << "the tombstone is still there";
  int a_records = 0;
  for (const auto& r : ReadRecords(*f.log)) a_records += r.key == std::optional<std::string>("a");
  EXPECT_EQ(a_records, 1) << "the value before the tombstone is gone";

  // Not yet expired: a second clean (new dirty data) keeps it.
  f.clock.AdvanceMs(3600'000 - 120'000);
  f.Updates(40, 3);
  ASSERT_TRUE(f.CleanOnce().has_value());
  latest = LatestByKey(ReadRecords(*f.log));
  EXPECT_TRUE(latest.count("a"));

  // Past delete.retention.ms from the segment's last modification: removed.
  f.clock.AdvanceMs(240'000);
  f.Updates(40, 3);
  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->tombstones_removed, 1);
  latest = LatestByKey(ReadRecords(*f.log));
  EXPECT_FALSE(latest.count("a"));
  EXPECT_EQ(latest["b"], std::optional<std::string>("1"));
}

TEST(LogCleanerTest, ActiveSegmentIsNeverCleaned) {
  LogConfig config = CompactConfig();
  config.segment_bytes = 1 << 20;
  Fixture f(config);
  f.Updates(100, 2);
  const int64_t size = FileSize(SegmentPath(f.dir, 0, ".log"));
  EXPECT_FALSE(f.CleanOnce().has_value());
  EXPECT_EQ(FileSize(SegmentPath(f.dir, 0, ".log")), size);
  EXPECT_EQ(ReadRecords(*f.log).size(), 100u);

  // With rolled segments, the active one keeps every record, byte for byte.
  config.segment_bytes = 1024;
  f.log->UpdateConfig(config);
  f.Updates(60, 2);
  const int64_t active = f.log->ViewForCleaning().active_base_offset;
  ASSERT_GT(active, 0);
  std::ifstream in(SegmentPath(f.dir, active, ".log"), std::ios::binary);
  std::string active_bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_TRUE(f.CleanOnce().has_value());
  std::ifstream in2(SegmentPath(f.dir, active, ".log"), std::ios::binary);
  std::string active_after((std::istreambuf_iterator<char>(in2)), {});
  EXPECT_EQ(active_after, active_bytes);
  int in_active = 0;
  for (const auto& r : ReadRecords(*f.log)) in_active += r.offset >= active;
  EXPECT_EQ(in_active, f.log->LogEndOffset() - active);
}

TEST(LogCleanerTest, NothingAtOrPastTheHighWatermarkIsCleaned) {
  Fixture f;
  f.Updates(200, 2);
  f.log->SetHighWatermark(0);
  EXPECT_FALSE(f.CleanOnce().has_value());
  f.log->SetHighWatermark(f.log->LogEndOffset());
  EXPECT_TRUE(f.CleanOnce().has_value());
}

TEST(LogCleanerTest, MinCompactionLagHonoured) {
  LogConfig config = CompactConfig();
  config.min_compaction_lag_ms = 3600'000;
  Fixture f(config);
  f.Updates(200, 2);  // timestamps: now
  EXPECT_FALSE(f.CleanOnce().has_value());
  EXPECT_EQ(ReadRecords(*f.log).size(), 200u);
  f.clock.AdvanceMs(3600'000 + 1000);
  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  EXPECT_LT(ReadRecords(*f.log).size(), 50u);
}

TEST(LogCleanerTest, MinCompactionLagStopsAtTheFirstYoungSegment) {
  LogConfig config = CompactConfig();
  config.min_compaction_lag_ms = 3600'000;
  Fixture f(config);
  const int64_t old_ts = f.clock.NowMs() - 2 * 3600'000;
  for (int i = 0; i < 100; ++i)
    Put(f.log.get(), "k" + std::to_string(i % 2), std::string(60, 'o'), old_ts);
  const int64_t young_from = f.log->LogEndOffset();
  f.Updates(100, 2);  // young
  auto before = ReadRecords(*f.log);
  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  EXPECT_LE(r->end_offset, young_from + 20);
  auto after = ReadRecords(*f.log);
  int young = 0;
  for (const auto& rec : after) young += rec.offset >= young_from;
  EXPECT_EQ(young, 100) << "no record younger than min.compaction.lag.ms was removed";
  EXPECT_EQ(Offsets(after), ExpectedOffsets(before, r->end_offset));
}

TEST(LogCleanerTest, DirtyRatioThresholdRespected) {
  LogConfig config = CompactConfig();
  config.min_cleanable_dirty_ratio = 0.5;
  Fixture f(config);
  for (int i = 0; i < 200; ++i)
    Put(f.log.get(), "k" + std::to_string(i), std::string(60, 'x'), f.clock.NowMs());
  ASSERT_TRUE(f.CleanOnce().has_value());  // all dirty: ratio 1
  EXPECT_DOUBLE_EQ(f.cleaner->DirtyRatio(*f.log), 0.0);
  // A few more distinct keys: dirty well under half of the cleanable bytes.
  for (int i = 0; i < 40; ++i)
    Put(f.log.get(), "n" + std::to_string(i), std::string(60, 'x'), f.clock.NowMs());
  double ratio = f.cleaner->DirtyRatio(*f.log);
  EXPECT_GT(ratio, 0.0);
  EXPECT_LT(ratio, 0.5);
  EXPECT_FALSE(f.CleanOnce().has_value());
  for (int i = 0; i < 300; ++i)
    Put(f.log.get(), "m" + std::to_string(i), std::string(60, 'x'), f.clock.NowMs());
  EXPECT_GT(f.cleaner->DirtyRatio(*f.log), 0.5);
  EXPECT_TRUE(f.CleanOnce().has_value());
}

TEST(LogCleanerTest, MaxCompactionLagForcesACleanBelowTheRatio) {
  LogConfig config = CompactConfig();
  config.min_cleanable_dirty_ratio = 0.99;
  config.max_compaction_lag_ms = 3600'000;
  Fixture f(config);
  for (int i = 0; i < 200; ++i)
    Put(f.log.get(), "k" + std::to_string(i), std::string(60, 'x'), f.clock.NowMs());
  ASSERT_TRUE(f.CleanOnce().has_value());
  f.Updates(40, 2);
  EXPECT_FALSE(f.CleanOnce().has_value());
  f.clock.AdvanceMs(3600'000 + 1000);
  EXPECT_TRUE(f.CleanOnce().has_value());
}

TEST(LogCleanerTest, NonCompactedLogsAreIgnored) {
  LogConfig config = CompactConfig();
  config.compact = false;
  config.delete_enabled = true;
  Fixture f(config);
  f.Updates(200, 2);
  EXPECT_FALSE(f.CleanOnce().has_value());
  EXPECT_EQ(ReadRecords(*f.log).size(), 200u);
}

TEST(LogCleanerTest, CompactDeleteAlsoAppliesRetention) {
  LogConfig config = CompactConfig();
  config.delete_enabled = true;
  config.retention_ms = 3600'000;
  Fixture f(config);
  const int64_t old_ts = f.clock.NowMs() - 2 * 3600'000;
  for (int i = 0; i < 100; ++i)
    Put(f.log.get(), "old" + std::to_string(i), std::string(60, 'o'), old_ts);
  const int64_t young_from = f.log->LogEndOffset();
  f.Updates(100, 3);
  ASSERT_TRUE(f.CleanOnce().has_value());
  EXPECT_GT(f.log->DeleteRetentionExpiredSegments(), 0);
  EXPECT_GE(f.log->LogStartOffset(), young_from - 20);
  auto latest = LatestByKey(ReadRecords(*f.log));
  EXPECT_EQ(latest.count("old0"), 0u);
  EXPECT_EQ(latest.count("k0"), 1u);
  // compact alone keeps them.
  Fixture g;
  for (int i = 0; i < 100; ++i)
    Put(g.log.get(), "old" + std::to_string(i), std::string(60, 'o'), old_ts);
  g.Updates(100, 3);
  EXPECT_EQ(g.log->DeleteRetentionExpiredSegments(), 0);
}

TEST(LogCleanerTest, SmallOffsetMapCleansInSeveralPassesWithoutLosingKeys) {
  LogCleaner::Options o = SmallCleaner();
  o.dedupe_buffer_size = 24 * 20;  // 18 keys at the 0.9 load factor
  Fixture f(CompactConfig(), o);
  for (int i = 0; i < 400; ++i) {
    // Runs of 10 updates per key, 20 keys: one pass maps 18 keys, about 180 records.
    Put(f.log.get(), "k" + std::to_string((i / 10) % 20),
        "v" + std::to_string(i) + std::string(40, '.'), f.clock.NowMs());
  }
  auto before = ReadRecords(*f.log);
  const int64_t active = f.log->ViewForCleaning().active_base_offset;
  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  EXPECT_LT(r->end_offset, active);
  EXPECT_EQ(LatestByKey(ReadRecords(*f.log)), LatestByKey(before));
  EXPECT_EQ(f.cleaner->CheckpointFor(kTp), r->end_offset);
  LogConfig eager = CompactConfig();
  eager.min_cleanable_dirty_ratio = 0;
  f.log->UpdateConfig(eager);
  for (int pass = 0; pass < 50 && f.cleaner->CheckpointFor(kTp) < active; ++pass) {
    ASSERT_TRUE(f.CleanOnce().has_value());
    EXPECT_EQ(LatestByKey(ReadRecords(*f.log)), LatestByKey(before));
  }
  EXPECT_EQ(f.cleaner->CheckpointFor(kTp), active);
}

// Compressed batches of each codec are compacted like plain ones: each key's latest record
// stays, with its offset, and a filtered batch is rebuilt in its own codec.
TEST(LogCleanerTest, CompressedBatchesOfEveryCodecAreCompactedInTheirCodec) {
  for (int codec = protocol::kCompressionGzip; codec <= protocol::kCompressionZstd; ++codec) {
    SCOPED_TRACE(protocol::CompressionName(codec));
    Fixture f;
    // 40 records in batches of 4 over 13 keys, as a compressing producer writes them.
    for (int b = 0; b < 10; ++b) {
      protocol::BatchSpec spec;
      spec.attributes = static_cast<int16_t>(codec);
      std::vector<protocol::RecordSpec> recs;
      for (int i = 0; i < 4; ++i) {
        const int n = b * 4 + i;
        recs.push_back(
            {"k" + std::to_string(n % 13), "v" + std::to_string(n), f.clock.NowMs(), {}});
      }
      std::string batch = protocol::BuildRecordBatch(spec, recs);
      ASSERT_TRUE(f.log->AppendAsLeader(Bytes(batch), batch.size(), 0).ok());
    }
    // Plain updates of another key roll the compressed batches out of the active segment.
    for (int i = 0; i < 30; ++i) Put(f.log.get(), "plain", std::string(60, 'p'), f.clock.NowMs());
    f.log->SetHighWatermark(f.log->LogEndOffset());
    auto before = ReadRecords(*f.log);
    ASSERT_EQ(before.size(), 70u);
    const int64_t active = f.log->ViewForCleaning().active_base_offset;
    ASSERT_GT(active, 40);
    ASSERT_TRUE(f.CleanOnce().has_value());
    auto after = ReadRecords(*f.log);
    EXPECT_EQ(LatestByKey(after), LatestByKey(before));
    EXPECT_EQ(Offsets(after), ExpectedOffsets(before, active));
    int below_40 = 0;
    for (const auto& r : after) below_40 += r.offset < 40 ? 1 : 0;
    EXPECT_EQ(below_40, 13);  // one record per key
    auto rr = f.log->Read(0, 1 << 20, f.log->LogEndOffset(), true);
    ASSERT_TRUE(rr.ok());
    int compressed = 0;
    for (const auto& h : Batches(ReadAll(*rr))) {
      if (h.records_count > 0 && h.base_offset < 40) {
        EXPECT_EQ(h.compression(), codec);
        ++compressed;
      }
    }
    EXPECT_GT(compressed, 0);
  }
}

// A batch whose compressed records cannot be read is not laundered into a fresh CRC: the clean
// fails as corrupt and the log is left as it was.
TEST(LogCleanerTest, UndecodableCompressedBatchFailsTheCleanAndChangesNothing) {
  Fixture f;
  Put(f.log.get(), "c", "old", f.clock.NowMs());
  std::string gz = protocol::BuildRecordBatch(f.log->LogEndOffset(), f.clock.NowMs(),
                                              {KeyValue("c", "not-gzip")});
  gz[22] = static_cast<char>(gz[22] | protocol::kCompressionGzip);
  protocol::UpdateBatchCrc(Bytes(gz));
  ASSERT_TRUE(f.log->AppendAsFollower(Bytes(gz), gz.size()).ok());
  f.Updates(40, 2);
  f.log->SetHighWatermark(f.log->LogEndOffset());
  auto rr = f.log->Read(0, 1 << 20, f.log->LogEndOffset(), true);
  ASSERT_TRUE(rr.ok());
  const std::string bytes_before = ReadAll(*rr);
  auto r = f.cleaner->CleanOnce();
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  rr = f.log->Read(0, 1 << 20, f.log->LogEndOffset(), true);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(ReadAll(*rr), bytes_before);
}

TEST(LogCleanerTest, AbortedTransactionsKeepTheirTxnIndexEntriesThroughAClean) {
  Fixture f;
  f.Updates(20, 3);
  protocol::BatchSpec spec;
  spec.producer_id = 9;
  spec.producer_epoch = 0;
  spec.base_sequence = 0;
  spec.attributes = protocol::kTransactionalBit;
  std::string txn = protocol::BuildRecordBatch(
      spec, {{"k0", "aborted", f.clock.NowMs(), {}}, {"k1", "aborted", f.clock.NowMs(), {}}});
  auto appended = f.log->AppendAsLeader(Bytes(txn), txn.size(), 0);
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  f.Updates(10, 3);
  auto abort = f.log->AppendTxnMarkerAsLeader(9, 0, 0, /*commit=*/false, 0);
  ASSERT_TRUE(abort.ok()) << abort.status().ToString();
  f.Updates(80, 3);
  f.log->SetHighWatermark(f.log->LogEndOffset());
  const auto before = f.log->CollectAbortedTxns(0, f.log->LogEndOffset());
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].first_offset, appended->first_offset);
  EXPECT_EQ(before[0].last_offset, abort->first_offset);
  const size_t records_before = ReadRecords(*f.log).size();

  ASSERT_TRUE(f.CleanOnce().has_value());
  EXPECT_LT(ReadRecords(*f.log).size(), records_before);
  EXPECT_EQ(f.log->CollectAbortedTxns(0, f.log->LogEndOffset()), before);
  // A second pass merges the small cleaned segments: the entry follows into the merged one.
  f.Updates(80, 3);
  f.log->SetHighWatermark(f.log->LogEndOffset());
  ASSERT_TRUE(f.CleanOnce().has_value());
  EXPECT_EQ(f.log->CollectAbortedTxns(0, f.log->LogEndOffset()), before);
  EXPECT_EQ(FilesWithSuffix(f.dir, ".txnindex").size(), 1u);
  EXPECT_TRUE(FilesWithSuffix(f.dir, ".cleaned").empty());
  ASSERT_TRUE(f.log->Close().ok());
  auto reopened = OpenLog(f.dir, CompactConfig(), &f.clock);
  EXPECT_EQ(reopened->CollectAbortedTxns(0, reopened->LogEndOffset()), before);
}

TEST(LogCleanerTest, CheckpointFileWrittenAndReadBack) {
  Fixture f;
  f.Updates(200, 4);
  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  auto cp = ReadOffsetCheckpoint(f.tmp.path() + "/" + kCleanerOffsetCheckpointFile);
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->at(kTp), r->end_offset);
  f.MakeCleaner();
  EXPECT_EQ(f.cleaner->CheckpointFor(kTp), r->end_offset);
  EXPECT_FALSE(f.CleanOnce().has_value()) << "nothing dirty after the checkpoint";
}

TEST(LogCleanerTest, TruncationDuringACleanIsNotSwappedIn) {
  Fixture f;
  f.Updates(200, 2);
  CleanerView view = f.log->ViewForCleaning();
  ASSERT_TRUE(f.log->TruncateTo(view.segments[1].base_offset).ok());
  // A cleaned segment prepared against the old view must be refused.
  auto st =
      f.log->ReplaceSegments(view.segments[0].segment, {view.segments[0].segment}, view.generation);
  EXPECT_EQ(st.code(), Status::Code::kStale);
}

// ---- transactions ----

// A producer with a producer id writing as the partition leader: transactional (markers from
// the coordinator end its transactions) or only idempotent. The high watermark follows every
// append, so a transaction is stable as soon as its marker is written.
struct TestProducer {
  Log* log;
  int64_t pid;
  bool transactional = true;
  int16_t epoch = 0;
  int32_t seq = 0;

  // One batch of `kvs`; returns its first offset.
  int64_t Send(const std::vector<KeyValue>& kvs, int64_t ts) {
    protocol::BatchSpec spec;
    spec.producer_id = pid;
    spec.producer_epoch = epoch;
    spec.base_sequence = seq;
    spec.attributes = transactional ? protocol::kTransactionalBit : 0;
    std::vector<protocol::RecordSpec> records;
    for (const auto& kv : kvs) records.push_back({kv.first, kv.second, ts, {}});
    std::string batch = protocol::BuildRecordBatch(spec, records);
    auto r = log->AppendAsLeader(Bytes(batch), batch.size(), 0);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    seq += static_cast<int32_t>(kvs.size());
    log->SetHighWatermark(log->LogEndOffset());
    return r.ok() ? r->first_offset : -1;
  }
  // The coordinator's COMMIT or ABORT; returns its offset.
  int64_t End(bool commit) {
    auto r = log->AppendTxnMarkerAsLeader(pid, epoch, 0, commit, 0);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    log->SetHighWatermark(log->LogEndOffset());
    return r.ok() ? r->first_offset : -1;
  }
};

struct StoredBatch {
  protocol::RecordBatchHeader header;
  std::vector<protocol::Record> records;  // a control batch's too
};

// Every batch of the log as far as `isolation` lets a reader go, read through Log::Read as a
// Fetch does; with kTxnCommitted also the aborted transactions the reads reported.
std::vector<StoredBatch> ReadBatches(const Log& log, FetchIsolation isolation,
                                     std::vector<AbortedTxn>* aborted = nullptr) {
  std::vector<StoredBatch> out;
  int64_t offset = log.LogStartOffset();
  for (int reads = 0; reads < 10000; ++reads) {
    auto rr = log.Read(offset, 1 << 20, isolation, true);
    EXPECT_TRUE(rr.ok()) << rr.status().ToString();
    if (!rr.ok() || rr->regions.empty()) break;
    if (aborted) aborted->insert(aborted->end(), rr->aborted_txns.begin(), rr->aborted_txns.end());
    std::string bytes = ReadAll(*rr);
    size_t at = 0;
    for (const auto& h : Batches(bytes)) {
      std::vector<RawRecord> raw;
      EXPECT_TRUE(ParseRawRecords(reinterpret_cast<const uint8_t*>(bytes.data()) + at, h, &raw));
      StoredBatch b{h, {}};
      for (const auto& r : raw) {
        protocol::Record rec;
        rec.offset = r.offset;
        rec.timestamp = r.timestamp;
        if (r.has_key) rec.key = std::string(r.key);
        if (r.has_value) rec.value = std::string(r.value);
        b.records.push_back(std::move(rec));
      }
      out.push_back(std::move(b));
      at += h.total_size();
      offset = h.last_offset() + 1;
    }
  }
  return out;
}

// The control record type of a marker batch: 0 ABORT, 1 COMMIT, -1 none (emptied).
int MarkerType(const StoredBatch& b) {
  if (b.records.empty() || !b.records[0].key || b.records[0].key->size() < 4) return -1;
  const auto* k = reinterpret_cast<const uint8_t*>(b.records[0].key->data());
  return (k[2] << 8) | k[3];
}

// What a read_committed consumer returns (Kafka's Fetcher): the batches up to the last stable
// offset, without control batches and without the transactional batches of a producer from the
// first offset of one of its aborted transactions (as the fetches reported them) to its ABORT.
std::vector<protocol::Record> ReadCommitted(const Log& log) {
  std::vector<AbortedTxn> aborted;
  auto batches = ReadBatches(log, FetchIsolation::kTxnCommitted, &aborted);
  std::sort(aborted.begin(), aborted.end(), [](const AbortedTxn& a, const AbortedTxn& b) {
    return a.first_offset < b.first_offset;
  });
  size_t next = 0;
  std::set<int64_t> aborted_pids;
  std::vector<protocol::Record> out;
  for (const auto& b : batches) {
    const auto& h = b.header;
    if (h.producer_id >= 0) {
      while (next < aborted.size() && aborted[next].first_offset <= h.last_offset()) {
        aborted_pids.insert(aborted[next++].producer_id);
      }
    }
    if (h.is_control()) {
      if (MarkerType(b) == 0) aborted_pids.erase(h.producer_id);
      continue;
    }
    if (h.is_transactional() && aborted_pids.count(h.producer_id)) continue;
    out.insert(out.end(), b.records.begin(), b.records.end());
  }
  return out;
}

// Every data record of the log (read_uncommitted, as a consumer sees it: no control records).
std::vector<protocol::Record> ReadUncommitted(const Log& log) {
  std::vector<protocol::Record> out;
  for (const auto& b : ReadBatches(log, FetchIsolation::kHighWatermark)) {
    if (!b.header.is_control()) out.insert(out.end(), b.records.begin(), b.records.end());
  }
  return out;
}

// The markers in the log: (offset, producer id, type).
std::vector<std::tuple<int64_t, int64_t, int>> Markers(const Log& log) {
  std::vector<std::tuple<int64_t, int64_t, int>> out;
  for (const auto& b : ReadBatches(log, FetchIsolation::kLogEnd)) {
    if (b.header.is_control()) {
      out.emplace_back(b.header.base_offset, b.header.producer_id, MarkerType(b));
    }
  }
  return out;
}

bool HasValue(const std::vector<protocol::Record>& records, const std::string& value) {
  for (const auto& r : records) {
    if (r.value == value) return true;
  }
  return false;
}

TEST(LogCleanerTxnTest, AbortedRecordsAreRemovedAndDoNotShadowOlderValues) {
  Fixture f;
  Put(f.log.get(), "a", "a1", f.clock.NowMs());
  Put(f.log.get(), "b", "b1", f.clock.NowMs());
  TestProducer p7{f.log.get(), 7};
  const int64_t first = p7.Send({{"a", "aborted"}, {"b", "aborted"}}, f.clock.NowMs());
  p7.Send({{"c", "aborted"}}, f.clock.NowMs());
  const int64_t abort = p7.End(/*commit=*/false);
  // Producer 7's last batch carries a key nobody overwrites: the aborted ones are not its last.
  p7.Send({{"p7", "done"}}, f.clock.NowMs());
  p7.End(/*commit=*/true);
  f.Updates(40, 3);
  ASSERT_TRUE(HasValue(ReadUncommitted(*f.log), "aborted"));
  const std::vector<AbortedTxn> aborted_before =
      f.log->CollectAbortedTxns(0, f.log->LogEndOffset());
  ASSERT_EQ(aborted_before.size(), 1u);
  EXPECT_EQ(aborted_before[0].first_offset, first);

  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  EXPECT_GE(r->records_removed, 3);
  // Gone for read_uncommitted consumers too, and "a" and "b" keep their older committed values:
  // the aborted records were not in the offset map.
  auto uncommitted = ReadUncommitted(*f.log);
  EXPECT_FALSE(HasValue(uncommitted, "aborted"));
  auto latest = LatestByKey(uncommitted);
  EXPECT_EQ(latest["a"], std::optional<std::string>("a1"));
  EXPECT_EQ(latest["b"], std::optional<std::string>("b1"));
  EXPECT_EQ(latest.count("c"), 0u);
  EXPECT_EQ(latest["p7"], std::optional<std::string>("done"));
  EXPECT_EQ(LatestByKey(ReadCommitted(*f.log)), latest);
  // Its records were seen by this pass, so the ABORT stays (Kafka removes a marker only in a
  // later pass) with its .txnindex entry.
  EXPECT_EQ(f.log->CollectAbortedTxns(0, f.log->LogEndOffset()), aborted_before);
  bool abort_kept = false;
  for (const auto& [offset, pid, type] : Markers(*f.log)) abort_kept |= offset == abort;
  EXPECT_TRUE(abort_kept);
}

TEST(LogCleanerTxnTest, CommittedTransactionalRecordsAreDeduplicatedKeepingTheirHeader) {
  Fixture f;
  TestProducer p5{f.log.get(), 5};
  p5.epoch = 3;
  const int64_t first = p5.Send({{"a", "t1"}, {"b", "t1"}, {"c", "t1"}}, f.clock.NowMs());
  p5.End(/*commit=*/true);
  p5.Send({{"a", "t2"}}, f.clock.NowMs());
  p5.End(/*commit=*/true);
  Put(f.log.get(), "c", "plain", f.clock.NowMs());
  p5.Send({{"z", "last"}}, f.clock.NowMs());
  p5.End(/*commit=*/true);
  f.Updates(40, 3);
  const auto markers_before = Markers(*f.log);
  ASSERT_EQ(markers_before.size(), 3u);

  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  auto batches = ReadBatches(*f.log, FetchIsolation::kLogEnd);
  ASSERT_FALSE(batches.empty());
  const auto& h = batches[0].header;
  EXPECT_EQ(h.base_offset, first);
  EXPECT_EQ(h.last_offset_delta, 2);
  EXPECT_EQ(h.records_count, 1);
  EXPECT_EQ(h.producer_id, 5);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 0);
  EXPECT_TRUE(h.is_transactional());
  ASSERT_EQ(batches[0].records.size(), 1u);
  EXPECT_EQ(batches[0].records[0].key, std::optional<std::string>("b"));
  EXPECT_EQ(batches[0].records[0].offset, first + 1);
  // Every transaction had batches in this pass: all markers stay.
  EXPECT_EQ(Markers(*f.log), markers_before);
  auto latest = LatestByKey(ReadCommitted(*f.log));
  EXPECT_EQ(latest["a"], std::optional<std::string>("t2"));
  EXPECT_EQ(latest["b"], std::optional<std::string>("t1"));
  EXPECT_EQ(latest["c"], std::optional<std::string>("plain"));
  EXPECT_EQ(latest["z"], std::optional<std::string>("last"));
  int a_records = 0;
  for (const auto& rec : ReadUncommitted(*f.log)) a_records += rec.key == "a";
  EXPECT_EQ(a_records, 1);
}

TEST(LogCleanerTxnTest, MarkersStayWhileTheirDataDoesThenGoAfterDeleteRetention) {
  LogConfig config = CompactConfig();
  config.delete_retention_ms = 3600'000;
  Fixture f(config);
  Put(f.log.get(), "a", "a1", f.clock.NowMs());
  TestProducer p7{f.log.get(), 7}, p8{f.log.get(), 8};
  p7.Send({{"a", "aborted"}}, f.clock.NowMs());
  const int64_t abort7 = p7.End(/*commit=*/false);
  p8.Send({{"b", "committed"}}, f.clock.NowMs());
  const int64_t commit8 = p8.End(/*commit=*/true);
  Put(f.log.get(), "b", "b2", f.clock.NowMs());  // the committed record becomes obsolete
  // A kept record of each producer after those transactions: the emptied batches are not
  // their last ones.
  p7.Send({{"p7", "x"}}, f.clock.NowMs());
  const int64_t commit7 = p7.End(/*commit=*/true);
  p8.Send({{"p8", "x"}}, f.clock.NowMs());
  const int64_t commit8b = p8.End(/*commit=*/true);
  f.Updates(40, 3);
  const AbortedTxn txn7 = f.log->CollectAbortedTxns(0, f.log->LogEndOffset()).at(0);
  auto marker_offsets = [&] {
    std::vector<int64_t> out;
    for (const auto& [offset, pid, type] : Markers(*f.log)) out.push_back(offset);
    return out;
  };
  const std::vector<int64_t> all = {abort7, commit8, commit7, commit8b};
  ASSERT_EQ(marker_offsets(), all);

  // Pass 1 removes the data; the markers of those transactions stay (their batches were read
  // in this pass), the ABORT with its .txnindex entry.
  ASSERT_TRUE(f.CleanOnce().has_value());
  EXPECT_FALSE(HasValue(ReadUncommitted(*f.log), "aborted"));
  EXPECT_FALSE(HasValue(ReadUncommitted(*f.log), "committed"));
  EXPECT_EQ(marker_offsets(), all);
  EXPECT_EQ(f.log->CollectAbortedTxns(0, f.log->LogEndOffset()), std::vector<AbortedTxn>{txn7});

  // Pass 2: the transactions are empty, but delete.retention.ms has not passed since their
  // segment was written: kept, and so is the entry of the kept ABORT.
  f.clock.AdvanceMs(3600'000 - 120'000);
  f.Updates(40, 3);
  ASSERT_TRUE(f.CleanOnce().has_value());
  EXPECT_EQ(marker_offsets(), all);
  EXPECT_EQ(f.log->CollectAbortedTxns(0, f.log->LogEndOffset()), std::vector<AbortedTxn>{txn7});

  // Pass 3, past delete.retention.ms: the markers of the emptied transactions go, and the
  // ABORT's .txnindex entry with it; the markers of transactions with data stay.
  f.clock.AdvanceMs(240'000);
  f.Updates(40, 3);
  ASSERT_TRUE(f.CleanOnce().has_value());
  EXPECT_EQ(marker_offsets(), (std::vector<int64_t>{commit7, commit8b}));
  EXPECT_TRUE(f.log->CollectAbortedTxns(0, f.log->LogEndOffset()).empty());
  for (const auto& name : FilesWithSuffix(f.dir, ".txnindex")) {
    EXPECT_EQ(FileSize(f.dir + "/" + name), 0) << name;
  }
  auto latest = LatestByKey(ReadCommitted(*f.log));
  EXPECT_EQ(latest["a"], std::optional<std::string>("a1"));
  EXPECT_EQ(latest["b"], std::optional<std::string>("b2"));
  EXPECT_EQ(LatestByKey(ReadUncommitted(*f.log)), latest);
  // The cleaned log reopens as it is, and recovery rebuilds no entry for the removed ABORT.
  ASSERT_TRUE(f.log->Close().ok());
  auto reopened = OpenLog(f.dir, config, &f.clock, /*clean=*/false);
  reopened->SetHighWatermark(reopened->LogEndOffset());
  EXPECT_TRUE(reopened->CollectAbortedTxns(0, reopened->LogEndOffset()).empty());
  EXPECT_EQ(LatestByKey(ReadCommitted(*reopened)), latest);
  EXPECT_EQ(reopened->LastStableOffset(), reopened->LogEndOffset());
}

TEST(LogCleanerTxnTest, LastBatchOfAnActiveProducerIsKeptEmpty) {
  LogConfig config = CompactConfig();
  config.producer_id_expiration_ms = 3600'000;
  Fixture f(config);
  TestProducer p3{f.log.get(), 3};
  p3.transactional = false;  // idempotent only
  p3.epoch = 2;
  p3.Send({{"a", "p3-1"}}, f.clock.NowMs());
  const int64_t last3 = p3.Send({{"a", "p3-2"}, {"b", "p3-2"}}, f.clock.NowMs());
  // A transactional producer whose last data batch is aborted.
  TestProducer p4{f.log.get(), 4};
  const int64_t last4 = p4.Send({{"c", "aborted"}}, f.clock.NowMs());
  const int64_t abort4 = p4.End(/*commit=*/false);
  Put(f.log.get(), "a", "plain", f.clock.NowMs());
  Put(f.log.get(), "b", "plain", f.clock.NowMs());
  const int64_t max_ts = f.clock.NowMs();
  f.Updates(40, 3);

  ASSERT_TRUE(f.CleanOnce().has_value());
  auto batches = ReadBatches(*f.log, FetchIsolation::kLogEnd);
  ASSERT_GE(batches.size(), 3u);
  // Producer 3's first batch is gone; its last is an empty header with its sequence.
  const auto& h3 = batches[0].header;
  EXPECT_EQ(h3.base_offset, last3);
  EXPECT_EQ(h3.records_count, 0);
  EXPECT_EQ(h3.last_offset_delta, 1);
  EXPECT_EQ(h3.producer_id, 3);
  EXPECT_EQ(h3.producer_epoch, 2);
  EXPECT_EQ(h3.base_sequence, 1);
  EXPECT_EQ(h3.batch_length, 49);
  EXPECT_EQ(h3.base_timestamp, -1);
  EXPECT_EQ(h3.max_timestamp, max_ts);
  EXPECT_FALSE(h3.is_transactional());
  // Producer 4's aborted batch: emptied, still transactional, so its ABORT and the .txnindex
  // entry stay too.
  const auto& h4 = batches[1].header;
  EXPECT_EQ(h4.base_offset, last4);
  EXPECT_EQ(h4.records_count, 0);
  EXPECT_TRUE(h4.is_transactional());
  EXPECT_EQ(h4.producer_id, 4);
  EXPECT_EQ(batches[2].header.base_offset, abort4);
  EXPECT_TRUE(batches[2].header.is_control());
  ASSERT_EQ(f.log->CollectAbortedTxns(0, f.log->LogEndOffset()).size(), 1u);
  EXPECT_FALSE(HasValue(ReadUncommitted(*f.log), "aborted"));
  EXPECT_EQ(LatestByKey(ReadCommitted(*f.log))["a"], std::optional<std::string>("plain"));

  // A replay of the cleaned log (no snapshot) still knows both producers.
  ASSERT_TRUE(f.log->Close().ok());
  for (const auto& name : FilesWithSuffix(f.dir, ".snapshot")) fs::remove(f.dir + "/" + name);
  f.log = OpenLog(f.dir, config, &f.clock, /*clean=*/false);
  f.log->SetHighWatermark(f.log->LogEndOffset());
  ASSERT_TRUE(f.log->ProducerState(3).has_value());
  EXPECT_EQ(f.log->ProducerState(3)->last_seq(), 2);
  EXPECT_EQ(f.log->ProducerState(3)->epoch, 2);
  ASSERT_TRUE(f.log->ProducerState(4).has_value());
  EXPECT_EQ(f.log->ProducerState(4)->current_txn_first_offset, -1);
  EXPECT_EQ(f.log->LastStableOffset(), f.log->LogEndOffset());
  // The producer sends on with the next sequence.
  p3.log = f.log.get();
  p3.Send({{"d", "p3-3"}}, f.clock.NowMs());

  // Once the producers expire, their old batches are ordinary emptied batches.
  f.clock.AdvanceMs(2 * 3600'000);
  EXPECT_EQ(f.log->RemoveExpiredProducers(), 2);
  f.Updates(40, 3);
  ASSERT_TRUE(f.CleanOnce().has_value());
  for (const auto& b : ReadBatches(*f.log, FetchIsolation::kLogEnd)) {
    EXPECT_NE(b.header.base_offset, last4);
    EXPECT_GT(b.header.records_count, 0) << "at " << b.header.base_offset;
  }
}

TEST(LogCleanerTxnTest, ReadCommittedOfACleanedLogIsTheLatestCommittedValues) {
  LogConfig config = CompactConfig();
  config.delete_retention_ms = 600'000;
  config.min_cleanable_dirty_ratio = 0;  // every pass cleans
  Fixture f(config);
  std::map<std::string, std::optional<std::string>> expected;
  std::vector<TestProducer> producers;
  for (int64_t pid = 1; pid <= 3; ++pid) producers.push_back(TestProducer{f.log.get(), pid});
  uint32_t rnd = 12345;
  auto next = [&](uint32_t n) {
    rnd = rnd * 1103515245 + 12345;
    return (rnd >> 8) % n;
  };
  for (int round = 0; round < 60; ++round) {
    TestProducer& p = producers[next(3)];
    const bool commit = next(3) != 0;
    std::map<std::string, std::optional<std::string>> writes;
    const int batches = 1 + static_cast<int>(next(3));
    for (int b = 0; b < batches; ++b) {
      std::vector<KeyValue> kvs;
      for (int i = 0; i < 3; ++i) {
        std::string key = "t" + std::to_string(next(8));
        std::string value =
            (commit ? "c" : "aborted") + std::to_string(round) + std::string(30, '.');
        kvs.emplace_back(key, value);
        writes[key] = value;
      }
      p.Send(kvs, f.clock.NowMs());
    }
    p.End(commit);
    if (commit) {
      for (const auto& [k, v] : writes) expected[k] = v;
    }
    if (round % 4 == 0) {
      std::string key = "t" + std::to_string(next(8));
      std::string value = "plain" + std::to_string(round);
      Put(f.log.get(), key, value, f.clock.NowMs());
      expected[key] = value;
    }
  }
  // Plain updates of other keys roll the segments.
  auto updates = [&] {
    f.Updates(30, 2);
    for (const auto& [k, v] : LatestByKey(ReadUncommitted(*f.log))) {
      if (k[0] == 'k') expected[k] = v;
    }
  };
  updates();
  ASSERT_EQ(LatestByKey(ReadCommitted(*f.log)), expected);
  const int64_t size_before = f.log->Size();
  ASSERT_EQ(Markers(*f.log).size(), 60u);

  for (int pass = 0; pass < 3; ++pass) {
    ASSERT_TRUE(f.CleanOnce().has_value());
    EXPECT_EQ(LatestByKey(ReadCommitted(*f.log)), expected) << "pass " << pass;
    auto uncommitted = ReadUncommitted(*f.log);
    EXPECT_FALSE(HasValue(uncommitted, "aborted")) << "pass " << pass;
    for (const auto& rec : uncommitted) {
      EXPECT_EQ(rec.value->find("aborted"), std::string::npos) << "pass " << pass;
    }
    EXPECT_EQ(LatestByKey(uncommitted), expected) << "pass " << pass;
    f.clock.AdvanceMs(400'000);
    updates();
  }
  EXPECT_LT(f.log->Size(), size_before / 2);
  // Past delete.retention.ms, the markers of emptied transactions went.
  EXPECT_LT(Markers(*f.log).size(), 20u);
  // Only the markers of the producers' last transactions (and of transactions whose records
  // survived) remain; every .txnindex entry belongs to a kept ABORT.
  std::set<int64_t> abort_offsets;
  for (const auto& [offset, pid, type] : Markers(*f.log)) {
    if (type == 0) abort_offsets.insert(offset);
  }
  for (const auto& txn : f.log->CollectAbortedTxns(0, f.log->LogEndOffset())) {
    EXPECT_TRUE(abort_offsets.count(txn.last_offset)) << txn.last_offset;
    abort_offsets.erase(txn.last_offset);
  }
  EXPECT_TRUE(abort_offsets.empty()) << "a kept ABORT without its .txnindex entry";
}

TEST(LogCleanerTxnTest, NothingFromTheFirstUnstableOffsetOnIsCleaned) {
  Fixture f;
  f.Updates(20, 2);
  TestProducer p9{f.log.get(), 9};
  const int64_t open_from = p9.Send({{"k0", "open"}}, f.clock.NowMs());  // never ended
  f.Updates(100, 2);
  ASSERT_EQ(f.log->LastStableOffset(), open_from);
  auto before = ReadUncommitted(*f.log);
  auto r = f.CleanOnce();
  ASSERT_TRUE(r.has_value());
  EXPECT_LE(r->end_offset, open_from);
  int from_open = 0;
  for (const auto& rec : ReadUncommitted(*f.log)) from_open += rec.offset >= open_from;
  int before_open = 0;
  for (const auto& rec : before) before_open += rec.offset >= open_from;
  EXPECT_EQ(from_open, before_open);
  EXPECT_TRUE(HasValue(ReadUncommitted(*f.log), "open"));
}

// ---- crash simulation ----

class CleanerCrashTest : public ::testing::Test {
 protected:
  // Builds a log in `a_`, copies it to `b_` (the state before the clean), then cleans `a_`
  // with a segment.bytes large enough to merge every inactive segment into one group.
  void SetUp() override {
    a_ = tmp_.path() + "/a/orders-3";
    b_ = tmp_.path() + "/b/orders-3";
    auto log = OpenLog(a_, CompactConfig(), &clock_);
    for (int i = 0; i < 300; ++i) {
      Put(log.get(), "k" + std::to_string(i % 7), "v" + std::to_string(i) + std::string(50, '.'),
          clock_.NowMs());
    }
    expected_ = LatestByKey(ReadRecords(*log));
    ASSERT_TRUE(log->Flush().ok());
    fs::create_directories(tmp_.path() + "/b");
    fs::copy(a_, b_, fs::copy_options::recursive);
    old_logs_ = FilesWithSuffix(b_, ".log");
    ASSERT_GT(old_logs_.size(), 5u);

    LogConfig merge = CompactConfig();
    merge.segment_bytes = 1 << 20;
    log->UpdateConfig(merge);
    std::shared_ptr<Log> shared(log.get(), [](Log*) {});
    LogCleaner cleaner(
        SmallCleaner(), {tmp_.path() + "/a"}, [&] { return std::vector{shared}; }, &clock_);
    auto r = cleaner.CleanOnce();
    ASSERT_TRUE(r.ok() && r->has_value());
    ASSERT_EQ((*r)->segments_out, 1);
    ASSERT_GT((*r)->segments_in, 3);
    cleaned_records_ = Offsets(ReadRecords(*log));
    ASSERT_TRUE(log->Close().ok());
    new_logs_ = FilesWithSuffix(a_, ".log");
  }

  // Puts a's cleaned group (base 0) into b as `<0>.<ext>.swap`.
  void CopySwap(const char* ext) {
    fs::copy_file(SegmentPath(a_, 0, ext), SegmentPath(b_, 0, ext) + ".swap",
                  fs::copy_options::overwrite_existing);
  }

  void ExpectRecovered(bool swapped) {
    auto log = OpenLog(b_, CompactConfig(), &clock_, /*clean=*/false);
    ASSERT_NE(log, nullptr);
    log->SetHighWatermark(log->LogEndOffset());
    auto records = ReadRecords(*log);
    EXPECT_EQ(LatestByKey(records), expected_) << "no key lost";
    auto offsets = Offsets(records);
    for (size_t i = 1; i < offsets.size(); ++i) ASSERT_LT(offsets[i - 1], offsets[i]);
    EXPECT_EQ(log->LogEndOffset(), 300);
    if (swapped) {
      EXPECT_EQ(offsets, cleaned_records_);
      EXPECT_EQ(FilesWithSuffix(b_, ".log"), new_logs_);
    } else {
      EXPECT_EQ(offsets.size(), 300u);
      EXPECT_EQ(FilesWithSuffix(b_, ".log"), old_logs_);
    }
    EXPECT_TRUE(FilesWithSuffix(b_, ".swap").empty());
    EXPECT_TRUE(FilesWithSuffix(b_, ".cleaned").empty());
    EXPECT_TRUE(FilesWithSuffix(b_, ".deleted").empty());
  }

  TempDir tmp_;
  FakeClock clock_{SystemClock::Get()->NowMs()};
  std::string a_, b_;
  std::map<std::string, std::optional<std::string>> expected_;
  std::set<std::string> old_logs_, new_logs_;
  std::vector<int64_t> cleaned_records_;
};

TEST_F(CleanerCrashTest, CleanedFilesBeforeTheSwapAreDropped) {
  for (const char* ext : {".log", ".index", ".timeindex"}) {
    fs::copy_file(SegmentPath(a_, 0, ext), SegmentPath(b_, 0, ext) + ".cleaned");
  }
  ExpectRecovered(/*swapped=*/false);
}

TEST_F(CleanerCrashTest, TornCleanedFileIsDropped) {
  std::ofstream(SegmentPath(b_, 0, ".log") + ".cleaned") << "half a batch";
  ExpectRecovered(/*swapped=*/false);
}

TEST_F(CleanerCrashTest, SwapWithOldSegmentsIntactIsCompleted) {
  for (const char* ext : {".log", ".index", ".timeindex"}) CopySwap(ext);
  ExpectRecovered(/*swapped=*/true);
}

TEST_F(CleanerCrashTest, SwapWithSomeOldSegmentsDeletedIsCompleted) {
  for (const char* ext : {".log", ".index", ".timeindex"}) CopySwap(ext);
  int n = 0;
  for (const auto& name : old_logs_) {
    if (n++ % 2 != 0) continue;
    fs::rename(b_ + "/" + name, b_ + "/" + name + ".deleted");
  }
  ExpectRecovered(/*swapped=*/true);
}

TEST_F(CleanerCrashTest, SwapHalfRenamedIsCompleted) {
  // Old segments gone to .deleted, indexes already renamed in, the .log still a .swap.
  for (const auto& name : FilesWithSuffix(b_, "")) {
    if (name.find(".log") != std::string::npos || name.find("index") != std::string::npos)
      fs::rename(b_ + "/" + name, b_ + "/" + name + ".deleted");
  }
  fs::copy_file(SegmentPath(a_, 0, ".index"), SegmentPath(b_, 0, ".index"));
  fs::copy_file(SegmentPath(a_, 0, ".timeindex"), SegmentPath(b_, 0, ".timeindex"));
  CopySwap(".log");
  // The active segment was not part of the group: give it back.
  auto active = *new_logs_.rbegin();
  fs::rename(b_ + "/" + active + ".deleted", b_ + "/" + active);
  ExpectRecovered(/*swapped=*/true);
}

TEST_F(CleanerCrashTest, OrphanIndexSwapIsRemoved) {
  CopySwap(".index");
  ExpectRecovered(/*swapped=*/false);
}

// ---- LogManager wiring ----

TEST(LogCleanerManagerTest, BackgroundThreadCleansACompactedLog) {
  TempDir tmp;
  FakeClock clock{SystemClock::Get()->NowMs()};
  LogManager::Options o;
  o.log_dirs = {tmp.path()};
  o.broker_id = 1;
  o.clock = &clock;
  o.cleaner = SmallCleaner();
  o.cleaner.backoff_ms = 10;
  o.cleaner.threads = 2;
  auto m = LogManager::Open(o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto log = (*m)->GetOrCreateLog(kTp, CompactConfig(), {});
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 300; ++i)
    Put(log->get(), "k" + std::to_string(i % 3), std::string(60, 'x'), clock.NowMs());
  const int64_t before = (*log)->Size();
  (*m)->StartCleaner();
  // A whole pass is done when the checkpoint is written (Shutdown would abort a pass).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!(*m)->cleaner()->CheckpointFor(kTp).has_value() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_LT((*log)->Size(), before / 4);
  ASSERT_TRUE((*m)->Shutdown().ok());
  auto cp = ReadOffsetCheckpoint(tmp.path() + "/" + kCleanerOffsetCheckpointFile);
  ASSERT_TRUE(cp.ok());
  EXPECT_GT(cp->at(kTp), 0);
}

TEST(LogCleanerManagerTest, DeleteLogForgetsItsCheckpoint) {
  TempDir tmp;
  FakeClock clock{SystemClock::Get()->NowMs()};
  LogManager::Options o;
  o.log_dirs = {tmp.path()};
  o.broker_id = 1;
  o.clock = &clock;
  o.cleaner = SmallCleaner();
  auto m = LogManager::Open(o);
  ASSERT_TRUE(m.ok());
  auto log = (*m)->GetOrCreateLog(kTp, CompactConfig(), {});
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 200; ++i)
    Put(log->get(), "k" + std::to_string(i % 3), std::string(60, 'x'), clock.NowMs());
  auto r = (*m)->cleaner()->CleanOnce();
  ASSERT_TRUE(r.ok() && r->has_value());
  ASSERT_TRUE((*m)->cleaner()->CheckpointFor(kTp).has_value());
  ASSERT_TRUE((*m)->DeleteLog(kTp).ok());
  EXPECT_FALSE((*m)->cleaner()->CheckpointFor(kTp).has_value());
}

}  // namespace
}  // namespace gregor::log

namespace gregor::log {
namespace {

TEST(ThrottlerTest, SleepsToHoldTheRate) {
  Throttler t(1'000'000);  // 1 MB/s
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) t.Maybe(100'000);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
}

TEST(ThrottlerTest, UnlimitedByDefaultAndCancelWakesSleepers) {
  Throttler unlimited(DBL_MAX);
  auto start = std::chrono::steady_clock::now();
  unlimited.Maybe(uint64_t{1} << 40);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  Throttler slow(1);  // 1 byte/s: 1 MB would take days
  std::thread canceller([&] { slow.Cancel(); });
  slow.Maybe(1'000'000);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

}  // namespace
}  // namespace gregor::log
