#pragma once
// LogSegment: one `<base offset>.log` file with its `.index`, `.timeindex` and `.txnindex`.
//
// Owner: the Log (shared_ptr, also held by readers while they scan, and the log fd by any
// FileRegion handed out). Threads: the write-path methods (Append, Roll/Trim, TruncateTo,
// Recover, Sync) run under the owning Log's mutex; the read-path methods (FindBatch,
// LastBatchBoundary, FindBatchByTimestamp, ReadHeader) may run concurrently with one writer,
// bounded by a size snapshot taken under the mutex: bytes below it never change. The
// transaction index (aborted transactions whose ABORT marker is in this segment) is read and
// written under the Log's mutex only; it is loaded when the segment is opened (most segments
// have no file) and rebuilt whenever the segment is recovered.
// Errors: Status; kCorruption when the bytes on disk do not parse.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/file_region.h"
#include "gregor/base/status.h"
#include "gregor/log/producer_state.h"
#include "gregor/protocol/record_batch.h"
#include "log/index.h"
#include "log/transaction_index.h"

namespace gregor::log {

class LeaderEpochCache;

struct BatchLocation {
  uint64_t position = 0;
  protocol::RecordBatchHeader header;
};

class LogSegment {
 public:
  // Creates a fresh segment (existing files of that name are truncated); indexes preallocated.
  // `suffix` is appended to every file name: the log cleaner writes `<base>.log.cleaned` etc.;
  // such a segment is never served, and the Log reopens it under its final names once swapped.
  static Result<std::shared_ptr<LogSegment>> Create(const std::string& dir, int64_t base_offset,
                                                    int32_t index_bytes,
                                                    const std::string& suffix = "");
  // Opens an existing .log and loads its .txnindex; call LoadState (clean) or Recover before
  // use.
  static Result<std::shared_ptr<LogSegment>> OpenExisting(const std::string& dir,
                                                          int64_t base_offset, int32_t index_bytes);
  LogSegment(const LogSegment&) = delete;
  LogSegment& operator=(const LogSegment&) = delete;

  int64_t base_offset() const { return base_offset_; }
  uint64_t size() const { return size_.load(std::memory_order_acquire); }
  // The offset after the last batch (writer-side state: read under the Log mutex).
  int64_t next_offset() const { return next_offset_; }
  int64_t max_timestamp() const { return max_timestamp_; }
  // For time retention: the max timestamp, or the file's mtime when no batch has one (Kafka).
  int64_t LargestTimestampForRetention() const;
  int64_t rolling_base_ms() const { return rolling_base_ms_; }
  // The .log file's modification time in ms (-1 if it cannot be read): Kafka's
  // segment.lastModified, which the cleaner's tombstone retention is measured from.
  int64_t LastModifiedMs() const;
  const std::string& offset_index_path() const { return offset_index_.path(); }
  const std::string& time_index_path() const { return time_index_.path(); }
  const std::string& txn_index_path() const { return txn_index_path_; }
  // Bytes of the .index and .timeindex holding entries (the files of the active segment are
  // preallocated past them). Writer-side state: under the Log mutex.
  uint64_t offset_index_bytes() const { return offset_index_.entries() * OffsetIndex::kEntrySize; }
  uint64_t time_index_bytes() const { return time_index_.entries() * TimeIndex::kEntrySize; }
  // Under the Log's mutex (the cleaner's own segment before its swap: its thread only).
  TransactionIndex& txn_index() { return txn_index_; }
  const TransactionIndex& txn_index() const { return txn_index_; }
  // Kafka's updateTxnIndex: an aborted transaction completed by a marker in this segment is
  // recorded with the partition's LSO at that point; a committed one needs no entry.
  Status UpdateTxnIndex(const CompletedTxn& txn, int64_t last_stable_offset);
  const std::shared_ptr<const FileHandle>& file() const { return file_; }
  const std::string& log_path() const { return log_path_; }

