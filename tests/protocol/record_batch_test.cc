#include "gregor/protocol/record_batch.h"

#include <random>

#include "gregor/base/crc32c.h"
#include "gtest/gtest.h"

namespace gregor::protocol {
namespace {

uint8_t* B(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }

std::string ThreeRecords() {
  return BuildRecordBatch(0, 1'700'000'000'000,
                          {{"k0", "v0"}, {std::nullopt, "v1"}, {"k2", std::nullopt}});
}

// Golden bytes of a one-record batch, laid out by hand from the v2 format description:
// key "a", value "b", timestamp 1000, no headers.
TEST(RecordBatchTest, BuildMatchesHandEncodedBytes) {
  std::string got = BuildRecordBatch(0, 1000, {{"a", "b"}});
  const uint8_t record[] = {
      0x10,       // record length 8 (zig-zag)
      0x00,       // attributes
      0x00,       // timestamp delta 0
      0x00,       // offset delta 0
      0x02, 'a',  // key length 1, "a"
      0x02, 'b',  // value length 1, "b"
      0x00,       // header count 0
  };
  ASSERT_EQ(got.size(), kRecordBatchOverhead + sizeof(record));
  EXPECT_EQ(got.substr(kRecordBatchOverhead),
            std::string(reinterpret_cast<const char*>(record), sizeof(record)));
  const uint8_t header_start[] = {
      0,    0,    0,    0,    0, 0, 0, 0,  // base offset 0
      0,    0,    0,    58,                // batch length = 61 + 9 - 12
      0xff, 0xff, 0xff, 0xff,              // partition leader epoch -1
      2,                                   // magic
  };
  EXPECT_EQ(got.substr(0, sizeof(header_start)),
            std::string(reinterpret_cast<const char*>(header_start), sizeof(header_start)));
  RecordBatchHeader h;
  ASSERT_TRUE(ParseRecordBatchHeader(B(got), got.size(), &h));
  EXPECT_EQ(h.crc, Crc32c(0, got.data() + 21, got.size() - 21));
  EXPECT_EQ(h.base_timestamp, 1000);
  EXPECT_EQ(h.max_timestamp, 1000);
  EXPECT_EQ(h.producer_id, -1);
  EXPECT_EQ(h.producer_epoch, -1);
  EXPECT_EQ(h.base_sequence, -1);
  EXPECT_EQ(h.records_count, 1);
  EXPECT_EQ(h.last_offset_delta, 0);
}

TEST(RecordBatchTest, ValidateCountsRecordsAndBatches) {
  std::string set = ThreeRecords() + BuildRecordBatch(0, 5, {{"x", "y"}});
  int64_t records = 0;
  int32_t batches = 0;
  EXPECT_EQ(ValidateRecordSet(B(set), set.size(), 1 << 20, &records, &batches), BatchError::kNone);
  EXPECT_EQ(records, 4);
  EXPECT_EQ(batches, 2);
}

TEST(RecordBatchTest, ValidateRejectsBadCrc) {
  std::string b = ThreeRecords();
  b[b.size() - 4] ^= 0x10;
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 1 << 20, nullptr, nullptr), BatchError::kCorrupt);
}

TEST(RecordBatchTest, ValidateRejectsOldMagic) {
  std::string b = ThreeRecords();
  b[16] = 1;
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 1 << 20, nullptr, nullptr),
            BatchError::kUnsupportedMagic);
}

TEST(RecordBatchTest, ValidateRejectsTruncatedAndTrailingBytes) {
  std::string b = ThreeRecords();
  std::string cut = b.substr(0, b.size() - 1);
  EXPECT_EQ(ValidateRecordSet(B(cut), cut.size(), 1 << 20, nullptr, nullptr), BatchError::kCorrupt);
  std::string tail = b + std::string(10, '\0');
  EXPECT_EQ(ValidateRecordSet(B(tail), tail.size(), 1 << 20, nullptr, nullptr),
            BatchError::kCorrupt);
  std::string tiny = b.substr(0, 30);
  EXPECT_EQ(ValidateRecordSet(B(tiny), tiny.size(), 1 << 20, nullptr, nullptr),
            BatchError::kCorrupt);
  EXPECT_EQ(ValidateRecordSet(nullptr, 0, 1 << 20, nullptr, nullptr), BatchError::kInvalidRecord);
}

TEST(RecordBatchTest, ValidateRejectsOversizeBatch) {
  std::string b = BuildRecordBatch(0, 1, {{"k", std::string(1000, 'v')}});
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 500, nullptr, nullptr), BatchError::kTooLarge);
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), static_cast<int32_t>(b.size()), nullptr, nullptr),
            BatchError::kNone);
}

