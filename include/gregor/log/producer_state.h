#pragma once
// ProducerStateManager: one partition's idempotent/transactional producer state (Kafka's
// ProducerStateManager), and its `<20-digit offset>.snapshot` files in Kafka's format.
//
// For each producer id: its epoch, the sequence ranges and offsets of its last five batches (a
// retried batch is recognised and answered with its original offsets), the epoch of the last
// transaction coordinator that wrote a marker for it, and the first offset of its open
// transaction. The state is a function of the log: leaders build it while validating client
// batches, followers from replicated batches, recovery by replaying batch headers past the latest
// snapshot, so a new leader deduplicates retries first sent to the old one.
//
// Transactions (Kafka's ongoingTxns / unreplicatedTxns): the open transactions of the partition
// by first offset, and those a marker completed at or above the high watermark. The first
// offset of either is the first unstable offset; the Log's last stable offset is the smaller of
// it and the high watermark. Completing a transaction is two steps, as in Kafka: the caller asks
// LastStableOffset(txn) for the LSO to record in the .txnindex of an aborted one, then calls
// CompleteTxn.
//
// Snapshot file (big-endian): int16 version (1), uint32 CRC-32C of every byte after it,
// int32 entry count, then per producer: int64 producer id, int16 epoch, int32 last sequence,
// int64 last offset, int32 offset delta (last - first offset of the last batch), int64 timestamp,
// int32 coordinator epoch, int64 current transaction first offset (-1: none). Only the last
// batch of each producer is kept, as in Kafka. A snapshot named N describes the log below N.
//
// Owner: the Log, which calls every method under its own mutex (no locking here). Blocking file
// I/O in TakeSnapshot/Load/Truncate*/DeleteSnapshots*; never called from a network thread.
// Errors: Status. A corrupt snapshot is deleted and an older one (or a full replay) used.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/protocol/record_batch.h"

namespace gregor::log {

constexpr int16_t kNoProducerEpoch = -1;
constexpr int32_t kNoSequence = -1;
constexpr int kProducerBatchesToRetain = 5;

// Kafka's sequence arithmetic: sequences wrap from INT32_MAX to 0.
int32_t IncrementSequence(int32_t sequence, int32_t increment);
int32_t DecrementSequence(int32_t sequence, int32_t decrement);

struct ProducerBatchMetadata {
  int32_t last_seq = kNoSequence;
  int64_t last_offset = -1;
  int32_t offset_delta = 0;  // last_offset - first_offset == last_seq - first_seq
  int64_t timestamp = -1;    // the batch's max timestamp
  int32_t first_seq() const { return DecrementSequence(last_seq, offset_delta); }
  int64_t first_offset() const { return last_offset - offset_delta; }
};

struct ProducerStateEntry {
  int64_t producer_id = -1;
  int16_t epoch = kNoProducerEpoch;
  int32_t coordinator_epoch = -1;
  int64_t last_timestamp = -1;
  int64_t current_txn_first_offset = -1;  // -1: no open transaction
  // The most recent batches of the current epoch, oldest first; no allocation.
  std::array<ProducerBatchMetadata, kProducerBatchesToRetain> batches{};
  int batch_count = 0;

  bool empty() const { return batch_count == 0; }
  const ProducerBatchMetadata& last_batch() const { return batches[batch_count - 1]; }
  int32_t last_seq() const { return empty() ? kNoSequence : last_batch().last_seq; }
  int64_t last_data_offset() const { return empty() ? -1 : last_batch().last_offset; }
  // A new epoch forgets the old epoch's batches.
  void MaybeUpdateEpoch(int16_t new_epoch);
  void AddBatch(int16_t batch_epoch, const ProducerBatchMetadata& batch);
  // The retained batch with exactly this sequence range in this epoch, if any.
  const ProducerBatchMetadata* FindDuplicate(int16_t batch_epoch, int32_t first_seq,
                                             int32_t last_seq) const;
};

// A transaction ended by a marker (for the transaction index and the last stable offset).
struct CompletedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;  // the marker's offset
  bool aborted = false;
};

