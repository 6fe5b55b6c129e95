// LogValidator: Kafka's append-time checks and its rewrite of batches to the topic's
// compression.type, with real codecs and real batches; and Log::AppendAsLeader storing what the
// validator returns.

#include "gregor/log/log_validator.h"

#include <random>

#include "gregor/base/clock.h"
#include "gregor/protocol/compression.h"
#include "gregor/protocol/record_batch_reader.h"
#include "gtest/gtest.h"
#include "log_test_util.h"

namespace gregor::log {
namespace {

using protocol::BatchSpec;
using protocol::RecordSpec;
using testing::Bytes;

constexpr int64_t kNow = 1'700'000'000'000;

std::vector<RecordSpec> Records(int n, int64_t ts = kNow, bool keys = true) {
  std::vector<RecordSpec> out;
  for (int i = 0; i < n; ++i) {
    RecordSpec r;
    if (keys) r.key = "key-" + std::to_string(i % 7);
    r.value = "value-" + std::to_string(i) + std::string(50, 'a' + i % 26);
    r.timestamp = ts + i;
    if (i % 3 == 0) r.headers.push_back({"h" + std::to_string(i), std::string("x")});
    out.push_back(std::move(r));
  }
  return out;
}

std::string Batch(int codec, const std::vector<RecordSpec>& records, int64_t base_offset = 0) {
  BatchSpec spec;
  spec.attributes = static_cast<int16_t>(codec);
  spec.base_offset = base_offset;
  spec.producer_id = 42;
  spec.producer_epoch = 3;
  spec.base_sequence = 17;
  return protocol::BuildRecordBatch(spec, records);
}

ValidationOptions Options(int compression_type = -1) {
  ValidationOptions o;
  o.compression_type = compression_type;
  o.compression_level = protocol::DefaultCompressionLevel(std::max(compression_type, 0));
  o.now_ms = kNow;
  return o;
}

// Every record of the one batch in [p, p + n), field by field, with its offset.
struct Seen {
  int64_t offset;
  int64_t timestamp;
  std::optional<std::string> key, value;
  std::string headers;
};
std::vector<Seen> ReadBack(const uint8_t* p, size_t n, protocol::RecordBatchHeader* header) {
  protocol::RecordBatchReader reader;
  EXPECT_TRUE(reader.Reset({p, n}, 64 << 20).ok());
  *header = reader.header();
  std::vector<Seen> out;
  protocol::RecordView r;
  while (reader.Next(&r)) {
    Seen s{r.offset, r.create_timestamp, std::nullopt, std::nullopt,
           std::string(r.headers.begin(), r.headers.end())};
    if (r.has_key) s.key = std::string(r.key.begin(), r.key.end());
    if (r.has_value) s.value = std::string(r.value.begin(), r.value.end());
    out.push_back(std::move(s));
  }
  EXPECT_TRUE(reader.status().ok()) << reader.status().ToString();
  return out;
}

TEST(LogValidatorTest, ProducerCodecIsKeptInPlace) {
  for (int codec = 0; codec <= protocol::kCompressionZstd; ++codec) {
    std::string b = Batch(codec, Records(20));
    auto v = ValidateRecordsForAppend(Bytes(b), b.size(), Options(), nullptr);
    ASSERT_TRUE(v.ok()) << protocol::CompressionName(codec) << ": " << v.status().ToString();
    EXPECT_EQ(v->data, Bytes(b));
    EXPECT_FALSE(v->rebuilt);
    EXPECT_EQ(v->records, 20);
    EXPECT_EQ(v->batches, 1);
  }
}

TEST(LogValidatorTest, TopicCodecRecompressesEveryCombinationKeepingRecordsAndProducerFields) {
  for (int from = 0; from <= protocol::kCompressionZstd; ++from) {
    for (int to = 0; to <= protocol::kCompressionZstd; ++to) {
      SCOPED_TRACE(std::string(protocol::CompressionName(from)) + " -> " +
                   protocol::CompressionName(to));
      std::string b = Batch(from, Records(30));
      protocol::RecordBatchHeader want;
      auto expected = ReadBack(Bytes(b), b.size(), &want);
      auto v = ValidateRecordsForAppend(Bytes(b), b.size(), Options(to), nullptr);
      ASSERT_TRUE(v.ok()) << v.status().ToString();
      EXPECT_EQ(v->rebuilt, from != to);
      EXPECT_EQ(v->records, 30);
      protocol::RecordBatchHeader got;
      auto records = ReadBack(v->data, v->size, &got);
      EXPECT_EQ(got.compression(), to);
      EXPECT_EQ(got.producer_id, 42);
      EXPECT_EQ(got.producer_epoch, 3);
      EXPECT_EQ(got.base_sequence, 17);
      EXPECT_EQ(got.records_count, 30);
      EXPECT_EQ(got.last_offset_delta, 29);
      EXPECT_EQ(got.max_timestamp, kNow + 29);
      ASSERT_EQ(records.size(), expected.size());
      for (size_t i = 0; i < records.size(); ++i) {
        EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
        EXPECT_EQ(records[i].timestamp, expected[i].timestamp);
        EXPECT_EQ(records[i].key, expected[i].key);
        EXPECT_EQ(records[i].value, expected[i].value);
        EXPECT_EQ(records[i].headers, expected[i].headers);
      }
    }
  }
}

TEST(LogValidatorTest, CompressedBatchWithWrongInnerOffsetsIsRebuiltWithItsCodec) {
  std::string b = Batch(protocol::kCompressionLz4, Records(5), /*base_offset=*/100);
  auto v = ValidateRecordsForAppend(Bytes(b), b.size(), Options(), nullptr);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->rebuilt);
  protocol::RecordBatchHeader h;
  auto records = ReadBack(v->data, v->size, &h);
  EXPECT_EQ(h.compression(), protocol::kCompressionLz4);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records.front().offset, 0);
  EXPECT_EQ(records.back().offset, 4);
}

