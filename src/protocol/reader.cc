#include "gregor/protocol/reader.h"

#include <cstring>

namespace gregor::protocol {

Reader::Reader(const uint8_t* data, size_t size) : data_(data), size_(data ? size : 0) {}

Reader::Reader(std::string_view bytes)
    : Reader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) {}

bool Reader::Need(size_t n) {
  if (!ok_ || size_ - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}

int8_t Reader::Int8() {
  if (!Need(1)) return 0;
  return static_cast<int8_t>(data_[pos_++]);
}

uint16_t Reader::UInt16() {
  if (!Need(2)) return 0;
  uint16_t v = static_cast<uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
  pos_ += 2;
  return v;
}

int16_t Reader::Int16() { return static_cast<int16_t>(UInt16()); }

uint32_t Reader::UInt32() {
  if (!Need(4)) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | data_[pos_ + i];
  pos_ += 4;
  return v;
}

int32_t Reader::Int32() { return static_cast<int32_t>(UInt32()); }

int64_t Reader::Int64() {
  if (!Need(8)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | data_[pos_ + i];
  pos_ += 8;
  return static_cast<int64_t>(v);
}

double Reader::Float64() {
  uint64_t bits = static_cast<uint64_t>(Int64());
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

bool Reader::Bool() { return Int8() != 0; }

uint32_t Reader::UnsignedVarInt() {
  uint32_t value = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!Need(1)) return 0;
    uint8_t b = data_[pos_++];
    value |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return value;
  }
  // A sixth continuation byte: Kafka rejects such varints as malformed too.
  ok_ = false;
  return 0;
}

int32_t Reader::VarInt() {
  uint32_t raw = UnsignedVarInt();
  return static_cast<int32_t>((raw >> 1) ^ (~(raw & 1) + 1));
}

int64_t Reader::VarLong() {
  uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (!Need(1)) return 0;
    uint8_t b = data_[pos_++];
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      return static_cast<int64_t>((value >> 1) ^ (~(value & 1) + 1));
    }
  }
  ok_ = false;
  return 0;
}

std::array<uint8_t, 16> Reader::Uuid() {
  std::array<uint8_t, 16> id{};
  if (!Need(16)) return id;
  std::memcpy(id.data(), data_ + pos_, 16);
  pos_ += 16;
  return id;
}

std::string_view Reader::Raw(size_t n) {
  if (!Need(n)) return {};
  std::string_view v(reinterpret_cast<const char*>(data_ + pos_), n);
  pos_ += n;
  return v;
}

std::optional<std::string> Reader::NullableString(bool compact) {
  int64_t len;
  if (compact) {
    len = static_cast<int64_t>(UnsignedVarInt()) - 1;
  } else {
    len = Int16();
  }
  if (!ok_) return std::nullopt;
  if (len == -1) return std::nullopt;
  if (len < 0) {
    ok_ = false;
    return std::nullopt;
  }
  std::string_view v = Raw(static_cast<size_t>(len));
  if (!ok_) return std::nullopt;
  return std::string(v);
}

std::string Reader::String(bool compact) {
  std::optional<std::string> s = NullableString(compact);
  if (!s) {
    ok_ = false;
    return {};
  }
  return std::move(*s);
}

std::optional<std::string_view> Reader::NullableBytesView(bool compact) {
  int64_t len;
  if (compact) {
    len = static_cast<int64_t>(UnsignedVarInt()) - 1;
  } else {
    len = Int32();
  }
  if (!ok_) return std::nullopt;
  if (len == -1) return std::nullopt;
  if (len < 0) {
    ok_ = false;
    return std::nullopt;
  }
  std::string_view v = Raw(static_cast<size_t>(len));
  if (!ok_) return std::nullopt;
  return v;
}

std::string_view Reader::BytesView(bool compact) {
  std::optional<std::string_view> v = NullableBytesView(compact);
  if (!v) {
    ok_ = false;
    return {};
  }
  return *v;
}

int32_t Reader::ArrayLength(bool compact) {
  int64_t n;
  if (compact) {
    n = static_cast<int64_t>(UnsignedVarInt()) - 1;
  } else {
    n = Int32();
  }
  if (!ok_) return 0;
  if (n == -1) return -1;
  if (n < 0 || static_cast<uint64_t>(n) > remaining()) {
    ok_ = false;
    return 0;
  }
  return static_cast<int32_t>(n);
}

void Reader::SkipTaggedFields() {
  uint32_t count = UnsignedVarInt();
  for (uint32_t i = 0; i < count && ok_; ++i) {
    UnsignedVarInt();  // tag
    uint32_t size = UnsignedVarInt();
    Raw(size);
  }
}

}  // namespace gregor::protocol
