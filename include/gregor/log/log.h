#pragma once
// Log: one partition's log on disk, `<log.dir>/<topic>-<partition>`, in Kafka's exact layout
// (20-digit segment files .log/.index/.timeindex/.txnindex, .snapshot files,
// leader-epoch-checkpoint, partition.metadata).
//
// Transactions: the producer state tracks open transactions; the last stable offset (LSO) is
// the first offset of the oldest transaction not yet both decided (its marker written) and
// replicated (its marker below the high watermark), capped by the high watermark, as Kafka's
// UnifiedLog. An ABORT marker records the aborted transaction in the .txnindex of the segment it
// lands in (leader, follower and recovery alike); read_committed fetches read below the LSO and
// list the aborted transactions of the range from those indexes.
//
// Owner: the LogManager (shared with Partition and in-flight fetches through shared_ptr).
// Threads: thread-safe. One internal mutex guards appends, roll, truncation, retention and
// config; reads take it only to snapshot a segment and the offsets, then work on the file
// without it (appends never move bytes already written, and a FileRegion keeps its fd alive
// even if retention deletes the segment afterwards). Blocking file I/O: called from the I/O
// pool (request handlers through ServerContext::run_io), the background pool, replica
// fetcher, cleaner and scheduler threads, never from a network thread.
// Lifecycle: Open (loads segments, recovers an unclean tail) -> appends/reads -> Close (flush,
// trim indexes). After an I/O error on the write path the log is offline: it refuses appends
// until it is reopened, and it never leaves a torn batch visible (a short write is truncated).
// Errors: Status codes documented per method; the caller maps them to Kafka ErrorCodes.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/base/file_region.h"
#include "gregor/base/ids.h"
#include "gregor/base/metrics.h"
#include "gregor/base/status.h"
#include "gregor/log/aborted_txn.h"
#include "gregor/log/log_config.h"
#include "gregor/log/log_validator.h"
#include "gregor/log/producer_state.h"

