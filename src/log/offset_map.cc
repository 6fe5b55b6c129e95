#include "log/offset_map.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace gregor::log {

SkimpyOffsetMap::SkimpyOffsetMap(size_t memory_bytes, double load_factor) {
  slots_ = std::max<size_t>(memory_bytes / kSlotBytes, 1);
  double lf = std::clamp(load_factor, 0.01, 1.0);
  max_entries_ = std::max<size_t>(static_cast<size_t>(static_cast<double>(slots_) * lf), 1);
  max_entries_ = std::min(max_entries_, slots_);
  table_.assign(slots_ * 3, 0);
}

SkimpyOffsetMap::Hash SkimpyOffsetMap::HashKey(std::string_view key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  Hash h;
  std::memcpy(&h.hi, digest, 8);
  std::memcpy(&h.lo, digest + 8, 8);
  return h;
}

size_t SkimpyOffsetMap::Find(const Hash& h) const {
  // Linear probing from a position taken from the hash; the table is never full (size is
  // bounded by max_entries_ <= slots_ and a miss stops at an empty slot or after a full cycle).
  size_t i = static_cast<size_t>(h.lo % slots_);
  for (size_t probes = 0; probes < slots_; ++probes) {
    const uint64_t* s = &table_[i * 3];
    if (s[2] == 0 || (s[0] == h.hi && s[1] == h.lo)) return i;
    i = (i + 1 == slots_) ? 0 : i + 1;
  }
  return slots_;
}

bool SkimpyOffsetMap::Put(std::string_view key, int64_t offset) {
  Hash h = HashKey(key);
  size_t i = Find(h);
  if (i == slots_) return false;
  uint64_t* s = &table_[i * 3];
  if (s[2] == 0) {
    if (size_ >= max_entries_) return false;
    s[0] = h.hi;
    s[1] = h.lo;
    ++size_;
  }
  s[2] = static_cast<uint64_t>(offset) + 1;
  latest_offset_ = std::max(latest_offset_, offset);
  return true;
}

int64_t SkimpyOffsetMap::Get(std::string_view key) const {
  size_t i = Find(HashKey(key));
  if (i == slots_) return -1;
  const uint64_t* s = &table_[i * 3];
  return s[2] == 0 ? -1 : static_cast<int64_t>(s[2] - 1);
}

void SkimpyOffsetMap::Clear() {
  std::fill(table_.begin(), table_.end(), 0);
  size_ = 0;
  latest_offset_ = -1;
}

}  // namespace gregor::log
