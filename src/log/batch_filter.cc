#include "log/batch_filter.h"

#include <algorithm>
#include <cstring>

#include "gregor/base/crc32c.h"

namespace gregor::log {

using protocol::kRecordBatchCrcStart;
using protocol::kRecordBatchLogOverhead;
using protocol::kRecordBatchOverhead;
using protocol::RecordBatchHeader;

namespace {

// Zig-zag varint (Protobuf's sint64), at most 10 bytes.
bool ReadVarlong(const uint8_t* p, size_t n, size_t* at, int64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*at >= n) return false;
    uint8_t b = p[(*at)++];
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
      return true;
    }
  }
  return false;
}

bool ReadVarint(const uint8_t* p, size_t n, size_t* at, int64_t* out) {
  int64_t v;
  if (!ReadVarlong(p, n, at, &v) || v < INT32_MIN || v > INT32_MAX) return false;
  *out = v;
  return true;
}

void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

void PutBe64(uint8_t* p, uint64_t v) {
  PutBe32(p, static_cast<uint32_t>(v >> 32));
  PutBe32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace

bool ParseRawRecords(const uint8_t* p, const RecordBatchHeader& h, std::vector<RawRecord>* out) {
  out->clear();
  if (h.compression() != 0 || h.records_count < 0) return false;
  const size_t n = h.total_size();
  if (n < kRecordBatchOverhead) return false;
  size_t at = kRecordBatchOverhead;
  for (int32_t i = 0; i < h.records_count; ++i) {
    RawRecord r;
    r.position = at;
    int64_t length;
    if (!ReadVarint(p, n, &at, &length) || length < 0 || static_cast<uint64_t>(length) > n - at) {
      return false;
    }
    const size_t end = at + static_cast<size_t>(length);
    r.size = end - r.position;
    if (at >= end) return false;
    at += 1;  // attributes
    int64_t ts_delta, offset_delta, key_len, value_len;
    if (!ReadVarlong(p, end, &at, &ts_delta) || !ReadVarint(p, end, &at, &offset_delta) ||
        !ReadVarint(p, end, &at, &key_len)) {
      return false;
    }
    if (key_len >= 0) {
      if (static_cast<uint64_t>(key_len) > end - at) return false;
      r.has_key = true;
      r.key = std::string_view(reinterpret_cast<const char*>(p + at), static_cast<size_t>(key_len));
      at += static_cast<size_t>(key_len);
    } else if (key_len != -1) {
      return false;
    }
    if (!ReadVarint(p, end, &at, &value_len)) return false;
    if (value_len >= 0) {
      if (static_cast<uint64_t>(value_len) > end - at) return false;
      r.has_value = true;
      r.value =
          std::string_view(reinterpret_cast<const char*>(p + at), static_cast<size_t>(value_len));
    } else if (value_len != -1) {
      return false;
    }
    if (offset_delta < 0 || offset_delta > h.last_offset_delta) return false;
    r.offset = h.base_offset + offset_delta;
    r.timestamp = h.base_timestamp + ts_delta;
    out->push_back(r);
    at = end;  // headers are carried along inside the record's bytes
  }
  return at == n;
}

void AppendFilteredBatch(const uint8_t* p, const RecordBatchHeader& h,
                         const std::vector<RawRecord>& records, const std::vector<bool>& keep,
                         std::string* out) {
  const size_t start = out->size();
  out->append(reinterpret_cast<const char*>(p), kRecordBatchOverhead);
  int32_t count = 0;
  int64_t max_ts = -1;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!keep[i]) continue;
    out->append(reinterpret_cast<const char*>(p) + records[i].position, records[i].size);
    max_ts = std::max(max_ts, records[i].timestamp);
    ++count;
  }
  auto* b = reinterpret_cast<uint8_t*>(out->data()) + start;
  const size_t total = out->size() - start;
  PutBe32(b + 8, static_cast<uint32_t>(total - kRecordBatchLogOverhead));
  // LogAppendTime batches carry the append time in max timestamp: keep it.
  if (!h.log_append_time()) PutBe64(b + 35, static_cast<uint64_t>(max_ts));
  PutBe32(b + 57, static_cast<uint32_t>(count));
  uint32_t crc = Crc32c(0, b + kRecordBatchCrcStart, total - kRecordBatchCrcStart);
  PutBe32(b + 17, crc);
}

void AppendEmptyBatch(const uint8_t* p, const RecordBatchHeader& h, std::string* out) {
  const size_t start = out->size();
  out->append(reinterpret_cast<const char*>(p), kRecordBatchOverhead);
  auto* b = reinterpret_cast<uint8_t*>(out->data()) + start;
  PutBe32(b + 8, static_cast<uint32_t>(kRecordBatchOverhead - kRecordBatchLogOverhead));
  const auto attributes =
      static_cast<uint16_t>(h.attributes & (protocol::kTimestampTypeBit |
                                            protocol::kTransactionalBit | protocol::kControlBit));
  b[21] = static_cast<uint8_t>(attributes >> 8);
  b[22] = static_cast<uint8_t>(attributes);
  PutBe64(b + 27, static_cast<uint64_t>(int64_t{-1}));
  PutBe32(b + 57, 0);
  PutBe32(b + 17, Crc32c(0, b + kRecordBatchCrcStart, kRecordBatchOverhead - kRecordBatchCrcStart));
}

}  // namespace gregor::log