namespace gregor::log {

// How long each Log::Flush that wrote something took (LogFlushRateAndTimeMs), process-wide.
LatencyHistogram& LogFlushTimes();

class LogSegment;
class LeaderEpochCache;

// Who writes a leader append (Kafka's AppendOrigin): client batches get the full producer
// checks (sequence and epoch); the group and transaction coordinators write batches with
// producer ids whose sequences are not checked (Kafka: only the epoch is).
enum class AppendOrigin { kClient, kCoordinator };

struct AppendResult {
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;  // -1 unless the topic uses LogAppendTime
  int64_t log_start_offset = 0;
  int64_t record_count = 0;
  int32_t leader_epoch = -1;  // the leader epoch the batches were stamped with (leader appends)
  // A producer's retry of a batch already in the log: nothing was appended, and the offsets
  // (and log append time) are those of the original batch, as Kafka answers.
  bool duplicate = false;
};

// How far a read may go (Kafka's FetchIsolation): a follower to the log end, a consumer to the
// high watermark, a read_committed consumer to the last stable offset.
enum class FetchIsolation { kLogEnd, kHighWatermark, kTxnCommitted };

struct ReadResult {
  std::vector<gregor::FileRegion> regions;  // whole batches, in offset order
  int64_t high_watermark = 0;
  int64_t last_stable_offset = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  // kTxnCommitted reads: the aborted transactions overlapping the range read, oldest marker
  // first (what Fetch returns as aborted_transactions).
  std::vector<AbortedTxn> aborted_txns;
  size_t bytes() const;
};

struct EpochEndOffset {
  int32_t leader_epoch = -1;
  int64_t end_offset = -1;
  bool operator==(const EpochEndOffset&) const = default;
};

// What the log cleaner needs of a log, snapshotted under the log's mutex (Log::ViewForCleaning).
struct CleanableSegment {
  std::shared_ptr<LogSegment> segment;
  int64_t base_offset = 0;
  int64_t next_offset = 0;  // after its last batch (== base_offset when empty)
  uint64_t size = 0;
  int64_t largest_timestamp = -1;  // max timestamp, or the file's mtime when none
  int64_t first_batch_ms = -1;     // Kafka's first batch timestamp (max.compaction.lag.ms)
};
struct CleanerView {
  std::vector<CleanableSegment> segments;  // every inactive segment, in offset order
  int64_t log_start_offset = 0;
  int64_t active_base_offset = 0;
  int64_t high_watermark = 0;
  int64_t last_stable_offset = 0;
  int64_t log_end_offset = 0;
  uint64_t generation = 0;  // changes when a truncation rewrites history under the cleaner
  LogConfig config;
  bool usable = false;  // false when the log is offline or closed
};

struct OffsetAndTimestamp {
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};

// How Log::RelocateTo copies a log to another log dir (the LogManager's mover thread sets it).
struct RelocationOptions {
  // Called on the copying thread after each chunk copied without the log's mutex, with its
  // size; may sleep (replica.alter.log.dirs.io.max.bytes.per.second). False gives up the move.
  std::function<bool(uint64_t bytes)> pace;
  // Progress, for DescribeLogDirs: the copy holds the log up to `end_offset` (the end of the
  // last segment copied whole), `bytes` in all.
  std::function<void(int64_t end_offset, uint64_t bytes)> progress;
  size_t chunk_bytes = 1 << 20;
  // The copy goes on in the background while a round finds more than this to copy; the rest
  // is copied under the log's mutex, appends waiting. A log written faster than the copy goes
  // (a low throttle) is never switched, as Kafka's future replica never catches up then.
  uint64_t catch_up_bytes = 512 << 10;
};

class Log {
 public:
  // Opens (or creates) the partition directory `dir`. Segments at or after the one holding
  // `recovery_point` are recovered (CRC checked, torn tail truncated, indexes rebuilt) unless
  // `had_clean_shutdown`; a segment with missing or inconsistent indexes is always rebuilt.
  // `log_start_offset` comes from log-start-offset-checkpoint (-1 = first segment's base).
  // Leftover *.deleted/*.cleaned files are removed; a cleaner swap interrupted by a crash
  // (`*.swap` files) is completed, as Kafka's LogLoader does. Errors: kIOError, kCorruption (a
  // directory that cannot be made consistent).
  static Result<std::unique_ptr<Log>> Open(std::string dir, gregor::TopicPartition tp,
                                           LogConfig config, const gregor::Clock* clock,
                                           int64_t recovery_point, bool had_clean_shutdown,
                                           int64_t log_start_offset = -1);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Validates the client's record set (max.message.bytes per batch), assigns offsets from LEO,
  // stamps the leader epoch (and LogAppendTime), writes all batches with one pwrite; `data` is
  // modified in place. Batches with a producer id are checked against the producer state
  // (ProducerStateManager): a retry of a retained batch returns its original offsets with
  // `duplicate` set and appends nothing; kOutOfOrder (OUT_OF_ORDER_SEQUENCE_NUMBER), kFenced
  // (INVALID_PRODUCER_EPOCH), kFailedPrecondition (INVALID_TXN_STATE) refuse the whole append;
  // control batches are refused (kInvalidArgument: clients never write markers). Rolls first when
  // needed (size, segment.ms, index full, relative offset overflow). Errors: kCorruption
  // (CORRUPT_MESSAGE), kTooLarge (MESSAGE_TOO_LARGE), kInvalidArgument (INVALID_RECORD, also magic
  // != 2 -> UNSUPPORTED_FOR_MESSAGE_FORMAT is the caller's choice: the message says "magic"),
  // kNoSpace/kIOError (KAFKA_STORAGE_ERROR; the log goes offline).
  // `verification` (KIP-890 part 1): set when the produce path verified the request's
  // transaction with the coordinator (transaction.partition.verification.enable); a
  // transactional client batch that would start a transaction here is then refused
  // (kFailedPrecondition, INVALID_TXN_STATE) unless it carries the producer's current guard
  // (MaybeStartTransactionVerification). nullopt: nothing is checked.
  // Validation and any rewrite are LogValidator's (log_validator.h: keys of compacted topics,
  // timestamps, compression.type); when records are refused for record errors, they go to
  // *record_errors (may be null).
  Result<AppendResult> AppendAsLeader(uint8_t* data, size_t size, int32_t leader_epoch,
                                      AppendOrigin origin = AppendOrigin::kClient,
                                      std::optional<VerificationGuard> verification = std::nullopt,
                                      RecordErrors* record_errors = nullptr);
  // With AppendOrigin::kCoordinator, batches with a producer id have only their epoch checked,
  // and control batches (transaction markers) are accepted with the checks of
  // AppendTxnMarkerAsLeader.
  //
  // A transaction marker as the transaction coordinator writes it through WriteTxnMarkers: a
  // control batch (transactional + control attributes, base sequence -1, timestamp now) holding
  // one record, key = int16 version 0 + int16 type (0 ABORT, 1 COMMIT), value = int16 version 0
  // + int32 coordinator epoch (Kafka's EndTransactionMarker). Closes the producer's open
  // transaction, if any; an ABORT records it in the active segment's .txnindex. Errors: kFenced
  // (INVALID_PRODUCER_EPOCH: `producer_epoch` is older than the producer's), kStale
  // (TRANSACTION_COORDINATOR_FENCED: `coordinator_epoch` is older than the last marker's of
  // this producer), and the append's own.
  Result<AppendResult> AppendTxnMarkerAsLeader(int64_t producer_id, int16_t producer_epoch,
                                               int32_t coordinator_epoch, bool commit,
                                               int32_t leader_epoch);
  // Appends batches that already carry offsets (replication); the first must start at LEO.
  // Producer state follows them without validation (markers included: an ABORT is recorded in
  // the .txnindex as on the leader). Errors as above, plus kOutOfRange when the offsets do not
  // continue the log.
  Result<AppendResult> AppendAsFollower(uint8_t* data, size_t size);

