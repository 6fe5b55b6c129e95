#pragma once
// The log cleaner's per-log work (Kafka's Cleaner and LogCleanerManager.cleanableOffsets):
// which range of a log may be cleaned and how dirty it is, and one cleaning pass over it.
// LogCleaner (include/gregor/log/log_cleaner.h) picks the logs and runs the threads.
//
// Threads: a Cleaner belongs to one cleaner thread; the Throttler is shared by all of them.
// Memory: nothing between passes. A pass builds its offset map sized to its dirty range (capped
// by the thread's share of log.cleaner.dedupe.buffer.size) and its I/O buffers, and frees them
// when it returns. Errors: Status; kStale when the log changed under the
// clean (closed, truncated, retention, abort requested) and nothing was swapped in for the
// group being written; kCorruption for bytes that do not parse (the log is then skipped).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "gregor/base/clock.h"
#include "gregor/base/status.h"
#include "gregor/log/log.h"
#include "log/offset_map.h"

namespace gregor::log {

// Where a log may be cleaned and how dirty it is.
struct CleanableRange {
  int64_t first_dirty_offset = 0;        // the cleaner checkpoint, clamped to the log
  int64_t first_uncleanable_offset = 0;  // end of the last wholly cleanable segment
  uint64_t clean_bytes = 0;              // cleanable segments below the first dirty offset
  uint64_t dirty_bytes = 0;              // cleanable segments holding dirty offsets
  bool must_clean = false;               // max.compaction.lag.ms passed for the dirty head
  double dirty_ratio() const {
    uint64_t total = clean_bytes + dirty_bytes;
    return total == 0 ? 0.0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
  }
};

// Kafka's rules: the dirty section starts at the checkpoint (log start when it is unknown or
// out of range); nothing at or past the active segment, the high watermark or the last stable
// offset, nor any segment from the first dirty one younger than min.compaction.lag.ms (by its
// largest timestamp), is cleanable. Only whole inactive segments are cleaned.
CleanableRange ComputeCleanableRange(const CleanerView& view, int64_t checkpoint, int64_t now_ms);

// log.cleaner.io.max.bytes.per.second over all cleaner threads (Kafka's Throttler): callers
// report bytes read and written and are put to sleep when ahead of the rate.
class Throttler {
 public:
  explicit Throttler(double bytes_per_second);
  // Sleeps as needed for `bytes` more; returns early when Cancel() is called.
  void Maybe(uint64_t bytes);
  void Cancel();

 private:
  const double rate_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::chrono::steady_clock::time_point period_start_;
  double bytes_in_period_ = 0;
};

struct CleanStats {
  int64_t first_dirty_offset = 0;
  int64_t end_offset = 0;  // new checkpoint: everything below is clean
  int segments_in = 0;
  int segments_out = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  int64_t records_removed = 0;  // superseded, expired tombstones and aborted records
  int64_t tombstones_removed = 0;
  int64_t markers_removed = 0;  // transaction markers whose transaction had no data left
};

class Cleaner {
 public:
  // `dedupe_bytes` caps the offset map of one pass; `aborted` is polled between segments: true
  // stops the clean (kStale).
  Cleaner(size_t dedupe_bytes, double load_factor, size_t io_buffer_bytes, Throttler* throttler,
          const gregor::Clock* clock, std::function<bool()> aborted);

  // Builds the key -> latest offset map over the dirty range, then rewrites the cleanable
  // segments from the log start up to the map's end, group by group, each group swapped in
  // through Log::ReplaceSegments. kUnavailable when the map's memory cannot be had (try later).
  // Transactions as Kafka's cleaner: aborted batches are removed (their records are never
  // mapped), committed ones deduplicated like any other, a marker removed once its transaction
  // has no data left and delete.retention.ms has passed (with its .txnindex entry), and the
  // last batch of a producer still in the producer state kept, emptied, as a header.
  Result<CleanStats> Clean(Log* log, const CleanerView& view, const CleanableRange& range);

  // Bytes of the offset map a pass over `range` uses: enough for every record the dirty
  // segments can hold (no record is smaller than kMinRecordBytes), at most the dedupe buffer.
  size_t MapBytesFor(const CleanerView& view, const CleanableRange& range) const;

  // The smallest v2 record: length, attributes, timestamp delta, offset delta, key length,
  // value length and header count, one byte each.
  static constexpr uint64_t kMinRecordBytes = 7;

 private:
  const size_t dedupe_bytes_;
  const double load_factor_;
  const size_t io_buffer_bytes_;
  Throttler* const throttler_;
  const gregor::Clock* const clock_;
  std::function<bool()> aborted_;
};

}  // namespace gregor::log
