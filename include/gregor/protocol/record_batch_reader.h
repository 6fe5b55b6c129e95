#pragma once
// RecordBatchReader: the records of one v2 batch of any codec, as views, without per-record
// allocation.
//
// Who owns it: the caller (the log cleaner, the append path, the coordinators' loaders), one per
// thread of work, reused from batch to batch: Reset() decompresses a compressed batch's records
// section into the reader's own buffer, which keeps its capacity, so a steady stream of batches
// allocates nothing once the buffer has grown. Not thread-safe; no locks; never blocks.
// Lifecycle: Reset(batch) then Next() until it returns false. The views of a RecordView point
// into the batch (uncompressed) or into the reader's buffer (compressed): valid until the next
// Reset and while the batch bytes live.
// Error contract: never throws or crashes on hostile bytes. Reset returns kCorruption for a bad
// batch (length, magic, CRC-32C, unknown codec, undecodable or oversized compressed data);
// Next returns false at the end and status() tells whether the end was clean: every length is
// checked against its enclosing bounds, each record must fill its declared length exactly,
// offset deltas must increase strictly within [0, last_offset_delta] (a compacted batch has
// gaps), and the records section must hold exactly records_count records.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/protocol/record_batch.h"

namespace gregor::protocol {

// One record of a v2 batch, as views.
struct RecordView {
  int64_t offset = 0;            // base_offset + offset delta (wrapping, as Java's long)
  int64_t timestamp = 0;         // as consumers see it: max_timestamp in a LogAppendTime batch
  int64_t create_timestamp = 0;  // base_timestamp + timestamp delta: what the record stores
  int8_t attributes = 0;         // record attributes (unused by Kafka, kept as written)
  bool has_key = false;          // false: null key
  std::span<const uint8_t> key;
  bool has_value = false;  // false: null value (a tombstone)
  std::span<const uint8_t> value;
  int32_t header_count = 0;
  std::span<const uint8_t> headers;  // header_count encoded headers, already checked
};

// One record header, as views.
struct RecordHeaderView {
  std::span<const uint8_t> key;
  bool has_value = false;
  std::span<const uint8_t> value;
};
// Reads the next header from the front of *headers (RecordView::headers) and advances it.
// False when *headers is empty or malformed.
bool NextRecordHeader(std::span<const uint8_t>* headers, RecordHeaderView* out);

class RecordBatchReader {
 public:
  RecordBatchReader() = default;
  RecordBatchReader(const RecordBatchReader&) = delete;
  RecordBatchReader& operator=(const RecordBatchReader&) = delete;

  // Checks the batch at the front of `batch` (CheckStoredBatch: length within batch.size(),
  // magic 2, CRC-32C; a known codec; records_count >= 0) and makes its records readable,
  // decompressing them when the batch is compressed. max_records_bytes bounds the decompressed
  // size (and the records section of an uncompressed batch): beyond it, kCorruption.
  Status Reset(std::span<const uint8_t> batch, size_t max_records_bytes);

  const RecordBatchHeader& header() const { return header_; }
  // The records section, decompressed: valid until the next Reset.
  std::span<const uint8_t> records_section() const { return section_; }

  // The next record; false at the end of the batch or at the first malformed record.
  bool Next(RecordView* r);
  // Reads the records again from the first (after a successful Reset; no decompression).
  void Rewind();
  // After Next returned false: Ok if every record of the batch was read.
  const Status& status() const { return status_; }

 private:
  bool Fail(std::string why);

  RecordBatchHeader header_;
  std::vector<uint8_t> buffer_;
  std::span<const uint8_t> section_;
  size_t pos_ = 0;
  int32_t read_ = 0;
  int64_t prev_delta_ = -1;
  Status status_;
  bool reset_ok_ = false;  // the last Reset succeeded: Rewind may start over
};

}  // namespace gregor::protocol