  // Reads whole batches starting from the batch containing `offset`, at most max_bytes (but at
  // least one whole batch when min_one_message), never a batch at or past max_offset (the high
  // watermark). Serves from one segment per call, like Kafka. offset == LEO gives no regions;
  // offset > LEO or < log start -> kOutOfRange.
  Result<ReadResult> Read(int64_t offset, int32_t max_bytes, int64_t max_offset,
                          bool min_one_message) const;
  // The same, up to where `isolation` allows (taken with the read's snapshot); kTxnCommitted
  // also fills aborted_txns for the range [offset, end of the last batch read).
  Result<ReadResult> Read(int64_t offset, int32_t max_bytes, FetchIsolation isolation,
                          bool min_one_message) const;
  // The aborted transactions overlapping [fetch_offset, upper_bound_offset), from the .txnindex
  // of the segment holding fetch_offset and the following ones until an entry's LSO shows no
  // later one can overlap (Kafka's collectAbortedTransactions). Memory only.
  std::vector<AbortedTxn> CollectAbortedTxns(int64_t fetch_offset,
                                             int64_t upper_bound_offset) const;
  // ListOffsets: first batch whose max timestamp >= timestamp (offset = that batch's base
  // offset, as Kafka reports for v2). -1 = latest (LEO), -2 = earliest (log start).
  // kNotFound when no record is that new.
  Result<OffsetAndTimestamp> FetchOffsetByTimestamp(int64_t timestamp) const;

  int64_t LogStartOffset() const;
  int64_t LogEndOffset() const;
  // Base offset of the active (last) segment: reads at or past it touch only the segment being
  // appended to, whose index and recent pages are resident (Fetch serves them inline).
  int64_t ActiveSegmentBaseOffset() const;
  int64_t HighWatermark() const;
  // Clamped to [log start, LEO]. The caller (Partition) owns the HW policy. Transactions whose
  // marker it passes become stable: the LSO moves with it.
  void SetHighWatermark(int64_t hw);
  // min(first unstable offset, HW); the HW when no transaction is open or unreplicated. The
  // first unstable offset of a transaction that began below the log start counts from the log
  // start (Kafka). Followers compute it the same way from the leader's HW.
  int64_t LastStableOffset() const;
  // The first offset of the oldest open or not yet replicated transaction, at least the log
  // start (nullopt: none).
  std::optional<int64_t> FirstUnstableOffset() const;
  int64_t RecoveryPoint() const;
  // Total bytes of all segments.
  int64_t Size() const;
  int NumberOfSegments() const;

  // DeleteRecords: advances the log start offset to `offset` (must be <= HW, else
  // kOutOfRange) and deletes the segments wholly below it.
  Status DeleteRecordsBefore(int64_t offset);
  // Retention by time (a segment's largest timestamp older than retention.ms) and by size
  // (retention.bytes); only when cleanup.policy includes delete. The active segment is rolled
  // first when it too has expired, so the log always keeps an active segment. Advances the log
  // start offset; removes due *.deleted files. Returns the number of segments deleted.
  int DeleteRetentionExpiredSegments();
  // Removes the *.deleted files of replaced or expired segments whose file.delete.delay.ms has
  // passed (the cleaner's swaps leave them too). Cheap when nothing is pending.
  void RemoveDueDeletedFiles();
  // fsyncs every segment up to LEO and moves the recovery point.
  Status Flush();
  // True when flush.messages or flush.ms says a flush is due.
  bool NeedsFlush() const;
  // Removes every batch at or after `offset` (followers). Errors: kIOError.
  Status TruncateTo(int64_t offset);
  // Drops every segment and restarts the log empty at `offset` (log start = LEO = HW): a
  // follower whose log ends before the leader's log start. Errors: kIOError.
  Status TruncateFullyAndStartAt(int64_t offset);
  void UpdateConfig(const LogConfig& config);  // takes effect at the next append/retention check

