#pragma once
// Sparse segment indexes kept in memory, persisted to Kafka's file formats.
//
// OffsetIndex: (int32 relative offset of a batch's last offset, int32 position), 8 bytes per
// entry. TimeIndex: (int64 max timestamp so far, int32 relative offset), 12 bytes. Both are
// big-endian on disk, like Kafka's ByteBuffers.
//
// Why in memory: readers binary-search without the Log mutex while the single writer (holding
// the mutex) appends. Entries live in fixed chunks that never move, and the entry count is
// published with release/acquire, so a reader sees a consistent prefix. Files are written
// lazily (flush, roll, close): they are not checksummed and are rebuilt after a crash anyway,
// so an append costs no index syscall.

#include <atomic>
#include <bit>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>

#include "gregor/base/status.h"

namespace gregor::log {

struct OffsetEntry {
  int32_t relative_offset;
  int32_t position;
};
struct TimeEntry {
  int64_t timestamp;
  int32_t relative_offset;
};

// Entries in chunks that double in size (kFirstChunk, 2x, 4x, ...) and are allocated when the
// first entry lands in them: an empty index holds no memory and a small one a few hundred bytes,
// whatever segment.index.bytes allows (a broker may have thousands of mostly idle partitions).
// The chunk table is inline and chunks never move, so readers need no lock.
template <typename E>
class IndexEntries {
 public:
  explicit IndexEntries(size_t max_entries) : max_entries_(max_entries) {}
  size_t size() const { return count_.load(std::memory_order_acquire); }
  size_t capacity() const { return max_entries_; }
  bool full() const { return size() >= max_entries_; }
  // Only for i < size(): the chunk holding i was stored before that count was published.
  const E& at(size_t i) const {
    size_t k, at;
    Locate(i, &k, &at);
    return chunks_[k][at];
  }
  // Writer only. False when full.
  bool push_back(const E& e) {
    size_t n = count_.load(std::memory_order_relaxed);
    if (n >= max_entries_) return false;
    size_t k, at;
    Locate(n, &k, &at);
    auto& chunk = chunks_[k];
    if (!chunk) chunk = std::make_unique<E[]>(kFirstChunk << k);
    chunk[at] = e;
    count_.store(n + 1, std::memory_order_release);
    return true;
  }
  // Writer only. Chunks are kept, so a concurrent reader never touches freed memory.
  void truncate(size_t n) {
    if (n < size()) count_.store(n, std::memory_order_release);
  }

 private:
  static constexpr size_t kFirstChunk = 64;
  // Chunk k holds entries [kFirstChunk * (2^k - 1), kFirstChunk * (2^(k+1) - 1)).
  static void Locate(size_t i, size_t* k, size_t* at) {
    const size_t j = i / kFirstChunk + 1;
    *k = static_cast<size_t>(std::bit_width(j)) - 1;
    *at = i - kFirstChunk * ((size_t{1} << *k) - 1);
  }
  const size_t max_entries_;
  static constexpr size_t kMaxChunks = 32;
  static_assert(kFirstChunk * ((uint64_t{1} << kMaxChunks) - 1) > uint64_t{INT32_MAX},
                "the chunks hold every entry an int32 segment.index.bytes allows");
  std::unique_ptr<E[]> chunks_[kMaxChunks];
  std::atomic<size_t> count_{0};
};

class OffsetIndex {
 public:
  static constexpr size_t kEntrySize = 8;
  OffsetIndex(std::string path, int64_t base_offset, int32_t max_index_bytes);
  const std::string& path() const { return path_; }
  size_t entries() const { return entries_.size(); }
  bool full() const { return entries_.full(); }
  // Appends (offset, position); offsets and positions must increase.
  void Append(int64_t offset, uint32_t position);
  // Position of the greatest entry with offset <= target, or 0.
  uint32_t LookupPosition(int64_t target) const;
  // Greatest indexed position <= `position`, or 0.
  uint32_t FloorPosition(uint32_t position) const;
  // Last entry's absolute offset and position; false if empty.
  bool LastEntry(int64_t* offset, uint32_t* position) const;
  // Drops entries with offset >= target, or whose position >= max_position.
  void TruncateTo(int64_t target, uint32_t max_position);
  void Clear() { TruncateEntries(0); }
  // Loads the file: entries up to the first one that does not increase (the rest is the
  // zero-filled preallocation). False when the file is missing or unreadable.
  bool LoadFile();
  // Writes entries not yet on disk; with `trim`, cuts the file to its exact size, else
  // preallocates it to max bytes; with `sync`, fsyncs it.
  Status Persist(bool trim, bool sync);

 private:
  const std::string path_;
  const int64_t base_offset_;
  const int32_t max_index_bytes_;
  void TruncateEntries(size_t n);
  IndexEntries<OffsetEntry> entries_;
  size_t persisted_ = 0;
  bool cut_ = false;  // entries were dropped: the file must be cut before it is extended again
};

class TimeIndex {
 public:
  static constexpr size_t kEntrySize = 12;
  TimeIndex(std::string path, int64_t base_offset, int32_t max_index_bytes);
  const std::string& path() const { return path_; }
  size_t entries() const { return entries_.size(); }
  bool full() const { return entries_.full(); }
  // Appends when `timestamp` is greater than the last entry's .
  void MaybeAppend(int64_t timestamp, int64_t offset);
  // Offset of the greatest entry with timestamp < target, or base offset.
  int64_t LookupOffsetBefore(int64_t target) const;
  bool LastEntry(int64_t* timestamp, int64_t* offset) const;
  void TruncateTo(int64_t target);
  void Clear() { TruncateEntries(0); }
  bool LoadFile();
  Status Persist(bool trim, bool sync);

 private:
  const std::string path_;
  const int64_t base_offset_;
  const int32_t max_index_bytes_;
  void TruncateEntries(size_t n);
  IndexEntries<TimeEntry> entries_;
  size_t persisted_ = 0;
  bool cut_ = false;
};

}  // namespace gregor::log
