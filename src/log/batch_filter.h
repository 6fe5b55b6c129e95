#pragma once
// Record-level view of one uncompressed RecordBatch v2, for the log cleaner: walks the records
// without copying them and rebuilds a batch holding a subset of them.
//
// Why raw records: a record's bytes encode its offset and timestamp as deltas from the batch's
// base offset and base timestamp. The cleaner keeps both base fields and the last offset delta
// (Kafka keeps a v2 batch's first and last offset through cleaning), so a surviving record's
// bytes stay valid as they are: the rebuilt batch is the old header, recomputed length, count,
// max timestamp and CRC, and the kept records' bytes.
//
// Pure functions over caller-owned bytes; thread-safe. Malformed input yields false, never a
// read past the given length.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/protocol/record_batch.h"

namespace gregor::log {

struct RawRecord {
  size_t position = 0;  // of the record's length varint, from the start of the batch
  size_t size = 0;      // length varint + body
  int64_t offset = 0;
  int64_t timestamp = 0;
  bool has_key = false;
  std::string_view key;
  bool has_value = false;  // false: a tombstone
  std::string_view value;
};

// Parses every record of the uncompressed batch [p, p + h.total_size()). False on malformed
// records, a record count that does not match, or a compressed batch.
bool ParseRawRecords(const uint8_t* p, const protocol::RecordBatchHeader& h,
                     std::vector<RawRecord>* out);

// Appends to `out` a copy of the batch at `p` holding only `records[i]` with keep[i]: same
// base offset, last offset delta, base timestamp, leader epoch, producer id/epoch/base
// sequence and attributes; new length, record count, max timestamp (CreateTime: the largest
// kept record's; LogAppendTime keeps the batch's) and CRC-32C.
void AppendFilteredBatch(const uint8_t* p, const protocol::RecordBatchHeader& h,
                         const std::vector<RawRecord>& records, const std::vector<bool>& keep,
                         std::string* out);

// Appends to `out` the batch at `p` with no records left, as Kafka's cleaner writes the emptied
// last batch of a producer still active in the log (DefaultRecordBatch.writeEmptyHeader): same
// base offset, last offset delta, leader epoch, producer id/epoch/base sequence, max timestamp,
// timestamp type and transactional/control bits; no compression, no base timestamp (-1), record
// count 0, length 49 and a fresh CRC-32C. A replica or a recovery replaying the log then still
// learns the producer's epoch and last sequence.
void AppendEmptyBatch(const uint8_t* p, const protocol::RecordBatchHeader& h, std::string* out);

}  // namespace gregor::log
