#pragma once
// Writer: encodes Kafka wire primitives into an ordered list of chunks.
//
// What: the output side of the codec. Bytes produced by the encoder accumulate in memory chunks;
// record data that lives in log segment files is appended as FileRegion chunks so the network
// layer can send it with sendfile() instead of copying it through user space.
// Owner: whoever builds a frame (a request handler, a test, the controller channel). A Writer
// holds shared references to the files of its FileRegion chunks, keeping them readable until
// the frame has been sent even if retention deletes the segment meanwhile.
// Thread: none of its own; not thread-safe.
// Errors: none; writing cannot fail. Misuse (patching bytes that are not in memory) is ignored
// rather than crashing, since a malformed response is better than a dead broker.
//
// Typical framing: `Writer w; w.Int32(0); <header>; <body>; w.PatchInt32(0, w.size() - 4);`

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/base/file_region.h"

namespace gregor::protocol {

class Writer {
 public:
  // One piece of the output: either bytes in memory or a region of a file.
  struct Chunk {
    std::string bytes;
    gregor::FileRegion file;
    bool is_file = false;
  };

  Writer();

  void Int8(int8_t v);
  void Int16(int16_t v);
  void Int32(int32_t v);
  void Int64(int64_t v);
  void UInt16(uint16_t v);
  void UInt32(uint32_t v);
  void Float64(double v);
  void Bool(bool v);
  void VarInt(int32_t v);
  void VarLong(int64_t v);
  void UnsignedVarInt(uint32_t v);
  void Uuid(const std::array<uint8_t, 16>& v);

  void String(std::string_view v, bool compact);
  void NullableString(const std::optional<std::string>& v, bool compact);
  void Bytes(std::string_view v, bool compact);
  void NullableBytes(const std::optional<std::string_view>& v, bool compact);
  // n = -1 writes a null array.
  void ArrayLength(int32_t n, bool compact);
  // An empty tagged-field section (uvarint 0).
  void EmptyTaggedFields();
  void Raw(std::string_view v);
  // Appends a zero-copy chunk whose bytes come from the file. Empty regions are dropped.
  void FileRegion(const gregor::FileRegion& region);
  // Moves all chunks of `other` to the end of this writer.
  void Append(Writer&& other);

  // Total bytes written so far, file regions included.
  size_t size() const { return size_; }
  // Overwrites 4 bytes at `position` (counted like size()) with a big-endian int32. The bytes
  // must already be in memory chunks; works for position 0 even when later chunks are files.
  void PatchInt32(size_t position, int32_t value);

  std::vector<Chunk>& chunks() { return chunks_; }
  const std::vector<Chunk>& chunks() const { return chunks_; }
  // All bytes as one string, reading file regions with pread(). For tests, tagged-field sizing
  // and small frames; the network path sends chunks() instead.
  std::string Flatten() const;

 private:
  std::string& Mem();
  std::vector<Chunk> chunks_;
  size_t size_ = 0;
};

}  // namespace gregor::protocol
