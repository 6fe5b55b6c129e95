#pragma once
// TransactionMetadata: one transactional id as the transaction coordinator holds it in memory,
// and Kafka's transaction state machine (Kafka 3.7 core/coordinator/transaction
// TransactionMetadata): producer id and epoch (with the last ones, for retries of
// InitProducerId), transaction timeout, state, the partitions of the ongoing transaction and
// its timestamps.
//
// Every change goes through two steps, as in Kafka: a Prepare* call checks the transition, sets
// the pending state (which blocks any other transition meanwhile) and returns the target as a
// TxnTransitMetadata; the coordinator writes that target to __transaction_state
// (ToTransactionLogValue) and, once the write is replicated, calls CompleteTransitionTo(target),
// or ResetPendingState() if the write failed.
//
// Owner: the transaction coordinator, which guards each TransactionMetadata with its lock (Kafka
// has one lock per transactional id); this type has no lock of its own, does no I/O and never
// blocks. Value type.
// Errors: no exceptions and no crashes on anything a client or the log can cause. Kafka's
// IllegalStateException cases return Status::FailedPrecondition and change nothing; Kafka's
// IllegalArgumentException cases Status::InvalidArgument; a producer whose epoch is neither the
// current nor the last one Status::Fenced (the coordinator answers PRODUCER_FENCED); a log value
// that no state machine could have written Status::Corruption.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/txn/transaction_log.h"

namespace gregor::txn {

// RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH.
inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;

// Kafka's TransactionState; the values are the ids stored in TransactionLogValue.
enum class TransactionState : int8_t {
  kEmpty = 0,              // no transaction (yet, or since the last one completed)
  kOngoing = 1,            // partitions were added; EndTxn not received
  kPrepareCommit = 2,      // EndTxn(commit) written; markers being sent
  kPrepareAbort = 3,       // EndTxn(abort) or a fence written; markers being sent
  kCompleteCommit = 4,     // every marker written
  kCompleteAbort = 5,      // every marker written
  kDead = 6,               // the id expired and is being removed (never written as a value)
  kPrepareEpochFence = 7,  // bumping the epoch to fence a producer, before aborting (pending only)
};

inline constexpr TransactionState kAllTransactionStates[] = {
    TransactionState::kEmpty,          TransactionState::kOngoing,
    TransactionState::kPrepareCommit,  TransactionState::kPrepareAbort,
    TransactionState::kCompleteCommit, TransactionState::kCompleteAbort,
    TransactionState::kDead,           TransactionState::kPrepareEpochFence};

// Kafka's names, as DescribeTransactions and ListTransactions report them ("Empty", "Ongoing",
// "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead",
// "PrepareEpochFence").
const char* TransactionStateName(TransactionState s);
// By name (ListTransactions' state filter); nullopt for an unknown name.
std::optional<TransactionState> ParseTransactionState(std::string_view name);
// By id (TransactionLogValue.transactionStatus); nullopt for an unknown id.
std::optional<TransactionState> TransactionStateFromId(int8_t id);
inline int8_t TransactionStateId(TransactionState s) { return static_cast<int8_t>(s); }
// Kafka's validPreviousStates: may a transaction in `from` move to `to`?
bool IsValidPreviousState(TransactionState to, TransactionState from);
std::vector<TransactionState> ValidPreviousStates(TransactionState to);
// Kafka's isExpirationAllowed: Empty, CompleteCommit and CompleteAbort ids may expire
// (transactional.id.expiration.ms).
bool IsExpirationAllowed(TransactionState s);

// Kafka's isEpochExhausted: epochs >= Short.MaxValue - 1 are not handed to clients, so that the
// coordinator can always bump once more to fence.
inline bool IsEpochExhausted(int16_t producer_epoch) { return producer_epoch >= INT16_MAX - 1; }

// The target of a transition (Kafka's TxnTransitMetadata): everything that is written to the
// log, and what CompleteTransitionTo installs.
struct TxnTransitMetadata {
  int64_t producer_id = kNoProducerId;
  int64_t last_producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int16_t last_producer_epoch = kNoProducerEpoch;
  int32_t txn_timeout_ms = 0;
  TransactionState txn_state = TransactionState::kEmpty;
  std::set<TopicPartition> topic_partitions;
  int64_t txn_start_timestamp = -1;
  int64_t txn_last_update_timestamp = -1;
  bool operator==(const TxnTransitMetadata&) const = default;
  std::string ToString() const;
};

// The TransactionLogValue Kafka writes for `t`: partitions grouped by topic, null for Empty.
// FailedPrecondition for Empty with partitions (Kafka refuses to write that).
Result<TransactionLogValue> ToTransactionLogValue(const TxnTransitMetadata& t);
// The metadata a loaded value stands for. As in Kafka, partitions of an Empty value are
// ignored, a null partition list reads as none, and the last epoch (not in the log) is
// kNoProducerEpoch; the last producer id is v1's previousProducerId (kNoProducerId in v0).
// Corruption for an unknown state id.
Result<TxnTransitMetadata> FromTransactionLogValue(const TransactionLogValue& v);

class TransactionMetadata {
 public:
  // A transactional id seen for the first time (InitProducerId): Empty, no epoch yet, no last
  // producer id; its first PrepareIncrementProducerEpoch gives epoch 0.
  TransactionMetadata(std::string transactional_id, int64_t producer_id, int32_t txn_timeout_ms,
                      int64_t now_ms);
  // The metadata as of `committed`, a transition already written (a value loaded from the log,
  // through FromTransactionLogValue); no pending state.
  TransactionMetadata(std::string transactional_id, const TxnTransitMetadata& committed);

