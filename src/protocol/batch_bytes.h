#pragma once
// Internal to the protocol module: the byte-level pieces shared by record_batch.cc and the
// batch reader/builder. The v2 header's field offsets (Kafka's DefaultRecordBatch layout),
// big-endian loads and stores, and the zig-zag varints of records (Kafka's ByteUtils varint /
// varlong: at most 5 and 10 bytes).

#include <cstddef>
#include <cstdint>

namespace gregor::protocol::batch_bytes {

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

inline uint64_t LoadBE(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}
inline void StoreBE(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}
inline int16_t Load16(const uint8_t* p) { return static_cast<int16_t>(LoadBE(p, 2)); }
inline int32_t Load32(const uint8_t* p) { return static_cast<int32_t>(LoadBE(p, 4)); }
inline int64_t Load64(const uint8_t* p) { return static_cast<int64_t>(LoadBE(p, 8)); }

// a + b and a - b with two's-complement wrap-around (Java's long arithmetic) instead of
// undefined behaviour: both operands may come from the wire or a corrupt segment.
inline int64_t WrappingAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t WrappingSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

// Zig-zag varint readers over [p, end); false when truncated or over-long.
inline bool ReadVarlong(const uint8_t*& p, const uint8_t* end, int64_t* out) {
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
inline bool ReadVarint(const uint8_t*& p, const uint8_t* end, int32_t* out) {
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

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
// Bytes of the zig-zag varint encoding of v.
inline size_t VarlongSize(int64_t v) {
  uint64_t z = ZigZag(v);
  size_t n = 1;
  while (z >= 0x80) {
    z >>= 7;
    ++n;
  }
  return n;
}
// Appends the zig-zag varint of v to a byte container (std::string or std::vector<uint8_t>).
template <typename Container>
void AppendVarlong(Container* s, int64_t v) {
  using T = typename Container::value_type;
  uint64_t z = ZigZag(v);
  while (z >= 0x80) {
    s->push_back(static_cast<T>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  s->push_back(static_cast<T>(z));
}

}  // namespace gregor::protocol::batch_bytes