  // Producer state (idempotent and transactional producers): a copy of one producer's entry.
  std::optional<ProducerStateEntry> ProducerState(int64_t producer_id) const;
  std::vector<ProducerStateEntry> ActiveProducers() const;
  // producer.id.expiration.ms: forgets producers idle that long (the broker's scheduler calls
  // it every producer.id.expiration.check.interval.ms). Returns how many.
  int RemoveExpiredProducers();
  // KIP-890 part 1 (Kafka's UnifiedLog.maybeStartTransactionVerification): kNoVerificationGuard
  // when `producer_id` has an ongoing transaction here (its batches need no verification),
  // else its verification guard, created now if it has none. The produce path verifies the
  // partition with the coordinator and then appends with this guard (AppendAsLeader).
  VerificationGuard MaybeStartTransactionVerification(int64_t producer_id);

  LogConfig config() const;
  // `<log dir>/<topic>-<partition>`; changes when the log is moved (RelocateTo).
  std::string dir() const;
  const gregor::TopicPartition& topic_partition() const { return tp_; }

  // Leader epoch cache (leader-epoch-checkpoint): epoch -> start offset.
  // OffsetsForLeaderEpoch semantics (Kafka's endOffsetFor): the largest known epoch <= `epoch`
  // and where it ends (the next epoch's start, or LEO for the latest). Unknown: {-1, -1}.
  EpochEndOffset EndOffsetForEpoch(int32_t epoch) const;
  std::optional<int32_t> LatestEpoch() const;
  // A new leader records that its epoch starts at its LEO before it appends anything, so that
  // followers of an older epoch find where that epoch ended (Kafka's makeLeader).
  Status AssignEpochStartOffset(int32_t epoch, int64_t start_offset);

  // ---- compaction (called by the LogCleaner; see src/log/README.md) ----
  // Inactive segments and offsets, for choosing and cleaning a range without the mutex
  // (inactive segments never change except by truncation, which bumps `generation`).
  CleanerView ViewForCleaning() const;
  // Every .txnindex entry of `segment` (one of ViewForCleaning's), for its cleaned copy.
  std::vector<AbortedTxn> AbortedTxnsOf(const std::shared_ptr<LogSegment>& segment) const;
  // Swaps in a cleaned segment written as `<B>.log.cleaned` (+ .index.cleaned,
  // .timeindex.cleaned and, when any, .txnindex.cleaned, complete and fsynced; B = old[0]'s
  // base) in place of the consecutive inactive segments `old`, Kafka's replaceSegments: the
  // .cleaned files are renamed to .swap, the old segments to .deleted (removed after
  // file.delete.delay.ms), then the .swap files to their final names; a crash at any step is
  // completed or undone by Open. Errors: kStale (nothing done, the .cleaned files removed)
  // when the log was closed or truncated since `generation`, or an old segment is gone
  // (retention); kIOError (the log goes offline when the swap could not be completed in memory).
  Status ReplaceSegments(const std::shared_ptr<LogSegment>& cleaned,
                         const std::vector<std::shared_ptr<LogSegment>>& old, uint64_t generation);

  // ---- moving to another log dir (KIP-113, AlterReplicaLogDirs) ----
  // Copies this log into `future_dir` (`<dest dir>/<topic>-<p>.<uuid>-future`, created) and
  // makes it the log: segments, indexes, .txnindex, producer snapshots, leader-epoch-checkpoint
  // and partition.metadata are copied in the background without the mutex, appends and reads
  // going on; then, under the mutex, what was appended since, all fsynced; then the current dir
  // is renamed to `doomed_dir` (`<its dir>/<topic>-<p>.<uuid>-delete`, same uuid: LogManager::
  // Open takes a `-future` dir as complete only when that `-delete` dir exists) and the future
  // dir to `final_dir` (`<dest dir>/<topic>-<p>`), and the segments are reopened there. Offsets,
  // high watermark, leader epochs and producer state do not change; readers holding regions of
  // the old files keep reading them (the old dir is the caller's to delete, later). Blocks for
  // the whole copy: the mover thread only. Errors: kStale when the log was closed or
  // `options.pace` gave up, kIOError (nothing changed unless the log went offline), both with
  // the future dir removed.
  Status RelocateTo(const std::string& future_dir, const std::string& final_dir,
                    const std::string& doomed_dir, const RelocationOptions& options);

