#include "gregor/protocol/record_batch_reader.h"

#include <string>

#include "gregor/protocol/compression.h"
#include "protocol/batch_bytes.h"

namespace gregor::protocol {
namespace {

using batch_bytes::ReadVarint;
using batch_bytes::ReadVarlong;
using batch_bytes::WrappingAdd;

// A length-prefixed byte field (length -1: null) as a view within [p, end).
bool ReadBytes(const uint8_t*& p, const uint8_t* end, bool* present,
               std::span<const uint8_t>* out) {
  int32_t len;
  if (!ReadVarint(p, end, &len) || len < -1) return false;
  if (len == -1) {
    *present = false;
    *out = {};
    return true;
  }
  if (end - p < len) return false;
  *present = true;
  *out = {p, static_cast<size_t>(len)};
  p += len;
  return true;
}

// One header within [p, end): a non-null key and a nullable value.
bool ReadHeader(const uint8_t*& p, const uint8_t* end, RecordHeaderView* out) {
  bool key_present;
  if (!ReadBytes(p, end, &key_present, &out->key) || !key_present) return false;
  return ReadBytes(p, end, &out->has_value, &out->value);
}

}  // namespace

bool NextRecordHeader(std::span<const uint8_t>* headers, RecordHeaderView* out) {
  const uint8_t* p = headers->data();
  const uint8_t* end = p + headers->size();
  if (p == end || !ReadHeader(p, end, out)) return false;
  *headers = {p, static_cast<size_t>(end - p)};
  return true;
}

void RecordBatchReader::Rewind() {
  pos_ = 0;
  read_ = 0;
  prev_delta_ = -1;
  if (reset_ok_) status_ = Status::Ok();
}

Status RecordBatchReader::Reset(std::span<const uint8_t> batch, size_t max_records_bytes) {
  section_ = {};
  reset_ok_ = false;
  pos_ = 0;
  read_ = 0;
  prev_delta_ = -1;
  status_ = Status::Ok();
  BatchError e = CheckStoredBatch(batch.data(), batch.size(), &header_);
  if (e != BatchError::kNone) {
    status_ = Status::Corruption(std::string("record batch: ") + BatchErrorName(e));
    return status_;
  }
  if (header_.records_count < 0) {
    status_ = Status::Corruption("record batch: negative records count");
    return status_;
  }
  std::span<const uint8_t> raw =
      batch.subspan(kRecordBatchOverhead, header_.total_size() - kRecordBatchOverhead);
  const int codec = header_.compression();
  if (codec == kCompressionNone) {
    if (raw.size() > max_records_bytes) {
      status_ = Status::Corruption("record batch: records section larger than the limit");
      return status_;
    }
    section_ = raw;
    reset_ok_ = true;
    return status_;
  }
  if (codec > kCompressionZstd) {
    status_ =
        Status::Corruption("record batch: unknown compression codec " + std::to_string(codec));
    return status_;
  }
  buffer_.clear();
  Result<size_t> n = Decompress(codec, raw, &buffer_, max_records_bytes);
  if (!n.ok()) {
    status_ = Status::Corruption(std::string("record batch: ") + n.status().message());
    return status_;
  }
  section_ = {buffer_.data(), buffer_.size()};
  reset_ok_ = true;
  return status_;
}

bool RecordBatchReader::Fail(std::string why) {
  status_ = Status::Corruption("record batch at offset " + std::to_string(header_.base_offset) +
                               ", record " + std::to_string(read_) + ": " + std::move(why));
  return false;
}

bool RecordBatchReader::Next(RecordView* r) {
  if (!status_.ok()) return false;
  const uint8_t* p = section_.data() + pos_;
  const uint8_t* end = section_.data() + section_.size();
  if (read_ == header_.records_count) {
    if (p != end) return Fail("bytes left after the last record");
    return false;
  }
  int32_t len;
  if (!ReadVarint(p, end, &len)) return Fail("truncated record length");
  if (len <= 0 || end - p < len) return Fail("record length out of bounds");
  const uint8_t* rend = p + len;
  r->attributes = static_cast<int8_t>(*p++);
  int64_t ts_delta;
  int32_t offset_delta;
  if (!ReadVarlong(p, rend, &ts_delta) || !ReadVarint(p, rend, &offset_delta)) {
    return Fail("truncated record header");
  }
  if (offset_delta <= prev_delta_ || offset_delta > header_.last_offset_delta) {
    return Fail("offset delta out of order or past last_offset_delta");
  }
  if (!ReadBytes(p, rend, &r->has_key, &r->key)) return Fail("bad key");
  if (!ReadBytes(p, rend, &r->has_value, &r->value)) return Fail("bad value");
  int32_t header_count;
  if (!ReadVarint(p, rend, &header_count) || header_count < 0) return Fail("bad header count");
  const uint8_t* headers_at = p;
  for (int32_t i = 0; i < header_count; ++i) {
    RecordHeaderView h;
    if (!ReadHeader(p, rend, &h)) return Fail("bad header");
  }
  if (p != rend) return Fail("record does not fill its length");
  r->header_count = header_count;
  r->headers = {headers_at, static_cast<size_t>(rend - headers_at)};
  r->offset = WrappingAdd(header_.base_offset, offset_delta);
  r->create_timestamp = WrappingAdd(header_.base_timestamp, ts_delta);
  r->timestamp = header_.log_append_time() ? header_.max_timestamp : r->create_timestamp;
  prev_delta_ = offset_delta;
  ++read_;
  pos_ = static_cast<size_t>(rend - section_.data());
  return true;
}

}  // namespace gregor::protocol
