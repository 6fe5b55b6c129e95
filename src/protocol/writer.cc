#include "gregor/protocol/writer.h"

#include <unistd.h>

#include <cstring>

namespace gregor::protocol {

Writer::Writer() = default;

std::string& Writer::Mem() {
  if (chunks_.empty() || chunks_.back().is_file) chunks_.emplace_back();
  return chunks_.back().bytes;
}

void Writer::Int8(int8_t v) {
  Mem().push_back(static_cast<char>(v));
  size_ += 1;
}

void Writer::UInt16(uint16_t v) {
  std::string& m = Mem();
  m.push_back(static_cast<char>(v >> 8));
  m.push_back(static_cast<char>(v));
  size_ += 2;
}

void Writer::Int16(int16_t v) { UInt16(static_cast<uint16_t>(v)); }

void Writer::UInt32(uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  Mem().append(b, 4);
  size_ += 4;
}

void Writer::Int32(int32_t v) { UInt32(static_cast<uint32_t>(v)); }

void Writer::Int64(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(u);
    u >>= 8;
  }
  Mem().append(b, 8);
  size_ += 8;
}

void Writer::Float64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  Int64(static_cast<int64_t>(bits));
}

void Writer::Bool(bool v) { Int8(v ? 1 : 0); }

void Writer::UnsignedVarInt(uint32_t v) {
  std::string& m = Mem();
  while (v >= 0x80) {
    m.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
    ++size_;
  }
  m.push_back(static_cast<char>(v));
  ++size_;
}

void Writer::VarInt(int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  UnsignedVarInt((u << 1) ^ static_cast<uint32_t>(v >> 31));
}

void Writer::VarLong(int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  std::string& m = Mem();
  while (u >= 0x80) {
    m.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
    ++size_;
  }
  m.push_back(static_cast<char>(u));
  ++size_;
}

void Writer::Uuid(const std::array<uint8_t, 16>& v) {
  Mem().append(reinterpret_cast<const char*>(v.data()), v.size());
  size_ += v.size();
}

void Writer::Raw(std::string_view v) {
  if (v.empty()) return;
  Mem().append(v.data(), v.size());
  size_ += v.size();
}

void Writer::String(std::string_view v, bool compact) {
  if (compact) {
    UnsignedVarInt(static_cast<uint32_t>(v.size()) + 1);
  } else {
    Int16(static_cast<int16_t>(v.size()));
  }
  Raw(v);
}

void Writer::NullableString(const std::optional<std::string>& v, bool compact) {
  if (!v) {
    if (compact) {
      UnsignedVarInt(0);
    } else {
      Int16(-1);
    }
    return;
  }
  String(*v, compact);
}

void Writer::Bytes(std::string_view v, bool compact) {
  if (compact) {
    UnsignedVarInt(static_cast<uint32_t>(v.size()) + 1);
  } else {
    Int32(static_cast<int32_t>(v.size()));
  }
  Raw(v);
}

void Writer::NullableBytes(const std::optional<std::string_view>& v, bool compact) {
  if (!v) {
    if (compact) {
      UnsignedVarInt(0);
    } else {
      Int32(-1);
    }
    return;
  }
  Bytes(*v, compact);
}

void Writer::ArrayLength(int32_t n, bool compact) {
  if (compact) {
    UnsignedVarInt(n < 0 ? 0 : static_cast<uint32_t>(n) + 1);
  } else {
    Int32(n < 0 ? -1 : n);
  }
}

void Writer::EmptyTaggedFields() { UnsignedVarInt(0); }

void Writer::FileRegion(const gregor::FileRegion& region) {
  if (region.length == 0) return;
  Chunk c;
  c.file = region;
  c.is_file = true;
  chunks_.push_back(std::move(c));
  size_ += region.length;
}

void Writer::Append(Writer&& other) {
  for (Chunk& c : other.chunks_) {
    if (c.is_file) {
      chunks_.push_back(std::move(c));
    } else if (!c.bytes.empty()) {
      Mem().append(c.bytes);
    }
  }
  size_ += other.size_;
  other.chunks_.clear();
  other.size_ = 0;
}

void Writer::PatchInt32(size_t position, int32_t value) {
  uint32_t u = static_cast<uint32_t>(value);
  const uint8_t bytes[4] = {static_cast<uint8_t>(u >> 24), static_cast<uint8_t>(u >> 16),
                            static_cast<uint8_t>(u >> 8), static_cast<uint8_t>(u)};
  // Byte by byte, so a patch that straddles two memory chunks still lands correctly.
  for (size_t i = 0; i < 4; ++i) {
    size_t target = position + i;
    size_t offset = 0;
    for (Chunk& c : chunks_) {
      size_t len = c.is_file ? c.file.length : c.bytes.size();
      if (target < offset + len) {
        if (!c.is_file) c.bytes[target - offset] = static_cast<char>(bytes[i]);
        break;
      }
      offset += len;
    }
  }
}

std::string Writer::Flatten() const {
  std::string out;
  out.reserve(size_);
  for (const Chunk& c : chunks_) {
    if (!c.is_file) {
      out.append(c.bytes);
      continue;
    }
    size_t start = out.size();
    out.resize(start + c.file.length);
    size_t done = 0;
    while (c.file.file && done < c.file.length) {
      ssize_t n = ::pread(c.file.file->fd(), out.data() + start + done, c.file.length - done,
                          static_cast<off_t>(c.file.position + done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  return out;
}

}  // namespace gregor::protocol