  const std::string& transactional_id() const { return transactional_id_; }
  int64_t producer_id() const { return producer_id_; }
  int64_t last_producer_id() const { return last_producer_id_; }
  int16_t producer_epoch() const { return producer_epoch_; }
  int16_t last_producer_epoch() const { return last_producer_epoch_; }
  int32_t txn_timeout_ms() const { return txn_timeout_ms_; }
  TransactionState state() const { return state_; }
  std::optional<TransactionState> pending_state() const { return pending_state_; }
  const std::set<TopicPartition>& topic_partitions() const { return topic_partitions_; }
  int64_t txn_start_timestamp() const { return txn_start_timestamp_; }
  int64_t txn_last_update_timestamp() const { return txn_last_update_timestamp_; }
  bool PendingTransitionInProgress() const { return pending_state_.has_value(); }
  bool IsProducerEpochExhausted() const { return IsEpochExhausted(producer_epoch_); }

  // Set by the coordinator when writing an epoch fence failed: the bumped epoch stays in memory
  // (it was never returned to a client), and the next fence does not bump again.
  bool has_failed_epoch_fence() const { return has_failed_epoch_fence_; }
  void set_has_failed_epoch_fence(bool v) { has_failed_epoch_fence_ = v; }

  // The current metadata as a transit, without a pending state (Kafka's prepareNoTransit).
  TxnTransitMetadata PrepareNoTransit() const;

  // InitProducerId while a transaction is Ongoing (or a transaction timed out): bump the epoch
  // (not again after a failed fence) to fence the current producer, before aborting. Pending
  // state PrepareEpochFence, last epoch none. FailedPrecondition if the epoch is Short.MaxValue.
  Result<TxnTransitMetadata> PrepareFenceProducerEpoch();

  // The abort that follows a fence (Kafka's EndTxn path with isFromClient=false): replaces the
  // pending PrepareEpochFence, installs `fenced_epoch` (the fence's epoch) with no last epoch,
  // and prepares PrepareAbort. FailedPrecondition unless Ongoing with a pending fence.
  Result<TxnTransitMetadata> PrepareAbortOnEpochFence(int16_t fenced_epoch,
                                                      int64_t update_timestamp);