// Why a leader refused a client batch (the Log turns it into a Status for the produce path).
enum class ProducerCheck {
  kOk,
  kDuplicate,           // a retry of a retained batch: answer with its offsets, append nothing
  kOutOfOrderSequence,  // OUT_OF_ORDER_SEQUENCE_NUMBER
  kInvalidEpoch,        // INVALID_PRODUCER_EPOCH: older than the producer's current epoch
  kInvalidTxnState,     // INVALID_TXN_STATE: a non-transactional write inside a transaction
  kCoordinatorFenced,   // TRANSACTION_COORDINATOR_FENCED: a marker from an older coordinator
};

// KIP-890 part 1 (Kafka's VerificationGuard): a value unique in the process, stored for a
// producer when the partition leader starts verifying its transactional batch with the
// transaction coordinator, and required by the append that follows. Any transactional batch
// or marker of the producer written in between clears it, so a verification that a marker
// overtook cannot let a late batch start a new (hanging) transaction. 0 is the sentinel: no
// guard, it verifies nothing.
using VerificationGuard = uint64_t;
constexpr VerificationGuard kNoVerificationGuard = 0;

class ProducerStateManager {
 public:
  ProducerStateManager(std::string dir, gregor::TopicPartition tp);

  // ---- one append (leader or follower), under the Log's mutex ----
  // Starts an append: clears the pending updates.
  void BeginAppend();
  // Checks one batch of a leader append (`first_offset` is the offset it will get) and records
  // its update as pending. `client`: a producer's batch (duplicates, sequence and epoch are
  // checked); otherwise a coordinator's (only the epoch). On kDuplicate `*duplicate` is the
  // retained batch. Batches without a producer id are kOk and change nothing.
  ProducerCheck CheckAndStageLeaderBatch(const protocol::RecordBatchHeader& h, int64_t first_offset,
                                         bool client, std::optional<VerificationGuard> verification,
                                         ProducerBatchMetadata* duplicate, std::string* why);
  // Stages a replicated or recovered batch (no validation). `marker` is the control record of
  // a control batch: {commit?, coordinator epoch}; nullopt for data batches.
  struct Marker {
    bool commit = false;
    int32_t coordinator_epoch = 0;
  };
  void StageBatch(const protocol::RecordBatchHeader& h, const std::optional<Marker>& marker);
  // The marker of a whole control batch at `batch` (nullopt: not a control batch, or empty).
  static std::optional<Marker> ParseMarker(const uint8_t* batch,
                                           const protocol::RecordBatchHeader& h);
  // Checks a transaction marker a coordinator writes as leader at `offset` and stages it
  // (Kafka's appendEndTxnMarker): kInvalidEpoch when its producer epoch is older than the
  // producer's, kCoordinatorFenced when its coordinator epoch is older than the last marker's.
  ProducerCheck CheckAndStageMarker(const protocol::RecordBatchHeader& h, const Marker& marker,
                                    int64_t offset, std::string* why);
  // Applies the staged updates once the batches are written; `end_offset` is the new LEO. The
  // transactions the staged batches started become ongoing. Returns the transactions the staged
  // markers completed, in log order: pass each to LastStableOffset and then CompleteTxn.
  std::vector<CompletedTxn> CommitAppend(int64_t end_offset);

  // ---- transactions ----
  // The LSO to record with a completed transaction (before CompleteTxn): the first offset of
  // the oldest other open transaction, else the marker's offset + 1 (Kafka's lastStableOffset).
  int64_t LastStableOffset(const CompletedTxn& txn) const;
  // Moves a transaction from ongoing to completed-but-unreplicated.
  void CompleteTxn(const CompletedTxn& txn);
  // Completed transactions whose marker is below `high_watermark` are stable.
  void OnHighWatermarkUpdated(int64_t high_watermark);
  // Completed transactions whose marker is below the new log start are forgotten.
  void OnLogStartOffsetIncremented(int64_t log_start_offset);
  // The first offset of the oldest open or unreplicated transaction (nullopt: none).
  std::optional<int64_t> FirstUnstableOffset() const;
  // The first offset of the oldest open transaction (nullopt: none).
  std::optional<int64_t> FirstUndecidedOffset() const;
  size_t ongoing_txn_count() const { return ongoing_txns_.size(); }

