#pragma once
// Reader: decodes Kafka wire primitives from a byte span.
//
// What: a cursor over a request frame that understands Kafka's fixed-width big-endian integers,
// zig-zag and unsigned LEB128 varints, classic and compact ("flexible version") strings, bytes
// and arrays, and tagged-field sections.
// Owner: a stack value created by whoever decodes a frame (the connection, a test, the
// controller channel). It does not own the bytes; they must outlive the Reader and every
// string_view it hands out.
// Thread: none of its own; not thread-safe, used by one thread at a time.
// Errors: sticky. The first malformed or truncated read sets ok() to false; from then on every
// call returns a zero value and does not move. Callers check ok() once per message. It never
// throws and never reads out of bounds; length prefixes are validated against remaining() before
// anything is allocated, so a hostile count cannot make us reserve gigabytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gregor::protocol {

class Reader {
 public:
  Reader(const uint8_t* data, size_t size);
  explicit Reader(std::string_view bytes);

  bool ok() const { return ok_; }
  size_t remaining() const { return size_ - pos_; }
  size_t position() const { return pos_; }
  // Marks the input as malformed (e.g. a semantic check in a generated decoder failed).
  void Fail() { ok_ = false; }

  int8_t Int8();
  int16_t Int16();
  int32_t Int32();
  int64_t Int64();
  uint16_t UInt16();
  uint32_t UInt32();
  double Float64();
  bool Bool();
  int32_t VarInt();           // zig-zag, at most 5 bytes
  int64_t VarLong();          // zig-zag, at most 10 bytes
  uint32_t UnsignedVarInt();  // unsigned LEB128, at most 5 bytes
  std::array<uint8_t, 16> Uuid();

  // Non-compact: int16 length; compact: uvarint length+1. A null string fails.
  std::string String(bool compact);
  std::optional<std::string> NullableString(bool compact);
  // Non-compact: int32 length; compact: uvarint length+1. The view points into the input.
  std::string_view BytesView(bool compact);
  std::optional<std::string_view> NullableBytesView(bool compact);
  // Returns the element count, or -1 for a null array. Fails on any other negative count and
  // on a count larger than remaining() (every element takes at least one byte).
  int32_t ArrayLength(bool compact);
  // Reads a tagged-field section and ignores every field in it.
  void SkipTaggedFields();
  // The next n bytes, as a view into the input.
  std::string_view Raw(size_t n);

 private:
  bool Need(size_t n);
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace gregor::protocol
