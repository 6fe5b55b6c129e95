#pragma once
// RecordBatch v2 (magic 2): byte-level helpers over Kafka's on-disk and on-wire batch format.
//
// Pure functions over caller-owned buffers; no allocation on the validate/stamp paths; thread-safe.
// Layout (big-endian): baseOffset i64 @0, batchLength i32 @8, partitionLeaderEpoch i32 @12,
// magic i8 @16, crc u32 @17 (CRC-32C over attributes..end), attributes i16 @21,
// lastOffsetDelta i32 @23, baseTimestamp i64 @27, maxTimestamp i64 @35, producerId i64 @43,
// producerEpoch i16 @51, baseSequence i32 @53, recordsCount i32 @57, records @61.
// Error contract: parsers return false / a BatchError on malformed bytes; they never read past
// the given length and never crash on hostile input.
// Compressed batches: record_batch_reader.h reads the records of any codec, and
// record_batch_builder.h writes them back (compression.h has the codecs).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gregor::protocol {

constexpr size_t kRecordBatchOverhead = 61;
// Bytes of the header before the CRC-covered region starts (attributes @21).
constexpr size_t kRecordBatchCrcStart = 21;
// Size of baseOffset + batchLength: batchLength counts the bytes after these 12.
constexpr size_t kRecordBatchLogOverhead = 12;

constexpr int16_t kCompressionMask = 0x07;
constexpr int16_t kTimestampTypeBit = 0x08;
constexpr int16_t kTransactionalBit = 0x10;
constexpr int16_t kControlBit = 0x20;

struct RecordBatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  int compression() const { return attributes & kCompressionMask; }
  bool is_transactional() const { return (attributes & kTransactionalBit) != 0; }
  bool is_control() const { return (attributes & kControlBit) != 0; }
  bool log_append_time() const { return (attributes & kTimestampTypeBit) != 0; }
  // Wraps like Kafka's Java long instead of overflowing (both fields come from the wire or a
  // possibly corrupt segment); callers check the result against what they expect.
  int64_t last_offset() const {
    return static_cast<int64_t>(static_cast<uint64_t>(base_offset) +
                                static_cast<uint64_t>(static_cast<int64_t>(last_offset_delta)));
  }
  size_t total_size() const { return static_cast<size_t>(batch_length) + kRecordBatchLogOverhead; }
};

// Parses the header at p (needs n >= 61). Checks nothing but the length; false if n < 61.
bool ParseRecordBatchHeader(const uint8_t* p, size_t n, RecordBatchHeader* out);

// Validation result for a client-sent record set (Produce).
enum class BatchError {
  kNone,
  kCorrupt,           // CRC mismatch, batch length insane, truncated batch
  kUnsupportedMagic,  // magic != 2
  kInvalidRecord,     // counts, offset deltas, record lengths, compression codec
  kTooLarge,          // one batch is larger than max_batch_bytes
};
const char* BatchErrorName(BatchError e);

// Walks every batch in [p, p+n): the set must be a whole number of batches; each batch: magic 2,
// length sane, CRC-32C correct, records_count >= 1 and == last_offset_delta + 1; for uncompressed
// batches also walks every record (varint lengths, offset deltas in sequence) and checks they fill
// the batch exactly; batch size <= max_batch_bytes. Reports the total record count and batches.
BatchError ValidateRecordSet(const uint8_t* p, size_t n, int32_t max_batch_bytes, int64_t* records,
                             int32_t* batches);

// Checks one batch as found on disk (recovery): magic, length within n, CRC. Returns the header.
// Cheaper than ValidateRecordSet: it does not walk records.
BatchError CheckStoredBatch(const uint8_t* p, size_t n, RecordBatchHeader* out);

// In-place stamping for the leader: sets base_offset and partition_leader_epoch (both outside the
// CRC); with log_append_time >= 0 also sets the timestamp-type bit and max_timestamp (Kafka leaves
// the base timestamp alone: readers take LogAppendTime from max_timestamp) and recomputes the CRC.
// The batch must have passed validation (at least 61 bytes, batch_length consistent).
void StampBatch(uint8_t* batch, int64_t base_offset, int32_t leader_epoch, int64_t log_append_time);

// Recomputes and stores the CRC of a whole batch (for tools and tests that edit headers).
void UpdateBatchCrc(uint8_t* batch);

using KeyValue = std::pair<std::optional<std::string>, std::optional<std::string>>;

// Builds an uncompressed v2 batch (producer id/epoch/sequence -1, CreateTime, leader epoch -1).
// Every record carries timestamp base_timestamp (delta 0) and no headers.
std::string BuildRecordBatch(int64_t base_offset, int64_t base_timestamp,
                             const std::vector<KeyValue>& key_values);

// A fuller writer for tests and tools (allocates; the broker's paths use RecordBatchBuilder).
struct RecordSpec {
  std::optional<std::string> key;
  std::optional<std::string> value;
  int64_t timestamp = 0;  // absolute; stored as a delta from the first record's
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};
struct BatchSpec {
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = -1;
  int16_t attributes = 0;  // the codec bits choose the compression (at the codec's default level)
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
};
std::string BuildRecordBatch(const BatchSpec& spec, const std::vector<RecordSpec>& records);

// A decoded record of an uncompressed batch (tests and tools; allocates).
struct Record {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};
// Appends the records of the batch at p (n >= its total size), of any codec, to *out, through
// RecordBatchReader (allocates per record: for coordinators' loaders, ListOffsets by time,
// tools and tests; hot paths use the reader). False on malformed bytes, a bad CRC, or records
// that decompress to more than max_records_bytes; records read before the fault stay in *out.
// Timestamps follow LogAppendTime when the batch says so. Offset deltas need only increase
// strictly within [0, last_offset_delta]: a compacted batch has gaps.
constexpr size_t kDefaultMaxRecordsBytes = 64 << 20;
bool DecodeBatchRecords(const uint8_t* p, size_t n, std::vector<Record>* out,
                        size_t max_records_bytes = kDefaultMaxRecordsBytes);

}  // namespace gregor::protocol