  // Clean load: reads the index files and scans the batches after the last index entry to find
  // the next offset and max timestamp. kCorruption when an index is missing or disagrees with
  // the log, the transaction index fails its sanity check, or the tail does not parse: the
  // caller then recovers the segment.
  Status LoadState(int32_t index_interval_bytes);
  // Recovery: CRC-checks every batch, rebuilds the offset and time indexes, re-assigns leader
  // epochs, truncates the file at the first invalid byte. With `producers` (the producer state
  // of the log below this segment) each batch also updates it and the transaction index is
  // rebuilt from the transactions the markers complete, as Kafka's LogSegment.recover does;
  // without, a sane transaction index is kept as it is (a corrupt one is emptied). Returns the
  // number of bytes truncated.
  Result<uint64_t> Recover(int32_t index_interval_bytes, LeaderEpochCache* epochs,
                           ProducerStateManager* producers = nullptr);

  // Appends whole, already validated and stamped batches with one pwrite. On failure the file
  // is cut back to its previous size so no torn batch survives. `fault_after` >= 0 simulates
  // a disk that fills up after that many bytes (tests).
  Status Append(const uint8_t* data, size_t n, int32_t index_interval_bytes, int64_t now_ms,
                int64_t fault_after);
  bool IndexFull() const { return offset_index_.full() || time_index_.full(); }
  // Whether `offset` fits the int32 relative offsets of the indexes.
  bool CanConvertToRelative(int64_t offset) const {
    return offset - base_offset_ >= 0 && offset - base_offset_ <= INT32_MAX;
  }
  // fdatasync of the log, then index write-back and fsync of all three indexes (writer side,
  // under the Log mutex).
  Status Sync();
  // The two halves of a flush that must not block appends: fdatasync of the .log and fsync of
  // the index files (the .txnindex too, by path) as written so far (both safe while a writer
  // appends).
  Status SyncLogFile() const;
  Status SyncIndexFiles() const;
  int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  // Roll/close: final time index entry, index write-back, indexes trimmed to their exact size;
  // the transaction index's file descriptor, if a write opened one, is released.
  Status MakeInactive();
  // Removes every batch whose last offset >= offset (a batch holding `offset` goes whole), and
  // the transaction index entries whose marker is at or after `offset`.
  Status TruncateTo(int64_t offset, int32_t index_interval_bytes);
  // Renames the files (the .txnindex when it exists) to *.deleted; returns the new paths.
  Status RenameForDeletion(std::vector<std::string>* new_paths);
  // Index write-back. `trim` cuts the files to their exact size (inactive segment) and is
  // remembered for Sync; without it they are preallocated to segment.index.bytes (active).
  Status PersistIndexes(bool trim, bool sync);

  // ---- read path (no lock; `limit` is a size snapshot) ----
  Result<protocol::RecordBatchHeader> ReadHeader(uint64_t position, uint64_t limit) const;
  // First batch whose last offset >= offset, or nullopt when none starts below `limit`.
  Result<std::optional<BatchLocation>> FindBatch(int64_t offset, uint64_t limit) const;
  // End of the last whole batch that starts at or after `start` and ends at or before `end`
  // (`start` itself when even the first batch does not fit).
  Result<uint64_t> LastBatchBoundary(uint64_t start, uint64_t end, uint64_t limit) const;
  // First batch whose max timestamp >= timestamp.
  Result<std::optional<BatchLocation>> FindBatchByTimestamp(int64_t timestamp,
                                                            uint64_t limit) const;

 private:
  LogSegment(const std::string& dir, int64_t base_offset, int32_t index_bytes, int fd,
             const std::string& suffix = "");
  void IndexBatch(const protocol::RecordBatchHeader& h, uint64_t position,
                  int32_t index_interval_bytes);
  // Recomputes next offset and max timestamp by scanning from the last offset index entry.
  Status ScanTail();

  const int64_t base_offset_;
  const std::string log_path_;
  std::shared_ptr<const FileHandle> file_;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
  const std::string txn_index_path_;  // its name never changes (SyncIndexFiles reads it unlocked)
  TransactionIndex txn_index_;
  std::atomic<uint64_t> size_{0};
  int64_t next_offset_;
  int64_t max_timestamp_ = -1;
  int64_t offset_of_max_timestamp_ = -1;
  int64_t rolling_base_ms_ = -1;
  uint64_t bytes_since_last_index_entry_ = 0;
  bool trimmed_ = false;  // index files cut to their exact size (inactive segment)
};

}  // namespace gregor::log
