#include "log/offset_map.h"

#include <openssl/sha.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gregor::log {

namespace {

double ClampLoadFactor(double load_factor) { return std::clamp(load_factor, 0.01, 1.0); }

size_t MaxEntries(size_t slots, double load_factor) {
  size_t n = static_cast<size_t>(static_cast<double>(slots) * ClampLoadFactor(load_factor));
  return std::min(std::max<size_t>(n, 1), slots);
}

}  // namespace

SkimpyOffsetMap::SkimpyOffsetMap(size_t memory_bytes, double load_factor) {
  slots_ = std::max<size_t>(memory_bytes / kSlotBytes, 1);
  max_entries_ = MaxEntries(slots_, load_factor);
  // An anonymous mapping rather than a zero-filled vector: a vector writes every byte up front
  // (the whole dedupe buffer resident at once), a fresh mapping is zero pages the kernel
  // provides on first touch.
  mapped_bytes_ = slots_ * kSlotBytes;
  void* p =
      ::mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    mapped_bytes_ = 0;
    max_entries_ = 0;
    return;
  }
  table_ = static_cast<uint64_t*>(p);
}

SkimpyOffsetMap::~SkimpyOffsetMap() {
  if (table_ != nullptr) ::munmap(table_, mapped_bytes_);
}

size_t SkimpyOffsetMap::MemoryFor(size_t entries, double load_factor) {
  const double lf = ClampLoadFactor(load_factor);
  size_t slots =
      std::max<size_t>(static_cast<size_t>(std::ceil(static_cast<double>(entries) / lf)), entries);
  slots = std::max<size_t>(slots, 1);
  while (MaxEntries(slots, load_factor) < entries) ++slots;  // rounding of the product
  return slots * kSlotBytes;
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
  if (table_ == nullptr) return false;
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
  if (table_ == nullptr) return -1;
  size_t i = Find(HashKey(key));
  if (i == slots_) return -1;
  const uint64_t* s = &table_[i * 3];
  return s[2] == 0 ? -1 : static_cast<int64_t>(s[2] - 1);
}

void SkimpyOffsetMap::Clear() {
  if (table_ != nullptr && size_ > 0) {
    // On a private anonymous mapping MADV_DONTNEED frees the pages and later reads see zeros:
    // an empty table that holds no memory. Should it fail, zero the table by hand.
    if (::madvise(table_, mapped_bytes_, MADV_DONTNEED) != 0) {
      std::memset(table_, 0, mapped_bytes_);
    }
  }
  size_ = 0;
  latest_offset_ = -1;
}

}  // namespace gregor::log