TEST(RecordBatchTest, ValidateRejectsInconsistentCounts) {
  std::string b = ThreeRecords();
  b[60] = 2;  // records count 3 -> 2 (last byte of the big-endian int32)
  UpdateBatchCrc(B(b));
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 1 << 20, nullptr, nullptr),
            BatchError::kInvalidRecord);
  std::string c = ThreeRecords();
  c[26] = 5;  // last offset delta 2 -> 5
  c[60] = 6;  // and count 6: consistent header, but only 3 records inside
  UpdateBatchCrc(B(c));
  EXPECT_EQ(ValidateRecordSet(B(c), c.size(), 1 << 20, nullptr, nullptr),
            BatchError::kInvalidRecord);
}

TEST(RecordBatchTest, ValidateRejectsBadRecordLength) {
  std::string b = BuildRecordBatch(0, 1, {{"a", "b"}});
  b[61] = 0x0e;  // record length 7 instead of 8
  UpdateBatchCrc(B(b));
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 1 << 20, nullptr, nullptr),
            BatchError::kInvalidRecord);
}

TEST(RecordBatchTest, StampSetsOffsetEpochWithoutBreakingCrc) {
  std::string b = ThreeRecords();
  StampBatch(B(b), 1234, 9, -1);
  RecordBatchHeader h;
  EXPECT_EQ(CheckStoredBatch(B(b), b.size(), &h), BatchError::kNone);
  EXPECT_EQ(h.base_offset, 1234);
  EXPECT_EQ(h.partition_leader_epoch, 9);
  EXPECT_FALSE(h.log_append_time());
}

TEST(RecordBatchTest, StampLogAppendTimeRecomputesCrc) {
  std::string b = ThreeRecords();
  StampBatch(B(b), 0, 1, 42'000);
  RecordBatchHeader h;
  ASSERT_EQ(CheckStoredBatch(B(b), b.size(), &h), BatchError::kNone);
  EXPECT_TRUE(h.log_append_time());
  EXPECT_EQ(h.max_timestamp, 42'000);
  std::vector<Record> recs;
  ASSERT_TRUE(DecodeBatchRecords(B(b), b.size(), &recs));
  for (const auto& r : recs) EXPECT_EQ(r.timestamp, 42'000);
}

TEST(RecordBatchTest, DecodeRoundTripsKeysValuesHeadersTimestamps) {
  BatchSpec spec;
  spec.base_offset = 100;
  std::vector<RecordSpec> in(2);
  in[0].key = "key";
  in[0].value = std::string(300, 'z');  // a two-byte varint length
  in[0].timestamp = 5000;
  in[0].headers = {{"h1", "x"}, {"h2", std::nullopt}};
  in[1].value = std::nullopt;
  in[1].timestamp = 4000;  // negative delta
  std::string b = BuildRecordBatch(spec, in);
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 1 << 20, nullptr, nullptr), BatchError::kNone);
  RecordBatchHeader h;
  ParseRecordBatchHeader(B(b), b.size(), &h);
  EXPECT_EQ(h.max_timestamp, 5000);
  std::vector<Record> out;
  ASSERT_TRUE(DecodeBatchRecords(B(b), b.size(), &out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].offset, 100);
  EXPECT_EQ(*out[0].key, "key");
  EXPECT_EQ(out[0].value->size(), 300u);
  ASSERT_EQ(out[0].headers.size(), 2u);
  EXPECT_EQ(out[0].headers[0].first, "h1");
  EXPECT_EQ(*out[0].headers[0].second, "x");
  EXPECT_FALSE(out[0].headers[1].second.has_value());
  EXPECT_EQ(out[1].offset, 101);
  EXPECT_FALSE(out[1].key.has_value());
  EXPECT_FALSE(out[1].value.has_value());
  EXPECT_EQ(out[1].timestamp, 4000);
}

// Six one-letter records at offsets base..base+5, each record exactly 9 bytes.
std::string SixRecords() {
  return BuildRecordBatch(100, 1000,
                          {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}});
}

void Put32(std::string& b, size_t at, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) b[at + i] = static_cast<char>(v & 0xff);
}

// What the log cleaner leaves of SixRecords(): the records at the given offset deltas, in the
// given order, under the original header (base offset, last offset delta) with length, count
// and CRC recomputed.
std::string Compacted(const std::vector<int>& keep, int32_t last_offset_delta = 5) {
  std::string six = SixRecords();
  std::string b = six.substr(0, kRecordBatchOverhead);
  for (int d : keep) b += six.substr(kRecordBatchOverhead + 9 * d, 9);
  Put32(b, 8, static_cast<uint32_t>(b.size() - kRecordBatchLogOverhead));
  Put32(b, 23, static_cast<uint32_t>(last_offset_delta));
  Put32(b, 57, static_cast<uint32_t>(keep.size()));
  UpdateBatchCrc(B(b));
  return b;
}