TEST(LogValidatorTest, CompressedSetsHoldOneBatch) {
  std::string two = Batch(protocol::kCompressionGzip, Records(3)) + Batch(0, Records(3));
  auto v = ValidateRecordsForAppend(Bytes(two), two.size(), Options(), nullptr);
  EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument);
  // Two uncompressed batches for a topic that compresses: refused the same way.
  std::string plain = Batch(0, Records(3)) + Batch(0, Records(3));
  v = ValidateRecordsForAppend(Bytes(plain), plain.size(), Options(protocol::kCompressionZstd),
                               nullptr);
  EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument);
  // ... and accepted as they are with "producer".
  v = ValidateRecordsForAppend(Bytes(plain), plain.size(), Options(), nullptr);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->batches, 2);
}

TEST(LogValidatorTest, CompactedTopicRefusesKeylessRecordsWithTheirIndexInAnyCodec) {
  for (int codec = 0; codec <= protocol::kCompressionZstd; ++codec) {
    auto recs = Records(6);
    recs[2].key.reset();
    recs[5].key.reset();
    std::string b = Batch(codec, recs);
    ValidationOptions o = Options();
    o.compact = true;
    RecordErrors errors;
    auto v = ValidateRecordsForAppend(Bytes(b), b.size(), o, &errors);
    EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument);
    ASSERT_EQ(errors.errors.size(), 2u) << protocol::CompressionName(codec);
    EXPECT_EQ(errors.errors[0].batch_index, 2);
    EXPECT_EQ(errors.errors[1].batch_index, 5);
    EXPECT_FALSE(errors.invalid_timestamp);
    // With keys everywhere the same batch passes.
    std::string keyed = Batch(codec, Records(6));
    EXPECT_TRUE(ValidateRecordsForAppend(Bytes(keyed), keyed.size(), o, &errors).ok());
    EXPECT_TRUE(errors.errors.empty());
  }
}

TEST(LogValidatorTest, TimestampsOutsideTheBoundsAreInvalidTimestamps) {
  ValidationOptions o = Options();
  o.timestamp_before_max_ms = 1000;
  o.timestamp_after_max_ms = 500;
  auto recs = Records(3);
  recs[0].timestamp = kNow - 1000;  // at the bound: fine
  recs[1].timestamp = kNow - 1001;  // too old
  recs[2].timestamp = kNow + 501;   // too far ahead
  for (int codec : {protocol::kCompressionNone, protocol::kCompressionSnappy}) {
    std::string b = Batch(codec, recs);
    RecordErrors errors;
    auto v = ValidateRecordsForAppend(Bytes(b), b.size(), o, &errors);
    EXPECT_FALSE(v.ok());
    EXPECT_TRUE(errors.invalid_timestamp);
    ASSERT_EQ(errors.errors.size(), 2u);
    EXPECT_EQ(errors.errors[0].batch_index, 1);
    EXPECT_EQ(errors.errors[1].batch_index, 2);
  }
  // LogAppendTime topics do not look at the producer's timestamps.
  o.log_append_time = true;
  std::string b = Batch(0, recs);
  EXPECT_TRUE(ValidateRecordsForAppend(Bytes(b), b.size(), o, nullptr).ok());
}

TEST(LogValidatorTest, ProducerMayNotSetLogAppendTime) {
  std::string b = Batch(0, Records(2));
  b[22] |= protocol::kTimestampTypeBit;  // attributes low byte
  protocol::UpdateBatchCrc(Bytes(b));
  ValidationOptions o = Options();
  o.log_append_time = true;
  RecordErrors errors;
  EXPECT_FALSE(ValidateRecordsForAppend(Bytes(b), b.size(), o, &errors).ok());
  EXPECT_TRUE(errors.invalid_timestamp);
  EXPECT_EQ(errors.errors.size(), 2u);
}