  // Flushes and trims the indexes; the log refuses appends afterwards.
  Status Close();
  bool offline() const;
  // Its log dir failed (LogManager): refuse appends from now on, as after a write error.
  void MarkOffline();

  // Test hook: makes the next appends fail as if the disk were full after `bytes` bytes
  // of the pwrite (-1 = off). Exercises the short-write cleanup.
  void InjectWriteFaultForTest(int64_t bytes);

 private:
  Log(std::string dir, gregor::TopicPartition tp, LogConfig config, const gregor::Clock* clock);

  Status Load(int64_t recovery_point, bool had_clean_shutdown, int64_t log_start_offset);
  // Open: removes *.deleted/*.cleaned/*.tmp leftovers and completes interrupted swaps.
  Status RemoveTempFilesAndCompleteSwaps();
  Result<AppendResult> AppendLocked(uint8_t* data, size_t size, bool as_leader,
                                    int32_t leader_epoch, int64_t records, int32_t batches,
                                    AppendOrigin origin = AppendOrigin::kClient,
                                    std::optional<VerificationGuard> verification = std::nullopt);
  Status MaybeRollLocked(size_t incoming, int64_t now_ms, int64_t last_offset);
  Status RollLocked();
  std::shared_ptr<LogSegment> ActiveLocked() const;
  void DeleteSegmentsLocked(const std::vector<std::shared_ptr<LogSegment>>& doomed);
  void RemoveDueDeletedFilesLocked();
  std::shared_ptr<LogSegment> FloorSegment(int64_t offset) const;
  std::shared_ptr<LogSegment> NextSegment(int64_t base_offset) const;
  // Loads the producer state from the latest usable snapshot and replays the batch headers
  // after it up to LEO (open, truncation). `clean_shutdown_shortcut`: a log closed cleanly
  // without any snapshot (written before gregor kept producer state) is not replayed.
  Status LoadProducerStateLocked(bool clean_shutdown_shortcut);
  // Load: the producer state of the log below `offset` (every segment loaded so far lies below
  // it), for recovering the segment based there.
  Status LoadProducerStateBeforeLocked(int64_t log_start_offset, int64_t offset);
  // Feeds the batches from `from` on, of the segments loaded, to the producer state (no
  // .txnindex writes: those entries exist already).
  Status ReplayProducerStateLocked(int64_t from);
  // Records the transactions an append's markers completed (.txnindex of `segment`, LSO).
  Status CompleteTxnsLocked(LogSegment* segment, const std::vector<CompletedTxn>& completed);
  int64_t LastStableOffsetLocked() const;
  std::optional<int64_t> FirstUnstableOffsetLocked() const;
  void CollectAbortedTxnsLocked(int64_t fetch_offset, int64_t upper_bound_offset,
                                std::vector<AbortedTxn>* out) const;
  Result<ReadResult> ReadImpl(int64_t offset, int32_t max_bytes, std::optional<int64_t> max_offset,
                              FetchIsolation isolation, bool min_one_message) const;
  // Snapshot at LEO (roll, close); a failure is logged, the state is rebuilt from the log.
  void TakeProducerSnapshotLocked();
  // RelocateTo's last step, under the mutex: the segments reopened from `final_dir`.
  Status SwitchToDirLocked(const std::string& final_dir);

  const gregor::TopicPartition tp_;
  const gregor::Clock* const clock_;

  mutable std::mutex mu_;
  std::string dir_;  // guarded: RelocateTo switches it
  LogConfig config_;
  std::map<int64_t, std::shared_ptr<LogSegment>> segments_;  // by base offset
  int64_t log_start_offset_ = 0;
  int64_t log_end_offset_ = 0;
  int64_t high_watermark_ = 0;
  int64_t recovery_point_ = 0;
  int64_t last_flush_ms_ = 0;
  bool offline_ = false;
  bool closed_ = false;
  uint64_t generation_ = 0;  // bumped by TruncateTo (see CleanerView)
  int64_t write_fault_after_ = -1;
  std::unique_ptr<LeaderEpochCache> epochs_;
  std::unique_ptr<ProducerStateManager> producers_;
  struct PendingDelete {
    std::vector<std::string> paths;
    int64_t due_ms;
  };
  std::vector<PendingDelete> pending_deletes_;
};

}  // namespace gregor::log
