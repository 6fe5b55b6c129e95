#pragma once
// LogManager: owns every partition Log in the configured log.dirs.
//
// Owner: the Broker (created at start-up, Shutdown at stop). Threads: thread-safe; a mutex
// guards the partition map, and each Log has its own lock (taken after ours, never before).
// All methods do blocking file I/O: call them from start-up or the I/O thread pool, never from
// a network thread. Replica moves between log dirs (AlterLogDir, KIP-113) run on a mover
// thread of its own, started by the first move and joined by Shutdown.
// Lifecycle: Open (meta.properties check, checkpoints, clean-shutdown marker, log loading with
// recovery) -> StartCleaner -> GetOrCreateLog / RunRetention / FlushDirty / CheckpointAll from
// the broker's schedulers -> Shutdown (stop the cleaner, close logs, checkpoint, write
// .kafka_cleanshutdown).
// Errors: Open fails on a broker.id / cluster.id mismatch in meta.properties or when every log
// dir is offline; a single failing log dir is marked offline (ERROR) and the others keep
// working. Other methods return Status.

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/log/checkpoint.h"
#include "gregor/log/log.h"
#include "gregor/log/log_cleaner.h"
#include "gregor/log/log_config.h"

namespace gregor::log {

class LogManager {
 public:
  struct Options {
    std::vector<std::string> log_dirs;
    LogConfig default_config;  // for logs found on disk until GetOrCreateLog/UpdateConfig
    int32_t broker_id = -1;
    std::string cluster_id;  // empty: not known yet (not written, not checked)
    const gregor::Clock* clock = nullptr;
    LogCleaner::Options cleaner;  // log.cleaner.* (compaction)
    // replica.alter.log.dirs.io.max.bytes.per.second: copy rate of replica moves between
    // log dirs (INT64_MAX: unlimited); SetAlterLogDirsThrottle changes it.
    int64_t alter_log_dirs_io_max_bytes_per_second = INT64_MAX;
  };

  // What AlterLogDir did (AlterReplicaLogDirs maps it to a Kafka error code).
  enum class MoveResult {
    kStarted,       // the move is queued or running (or was already, to that dir)
    kAlreadyThere,  // the log is in that dir (a move elsewhere in progress is cancelled)
    kNoLog,         // no log yet: it will be created in that dir (Kafka's preferred log dir)
    kUnknownDir,    // not one of log.dirs
    kOfflineDir,    // that dir is offline
  };
  // A move in progress (DescribeLogDirs reports it as the "future" replica).
  struct FutureLog {
    gregor::TopicPartition tp;
    std::string dir;          // the destination log dir, as configured
    int64_t end_offset = -1;  // the copy holds the log up to here
    int64_t size = 0;         // bytes copied so far
  };

  // Creates the dirs, checks or writes meta.properties, reads the checkpoints and the clean
  // shutdown marker (deleting the marker at once), loads every `<topic>-<partition>` dir,
  // recovering past the recovery point after an unclean shutdown, and removes leftover
  // `-delete` dirs (kept while any dir is offline) and unfinished moves' `-future` dirs
  // (ResolveFutureDirs).
  static Result<std::unique_ptr<LogManager>> Open(Options options);
  // broker.id stored in the dirs' meta.properties, for broker.id generation: Kafka reuses the
  // stored id instead of generating a new one on every start. nullopt when no dir has one;
  // kInvalidArgument when two dirs disagree; unreadable dirs are skipped.
  static Result<std::optional<int32_t>> StoredBrokerId(const std::vector<std::string>& log_dirs);
  ~LogManager();
  LogManager(const LogManager&) = delete;
  LogManager& operator=(const LogManager&) = delete;

  std::shared_ptr<Log> GetLog(const gregor::TopicPartition& tp) const;
  // Returns the existing log (with `config` applied) or creates the partition dir in the
  // online log dir holding the fewest partitions and writes partition.metadata.
  Result<std::shared_ptr<Log>> GetOrCreateLog(const gregor::TopicPartition& tp,
                                              const LogConfig& config,
                                              const std::array<uint8_t, 16>& topic_id);
  // Closes the log, renames its dir to `<topic>-<p>.<uuidhex>-delete` and removes it.
  Status DeleteLog(const gregor::TopicPartition& tp);
  std::vector<std::shared_ptr<Log>> AllLogs() const;
  // Time/size retention on every log; returns the number of segments deleted.
  int RunRetention();
  // Flushes logs past flush.messages / flush.ms, or with a rolled segment not yet flushed.
  void FlushDirty();
  // Every log: forgets producers idle past producer.id.expiration.ms; returns how many.
  int RemoveExpiredProducers();
  // Every log: removes *.deleted files that are due (see Log::RemoveDueDeletedFiles), and the
  // `-delete` dirs replica moves left behind once due.
  void RemoveDueDeletedFiles();
  // ---- moving replicas between log dirs (KIP-113) ----
  // Moves the log of `tp` to the log dir `dir` (compared as absolute paths) on the mover
  // thread, one move at a time: the log copies itself there (Log::RelocateTo) while it keeps
  // serving, then the checkpoints follow it and the old dir is deleted after
  // file.delete.delay.ms (RemoveDueDeletedFiles). Does no I/O itself.
  MoveResult AlterLogDir(const gregor::TopicPartition& tp, const std::string& dir);
  // The moves queued or running.
  std::vector<FutureLog> FutureLogs() const;
  // replica.alter.log.dirs.io.max.bytes.per.second changed (dynamic broker config).
  void SetAlterLogDirsThrottle(int64_t bytes_per_second);
  // The configured log dir that `path` names (absolute and normalized), if any.
  std::optional<std::string> ConfiguredLogDir(const std::string& path) const;

