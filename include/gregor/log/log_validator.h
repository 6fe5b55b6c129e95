#pragma once
// LogValidator: what a leader checks in a record set before it appends it, and the rewrite
// Kafka's broker makes where it must (LogValidator.validateMessagesAndAssignOffsets): the
// topic's compression.type differs from the producer's codec, or the inner offsets of a
// compressed batch are not 0..n-1.
//
// Who calls it: Log::AppendAsLeader, outside the log's lock (it is the expensive part).
// Threads: any. Each thread keeps its own reader, builder and output buffer (thread_local,
// reused, so a steady stream of appends allocates nothing per record); a rebuilt record set
// lives in that buffer until the thread's next call.
// What it checks (Kafka's rules):
//   - every batch: framing, magic 2, CRC, count = last offset delta + 1, size <=
//     max.message.bytes (ValidateRecordSet), records that fill the batch exactly, a known codec;
//   - a set that is compressed, or is to be compressed, holds exactly one batch;
//   - per record, when the topic asks: a key in a compacted topic; with CreateTime, a timestamp
//     within [now - message.timestamp.before.max.ms, now + message.timestamp.after.max.ms]; no
//     LogAppendTime set by a producer. Failures are Kafka's record errors (batch index within
//     the failing batch, message), and the set is refused at the first batch with any.
// What it rewrites: a batch whose target codec (the topic's compression.type, or the batch's
// own with "producer") differs from its codec, or whose inner offsets are not 0..n-1, is rebuilt
// as one batch with the target codec: offsets 0..n-1 (Log assigns the base), the producer's id,
// epoch, base sequence and transactional flag, each record's timestamp, key, value and headers.
// An uncompressed control batch is never compressed. A rebuilt batch larger than
// max.message.bytes is refused.
// Memory: a compressed batch may decompress to at most kMaxDecompressedFactor ×
// max(max.message.bytes, 1 MiB); beyond it the batch is refused as corrupt.
// Error contract: kCorruption (CORRUPT_MESSAGE), kTooLarge (MESSAGE_TOO_LARGE),
// kInvalidArgument (INVALID_RECORD; with record errors, INVALID_TIMESTAMP when
// `invalid_timestamp` is set). Never throws, never crashes on hostile bytes.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/protocol/record_batch.h"

namespace gregor::log {

// How far a compressed batch may expand, as a multiple of max(max.message.bytes, 1 MiB).
constexpr size_t kMaxDecompressedFactor = 16;

// Kafka's RecordError: the index of a record within its batch and why it was refused.
struct RecordError {
  int32_t batch_index = 0;
  std::string message;
};

struct RecordErrors {
  std::vector<RecordError> errors;
  bool invalid_timestamp = false;  // INVALID_TIMESTAMP rather than INVALID_RECORD
};

struct ValidationOptions {
  int32_t max_message_bytes = 1048588;
  bool compact = false;
  int compression_type = -1;  // -1: "producer" (keep each batch's codec), else the codec id
  int compression_level = 0;  // the target codec's level
  bool log_append_time = false;
  int64_t timestamp_before_max_ms = std::numeric_limits<int64_t>::max();
  int64_t timestamp_after_max_ms = std::numeric_limits<int64_t>::max();
  bool from_client = true;  // client batches: no control batches (Kafka's AppendOrigin.CLIENT)
  int64_t now_ms = 0;
};

struct ValidatedRecords {
  uint8_t* data = nullptr;  // the caller's bytes, or this thread's rebuilt batch
  size_t size = 0;
  int64_t records = 0;
  int32_t batches = 0;
  bool rebuilt = false;
};

// Validates [data, data + size) for an append as leader. On success the records to append are in
// out->data (the input, still to be stamped, or a rebuilt batch valid until this thread's next
// call). Record errors, when the set is refused for them, go to *record_errors (may be null).
Result<ValidatedRecords> ValidateRecordsForAppend(uint8_t* data, size_t size,
                                                  const ValidationOptions& options,
                                                  RecordErrors* record_errors);

// The Status of a framing error found by protocol::ValidateRecordSet or CheckStoredBatch.
Status StatusOfBatchError(protocol::BatchError e);

}  // namespace gregor::log
