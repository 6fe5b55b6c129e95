#pragma once
// SkimpyOffsetMap: the log cleaner's key -> latest offset map, in a fixed memory budget
// (log.cleaner.dedupe.buffer.size split across the cleaner threads), as Kafka's
// SkimpyOffsetMap: open addressing over 24-byte slots (16 bytes of a SHA-256 of the key, the
// int64 offset). Storing a hash instead of the key bounds memory whatever the key sizes; a
// 128-bit cryptographic hash makes two keys sharing a slot identity vanishingly unlikely even
// for keys a client chose on purpose.
//
// Memory: the slots live in an anonymous mapping of their own. Its pages are zero and cost
// nothing until a key lands on them, Clear() hands them back to the kernel, and the destructor
// unmaps them: a map built for one cleaning pass (Cleaner::Clean sizes it to the pass) holds no
// memory after the pass, and a map much larger than its keys costs only the pages they touch.
//
// Owner: one cleaner thread (not thread-safe). Lifecycle: built per cleaning pass; Clear()
// empties it for reuse. Errors: Put returns false when the map is full (load factor reached);
// allocated() is false when the mapping could not be made (then every Put fails).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gregor::log {

class SkimpyOffsetMap {
 public:
  static constexpr size_t kSlotBytes = 24;
  // `memory_bytes` / 24 slots, of which at most `load_factor` are filled.
  SkimpyOffsetMap(size_t memory_bytes, double load_factor);
  ~SkimpyOffsetMap();
  SkimpyOffsetMap(const SkimpyOffsetMap&) = delete;
  SkimpyOffsetMap& operator=(const SkimpyOffsetMap&) = delete;

  // The smallest memory_bytes whose map takes `entries` keys at `load_factor`.
  static size_t MemoryFor(size_t entries, double load_factor);

  // Records `offset` as the latest for `key` (offsets must be put in increasing order).
  // False when the key is new and the map is full; the map is then unchanged.
  bool Put(std::string_view key, int64_t offset);
  // The latest offset recorded for `key`, or -1.
  int64_t Get(std::string_view key) const;
  // Forgets every key and returns the table's pages to the kernel.
  void Clear();

  bool allocated() const { return table_ != nullptr; }
  size_t size() const { return size_; }
  size_t slots() const { return slots_; }
  size_t max_entries() const { return max_entries_; }
  // Bytes of the table (virtual; resident only where keys were put).
  size_t memory_bytes() const { return mapped_bytes_; }
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

  size_t slots_ = 0;
  size_t max_entries_ = 0;
  // Three uint64 per slot: hash hi, hash lo, offset + 1 (0 = empty); mapped_bytes_ of mmap.
  uint64_t* table_ = nullptr;
  size_t mapped_bytes_ = 0;
  size_t size_ = 0;
  int64_t latest_offset_ = -1;
};

}  // namespace gregor::log