  // InitProducerId: bump the epoch, to Empty with no partitions. Without an expected epoch the
  // last epoch becomes none. With one (KIP-360, a producer recovering): equal to the current
  // epoch (or no current epoch) bumps and remembers the current as last; equal to the last epoch
  // is a retry and keeps the epochs; anything else is Fenced. FailedPrecondition when the epoch
  // is exhausted (the coordinator rotates the producer id instead) or a transition is pending.
  Result<TxnTransitMetadata> PrepareIncrementProducerEpoch(
      int32_t new_txn_timeout_ms, std::optional<int16_t> expected_producer_epoch,
      int64_t update_timestamp);

  // InitProducerId when the epoch is exhausted: a new producer id with epoch 0, to Empty. The
  // last epoch is the current one if `record_last_epoch` (the producer sent its epoch, so a
  // retry can be recognised), else none. FailedPrecondition while a transaction is Ongoing,
  // PrepareCommit or PrepareAbort.
  Result<TxnTransitMetadata> PrepareProducerIdRotation(int64_t new_producer_id,
                                                       int32_t new_txn_timeout_ms,
                                                       int64_t update_timestamp,
                                                       bool record_last_epoch);

  // AddPartitionsToTxn / AddOffsetsToTxn: to Ongoing with `added` joined to the partitions; the
  // transaction starts now if none was ongoing.
  Result<TxnTransitMetadata> PrepareAddPartitions(const std::set<TopicPartition>& added,
                                                  int64_t update_timestamp);

  // EndTxn: to PrepareCommit or PrepareAbort (`new_state`; anything else is InvalidArgument).
  Result<TxnTransitMetadata> PrepareAbortOrCommit(TransactionState new_state,
                                                  int64_t update_timestamp);

  // Every marker written: PrepareCommit to CompleteCommit, PrepareAbort to CompleteAbort; the
  // partitions are cleared. Clears has_failed_epoch_fence.
  Result<TxnTransitMetadata> PrepareComplete(int64_t update_timestamp);

  // Expiration of the id: to Dead (written as a tombstone; the coordinator then drops the
  // metadata and never completes this transition).
  Result<TxnTransitMetadata> PrepareDead();

  // The write of `transit` (from a Prepare* call) succeeded: install it. FailedPrecondition,
  // leaving everything unchanged, when nothing is pending, when `transit` is not the pending
  // state, or when it does not follow from the current metadata (Kafka's checks: epoch the same,
  // one more, or 0 with a new producer id for Empty; same producer id and epoch otherwise; no
  // partition dropped on Ongoing; timeout and start unchanged on Prepare*; a started
  // transaction on Complete*). PrepareEpochFence and Dead are never completed.
  Status CompleteTransitionTo(const TxnTransitMetadata& transit);

  // The write failed: forget the pending state (the metadata did not change).
  void ResetPendingState() { pending_state_.reset(); }

  // A transaction marker for `tp` was written. FailedPrecondition unless PrepareCommit or
  // PrepareAbort.
  Status RemovePartition(const TopicPartition& tp);

  std::string ToString() const;

 private:
  // Kafka's prepareTransitionTo: checks, then sets the pending state. `target.last_producer_id`
  // is set to the current producer id.
  Result<TxnTransitMetadata> PrepareTransitionTo(TxnTransitMetadata target);
  Status TransitionFailure(const TxnTransitMetadata& transit) const;
  bool ValidProducerEpoch(const TxnTransitMetadata& transit) const;
  bool ValidProducerEpochBump(const TxnTransitMetadata& transit) const;

  std::string transactional_id_;
  int64_t producer_id_ = kNoProducerId;
  int64_t last_producer_id_ = kNoProducerId;
  int16_t producer_epoch_ = kNoProducerEpoch;
  int16_t last_producer_epoch_ = kNoProducerEpoch;
  int32_t txn_timeout_ms_ = 0;
  TransactionState state_ = TransactionState::kEmpty;
  std::optional<TransactionState> pending_state_;
  std::set<TopicPartition> topic_partitions_;
  int64_t txn_start_timestamp_ = -1;
  int64_t txn_last_update_timestamp_ = -1;
  bool has_failed_epoch_fence_ = false;
};

}  // namespace gregor::txn
