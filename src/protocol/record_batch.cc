#include "gregor/protocol/record_batch.h"

#include <cstring>

#include "gregor/base/crc32c.h"
#include "gregor/protocol/compression.h"
#include "gregor/protocol/record_batch_builder.h"
#include "gregor/protocol/record_batch_reader.h"
#include "protocol/batch_bytes.h"

namespace gregor::protocol {
namespace {

using batch_bytes::AppendVarlong;
using batch_bytes::kAttributesAt;
using batch_bytes::kBaseOffsetAt;
using batch_bytes::kBaseSequenceAt;
using batch_bytes::kBaseTimestampAt;
using batch_bytes::kCrcAt;
using batch_bytes::kLastOffsetDeltaAt;
using batch_bytes::kLeaderEpochAt;
using batch_bytes::kLengthAt;
using batch_bytes::kMagicAt;
using batch_bytes::kMaxTimestampAt;
using batch_bytes::kProducerEpochAt;
using batch_bytes::kProducerIdAt;
using batch_bytes::kRecordsCountAt;
using batch_bytes::Load16;
using batch_bytes::Load32;
using batch_bytes::Load64;
using batch_bytes::LoadBE;
using batch_bytes::ReadVarint;
using batch_bytes::ReadVarlong;
using batch_bytes::StoreBE;
using batch_bytes::WrappingAdd;

// A length-prefixed byte field (-1 = null). Skips over it; optionally returns it.
bool ReadBytesField(const uint8_t*& p, const uint8_t* end, std::optional<std::string>* out) {
  int32_t len;
  if (!ReadVarint(p, end, &len)) return false;
  if (len < -1) return false;
  if (len == -1) {
    if (out) out->reset();
    return true;
  }
  if (end - p < len) return false;
  if (out) out->emplace(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  p += len;
  return true;
}

// Walks one record body [p, end) exactly (no allocation unless `out` is set). A negative
// `expected_delta` accepts any offset delta (the caller checks it; compacted batches).
bool WalkRecord(const uint8_t* p, const uint8_t* end, int32_t expected_delta, Record* out) {
  if (p >= end) return false;
  ++p;  // attributes (unused in v2)
  int64_t ts_delta;
  int32_t offset_delta;
  if (!ReadVarlong(p, end, &ts_delta)) return false;
  if (!ReadVarint(p, end, &offset_delta)) return false;
  if (expected_delta >= 0 && offset_delta != expected_delta) return false;
  if (!ReadBytesField(p, end, out ? &out->key : nullptr)) return false;
  if (!ReadBytesField(p, end, out ? &out->value : nullptr)) return false;
  int32_t header_count;
  if (!ReadVarint(p, end, &header_count) || header_count < 0) return false;
  for (int32_t i = 0; i < header_count; ++i) {
    int32_t klen;
    if (!ReadVarint(p, end, &klen) || klen < 0 || end - p < klen) return false;
    std::string key;
    if (out) key.assign(reinterpret_cast<const char*>(p), static_cast<size_t>(klen));
    p += klen;
    std::optional<std::string> value;
    if (!ReadBytesField(p, end, out ? &value : nullptr)) return false;
    if (out) out->headers.emplace_back(std::move(key), std::move(value));
  }
  if (out) {
    out->offset = offset_delta;
    out->timestamp = ts_delta;
  }
  return p == end;  // the record must fill its declared length exactly
}

// Walks the records section of an uncompressed batch.
bool WalkRecords(const uint8_t* batch, size_t total, int32_t count) {
  const uint8_t* p = batch + kRecordBatchOverhead;
  const uint8_t* end = batch + total;
  for (int32_t i = 0; i < count; ++i) {
    int32_t len;
    if (!ReadVarint(p, end, &len) || len <= 0 || end - p < len) return false;
    if (!WalkRecord(p, p + len, i, nullptr)) return false;
    p += len;
  }
  return p == end;
}

}  // namespace

const char* BatchErrorName(BatchError e) {
  switch (e) {
    case BatchError::kNone:
      return "none";
    case BatchError::kCorrupt:
      return "corrupt";
    case BatchError::kUnsupportedMagic:
      return "unsupported magic";
    case BatchError::kInvalidRecord:
      return "invalid record";
    case BatchError::kTooLarge:
      return "too large";
  }
  return "unknown";
}

bool ParseRecordBatchHeader(const uint8_t* p, size_t n, RecordBatchHeader* out) {
  if (n < kRecordBatchOverhead) return false;
  out->base_offset = Load64(p + kBaseOffsetAt);
  out->batch_length = Load32(p + kLengthAt);
  out->partition_leader_epoch = Load32(p + kLeaderEpochAt);
  out->magic = static_cast<int8_t>(p[kMagicAt]);
  out->crc = static_cast<uint32_t>(LoadBE(p + kCrcAt, 4));
  out->attributes = Load16(p + kAttributesAt);
  out->last_offset_delta = Load32(p + kLastOffsetDeltaAt);
  out->base_timestamp = Load64(p + kBaseTimestampAt);
  out->max_timestamp = Load64(p + kMaxTimestampAt);
  out->producer_id = Load64(p + kProducerIdAt);
  out->producer_epoch = Load16(p + kProducerEpochAt);
  out->base_sequence = Load32(p + kBaseSequenceAt);
  out->records_count = Load32(p + kRecordsCountAt);
  return true;
}

BatchError CheckStoredBatch(const uint8_t* p, size_t n, RecordBatchHeader* h) {
  if (n < kRecordBatchOverhead) return BatchError::kCorrupt;
  ParseRecordBatchHeader(p, n, h);
  if (h->batch_length < static_cast<int32_t>(kRecordBatchOverhead - kRecordBatchLogOverhead)) {
    return BatchError::kCorrupt;
  }
  if (h->total_size() > n) return BatchError::kCorrupt;
  if (h->magic != 2) return BatchError::kUnsupportedMagic;
  uint32_t crc = Crc32c(0, p + kRecordBatchCrcStart, h->total_size() - kRecordBatchCrcStart);
  if (crc != h->crc) return BatchError::kCorrupt;
  return BatchError::kNone;
}

BatchError ValidateRecordSet(const uint8_t* p, size_t n, int32_t max_batch_bytes, int64_t* records,
                             int32_t* batches) {
  int64_t total_records = 0;
  int32_t total_batches = 0;
  size_t pos = 0;
  if (n == 0) return BatchError::kInvalidRecord;  // Kafka rejects an empty produce record set
  while (pos < n) {
    size_t left = n - pos;
    // Magic sits at byte 16: report an old-format set as such, not as corruption.
    if (left > kMagicAt && p[pos + kMagicAt] != 2) return BatchError::kUnsupportedMagic;
    RecordBatchHeader h;
    BatchError e = CheckStoredBatch(p + pos, left, &h);
    if (e != BatchError::kNone) return e;
    if (max_batch_bytes >= 0 && h.total_size() > static_cast<size_t>(max_batch_bytes)) {
      return BatchError::kTooLarge;
    }
    if (h.records_count <= 0 || h.last_offset_delta < 0 ||
        static_cast<int64_t>(h.last_offset_delta) + 1 != h.records_count) {
      return BatchError::kInvalidRecord;
    }
    if (h.compression() > 4) return BatchError::kInvalidRecord;
    if (h.compression() == 0 && !WalkRecords(p + pos, h.total_size(), h.records_count)) {
      return BatchError::kInvalidRecord;
    }
    total_records += h.records_count;
    ++total_batches;
    pos += h.total_size();
  }
  if (records) *records = total_records;
  if (batches) *batches = total_batches;
  return BatchError::kNone;
}

void UpdateBatchCrc(uint8_t* batch) {
  size_t total = static_cast<size_t>(Load32(batch + kLengthAt)) + kRecordBatchLogOverhead;
  uint32_t crc = Crc32c(0, batch + kRecordBatchCrcStart, total - kRecordBatchCrcStart);
  StoreBE(batch + kCrcAt, crc, 4);
}

void StampBatch(uint8_t* batch, int64_t base_offset, int32_t leader_epoch,
                int64_t log_append_time) {
  StoreBE(batch + kBaseOffsetAt, static_cast<uint64_t>(base_offset), 8);
  StoreBE(batch + kLeaderEpochAt, static_cast<uint32_t>(leader_epoch), 4);
  if (log_append_time < 0) return;
  uint16_t attrs = static_cast<uint16_t>(Load16(batch + kAttributesAt)) | kTimestampTypeBit;
  StoreBE(batch + kAttributesAt, attrs, 2);
  StoreBE(batch + kMaxTimestampAt, static_cast<uint64_t>(log_append_time), 8);
  UpdateBatchCrc(batch);
}

std::string BuildRecordBatch(int64_t base_offset, int64_t base_timestamp,
                             const std::vector<KeyValue>& key_values) {
  BatchSpec spec;
  spec.base_offset = base_offset;
  std::vector<RecordSpec> recs;
  recs.reserve(key_values.size());
  for (const auto& [k, v] : key_values) {
    RecordSpec r;
    r.key = k;
    r.value = v;
    r.timestamp = base_timestamp;
    recs.push_back(std::move(r));
  }
  return BuildRecordBatch(spec, recs);
}

std::string BuildRecordBatch(const BatchSpec& spec, const std::vector<RecordSpec>& records) {
  RecordBatchHeader h;
  h.base_offset = spec.base_offset;
  h.partition_leader_epoch = spec.partition_leader_epoch;
  h.attributes = spec.attributes;
  h.producer_id = spec.producer_id;
  h.producer_epoch = spec.producer_epoch;
  h.base_sequence = spec.base_sequence;
  h.base_timestamp = records.empty() ? -1 : records.front().timestamp;
  h.max_timestamp = h.base_timestamp;
  h.last_offset_delta = 0;
  RecordBatchBuilder builder;
  builder.Reset(h);
  std::vector<uint8_t> headers;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordSpec& r = records[i];
    headers.clear();
    for (const auto& [hk, hv] : r.headers) {
      AppendVarlong(&headers, static_cast<int64_t>(hk.size()));
      headers.insert(headers.end(), hk.begin(), hk.end());
      AppendVarlong(&headers, hv ? static_cast<int64_t>(hv->size()) : -1);
      if (hv) headers.insert(headers.end(), hv->begin(), hv->end());
    }
    RecordView v;
    v.offset = WrappingAdd(spec.base_offset, static_cast<int64_t>(i));
    v.create_timestamp = r.timestamp;
    v.has_key = r.key.has_value();
    if (r.key) v.key = {reinterpret_cast<const uint8_t*>(r.key->data()), r.key->size()};
    v.has_value = r.value.has_value();
    if (r.value) v.value = {reinterpret_cast<const uint8_t*>(r.value->data()), r.value->size()};
    v.header_count = static_cast<int32_t>(r.headers.size());
    v.headers = headers;
    builder.Add(v);  // offsets base + i always fit
  }
  const int codec = spec.attributes & kCompressionMask;
  std::vector<uint8_t> out;
  if (!builder.Finish(codec, DefaultCompressionLevel(codec), &out).ok()) return {};
  return std::string(out.begin(), out.end());
}

bool DecodeBatchRecords(const uint8_t* p, size_t n, std::vector<Record>* out,
                        size_t max_records_bytes) {
  RecordBatchReader reader;
  if (!reader.Reset({p, n}, max_records_bytes).ok()) return false;
  RecordView v;
  while (reader.Next(&v)) {
    Record r;
    r.offset = v.offset;
    r.timestamp = v.timestamp;
    if (v.has_key) r.key.emplace(v.key.begin(), v.key.end());
    if (v.has_value) r.value.emplace(v.value.begin(), v.value.end());
    std::span<const uint8_t> headers = v.headers;
    RecordHeaderView hv;
    while (NextRecordHeader(&headers, &hv)) {
      std::optional<std::string> value;
      if (hv.has_value) value.emplace(hv.value.begin(), hv.value.end());
      r.headers.emplace_back(std::string(hv.key.begin(), hv.key.end()), std::move(value));
    }
    out->push_back(std::move(r));
  }
  return reader.status().ok();
}

}  // namespace gregor::protocol