  // ---- state ----
  const ProducerStateEntry* Find(int64_t producer_id) const;
  const std::unordered_map<int64_t, ProducerStateEntry>& producers() const { return producers_; }
  // Offset up to which the state reflects the log.
  int64_t map_end_offset() const { return map_end_offset_; }
  // Removes producers idle for at least `expiration_ms` (by their last batch timestamp) that
  // have no open transaction (producer.id.expiration.ms). Returns how many.
  int RemoveExpired(int64_t now_ms, int64_t expiration_ms);

  // ---- KIP-890 part 1 verification (Kafka's maybeCreateVerificationStateEntry) ----
  // The verification guard of `producer_id`, created (at `now_ms`) if it has none. It is
  // cleared when a transactional batch or a marker of the producer is appended (CommitAppend),
  // and forgotten by RemoveExpired once older than the expiration.
  VerificationGuard MaybeCreateVerificationGuard(int64_t producer_id, int64_t now_ms);
  // kNoVerificationGuard when none.
  VerificationGuard VerificationGuardOf(int64_t producer_id) const;

  // ---- snapshots ----
  // Writes `<map end offset>.snapshot` (atomically: tmp, fsync, rename) unless it exists.
  Status TakeSnapshot();
  std::optional<int64_t> LatestSnapshotOffset() const;
  // Forgets everything and loads the latest snapshot at or below `log_end_offset`, deleting the
  // snapshots above it and at or below `log_start_offset` (except a snapshot equal to the log
  // end); producers idle past `expiration_ms` are not loaded. Afterwards the caller replays
  // the log from map_end_offset() (which is at least log_start_offset) to its end.
  Status TruncateAndReload(int64_t log_start_offset, int64_t log_end_offset, int64_t now_ms,
                           int64_t expiration_ms);
  // Forgets everything, deletes every snapshot, and starts at `offset` (a log restarted empty).
  Status TruncateFullyAndStartAt(int64_t offset);
  // Deletes snapshots below `offset` (segments wholly below the log start are gone).
  Status DeleteSnapshotsBefore(int64_t offset);
  // Clean shutdown of a log that never had a snapshot: record that the state below `offset` is
  // empty without replaying it (Kafka's upgrade shortcut).
  void SetMapEndOffset(int64_t offset) { map_end_offset_ = offset; }

  // Snapshot file codec (for tests and tools): entries sorted by producer id.
  static std::string EncodeSnapshot(const std::vector<ProducerStateEntry>& entries);
  static Result<std::vector<ProducerStateEntry>> DecodeSnapshot(const std::string& bytes);
  static std::string SnapshotPath(const std::string& dir, int64_t offset);
  // The log moved to another log dir (Log::RelocateTo, whose copy holds the same snapshot
  // files): snapshots are listed again from `dir` and written there from now on.
  Status ChangeDir(std::string dir);

 private:
  Status ScanSnapshots();
  Status DeleteSnapshot(int64_t offset);
  ProducerStateEntry* StagedEntry(int64_t producer_id);
  // The state change of a marker at `offset` (validated or replicated).
  void StageMarker(ProducerStateEntry* e, const protocol::RecordBatchHeader& h,
                   const Marker& marker, int64_t offset);
  // Forgets every open and completed transaction, then takes the open ones from producers_.
  void RebuildOngoingTxns();

  std::string dir_;
  const gregor::TopicPartition tp_;
  std::unordered_map<int64_t, ProducerStateEntry> producers_;
  std::map<int64_t, std::string> snapshots_;  // offset -> path
  int64_t map_end_offset_ = 0;
  // Pending updates of the current append (reused: no allocation once warm).
  std::vector<ProducerStateEntry> staged_;
  std::vector<CompletedTxn> staged_completed_;
  std::vector<std::pair<int64_t, int64_t>> staged_started_;  // (first offset, producer id)
  // Open transactions: first offset -> producer id (Kafka's ongoingTxns).
  std::map<int64_t, int64_t> ongoing_txns_;
  // Completed transactions whose marker is not yet below the high watermark: first offset ->
  // (producer id, marker offset) (Kafka's unreplicatedTxns).
  std::map<int64_t, std::pair<int64_t, int64_t>> unreplicated_txns_;
  // Verification guards: producer id -> (guard, creation time ms).
  std::unordered_map<int64_t, std::pair<VerificationGuard, int64_t>> verification_guards_;
};

}  // namespace gregor::log
