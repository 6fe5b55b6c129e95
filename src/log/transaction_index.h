#pragma once
// TransactionIndex: a segment's aborted transactions, Kafka's `<base offset>.txnindex`.
//
// One entry per transaction whose ABORT marker was written in this segment (a transaction may
// start in an earlier segment). A read_committed fetch asks every segment it spans which aborted
// transactions overlap the fetched range and returns them to the consumer, which drops their
// records (Kafka's TransactionIndex, AbortedTxn, TxnIndexSearchResult).
//
// File format (Kafka's, byte for byte): 34-byte entries, big-endian, no header, no padding:
//   int16 version (0) | int64 producerId | int64 firstOffset | int64 lastOffset |
//   int64 lastStableOffset
// lastOffset is the offset of the ABORT marker; lastStableOffset is the partition's LSO when
// the marker was written. Entries are appended in lastOffset order. The file is not
// preallocated and is created by the first Append only (Kafka creates it lazily too): a
// missing file is an empty index, and most segments never have one.
//
// Why an in-memory copy (and not a pread per fetch): Open reads the file once and every write
// goes through this object, so `entries_` mirrors the file exactly. CollectAbortedTxns is then a
// scan of a few 32-byte structs: no syscall, no I/O under the Log mutex, no cold-file read on a
// network thread, and no allocation besides the result (none at all when the index is empty,
// which is what nearly every segment of a read_committed fetch is). The cost is 32 bytes of
// memory per aborted transaction retained on disk, zero for a segment without aborts. Aborts
// are rare, and each needs a whole ABORT marker batch in the log (78 bytes), so even a log of
// nothing but aborts costs less memory than half its size on disk.
//
// Owner: the LogSegment. Guard: the owning Log's mutex; every method, readers included, is
// called with it held (the reads are memory scans, cheap enough to do while taking the read
// snapshot). The object is not thread-safe on its own.
//
// Blocking: Open reads the file; Append does one pwrite; TruncateTo and Reset an ftruncate;
// RenameTo a rename; Flush an fsync (that one belongs on the I/O pool, not on a network thread).
// A flush that must not hold the Log mutex can fsync the file by path instead, as
// LogSegment::SyncIndexFiles does for the other indexes: fsync flushes the inode, whatever fd.
// Nothing here syncs the directory; the owner does, as for its other files.
//
// Crash safety: an entry is written with one pwrite when its marker is appended, so a crash
// can leave a torn last entry (a file size that is not a multiple of 34). Open keeps the whole
// entries before any damage and SanityCheck reports it as kCorruption; the owner then calls
// Reset and rebuilds the index by re-reading the segment's batches, as Kafka's LogLoader does
// on a CorruptIndexException and whenever it recovers a segment after an unclean shutdown. The
// owner must run SanityCheck after Open and rebuild a corrupt index before serving fetches
// from it: a corrupt index refuses Append and TruncateTo until Reset.
//
// Errors: Status. kInvalidArgument for an Append that breaks the order; kCorruption for bad
// file contents; kIOError / kNoSpace from the file system.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/log/aborted_txn.h"

namespace gregor::log {

// Kafka's TxnIndexSearchResult.
struct TxnIndexSearchResult {
  std::vector<AbortedTxn> aborted_txns;
  // True when an entry's lastStableOffset reached the upper bound: no later segment can hold an
  // aborted transaction overlapping the range, so the search stops here.
  bool is_complete = false;
};

class TransactionIndex {
 public:
  static constexpr size_t kEntrySize = AbortedTxn::kEncodedSize;
  static constexpr const char* kSuffix = ".txnindex";

  // No I/O: call Open. `path` is `<dir>/<20-digit base offset>.txnindex`
  // (SegmentFilePath(dir, base_offset, kSuffix)).
  TransactionIndex(std::string path, int64_t base_offset);
  ~TransactionIndex();
  TransactionIndex(const TransactionIndex&) = delete;
  TransactionIndex& operator=(const TransactionIndex&) = delete;

  const std::string& path() const { return path_; }
  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

  // Loads the file if it exists (a missing file is an empty index and is not created). Fails
  // only on I/O errors: damaged contents are loaded up to the damage and reported by
  // SanityCheck. Holds no file descriptor afterwards.
  Status Open();

  // Writes `txn` at the end of the file (creating it). kInvalidArgument unless txn.last_offset
  // is greater than the last entry's (Kafka's "The last offset of appended transactions must
  // increase sequentially") and not below the base offset; an entry loaded by Open counts, so
  // the order also holds across restarts. A failed write is cut back: no torn entry survives.
  Status Append(const AbortedTxn& txn);

  // Appends to `*out` the entries with last_offset >= fetch_offset and first_offset <
  // upper_bound_offset (the fetch range [fetch_offset, upper_bound_offset) overlaps the
  // transaction), in file order, and returns whether the search is complete: it stops at the
  // first entry whose last_stable_offset >= upper_bound_offset. One vector can collect a fetch
  // that spans several segments. No syscall, no allocation beyond `*out`'s growth.
  bool CollectAbortedTxns(int64_t fetch_offset, int64_t upper_bound_offset,
                          std::vector<AbortedTxn>* out) const;
  // The same, as Kafka's TxnIndexSearchResult.
  TxnIndexSearchResult CollectAbortedTxns(int64_t fetch_offset, int64_t upper_bound_offset) const;
  // Every entry, in file order.
  std::vector<AbortedTxn> AllAbortedTxns() const;

  // Drops the entries with last_offset >= offset, from the first such entry on (a replica
  // truncating its log; Kafka's truncateTo). No I/O when nothing is dropped.
  Status TruncateTo(int64_t offset);
  // Drops every entry and clears a corruption: the file, if any, is cut to 0 bytes and kept
  // (Kafka's reset, before a recovery rebuilds the index).
  Status Reset();
  // fsyncs what this object wrote since the last Flush; no-op otherwise.
  Status Flush();
  // Renames the file (if it exists) to `new_path`, used from then on. On failure nothing
  // changes. The directory is not synced.
  Status RenameTo(const std::string& new_path);
  // Closes the file and deletes it; the index is then empty. True if a file was deleted.
  Result<bool> DeleteIfExists();
  // Releases the file descriptor a write opened (the owner may call it once the segment rolls).
  // Entries stay readable; a later write reopens the file.
  void Close();

  // kCorruption when the file Open read was not a whole number of 34-byte entries (a torn
  // last entry), or held an entry whose version is not 0, whose last_offset is below the base
  // offset (Kafka's check) or does not increase; or when a failed write could not be cut back.
  // Checks the state Open built: no I/O.
  Status SanityCheck() const;

 private:
  // Opens fd_ for writing (creating the file) unless it is open.
  Status OpenForWrite();

  std::string path_;
  const int64_t base_offset_;
  std::vector<AbortedTxn> entries_;  // mirrors the file, in file order
  bool exists_ = false;              // the file exists (as far as this object knows)
  uint64_t file_bytes_ = 0;          // its size; kEntrySize * entries() unless corrupt
  Status corruption_;                // why the file is not a valid index, or OK
  int fd_ = -1;                      // opened by the first write, kept until Close
  bool unsynced_ = false;            // written since the last fsync
};

}  // namespace gregor::log