TEST(LogValidatorTest, DecompressionBombIsRefusedWithinTheLimit) {
  RecordSpec r;
  r.key = "k";
  r.value = std::string(40 << 20, '\0');  // 40 MiB of zeros: a few KiB compressed
  std::string b = Batch(protocol::kCompressionZstd, {r});
  ASSERT_LT(b.size(), 1u << 20);
  ValidationOptions o = Options();
  o.max_message_bytes = 1 << 20;  // the limit: 16 × 1 MiB
  auto v = ValidateRecordsForAppend(Bytes(b), b.size(), o, nullptr);
  EXPECT_EQ(v.status().code(), Status::Code::kCorruption) << v.status().ToString();
  // A legitimate batch under the limit still passes afterwards on the same thread.
  std::string ok = Batch(protocol::kCompressionZstd, Records(10));
  EXPECT_TRUE(ValidateRecordsForAppend(Bytes(ok), ok.size(), o, nullptr).ok());
}

TEST(LogValidatorTest, RebuiltBatchLargerThanMaxMessageBytesIsTooLarge) {
  RecordSpec r;
  r.key = "k";
  r.value = std::string(200000, 'z');
  std::string b = Batch(protocol::kCompressionLz4, {r});
  ValidationOptions o = Options(protocol::kCompressionNone);
  o.max_message_bytes = 100000;  // the lz4 batch fits; uncompressed it does not
  ASSERT_LT(b.size(), 100000u);
  auto v = ValidateRecordsForAppend(Bytes(b), b.size(), o, nullptr);
  EXPECT_EQ(v.status().code(), Status::Code::kTooLarge) << v.status().ToString();
}

TEST(LogValidatorTest, CorruptCompressedPayloadIsCorruption) {
  std::string b = Batch(protocol::kCompressionGzip, Records(10));
  b[b.size() - 10] ^= 0x55;
  protocol::UpdateBatchCrc(Bytes(b));  // a valid CRC over undecodable gzip
  auto v = ValidateRecordsForAppend(Bytes(b), b.size(), Options(), nullptr);
  EXPECT_EQ(v.status().code(), Status::Code::kCorruption);
}

TEST(LogValidatorTest, ClientControlBatchesAreRefused) {
  std::string b = Batch(0, Records(1));
  b[22] |= protocol::kControlBit;
  protocol::UpdateBatchCrc(Bytes(b));
  EXPECT_EQ(ValidateRecordsForAppend(Bytes(b), b.size(), Options(), nullptr).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(LogValidatorTest, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  std::string base = Batch(protocol::kCompressionSnappy, Records(8));
  for (int round = 0; round < 2000; ++round) {
    std::string b = base;
    // Odd rounds flip only CRC-covered bytes and fix the CRC, so the records are what is read.
    const size_t from = round % 2 ? protocol::kRecordBatchCrcStart : 0;
    for (int k = 0; k < 3; ++k) b[from + rng() % (b.size() - from)] = static_cast<char>(rng());
    if (round % 2) protocol::UpdateBatchCrc(Bytes(b));
    ValidationOptions o = Options(static_cast<int>(rng() % 6) - 1);
    o.compact = round % 3 == 0;
    (void)ValidateRecordsForAppend(Bytes(b), b.size(), o, nullptr);
  }
}

// The log stores what the validator returns: a zstd topic holds zstd batches with the offsets
// the log assigned.
TEST(LogValidatorTest, LogStoresRecompressedBatchesWithAssignedOffsets) {
  testing::TempDir dir;
  FakeClock clock(kNow);
  LogConfig config;
  config.compression_type = protocol::kCompressionZstd;
  config.compression_level = 3;
  auto log = Log::Open(dir.path() + "/t-0", {"t", 0}, config, &clock, 0, true);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 0; i < 3; ++i) {
    std::string b = protocol::BuildRecordBatch(BatchSpec{}, Records(4));
    auto r = (*log)->AppendAsLeader(Bytes(b), b.size(), /*leader_epoch=*/5);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->first_offset, i * 4);
  }
  auto read = (*log)->Read(0, 1 << 20, (*log)->LogEndOffset(), true);
  ASSERT_TRUE(read.ok());
  std::string bytes = testing::ReadAll(*read);
  size_t at = 0;
  int64_t next = 0;
  while (at < bytes.size()) {
    protocol::RecordBatchHeader h;
    auto records =
        ReadBack(reinterpret_cast<const uint8_t*>(bytes.data()) + at, bytes.size() - at, &h);
    EXPECT_EQ(h.compression(), protocol::kCompressionZstd);
    EXPECT_EQ(h.partition_leader_epoch, 5);
    for (const auto& r : records) EXPECT_EQ(r.offset, next++);
    at += h.total_size();
  }
  EXPECT_EQ(next, 12);
}

}  // namespace
}  // namespace gregor::log
