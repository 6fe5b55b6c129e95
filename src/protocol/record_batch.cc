#include "gregor/protocol/record_batch.h"

#include <cstring>

#include "gregor/base/crc32c.h"

namespace gregor::protocol {
namespace {

// Field offsets of the v2 header (Kafka's DefaultRecordBatch constants).
constexpr size_t kBaseOffsetAt = 0;
constexpr size_t kLengthAt = 8;
constexpr size_t kLeaderEpochAt = 12;
constexpr size_t kMagicAt = 16;
constexpr size_t kCrcAt = 17;
constexpr size_t kAttributesAt = 21;
constexpr size_t kLastOffsetDeltaAt = 23;
constexpr size_t kBaseTimestampAt = 27;
constexpr size_t kMaxTimestampAt = 35;
constexpr size_t kProducerIdAt = 43;
constexpr size_t kProducerEpochAt = 51;
constexpr size_t kBaseSequenceAt = 53;
constexpr size_t kRecordsCountAt = 57;

uint64_t LoadBE(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}
void StoreBE(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
int16_t Load16(const uint8_t* p) { return static_cast<int16_t>(LoadBE(p, 2)); }
int32_t Load32(const uint8_t* p) { return static_cast<int32_t>(LoadBE(p, 4)); }
int64_t Load64(const uint8_t* p) { return static_cast<int64_t>(LoadBE(p, 8)); }
// a + b with two's-complement wrap-around (Java's long addition) instead of undefined behaviour.
int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// Zig-zag varint reader over [p, end). Returns false when truncated or over-long.
bool ReadVarlong(const uint8_t*& p, const uint8_t* end, int64_t* out) {
  uint64_t raw = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= end) return false;
    uint8_t b = *p++;
    raw |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      return true;
    }
  }
  return false;
}
bool ReadVarint(const uint8_t*& p, const uint8_t* end, int32_t* out) {
  uint32_t raw = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (p >= end) return false;
    uint8_t b = *p++;
    raw |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = static_cast<int32_t>(raw >> 1) ^ -static_cast<int32_t>(raw & 1);
      return true;
    }
  }
  return false;
}
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

void AppendVarlong(std::string* s, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    s->push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  s->push_back(static_cast<char>(z));
}
void AppendBytesField(std::string* s, const std::optional<std::string>& v) {
  if (!v) {
    AppendVarlong(s, -1);
    return;
  }
  AppendVarlong(s, static_cast<int64_t>(v->size()));
  s->append(*v);
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
  int64_t base_ts = records.empty() ? -1 : records.front().timestamp;
  int64_t max_ts = base_ts;
  std::string body;
  std::string rec;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordSpec& r = records[i];
    if (r.timestamp > max_ts) max_ts = r.timestamp;
    rec.clear();
    rec.push_back(0);  // record attributes
    AppendVarlong(&rec, r.timestamp - base_ts);
    AppendVarlong(&rec, static_cast<int64_t>(i));
    AppendBytesField(&rec, r.key);
    AppendBytesField(&rec, r.value);
    AppendVarlong(&rec, static_cast<int64_t>(r.headers.size()));
    for (const auto& [hk, hv] : r.headers) {
      AppendVarlong(&rec, static_cast<int64_t>(hk.size()));
      rec.append(hk);
      AppendBytesField(&rec, hv);
    }
    AppendVarlong(&body, static_cast<int64_t>(rec.size()));
    body.append(rec);
  }
  std::string out(kRecordBatchOverhead, '\0');
  out.append(body);
  auto* b = reinterpret_cast<uint8_t*>(out.data());
  StoreBE(b + kBaseOffsetAt, static_cast<uint64_t>(spec.base_offset), 8);
  StoreBE(b + kLengthAt, out.size() - kRecordBatchLogOverhead, 4);
  StoreBE(b + kLeaderEpochAt, static_cast<uint32_t>(spec.partition_leader_epoch), 4);
  b[kMagicAt] = 2;
  StoreBE(b + kAttributesAt, static_cast<uint16_t>(spec.attributes), 2);
  int32_t last_delta = records.empty() ? 0 : static_cast<int32_t>(records.size() - 1);
  StoreBE(b + kLastOffsetDeltaAt, static_cast<uint32_t>(last_delta), 4);
  StoreBE(b + kBaseTimestampAt, static_cast<uint64_t>(base_ts), 8);
  StoreBE(b + kMaxTimestampAt, static_cast<uint64_t>(max_ts), 8);
  StoreBE(b + kProducerIdAt, static_cast<uint64_t>(spec.producer_id), 8);
  StoreBE(b + kProducerEpochAt, static_cast<uint16_t>(spec.producer_epoch), 2);
  StoreBE(b + kBaseSequenceAt, static_cast<uint32_t>(spec.base_sequence), 4);
  StoreBE(b + kRecordsCountAt, static_cast<uint32_t>(records.size()), 4);
  UpdateBatchCrc(b);
  return out;
}

bool DecodeBatchRecords(const uint8_t* p, size_t n, std::vector<Record>* out) {
  RecordBatchHeader h;
  if (CheckStoredBatch(p, n, &h) != BatchError::kNone) return false;
  if (h.compression() != 0 || h.records_count < 0) return false;
  const uint8_t* q = p + kRecordBatchOverhead;
  const uint8_t* end = p + h.total_size();
  // The log cleaner keeps a batch's base and last offsets but drops records, so stored batches
  // may have gaps: offset deltas need only increase strictly within [0, last_offset_delta].
  int64_t prev_delta = -1;
  for (int32_t i = 0; i < h.records_count; ++i) {
    int32_t len;
    if (!ReadVarint(q, end, &len) || len <= 0 || end - q < len) return false;
    Record r;
    if (!WalkRecord(q, q + len, -1, &r)) return false;
    if (r.offset <= prev_delta || r.offset > h.last_offset_delta) return false;
    prev_delta = r.offset;
    // Both bases come from the sender (a Produce batch is decoded before the leader stamps
    // it): add as Kafka's Java longs do, wrapping, never with signed overflow.
    r.offset = WrappingAdd(h.base_offset, r.offset);
    r.timestamp =
        h.log_append_time() ? h.max_timestamp : WrappingAdd(h.base_timestamp, r.timestamp);
    out->push_back(std::move(r));
    q += len;
  }
  return q == end;
}

}  // namespace gregor::protocol
