#pragma once
// LogCleaner: log compaction for topics with cleanup.policy=compact (or compact,delete), as
// Kafka's LogCleaner. Background threads repeatedly pick the dirtiest compacted log whose dirty
// ratio (bytes after the cleaner checkpoint / bytes of the cleanable part) reaches
// min.cleanable.dirty.ratio, or whose dirty head is older than max.compaction.lag.ms, and clean
// it: keep only the latest record of each key (offsets never change, so a compacted log has
// gaps), drop tombstones older than delete.retention.ms, never touch the active segment or
// anything at or past the high watermark or younger than min.compaction.lag.ms. The cleaned
// segments are swapped in crash-safely (Log::ReplaceSegments). Progress is kept per log dir
// in `cleaner-offset-checkpoint` (Kafka's file and format). Retention for compact,delete is
// the LogManager's ordinary retention pass. Details and limits: src/log/README.md.
//
// Owner: the LogManager (LogManager::cleaner()); started by LogManager::StartCleaner when
// log.cleaner.enable, stopped by LogManager::Shutdown before the logs close.
// Threads: log.cleaner.threads own threads doing blocking file I/O; every public method is
// thread-safe. Lifecycle: constructed (reads the checkpoints) -> Start -> Stop (joins; also
// in the destructor). CleanOnce runs one pass on the caller's thread (tests, tools).
// Memory: none held while idle. Each pass allocates an offset map sized to its dirty range,
// at most the thread's share of log.cleaner.dedupe.buffer.size, and its I/O buffers, and frees
// them when it ends (Kafka holds the whole dedupe buffer for the life of the threads).
// Errors: a log whose bytes cannot be cleaned (corruption, I/O error) is logged at ERROR and
// skipped until restart, as Kafka marks it uncleanable; other logs keep being cleaned. A pass
// that cannot get its map's memory is logged at WARNING and tried again later.

#include <cfloat>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/log/checkpoint.h"
#include "gregor/log/log.h"

namespace gregor::log {

class Cleaner;
class Throttler;

inline constexpr const char* kCleanerOffsetCheckpointFile = "cleaner-offset-checkpoint";

class LogCleaner {
 public:
  // Broker-level settings (Kafka's names and defaults).
  struct Options {
    bool enable = true;                        // log.cleaner.enable
    int32_t threads = 1;                       // log.cleaner.threads
    int64_t dedupe_buffer_size = 134217728;    // log.cleaner.dedupe.buffer.size (all threads; cap)
    double io_buffer_load_factor = 0.9;        // log.cleaner.io.buffer.load.factor
    int32_t io_buffer_size = 524288;           // log.cleaner.io.buffer.size
    double io_max_bytes_per_second = DBL_MAX;  // log.cleaner.io.max.bytes.per.second
    int64_t backoff_ms = 15000;                // log.cleaner.backoff.ms
  };
  // What one pass did.
  struct CleanResult {
    gregor::TopicPartition tp;
    int64_t first_dirty_offset = 0;
    int64_t end_offset = 0;  // the new checkpoint
    double dirty_ratio = 0;
    int segments_in = 0;
    int segments_out = 0;
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    int64_t records_removed = 0;
    int64_t tombstones_removed = 0;
  };
  using LogsFn = std::function<std::vector<std::shared_ptr<Log>>()>;

  // `logs` lists the live logs (the LogManager's); each log's dir is `<log dir>/<tp>`, and
  // `log_dirs` are the dirs whose cleaner-offset-checkpoint files are read and written.
  LogCleaner(Options options, std::vector<std::string> log_dirs, LogsFn logs,
             const gregor::Clock* clock);
  ~LogCleaner();
  LogCleaner(const LogCleaner&) = delete;
  LogCleaner& operator=(const LogCleaner&) = delete;

  void Start();
  // Wakes and joins the threads; a clean in progress stops at its next segment boundary
  // without swapping in a partial group.
  void Stop();

  // One pass on the caller's thread: cleans the dirtiest eligible log, if any. Returns nullopt
  // when no log needs cleaning. Errors: the failure of the log it tried (that log is then
  // skipped by later passes unless the failure was kStale, a concurrent change).
  gregor::Result<std::optional<CleanResult>> CleanOnce();

  // Waits until no thread cleans `tp` and keeps it from being picked until Resume (Kafka's
  // abortAndPauseCleaning): before deleting or moving a log.
  void AbortAndPause(const gregor::TopicPartition& tp);
  void Resume(const gregor::TopicPartition& tp);
  // Forgets the checkpoint of a deleted log (it is dropped from the file at the next write).
  void Forget(const gregor::TopicPartition& tp);
  // The log of `tp` moved from log dir `from_dir` to `to_dir` (AlterReplicaLogDirs): its
  // checkpoint goes with it and both dirs' files are rewritten (Kafka's alterCheckpointDir).
  // Takes the LogsFn's lock: never call it under the LogManager's mutex.
  Status MoveCheckpoint(const gregor::TopicPartition& tp, const std::string& from_dir,
                        const std::string& to_dir);

  // The checkpointed first dirty offset of `tp`, if any.
  std::optional<int64_t> CheckpointFor(const gregor::TopicPartition& tp) const;
  // Dirty ratio of a log as the next pass would compute it (tests, metrics).
  double DirtyRatio(const Log& log) const;

 private:
  struct Candidate {
    std::shared_ptr<Log> log;
    CleanerView view;
    double ratio = 0;
    int64_t checkpoint = 0;
  };
  void Run(int index);
  gregor::Result<std::optional<CleanResult>> CleanWith(Cleaner* cleaner,
                                                       gregor::TopicPartition* current);
  bool Aborted(const gregor::TopicPartition& tp) const;
  Status WriteCheckpoint(const std::string& log_dir);
  static std::string LogDirOf(const Log& log);
  int64_t CheckpointLocked(const Log& log) const;

  const Options options_;
  const std::vector<std::string> log_dirs_;
  const LogsFn logs_fn_;
  const gregor::Clock* const clock_;
  std::unique_ptr<Throttler> throttler_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, OffsetMap> checkpoints_;  // by log dir
  std::set<gregor::TopicPartition> in_progress_;  // being cleaned by some thread
  std::set<gregor::TopicPartition> paused_;       // AbortAndPause
  std::set<gregor::TopicPartition> uncleanable_;  // failed; skipped until restart
  std::vector<std::thread> threads_;
  std::unique_ptr<Cleaner> caller_cleaner_;  // for CleanOnce
  gregor::TopicPartition caller_current_;
  std::mutex caller_mu_;
};

}  // namespace gregor::log