TEST(RecordBatchTest, DecodeAcceptsTheOffsetGapsOfACompactedBatch) {
  std::string six = SixRecords();
  ASSERT_EQ(six.size(), kRecordBatchOverhead + 6 * 9);  // the 9-byte records Compacted() slices
  std::string b = Compacted({0, 2, 5});
  RecordBatchHeader h;
  ASSERT_EQ(CheckStoredBatch(B(b), b.size(), &h), BatchError::kNone);
  EXPECT_EQ(h.last_offset(), 105);
  std::vector<Record> out;
  ASSERT_TRUE(DecodeBatchRecords(B(b), b.size(), &out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].offset, 100);
  EXPECT_EQ(*out[0].key, "a");
  EXPECT_EQ(out[1].offset, 102);
  EXPECT_EQ(*out[1].key, "c");
  EXPECT_EQ(out[2].offset, 105);
  EXPECT_EQ(*out[2].key, "f");
  EXPECT_EQ(*out[2].value, "6");
  // A producer may not send gaps: Produce's validation keeps the strict check.
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 1 << 20, nullptr, nullptr),
            BatchError::kInvalidRecord);
  // Only the last record left (a gap at the start).
  b = Compacted({4});
  out.clear();
  ASSERT_TRUE(DecodeBatchRecords(B(b), b.size(), &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, 104);
}

TEST(RecordBatchTest, DecodeRejectsUnorderedOrOutOfRangeOffsetDeltas) {
  std::vector<Record> out;
  std::string b = Compacted({2, 0});  // decreasing
  EXPECT_FALSE(DecodeBatchRecords(B(b), b.size(), &out));
  b = Compacted({2, 2});  // repeated
  EXPECT_FALSE(DecodeBatchRecords(B(b), b.size(), &out));
  b = Compacted({0, 5}, 4);  // past last_offset_delta
  EXPECT_FALSE(DecodeBatchRecords(B(b), b.size(), &out));
  b = Compacted({0, 4}, 4);  // the same records within range are fine
  out.clear();
  EXPECT_TRUE(DecodeBatchRecords(B(b), b.size(), &out));
  EXPECT_EQ(out.size(), 2u);
}

TEST(RecordBatchTest, CompressedBatchIsValidatedByHeaderOnly) {
  BatchSpec spec;
  spec.attributes = 1;  // gzip: the bytes are opaque, only framing and CRC are checked
  std::string b = BuildRecordBatch(spec, std::vector<RecordSpec>(2));
  int64_t records = 0;
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), 1 << 20, &records, nullptr), BatchError::kNone);
  EXPECT_EQ(records, 2);
  std::string bad = b;
  bad[22] = 7;  // compression codec 7 does not exist
  UpdateBatchCrc(B(bad));
  EXPECT_EQ(ValidateRecordSet(B(bad), bad.size(), 1 << 20, nullptr, nullptr),
            BatchError::kInvalidRecord);
}

TEST(RecordBatchTest, HostileLengthsNeverReadOutOfBounds) {
  std::string b = ThreeRecords();
  // batch_length claims far more than the buffer.
  b[8] = 0x7f;
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), INT32_MAX, nullptr, nullptr), BatchError::kCorrupt);
  // Negative batch length.
  b[8] = static_cast<char>(0xff);
  EXPECT_EQ(ValidateRecordSet(B(b), b.size(), INT32_MAX, nullptr, nullptr), BatchError::kCorrupt);
}

TEST(RecordBatchTest, RandomCorruptionIsRejectedNotCrashed) {
  std::string good = ThreeRecords() + BuildRecordBatch(0, 9, {{"k", std::string(200, 'v')}});
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string b = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<char>(rng());
    if (rng() % 3 == 0) b.resize(rng() % b.size());
    // Re-sign half of them so the record walker, not just the CRC, sees the damage.
    if (b.size() >= kRecordBatchOverhead && rng() % 2 == 0) {
      RecordBatchHeader h;
      ParseRecordBatchHeader(B(b), b.size(), &h);
      if (h.batch_length >= 49 && h.total_size() <= b.size()) UpdateBatchCrc(B(b));
    }
    int64_t records = 0;
    int32_t batches = 0;
    if (ValidateRecordSet(B(b), b.size(), 1 << 20, &records, &batches) == BatchError::kNone) {
      ++accepted;
    }
    std::vector<Record> out;
    DecodeBatchRecords(B(b), b.size(), &out);
  }
  EXPECT_LT(accepted, 5000);
}

}  // namespace
}  // namespace gregor::protocol
