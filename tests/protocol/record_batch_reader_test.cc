// RecordBatchReader and RecordBatchBuilder: batches of every codec as real producers wrote them
// (golden segment files captured from gregord by testdata/compression/make_golden.py: librdkafka
// 2.0.2 and kafka-python 2.0.2, gzip/snappy/lz4/zstd), rebuilt with every codec, with their
// header fields kept; and refusal of corrupt, truncated and oversized batches.

#include "gregor/protocol/record_batch_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gregor/protocol/compression.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/record_batch_builder.h"

namespace gregor::protocol {
namespace {

constexpr size_t kMax = 1 << 20;
constexpr int kGoldenRecords = 30;
constexpr int64_t kGoldenBaseTs = 1700000000000;

std::vector<uint8_t> ReadGolden(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(__FILE__).parent_path();
  std::ifstream f(dir / "testdata" / "compression" / name, std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing golden file " << name;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::string Str(std::span<const uint8_t> s) { return std::string(s.begin(), s.end()); }
std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// What make_golden.py's record(i) produced.
struct Expected {
  std::optional<std::string> key, value, trace;
};
Expected GoldenRecord(int i) {
  Expected e;
  if (i % 10 != 9) e.key = "k" + std::to_string(i % 7);
  if (i % 11 != 10) {
    e.value = "v" + std::to_string(i) + ":";
    for (int n = 0; n < i % 4; ++n) *e.value += "gregor compresses ";
  }
  if (i % 3 == 0) e.trace = "t" + std::to_string(i);
  return e;
}

void ExpectGoldenRecord(const RecordView& r, int i) {
  SCOPED_TRACE("record " + std::to_string(i));
  Expected e = GoldenRecord(i);
  EXPECT_EQ(r.offset, i);
  EXPECT_EQ(r.timestamp, kGoldenBaseTs + i);
  EXPECT_EQ(r.create_timestamp, kGoldenBaseTs + i);
  ASSERT_EQ(r.has_key, e.key.has_value());
  if (e.key) {
    EXPECT_EQ(Str(r.key), *e.key);
  }
  ASSERT_EQ(r.has_value, e.value.has_value());
  if (e.value) {
    EXPECT_EQ(Str(r.value), *e.value);
  }
  ASSERT_EQ(r.header_count, e.trace ? 1 : 0);
  std::span<const uint8_t> headers = r.headers;
  RecordHeaderView h;
  if (e.trace) {
    ASSERT_TRUE(NextRecordHeader(&headers, &h));
    EXPECT_EQ(Str(h.key), "trace");
    ASSERT_TRUE(h.has_value);
    EXPECT_EQ(Str(h.value), *e.trace);
  }
  EXPECT_FALSE(NextRecordHeader(&headers, &h));
}

// Reads every batch of a segment's bytes; checks the records against the golden ones and that
// every batch uses `codec`. Returns the batches' bytes.
std::vector<std::vector<uint8_t>> ReadSegment(const std::vector<uint8_t>& seg, int codec) {
  std::vector<std::vector<uint8_t>> batches;
  RecordBatchReader reader;
  RecordView r;
  int next = 0;
  size_t pos = 0;
  while (pos < seg.size()) {
    std::span<const uint8_t> rest(seg.data() + pos, seg.size() - pos);
    Status st = reader.Reset(rest, kMax);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) break;
    EXPECT_EQ(reader.header().compression(), codec);
    while (reader.Next(&r)) ExpectGoldenRecord(r, next++);
    EXPECT_TRUE(reader.status().ok()) << reader.status().ToString();
    size_t total = reader.header().total_size();
    batches.emplace_back(rest.begin(), rest.begin() + total);
    pos += total;
  }
  EXPECT_EQ(next, kGoldenRecords);
  return batches;
}

const char* const kCodecNames[] = {"gzip", "snappy", "lz4", "zstd"};

TEST(RecordBatchReaderTest, ReadsWhatRealProducersCompressed) {
  for (const char* client : {"rdk", "kp"}) {
    for (int codec = 1; codec <= 4; ++codec) {
      std::string name = std::string(client) + "-" + kCodecNames[codec - 1] + ".log";
      SCOPED_TRACE(name);
      std::vector<uint8_t> seg = ReadGolden(name);
      ASSERT_FALSE(seg.empty());
      EXPECT_EQ(ReadSegment(seg, codec).size(), 1u);
    }
  }
}

TEST(RecordBatchReaderTest, SnappyGoldensCoverBothFramings) {
  // librdkafka writes a raw snappy block, kafka-python (like Kafka's Java producer) xerial.
  std::vector<uint8_t> rdk = ReadGolden("rdk-snappy.log"), kp = ReadGolden("kp-snappy.log");
  ASSERT_GT(rdk.size(), kRecordBatchOverhead + 8);
  ASSERT_GT(kp.size(), kRecordBatchOverhead + 8);
  EXPECT_NE(rdk[kRecordBatchOverhead], 0x82);
  EXPECT_EQ(kp[kRecordBatchOverhead], 0x82);
  EXPECT_EQ(kp[kRecordBatchOverhead + 1], 'S');
}

// Copies every record of `batch` into a new batch with `codec`, keeping its header.
std::vector<uint8_t> Rebuild(std::span<const uint8_t> batch, int codec, RecordBatchReader* reader,
                             RecordBatchBuilder* builder) {
  EXPECT_TRUE(reader->Reset(batch, kMax).ok());
  builder->Reset(reader->header());
  RecordView r;
  while (reader->Next(&r)) EXPECT_TRUE(builder->Add(r).ok());
  EXPECT_TRUE(reader->status().ok());
  std::vector<uint8_t> out;
  Status st = builder->Finish(codec, DefaultCompressionLevel(codec), &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(RecordBatchReaderTest, RebuildsGoldenBatchesWithEveryCodec) {
  RecordBatchReader reader;
  RecordBatchBuilder builder;
  for (const char* client : {"rdk", "kp"}) {
    for (int from = 1; from <= 4; ++from) {
      std::string name = std::string(client) + "-" + kCodecNames[from - 1] + ".log";
      std::vector<uint8_t> seg = ReadGolden(name);
      std::vector<std::vector<uint8_t>> batches = ReadSegment(seg, from);
      ASSERT_EQ(batches.size(), 1u);
      RecordBatchHeader orig;
      ASSERT_TRUE(ParseRecordBatchHeader(batches[0].data(), batches[0].size(), &orig));
      for (int to = 0; to <= 4; ++to) {
        SCOPED_TRACE(name + " -> " + CompressionName(to));
        std::vector<uint8_t> rebuilt = Rebuild(batches[0], to, &reader, &builder);
        std::vector<uint8_t> again = ReadSegment(rebuilt, to).at(0);
        RecordBatchHeader h;
        ASSERT_EQ(CheckStoredBatch(again.data(), again.size(), &h), BatchError::kNone);
        EXPECT_EQ(h.base_offset, orig.base_offset);
        EXPECT_EQ(h.partition_leader_epoch, orig.partition_leader_epoch);
        EXPECT_EQ(h.attributes & ~kCompressionMask, orig.attributes & ~kCompressionMask);
        EXPECT_EQ(h.last_offset_delta, orig.last_offset_delta);
        EXPECT_EQ(h.base_timestamp, orig.base_timestamp);
        EXPECT_EQ(h.max_timestamp, orig.max_timestamp);
        EXPECT_EQ(h.producer_id, orig.producer_id);
        EXPECT_EQ(h.producer_epoch, orig.producer_epoch);
        EXPECT_EQ(h.base_sequence, orig.base_sequence);
        EXPECT_EQ(h.records_count, orig.records_count);
        // A Produce request may carry what the builder writes.
        int64_t records = 0;
        int32_t n = 0;
        EXPECT_EQ(ValidateRecordSet(again.data(), again.size(), -1, &records, &n),
                  BatchError::kNone);
        EXPECT_EQ(records, kGoldenRecords);
        if (to == from) {
          // Same codec, same records: the records section is the same once decompressed.
          ASSERT_TRUE(reader.Reset(batches[0], kMax).ok());
          std::vector<uint8_t> a(reader.records_section().begin(), reader.records_section().end());
          ASSERT_TRUE(reader.Reset(again, kMax).ok());
          EXPECT_TRUE(std::equal(a.begin(), a.end(), reader.records_section().begin(),
                                 reader.records_section().end()));
        }
      }
    }
  }
}

RecordBatchHeader TxnHeader() {
  RecordBatchHeader h;
  h.base_offset = 1000;
  h.partition_leader_epoch = 5;
  h.attributes = kTransactionalBit | kTimestampTypeBit;
  h.producer_id = 42;
  h.producer_epoch = 3;
  h.base_sequence = 77;
  h.base_timestamp = 1600000000000;
  h.max_timestamp = 1650000000000;  // the LogAppendTime the leader stamped
  h.last_offset_delta = 0;
  return h;
}

TEST(RecordBatchReaderTest, BuilderKeepsHeaderFieldsAndFiltersLikeTheCleaner) {
  RecordBatchBuilder builder;
  RecordBatchReader reader;
  const std::string keys[] = {"a", "b", "c", "d", "e", "f"};
  for (int codec = 0; codec <= 4; ++codec) {
    SCOPED_TRACE(CompressionName(codec));
    builder.Reset(TxnHeader());
    for (int i = 0; i < 6; ++i) {
      RecordView r;
      r.offset = 1000 + i;
      r.create_timestamp = 1600000000000 + 10 * i;
      r.has_key = true;
      r.key = Bytes(keys[i]);
      r.has_value = i != 4;  // a tombstone
      if (r.has_value) r.value = Bytes(keys[i]);
      ASSERT_TRUE(builder.Add(r).ok());
    }
    std::vector<uint8_t> batch;
    ASSERT_TRUE(builder.Finish(codec, DefaultCompressionLevel(codec), &batch).ok());

    // The cleaner's filter: keep records 1 and 3 only. The batch keeps its last offset.
    ASSERT_TRUE(reader.Reset(batch, kMax).ok());
    builder.Reset(reader.header());
    RecordView r;
    int i = 0;
    while (reader.Next(&r)) {
      EXPECT_EQ(r.timestamp, 1650000000000);  // LogAppendTime
      EXPECT_EQ(r.create_timestamp, 1600000000000 + 10 * i);
      if (i == 1 || i == 3) {
        ASSERT_TRUE(builder.Add(r).ok());
      }
      ++i;
    }
    ASSERT_TRUE(reader.status().ok());
    EXPECT_EQ(i, 6);
    std::vector<uint8_t> cleaned = {9, 9};  // Finish appends
    ASSERT_TRUE(builder.Finish(codec, DefaultCompressionLevel(codec), &cleaned).ok());
    std::span<const uint8_t> c(cleaned.data() + 2, cleaned.size() - 2);
    ASSERT_TRUE(reader.Reset(c, kMax).ok());
    const RecordBatchHeader& h = reader.header();
    EXPECT_EQ(h.total_size(), c.size());
    EXPECT_EQ(h.compression(), codec);
    EXPECT_TRUE(h.is_transactional());
    EXPECT_TRUE(h.log_append_time());
    EXPECT_EQ(h.base_offset, 1000);
    EXPECT_EQ(h.partition_leader_epoch, 5);
    EXPECT_EQ(h.producer_id, 42);
    EXPECT_EQ(h.producer_epoch, 3);
    EXPECT_EQ(h.base_sequence, 77);
    EXPECT_EQ(h.base_timestamp, 1600000000000);
    EXPECT_EQ(h.max_timestamp, 1650000000000);
    EXPECT_EQ(h.last_offset_delta, 5);  // kept: the producer's last sequence is 77 + 5
    EXPECT_EQ(h.records_count, 2);
    ASSERT_TRUE(reader.Next(&r));
    EXPECT_EQ(r.offset, 1001);
    EXPECT_EQ(Str(r.key), "b");
    ASSERT_TRUE(reader.Next(&r));
    EXPECT_EQ(r.offset, 1003);
    EXPECT_EQ(r.create_timestamp, 1600000000030);
    EXPECT_FALSE(reader.Next(&r));
    EXPECT_TRUE(reader.status().ok());
  }
}

TEST(RecordBatchReaderTest, BuilderWritesEmptyBatchesAndRefusesOffsetsOutOfOrder) {
  RecordBatchBuilder builder;
  RecordBatchHeader h = TxnHeader();
  h.attributes = kTransactionalBit;  // CreateTime
  h.last_offset_delta = 9;
  builder.Reset(h);
  RecordView r;
  r.offset = 1002;
  ASSERT_TRUE(builder.Add(r).ok());
  r.offset = 1002;
  EXPECT_EQ(builder.Add(r).code(), Status::Code::kInvalidArgument);
  r.offset = 999;
  EXPECT_EQ(builder.Add(r).code(), Status::Code::kInvalidArgument);
  r.offset = 1000 + (int64_t{1} << 31);
  EXPECT_EQ(builder.Add(r).code(), Status::Code::kInvalidArgument);
  std::vector<uint8_t> out;
  EXPECT_EQ(builder.Finish(6, 0, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(builder.Finish(kCompressionLz4, 30, &out).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(out.empty());

  // No records at all (the cleaner keeps such a batch for its producer state).
  builder.Reset(h);
  ASSERT_TRUE(builder.Finish(kCompressionZstd, 3, &out).ok());
  RecordBatchReader reader;
  ASSERT_TRUE(reader.Reset(out, kMax).ok());
  EXPECT_EQ(reader.header().records_count, 0);
  EXPECT_EQ(reader.header().last_offset_delta, 9);
  EXPECT_EQ(reader.header().max_timestamp, h.max_timestamp);
  EXPECT_FALSE(reader.Next(&r));
  EXPECT_TRUE(reader.status().ok());
}

TEST(RecordBatchReaderTest, BuildRecordBatchCompressesByItsAttributes) {
  BatchSpec spec;
  spec.base_offset = 5;
  spec.attributes = kCompressionZstd;
  std::vector<RecordSpec> recs(3);
  for (int i = 0; i < 3; ++i) {
    recs[i].key = "key" + std::to_string(i);
    recs[i].value = std::string(100, static_cast<char>('a' + i));
    recs[i].timestamp = 1000 + i;
    recs[i].headers = {{"h", std::nullopt}};
  }
  std::string b = BuildRecordBatch(spec, recs);
  auto* p = reinterpret_cast<const uint8_t*>(b.data());
  RecordBatchReader reader;
  ASSERT_TRUE(reader.Reset({p, b.size()}, kMax).ok());
  EXPECT_EQ(reader.header().compression(), kCompressionZstd);
  EXPECT_LT(b.size(), kRecordBatchOverhead + 300);
  RecordView r;
  int i = 0;
  while (reader.Next(&r)) {
    EXPECT_EQ(r.offset, 5 + i);
    EXPECT_EQ(Str(r.key), "key" + std::to_string(i));
    EXPECT_EQ(r.timestamp, 1000 + i);
    std::span<const uint8_t> hs = r.headers;
    RecordHeaderView h;
    ASSERT_TRUE(NextRecordHeader(&hs, &h));
    EXPECT_EQ(Str(h.key), "h");
    EXPECT_FALSE(h.has_value);
    ++i;
  }
  EXPECT_EQ(i, 3);
  EXPECT_TRUE(reader.status().ok());
  // The allocating decoder reads the same records, headers included; and refuses them when they
  // decompress to more than its limit.
  std::vector<Record> decoded;
  ASSERT_TRUE(DecodeBatchRecords(p, b.size(), &decoded));
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[2].offset, 7);
  EXPECT_EQ(decoded[2].key, "key2");
  EXPECT_EQ(decoded[2].timestamp, 1002);
  ASSERT_EQ(decoded[2].headers.size(), 1u);
  EXPECT_EQ(decoded[2].headers[0].first, "h");
  EXPECT_FALSE(decoded[2].headers[0].second.has_value());
  decoded.clear();
  EXPECT_FALSE(DecodeBatchRecords(p, b.size(), &decoded, /*max_records_bytes=*/10));
}

TEST(RecordBatchReaderTest, ReusesItsBuffer) {
  std::vector<uint8_t> seg = ReadGolden("kp-zstd.log");
  RecordBatchReader reader;
  ASSERT_TRUE(reader.Reset(seg, kMax).ok());
  const uint8_t* first = reader.records_section().data();
  ASSERT_TRUE(reader.Reset(seg, kMax).ok());
  EXPECT_EQ(reader.records_section().data(), first);
}

TEST(RecordBatchReaderTest, RefusesOversizedCorruptAndTruncatedBatches) {
  std::vector<uint8_t> seg = ReadGolden("kp-lz4.log");
  RecordBatchReader reader;
  ASSERT_TRUE(reader.Reset(seg, kMax).ok());
  const size_t section = reader.records_section().size();

  // Decompressed records beyond the caller's bound.
  Status st = reader.Reset(seg, section - 1);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("more than"), std::string::npos) << st.message();
  RecordView r;
  EXPECT_FALSE(reader.Next(&r));

  // A bad CRC; an unknown codec (with a correct CRC).
  std::vector<uint8_t> bad = seg;
  bad[70] ^= 1;
  EXPECT_EQ(reader.Reset(bad, kMax).code(), Status::Code::kCorruption);
  bad = seg;
  bad[22] = static_cast<uint8_t>((bad[22] & ~kCompressionMask) | 6);
  UpdateBatchCrc(bad.data());
  st = reader.Reset(bad, kMax);
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_NE(st.message().find("codec"), std::string::npos);

  // Every truncation.
  for (size_t cut = 0; cut < seg.size(); ++cut) {
    EXPECT_FALSE(reader.Reset({seg.data(), cut}, kMax).ok()) << cut;
  }

  // records_count above and below what the section holds.
  for (int32_t count : {kGoldenRecords + 1, kGoldenRecords - 1}) {
    bad = seg;
    bad[57] = static_cast<uint8_t>(count >> 24);
    bad[58] = static_cast<uint8_t>(count >> 16);
    bad[59] = static_cast<uint8_t>(count >> 8);
    bad[60] = static_cast<uint8_t>(count);
    UpdateBatchCrc(bad.data());
    ASSERT_TRUE(reader.Reset(bad, kMax).ok());
    int n = 0;
    while (reader.Next(&r)) ++n;
    EXPECT_EQ(reader.status().code(), Status::Code::kCorruption) << count;
    EXPECT_LE(n, kGoldenRecords);
  }

  // Compressed bytes damaged behind a correct CRC (a producer's bug or a hostile client):
  // refused at Reset or at a record, never a crash.
  std::mt19937 rng(99);
  for (const char* name : {"rdk-gzip.log", "kp-snappy.log", "rdk-snappy.log", "rdk-lz4.log",
                           "kp-zstd.log", "rdk-zstd.log"}) {
    std::vector<uint8_t> good = ReadGolden(name);
    for (int round = 0; round < 300; ++round) {
      bad = good;
      size_t at = kRecordBatchOverhead + rng() % (bad.size() - kRecordBatchOverhead);
      bad[at] ^= static_cast<uint8_t>(1 + rng() % 255);
      UpdateBatchCrc(bad.data());
      if (!reader.Reset(bad, kMax).ok()) continue;
      int n = 0;
      while (reader.Next(&r)) ++n;
      EXPECT_LE(n, kGoldenRecords);
    }
  }
}

TEST(RecordBatchReaderTest, RecordLengthsAreChecked) {
  // An uncompressed batch whose single record says it is longer than the batch.
  std::string b = BuildRecordBatch(0, 1000, {{"k", "v"}});
  std::vector<uint8_t> bad(b.begin(), b.end());
  bad[kRecordBatchOverhead] = 0x7e;  // record length 63
  UpdateBatchCrc(bad.data());
  RecordBatchReader reader;
  ASSERT_TRUE(reader.Reset(bad, kMax).ok());
  RecordView r;
  EXPECT_FALSE(reader.Next(&r));
  EXPECT_NE(reader.status().message().find("record length"), std::string::npos);
  // And a section over the caller's bound, uncompressed.
  std::vector<uint8_t> good(b.begin(), b.end());
  EXPECT_FALSE(reader.Reset(good, 3).ok());
}

}  // namespace
}  // namespace gregor::protocol
