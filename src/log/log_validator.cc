#include "gregor/log/log_validator.h"

#include <algorithm>
#include <memory>

#include "gregor/protocol/compression.h"
#include "gregor/protocol/record_batch_builder.h"
#include "gregor/protocol/record_batch_reader.h"

namespace gregor::log {
namespace {

using protocol::BatchError;
using protocol::RecordBatchHeader;
using protocol::RecordView;

// Buffers a thread keeps between appends. Past this size they are released after the append
// that grew them, so a rare huge batch does not pin its memory on every request thread.
constexpr size_t kKeptBufferBytes = 4 << 20;

struct Scratch {
  std::unique_ptr<protocol::RecordBatchReader> reader =
      std::make_unique<protocol::RecordBatchReader>();
  std::unique_ptr<protocol::RecordBatchBuilder> builder =
      std::make_unique<protocol::RecordBatchBuilder>();
  std::vector<uint8_t> out;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  // The previous call's rebuilt batch has been appended by now: release it if it was large.
  if (scratch.out.capacity() > kKeptBufferBytes) std::vector<uint8_t>().swap(scratch.out);
  return scratch;
}

void ReleaseLarge(Scratch* s) {
  if (s->reader->records_section().size() > kKeptBufferBytes) {
    s->reader = std::make_unique<protocol::RecordBatchReader>();
  }
  if (s->builder->records_bytes() > kKeptBufferBytes) {
    s->builder = std::make_unique<protocol::RecordBatchBuilder>();
  }
}

size_t DecompressedLimit(int32_t max_message_bytes) {
  return kMaxDecompressedFactor * std::max<size_t>(std::max(max_message_bytes, 0), 1 << 20);
}

// Kafka's per-record checks (validateKey, validateTimestamp) over every record of the batch the
// reader holds. Errors are added to *errors with their index in the batch.
void CheckRecords(protocol::RecordBatchReader& reader, const ValidationOptions& o,
                  RecordErrors* errors) {
  const bool producer_set_log_append_time = reader.header().log_append_time();
  const bool check_time = !o.log_append_time && (o.timestamp_before_max_ms != INT64_MAX ||
                                                 o.timestamp_after_max_ms != INT64_MAX);
  RecordView r;
  int32_t index = 0;
  for (; reader.Next(&r); ++index) {
    if (o.compact && !r.has_key) {
      errors->errors.push_back({index, "a compacted topic accepts only records with a key"});
      continue;
    }
    if (!o.log_append_time && r.timestamp != -1) {
      if (!check_time) continue;
      // Kafka compares now - timestamp with each bound (Java longs: the differences wrap).
      const int64_t diff = static_cast<int64_t>(static_cast<uint64_t>(o.now_ms) -
                                                static_cast<uint64_t>(r.timestamp));
      const int64_t ahead = static_cast<int64_t>(0 - static_cast<uint64_t>(diff));
      if (diff > o.timestamp_before_max_ms || ahead > o.timestamp_after_max_ms) {
        errors->invalid_timestamp = true;
        errors->errors.push_back(
            {index, "timestamp " + std::to_string(r.timestamp) + " of the record at offset " +
                        std::to_string(r.offset) + " is outside the accepted range [" +
                        std::to_string(o.now_ms - std::min(o.now_ms, o.timestamp_before_max_ms)) +
                        ", " +
                        std::to_string(o.timestamp_after_max_ms > INT64_MAX - o.now_ms
                                           ? INT64_MAX
                                           : o.now_ms + o.timestamp_after_max_ms) +
                        "]"});
      }
    } else if (producer_set_log_append_time) {
      errors->invalid_timestamp = true;
      errors->errors.push_back(
          {index, "the producer set the LogAppendTime timestamp type, which only brokers set"});
    }
  }
}

Status RefuseForRecordErrors(const RecordErrors& e) {
  if (e.invalid_timestamp) {
    return Status::InvalidArgument("records refused for an invalid timestamp");
  }
  std::string m = std::to_string(e.errors.size()) + " record(s) refused; the first: ";
  for (size_t i = 0; i < e.errors.size() && i < 3; ++i) {
    if (i) m += "; ";
    m += "record " + std::to_string(e.errors[i].batch_index) + ": " + e.errors[i].message;
  }
  return Status::InvalidArgument(m);
}

}  // namespace

Status StatusOfBatchError(BatchError e) {
  switch (e) {
    case BatchError::kNone:
      return Status::Ok();
    case BatchError::kCorrupt:
      return Status::Corruption("record batch is corrupt (CRC or length)");
    case BatchError::kUnsupportedMagic:
      return Status::InvalidArgument("record batch magic is not 2");
    case BatchError::kInvalidRecord:
      return Status::InvalidArgument("record batch has inconsistent records");
    case BatchError::kTooLarge:
      return Status::TooLarge("record batch is larger than max.message.bytes");
  }
  return Status::Internal("unknown batch error");
}

Result<ValidatedRecords> ValidateRecordsForAppend(uint8_t* data, size_t size,
                                                  const ValidationOptions& o,
                                                  RecordErrors* record_errors) {
  ValidatedRecords v;
  v.data = data;
  v.size = size;
  // Framing, CRC, counts, sizes; the records of uncompressed batches.
  BatchError be =
      protocol::ValidateRecordSet(data, size, o.max_message_bytes, &v.records, &v.batches);
  if (be != BatchError::kNone) return StatusOfBatchError(be);
  RecordErrors local_errors;
  RecordErrors* errors = record_errors ? record_errors : &local_errors;
  errors->errors.clear();
  errors->invalid_timestamp = false;

  // Kafka's source codec: that of the (last) compressed batch, if any.
  int source = protocol::kCompressionNone;
  bool any_log_append_time = false;
  RecordBatchHeader first;
  protocol::ParseRecordBatchHeader(data, size, &first);
  for (size_t at = 0; at < size;) {
    RecordBatchHeader h;
    protocol::ParseRecordBatchHeader(data + at, size - at, &h);
    if (h.compression() != protocol::kCompressionNone) source = h.compression();
    any_log_append_time |= h.log_append_time();
    if (o.from_client && h.is_control()) {
      return Status::InvalidArgument("clients may not write control batches");
    }
    at += h.total_size();
  }
  const int target = o.compression_type < 0 ? source : o.compression_type;
  const bool per_record = o.compact || any_log_append_time ||
                          (!o.log_append_time && (o.timestamp_before_max_ms != INT64_MAX ||
                                                  o.timestamp_after_max_ms != INT64_MAX));
  Scratch& s = ThreadScratch();
  const size_t limit = DecompressedLimit(o.max_message_bytes);

  if (source == protocol::kCompressionNone && target == protocol::kCompressionNone) {
    // In place; records are read only when a per-record rule applies (Kafka fails at the first
    // batch with record errors).
    if (!per_record) return v;
    for (size_t at = 0; at < size;) {
      RecordBatchHeader h;
      protocol::ParseRecordBatchHeader(data + at, size - at, &h);
      Status st = s.reader->Reset({data + at, h.total_size()}, limit);
      if (!st.ok()) return st;
      if (!h.is_control()) CheckRecords(*s.reader, o, errors);
      if (!s.reader->status().ok()) return s.reader->status();
      if (!errors->errors.empty()) return RefuseForRecordErrors(*errors);
      at += h.total_size();
    }
    return v;
  }

  // Compressed, or to be compressed: one batch (Kafka: a compressed outer record holds one).
  if (v.batches != 1) {
    return Status::InvalidArgument(
        "a compressed record set, or one the topic compresses, must hold exactly one batch (it "
        "holds " +
        std::to_string(v.batches) + ")");
  }
  Status st = s.reader->Reset({data, size}, limit);
  if (!st.ok()) {
    ReleaseLarge(&s);
    return st;
  }
  // Kafka rewrites a batch whose inner offsets are not 0..n-1 (old clients) or whose codec is
  // not the target; an uncompressed control batch stays as it is.
  bool in_place = source == target || (source == protocol::kCompressionNone && first.is_control());
  RecordView r;
  for (int64_t expected = 0; s.reader->Next(&r); ++expected) {
    if (r.offset != expected) in_place = false;
  }
  if (!s.reader->status().ok()) {
    Status bad = s.reader->status();
    ReleaseLarge(&s);
    return bad;
  }
  if (per_record && !first.is_control()) {
    s.reader->Rewind();
    CheckRecords(*s.reader, o, errors);
    if (!errors->errors.empty()) {
      ReleaseLarge(&s);
      return RefuseForRecordErrors(*errors);
    }
  }
  if (in_place) {
    ReleaseLarge(&s);
    return v;
  }

  RecordBatchHeader h = s.reader->header();
  h.base_offset = 0;
  h.last_offset_delta = 0;  // the builder takes the last record's
  s.builder->Reset(h);
  s.reader->Rewind();
  for (int64_t i = 0; s.reader->Next(&r); ++i) {
    r.offset = i;
    st = s.builder->Add(r);
    if (!st.ok()) break;
  }
  s.out.clear();
  // With "producer" Kafka keeps the producer's codec at its default level.
  const int level =
      o.compression_type < 0 ? protocol::DefaultCompressionLevel(target) : o.compression_level;
  if (st.ok()) st = s.builder->Finish(target, level, &s.out);
  ReleaseLarge(&s);
  if (!st.ok()) return st;
  if (s.out.size() > static_cast<size_t>(std::max(o.max_message_bytes, 0))) {
    return Status::TooLarge("the batch takes " + std::to_string(s.out.size()) + " bytes once " +
                            protocol::CompressionName(target) +
                            "-compressed, more than max.message.bytes (" +
                            std::to_string(o.max_message_bytes) + ")");
  }
  v.data = s.out.data();
  v.size = s.out.size();
  v.batches = 1;
  v.rebuilt = true;
  return v;
}

}  // namespace gregor::log
