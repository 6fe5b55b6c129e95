#pragma once
// RecordBatchBuilder: writes one v2 batch of any codec from records, e.g. the records a
// RecordBatchReader returned and a filter kept (the cleaner), or a producer's records to
// recompress (broker-side compression.type).
//
// Who owns it: the caller, reused from batch to batch: the records are encoded into the
// builder's own buffer, which keeps its capacity, so building allocates nothing per record once
// the buffers have grown. Not thread-safe; no locks; never blocks.
// Lifecycle: Reset(header), Add() each record in offset order, Finish(codec, level, out).
// What the batch keeps from the header given to Reset: base_offset, partition_leader_epoch,
// attributes (every bit but the codec, which Finish sets: timestamp type, transactional,
// control, delete horizon), producer_id, producer_epoch, base_sequence and base_timestamp
// (records store their timestamps as deltas from it). What it computes: records_count;
// last_offset_delta = the larger of the header's and the last record's (so a cleaned batch keeps
// its last offset, and with it the producer's last sequence, as Kafka's cleaner does);
// max_timestamp = the header's in a LogAppendTime batch or an empty one, else the largest record
// timestamp; the CRC-32C.
// Error contract: Add returns kInvalidArgument for a record that cannot be encoded (offset not
// increasing, or its delta outside [0, 2^31)); Finish returns Compress's errors or
// kInvalidArgument for a batch whose length would not fit an int32. Nothing is appended to
// `out` on failure.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/record_batch_reader.h"

namespace gregor::protocol {

class RecordBatchBuilder {
 public:
  RecordBatchBuilder() = default;
  RecordBatchBuilder(const RecordBatchBuilder&) = delete;
  RecordBatchBuilder& operator=(const RecordBatchBuilder&) = delete;

  void Reset(const RecordBatchHeader& header);

  // Encodes one record: its offset and create_timestamp (the timestamp it stores, not the
  // LogAppendTime a reader reports), attributes, key, value and headers.
  Status Add(const RecordView& r);

  int32_t records_count() const { return count_; }
  // The records section so far, uncompressed.
  size_t records_bytes() const { return records_.size(); }

  // Appends the batch to *out, its records compressed with `codec` at `level` (see
  // compression.h; DefaultCompressionLevel(codec) for Kafka's default).
  Status Finish(int codec, int level, std::vector<uint8_t>* out);

 private:
  RecordBatchHeader header_;
  std::vector<uint8_t> records_;
  int32_t count_ = 0;
  int64_t last_delta_ = -1;
  int64_t max_timestamp_ = -1;
};

}  // namespace gregor::protocol
