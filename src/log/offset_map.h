#pragma once
// SkimpyOffsetMap: the log cleaner's key -> latest offset map, in a fixed memory budget
// (log.cleaner.dedupe.buffer.size split across the cleaner threads), as Kafka's
// SkimpyOffsetMap: open addressing over 24-byte slots (16 bytes of a SHA-256 of the key, the
// int64 offset). Storing a hash instead of the key bounds memory whatever the key sizes; a
// 128-bit cryptographic hash makes two keys sharing a slot identity vanishingly unlikely even
// for keys a client chose on purpose.
//
// Owner: one cleaner thread (not thread-safe). Lifecycle: built once, Clear() between logs.
// Errors: Put returns false when the map is full (load factor reached).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace gregor::log {

class SkimpyOffsetMap {
 public:
  static constexpr size_t kSlotBytes = 24;
  // `memory_bytes` / 24 slots, of which at most `load_factor` are filled.
  SkimpyOffsetMap(size_t memory_bytes, double load_factor);

  // Records `offset` as the latest for `key` (offsets must be put in increasing order).
  // False when the key is new and the map is full; the map is then unchanged.
  bool Put(std::string_view key, int64_t offset);
  // The latest offset recorded for `key`, or -1.
  int64_t Get(std::string_view key) const;
  void Clear();

  size_t size() const { return size_; }
  size_t slots() const { return slots_; }
  size_t max_entries() const { return max_entries_; }
  // The largest offset put since Clear, or -1.
  int64_t latest_offset() const { return latest_offset_; }

 private:
  struct Hash {
    uint64_t hi;
    uint64_t lo;
  };
  static Hash HashKey(std::string_view key);
  // Slot holding `h`, or the empty slot where it would go.
  size_t Find(const Hash& h) const;

  size_t slots_;
  size_t max_entries_;
  // Three uint64 per slot: hash hi, hash lo, offset + 1 (0 = empty).
  std::vector<uint64_t> table_;
  size_t size_ = 0;
  int64_t latest_offset_ = -1;
};

}  // namespace gregor::log