  // Writes recovery-point-offset-checkpoint, log-start-offset-checkpoint and
  // replication-offset-checkpoint (high watermarks) in every online log dir.
  Status CheckpointAll();
  // Starts the log cleaner's threads when log.cleaner.enable (the broker calls it once the
  // logs are loaded). Without it compacted logs are only cleaned by cleaner()->CleanOnce().
  void StartCleaner();
  // The log cleaner (always present; its threads run only after StartCleaner).
  LogCleaner* cleaner() const { return cleaner_.get(); }
  // Stops the cleaner, closes every log, checkpoints, writes .kafka_cleanshutdown in each dir
  // whose logs all closed cleanly.
  Status Shutdown();
  std::vector<std::string> OfflineDirs() const;
  // The high watermark read from replication-offset-checkpoint at Open (nullopt if absent).
  std::optional<int64_t> HighWatermarkCheckpoint(const gregor::TopicPartition& tp) const;
  // Whether the previous run of this log dir ended with a clean shutdown.
  bool HadCleanShutdown(const std::string& log_dir) const;

 private:
  struct LogDir {
    std::string path;
    bool offline = false;
    bool had_clean_shutdown = false;
  };
  struct MoveJob {
    gregor::TopicPartition tp;
    size_t dest = 0;
    std::string uuid;
    std::atomic<bool> cancelled{false};
    std::atomic<int64_t> end_offset{-1};
    std::atomic<int64_t> bytes{0};
  };
  struct PendingDirDelete {
    std::string path;
    int64_t due_ms;
  };
  explicit LogManager(Options options);
  Status LoadDir(size_t index);
  // Open: a `-future` dir left by a move that a crash interrupted becomes the log when the
  // current dir was already renamed to the `-delete` dir of the same uuid (the copy was
  // complete); otherwise it is removed (the move is not resumed), the current log kept.
  Status ResolveFutureDirs();
  std::optional<size_t> DirIndexLocked(const std::string& path) const;
  void RunMover();
  void Move(const std::shared_ptr<MoveJob>& job);
  // Throttles the mover; false when the job is cancelled or the manager stops.
  bool PaceMove(const MoveJob& job, uint64_t bytes);
  void StopMover();
  void MarkOffline(size_t index, const Status& why);
  Status CheckpointDir(size_t index, const std::vector<std::shared_ptr<Log>>& logs);

  const Options options_;
  mutable std::mutex mu_;
  std::vector<LogDir> dirs_;
  std::unordered_map<gregor::TopicPartition, std::shared_ptr<Log>> logs_;
  std::unordered_map<gregor::TopicPartition, size_t> log_dir_of_;
  OffsetMap hw_checkpoint_;
  bool shut_down_ = false;
  // Replica moves: the queue and the job of each partition being moved, the preferred dir of
  // partitions without a log yet, and the old dirs of finished moves waiting for deletion.
  std::deque<std::shared_ptr<MoveJob>> move_queue_;
  std::unordered_map<gregor::TopicPartition, std::shared_ptr<MoveJob>> moves_;
  std::unordered_map<gregor::TopicPartition, size_t> preferred_dirs_;
  std::vector<PendingDirDelete> pending_dir_deletes_;
  std::condition_variable mover_cv_;
  bool mover_stopping_ = false;
  std::thread mover_;                   // started by the first AlterLogDir
  std::atomic<int64_t> move_throttle_;  // bytes/s
  // The mover's pacing (its thread only): bytes copied since `pace_start_ms_`.
  int64_t pace_start_ms_ = 0;
  int64_t pace_bytes_ = 0;
  int64_t pace_rate_ = INT64_MAX;
  // Last member: destroyed (threads joined) first, while the log map is still alive.
  std::unique_ptr<LogCleaner> cleaner_;
};

}  // namespace gregor::log
