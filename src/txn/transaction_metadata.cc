// Kafka's transaction state machine (Kafka 3.7 TransactionMetadata.scala), with Status values
// where Kafka throws. The rules, and why they are what they are, are Kafka's; comments cite them.
#include "gregor/txn/transaction_metadata.h"

#include <algorithm>
#include <utility>

namespace gregor::txn {

namespace {

using S = TransactionState;

std::string PartitionsString(const std::set<TopicPartition>& tps) {
  std::string out = "[";
  for (const auto& tp : tps) {
    if (out.size() > 1) out += ",";
    out += tp.ToString();
  }
  return out + "]";
}

std::string OptionalStateString(const std::optional<TransactionState>& s) {
  return s ? TransactionStateName(*s) : "None";
}

}  // namespace

const char* TransactionStateName(TransactionState s) {
  switch (s) {
    case S::kEmpty:
      return "Empty";
    case S::kOngoing:
      return "Ongoing";
    case S::kPrepareCommit:
      return "PrepareCommit";
    case S::kPrepareAbort:
      return "PrepareAbort";
    case S::kCompleteCommit:
      return "CompleteCommit";
    case S::kCompleteAbort:
      return "CompleteAbort";
    case S::kDead:
      return "Dead";
    case S::kPrepareEpochFence:
      return "PrepareEpochFence";
  }
  return "Unknown";
}

std::optional<TransactionState> ParseTransactionState(std::string_view name) {
  for (TransactionState s : kAllTransactionStates) {
    if (name == TransactionStateName(s)) return s;
  }
  return std::nullopt;
}

std::optional<TransactionState> TransactionStateFromId(int8_t id) {
  if (id < 0 || id > static_cast<int8_t>(S::kPrepareEpochFence)) return std::nullopt;
  return static_cast<TransactionState>(id);
}

bool IsValidPreviousState(TransactionState to, TransactionState from) {
  switch (to) {
    case S::kEmpty:  // InitProducerId, between transactions
      return from == S::kEmpty || from == S::kCompleteCommit || from == S::kCompleteAbort;
    case S::kOngoing:  // AddPartitionsToTxn / AddOffsetsToTxn
      return from == S::kOngoing || from == S::kEmpty || from == S::kCompleteCommit ||
             from == S::kCompleteAbort;
    case S::kPrepareCommit:  // EndTxn(commit)
      return from == S::kOngoing;
    case S::kPrepareAbort:  // EndTxn(abort), or the abort after a fence
      return from == S::kOngoing || from == S::kPrepareEpochFence;
    case S::kCompleteCommit:  // markers written
      return from == S::kPrepareCommit;
    case S::kCompleteAbort:
      return from == S::kPrepareAbort;
    case S::kDead:  // expiration
      return from == S::kEmpty || from == S::kCompleteAbort || from == S::kCompleteCommit;
    case S::kPrepareEpochFence:  // InitProducerId or a timeout during a transaction
      return from == S::kOngoing;
  }
  return false;
}

std::vector<TransactionState> ValidPreviousStates(TransactionState to) {
  std::vector<TransactionState> out;
  for (TransactionState from : kAllTransactionStates) {
    if (IsValidPreviousState(to, from)) out.push_back(from);
  }
  return out;
}

bool IsExpirationAllowed(TransactionState s) {
  return s == S::kEmpty || s == S::kCompleteCommit || s == S::kCompleteAbort;
}

std::string TxnTransitMetadata::ToString() const {
  return "TxnTransitMetadata(producerId=" + std::to_string(producer_id) +
         ", lastProducerId=" + std::to_string(last_producer_id) +
         ", producerEpoch=" + std::to_string(producer_epoch) +
         ", lastProducerEpoch=" + std::to_string(last_producer_epoch) +
         ", txnTimeoutMs=" + std::to_string(txn_timeout_ms) +
         ", txnState=" + TransactionStateName(txn_state) +
         ", topicPartitions=" + PartitionsString(topic_partitions) +
         ", txnStartTimestamp=" + std::to_string(txn_start_timestamp) +
         ", txnLastUpdateTimestamp=" + std::to_string(txn_last_update_timestamp) + ")";
}

Result<TransactionLogValue> ToTransactionLogValue(const TxnTransitMetadata& t) {
  if (t.txn_state == S::kEmpty && !t.topic_partitions.empty()) {
    return Status::FailedPrecondition(
        "transaction is not expected to have any partitions since its state is Empty: " +
        t.ToString());
  }
  TransactionLogValue v;
  v.producer_id = t.producer_id;
  v.producer_epoch = t.producer_epoch;
  v.transaction_timeout_ms = t.txn_timeout_ms;
  v.transaction_status = TransactionStateId(t.txn_state);
  // Kafka writes null partitions for Empty, and a (possibly empty) list otherwise.
  if (t.txn_state == S::kEmpty) {
    v.transaction_partitions.reset();
  } else {
    v.transaction_partitions = GroupPartitionsByTopic(t.topic_partitions);
  }
  v.transaction_last_update_timestamp_ms = t.txn_last_update_timestamp;
  v.transaction_start_timestamp_ms = t.txn_start_timestamp;
  // Kafka 3.7 does not persist the last producer id or epoch, nor anything of KIP-890's
  // transaction version 2: the tagged fields keep their defaults and the value stays v0.
  return v;
}

Result<TxnTransitMetadata> FromTransactionLogValue(const TransactionLogValue& v) {
  std::optional<TransactionState> state = TransactionStateFromId(v.transaction_status);
  if (!state) {
    return Status::Corruption("unknown transaction state id " +
                              std::to_string(v.transaction_status) + " in " +
                              kTransactionStateTopic);
  }
  TxnTransitMetadata t;
  t.producer_id = v.producer_id;
  t.last_producer_id = v.previous_producer_id;
  t.producer_epoch = v.producer_epoch;
  t.last_producer_epoch = kNoProducerEpoch;
  t.txn_timeout_ms = v.transaction_timeout_ms;
  t.txn_state = *state;
  if (*state != S::kEmpty && v.transaction_partitions) {
    for (const auto& topic : *v.transaction_partitions) {
      for (int32_t p : topic.partition_ids) t.topic_partitions.insert({topic.topic, p});
    }
  }
  t.txn_start_timestamp = v.transaction_start_timestamp_ms;
  t.txn_last_update_timestamp = v.transaction_last_update_timestamp_ms;
  return t;
}

TransactionMetadata::TransactionMetadata(std::string transactional_id, int64_t producer_id,
                                         int32_t txn_timeout_ms, int64_t now_ms)
    : transactional_id_(std::move(transactional_id)),
      producer_id_(producer_id),
      txn_timeout_ms_(txn_timeout_ms),
      txn_last_update_timestamp_(now_ms) {}

TransactionMetadata::TransactionMetadata(std::string transactional_id,
                                         const TxnTransitMetadata& committed)
    : transactional_id_(std::move(transactional_id)),
      producer_id_(committed.producer_id),
      last_producer_id_(committed.last_producer_id),
      producer_epoch_(committed.producer_epoch),
      last_producer_epoch_(committed.last_producer_epoch),
      txn_timeout_ms_(committed.txn_timeout_ms),
      state_(committed.txn_state),
      topic_partitions_(committed.topic_partitions),
      txn_start_timestamp_(committed.txn_start_timestamp),
      txn_last_update_timestamp_(committed.txn_last_update_timestamp) {}

TxnTransitMetadata TransactionMetadata::PrepareNoTransit() const {
  // No pending state: a follow-up abort sets its own (Kafka uses this for timed-out
  // transactions and tests).
  return {.producer_id = producer_id_,
          .last_producer_id = last_producer_id_,
          .producer_epoch = producer_epoch_,
          .last_producer_epoch = last_producer_epoch_,
          .txn_timeout_ms = txn_timeout_ms_,
          .txn_state = state_,
          .topic_partitions = topic_partitions_,
          .txn_start_timestamp = txn_start_timestamp_,
          .txn_last_update_timestamp = txn_last_update_timestamp_};
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareFenceProducerEpoch() {
  if (producer_epoch_ == INT16_MAX) {
    return Status::FailedPrecondition("cannot fence producer of " + transactional_id_ +
                                      " with epoch equal to Short.MaxValue: it would overflow");
  }
  // After a failed fence the bumped epoch is already in memory and was never returned to a
  // client, so it is safe not to bump again.
  const int16_t bumped =
      has_failed_epoch_fence_ ? producer_epoch_ : static_cast<int16_t>(producer_epoch_ + 1);
  return PrepareTransitionTo({.producer_id = producer_id_,
                              .producer_epoch = bumped,
                              .last_producer_epoch = kNoProducerEpoch,
                              .txn_timeout_ms = txn_timeout_ms_,
                              .txn_state = S::kPrepareEpochFence,
                              .topic_partitions = topic_partitions_,
                              .txn_start_timestamp = txn_start_timestamp_,
                              .txn_last_update_timestamp = txn_last_update_timestamp_});
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareAbortOnEpochFence(int16_t fenced_epoch,
                                                                         int64_t update_timestamp) {
  if (state_ != S::kOngoing || pending_state_ != S::kPrepareEpochFence) {
    return Status::FailedPrecondition("no epoch fence pending for " + ToString());
  }
  if (fenced_epoch < 0) {
    return Status::InvalidArgument("illegal fenced producer epoch " + std::to_string(fenced_epoch));
  }
  // Kafka's EndTxn for a fence clears the pending state to make way for PrepareAbort and
  // installs the bumped epoch in memory before the abort is written; if that write fails the
  // coordinator sets has_failed_epoch_fence so that the next fence does not bump again.
  pending_state_.reset();
  producer_epoch_ = fenced_epoch;
  last_producer_epoch_ = kNoProducerEpoch;
  return PrepareAbortOrCommit(S::kPrepareAbort, update_timestamp);
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareIncrementProducerEpoch(
    int32_t new_txn_timeout_ms, std::optional<int16_t> expected_producer_epoch,
    int64_t update_timestamp) {
  if (IsProducerEpochExhausted()) {
    return Status::FailedPrecondition("cannot allocate any more producer epochs for producerId " +
                                      std::to_string(producer_id_));
  }
  const int16_t bumped = static_cast<int16_t>(producer_epoch_ + 1);
  int16_t next_epoch;
  int16_t last_epoch;
  if (!expected_producer_epoch) {
    // A new producer instance: bump, and forget the last epoch (a new producer with epoch -1
    // gets 0).
    next_epoch = bumped;
    last_epoch = kNoProducerEpoch;
  } else if (producer_epoch_ == kNoProducerEpoch || *expected_producer_epoch == producer_epoch_) {
    // KIP-360: the producer continues after an error and nobody else initialized meanwhile
    // (or the metadata is new). Bump, and remember the current epoch to recognise a retry.
    next_epoch = bumped;
    last_epoch = producer_epoch_;
  } else if (*expected_producer_epoch == last_producer_epoch_) {
    // A retry of a bump that succeeded: return the current epoch again. Safe, since a new
    // producer's InitProducerId would have reset the last epoch to -1.
    next_epoch = producer_epoch_;
    last_epoch = last_producer_epoch_;
  } else {
    return Status::Fenced("expected producer epoch " + std::to_string(*expected_producer_epoch) +
                          " of " + transactional_id_ + " does not match current epoch " +
                          std::to_string(producer_epoch_) + " or previous epoch " +
                          std::to_string(last_producer_epoch_));
  }
  return PrepareTransitionTo({.producer_id = producer_id_,
                              .producer_epoch = next_epoch,
                              .last_producer_epoch = last_epoch,
                              .txn_timeout_ms = new_txn_timeout_ms,
                              .txn_state = S::kEmpty,
                              .topic_partitions = {},
                              .txn_start_timestamp = -1,
                              .txn_last_update_timestamp = update_timestamp});
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareProducerIdRotation(
    int64_t new_producer_id, int32_t new_txn_timeout_ms, int64_t update_timestamp,
    bool record_last_epoch) {
  if (state_ == S::kOngoing || state_ == S::kPrepareAbort || state_ == S::kPrepareCommit) {
    return Status::FailedPrecondition("cannot rotate producer ids of " + transactional_id_ +
                                      " while a transaction is still pending (" +
                                      TransactionStateName(state_) + ")");
  }
  return PrepareTransitionTo(
      {.producer_id = new_producer_id,
       .producer_epoch = 0,
       .last_producer_epoch = record_last_epoch ? producer_epoch_ : kNoProducerEpoch,
       .txn_timeout_ms = new_txn_timeout_ms,
       .txn_state = S::kEmpty,
       .topic_partitions = {},
       .txn_start_timestamp = -1,
       .txn_last_update_timestamp = update_timestamp});
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareAddPartitions(
    const std::set<TopicPartition>& added, int64_t update_timestamp) {
  // A transaction starts with its first partition; later additions keep its start.
  const bool starts =
      state_ == S::kEmpty || state_ == S::kCompleteAbort || state_ == S::kCompleteCommit;
  std::set<TopicPartition> partitions = topic_partitions_;
  partitions.insert(added.begin(), added.end());
  return PrepareTransitionTo(
      {.producer_id = producer_id_,
       .producer_epoch = producer_epoch_,
       .last_producer_epoch = last_producer_epoch_,
       .txn_timeout_ms = txn_timeout_ms_,
       .txn_state = S::kOngoing,
       .topic_partitions = std::move(partitions),
       .txn_start_timestamp = starts ? update_timestamp : txn_start_timestamp_,
       .txn_last_update_timestamp = update_timestamp});
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareAbortOrCommit(TransactionState new_state,
                                                                     int64_t update_timestamp) {
  if (new_state != S::kPrepareCommit && new_state != S::kPrepareAbort) {
    return Status::InvalidArgument(std::string("EndTxn cannot move to ") +
                                   TransactionStateName(new_state));
  }
  return PrepareTransitionTo({.producer_id = producer_id_,
                              .producer_epoch = producer_epoch_,
                              .last_producer_epoch = last_producer_epoch_,
                              .txn_timeout_ms = txn_timeout_ms_,
                              .txn_state = new_state,
                              .topic_partitions = topic_partitions_,
                              .txn_start_timestamp = txn_start_timestamp_,
                              .txn_last_update_timestamp = update_timestamp});
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareComplete(int64_t update_timestamp) {
  const TransactionState next =
      state_ == S::kPrepareCommit ? S::kCompleteCommit : S::kCompleteAbort;
  Result<TxnTransitMetadata> r =
      PrepareTransitionTo({.producer_id = producer_id_,
                           .producer_epoch = producer_epoch_,
                           .last_producer_epoch = last_producer_epoch_,
                           .txn_timeout_ms = txn_timeout_ms_,
                           .txn_state = next,
                           .topic_partitions = {},
                           .txn_start_timestamp = txn_start_timestamp_,
                           .txn_last_update_timestamp = update_timestamp});
  // The PrepareAbort of a fence was written (markers are only sent after it is), so a later
  // fence must bump again. Kafka clears the flag even when the transition is refused; we only
  // clear it on success, which changes nothing observable since a refusal is a bug anyway.
  if (r.ok()) has_failed_epoch_fence_ = false;
  return r;
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareDead() {
  return PrepareTransitionTo({.producer_id = producer_id_,
                              .producer_epoch = producer_epoch_,
                              .last_producer_epoch = last_producer_epoch_,
                              .txn_timeout_ms = txn_timeout_ms_,
                              .txn_state = S::kDead,
                              .topic_partitions = {},
                              .txn_start_timestamp = txn_start_timestamp_,
                              .txn_last_update_timestamp = txn_last_update_timestamp_});
}

Result<TxnTransitMetadata> TransactionMetadata::PrepareTransitionTo(TxnTransitMetadata target) {
  if (pending_state_) {
    return Status::FailedPrecondition(std::string("preparing transition of ") + transactional_id_ +
                                      " to " + TransactionStateName(target.txn_state) +
                                      " while it already has a pending state " +
                                      TransactionStateName(*pending_state_));
  }
  if (target.producer_id < 0) {
    return Status::InvalidArgument("illegal new producer id " + std::to_string(target.producer_id));
  }
  // A new metadata has epoch -1 until its first InitProducerId completes, and may stay so
  // until it expires (Dead).
  if (target.txn_state != S::kDead && target.producer_epoch < 0) {
    return Status::InvalidArgument("illegal new producer epoch " +
                                   std::to_string(target.producer_epoch));
  }
  if (!IsValidPreviousState(target.txn_state, state_)) {
    return Status::FailedPrecondition(
        std::string("preparing transition of ") + transactional_id_ + " to " +
        TransactionStateName(target.txn_state) + " failed: " + TransactionStateName(state_) +
        " is not a valid previous state of " + TransactionStateName(target.txn_state));
  }
  target.last_producer_id = producer_id_;
  pending_state_ = target.txn_state;
  return target;
}

bool TransactionMetadata::ValidProducerEpoch(const TxnTransitMetadata& t) const {
  return t.producer_epoch == producer_epoch_ && t.producer_id == producer_id_;
}

bool TransactionMetadata::ValidProducerEpochBump(const TxnTransitMetadata& t) const {
  // One more, or a new producer id starting at 0 (rotation). int arithmetic: no overflow.
  return t.producer_epoch == producer_epoch_ + 1 ||
         (t.producer_epoch == 0 && t.producer_id != producer_id_);
}

Status TransactionMetadata::TransitionFailure(const TxnTransitMetadata& t) const {
  return Status::FailedPrecondition(ToString() + "'s transition to " + t.ToString() +
                                    " failed due to unexpected metadata");
}

Status TransactionMetadata::CompleteTransitionTo(const TxnTransitMetadata& t) {
  // Valid only if the target is the pending state and follows from the current metadata; the
  // caller calls this only after the target was written and replicated. Every check happens
  // before anything changes.
  if (!pending_state_) {
    return Status::FailedPrecondition("transactional id " + transactional_id_ +
                                      " completing a transition to " + t.ToString() +
                                      " while it has no pending state");
  }
  const TransactionState to = *pending_state_;
  if (to != t.txn_state) return TransitionFailure(t);
  switch (to) {
    case S::kEmpty:  // InitProducerId
      if ((producer_epoch_ != t.producer_epoch && !ValidProducerEpochBump(t)) ||
          !t.topic_partitions.empty() || t.txn_start_timestamp != -1) {
        return TransitionFailure(t);
      }
      txn_timeout_ms_ = t.txn_timeout_ms;
      producer_epoch_ = t.producer_epoch;
      last_producer_epoch_ = t.last_producer_epoch;
      producer_id_ = t.producer_id;
      last_producer_id_ = t.last_producer_id;
      break;
    case S::kOngoing:  // AddPartitionsToTxn
      if (!ValidProducerEpoch(t) ||
          !std::includes(t.topic_partitions.begin(), t.topic_partitions.end(),
                         topic_partitions_.begin(), topic_partitions_.end()) ||
          txn_timeout_ms_ != t.txn_timeout_ms) {
        return TransitionFailure(t);
      }
      txn_start_timestamp_ = t.txn_start_timestamp;
      topic_partitions_.insert(t.topic_partitions.begin(), t.topic_partitions.end());
      break;
    case S::kPrepareAbort:  // EndTxn
    case S::kPrepareCommit:
      if (!ValidProducerEpoch(t) || topic_partitions_ != t.topic_partitions ||
          txn_timeout_ms_ != t.txn_timeout_ms || txn_start_timestamp_ != t.txn_start_timestamp) {
        return TransitionFailure(t);
      }
      break;
    case S::kCompleteAbort:  // markers written
    case S::kCompleteCommit:
      if (!ValidProducerEpoch(t) || txn_timeout_ms_ != t.txn_timeout_ms ||
          t.txn_start_timestamp == -1) {
        return TransitionFailure(t);
      }
      txn_start_timestamp_ = t.txn_start_timestamp;
      topic_partitions_.clear();
      break;
    case S::kPrepareEpochFence:
      // Never completed: the pending fence is replaced by PrepareAbort (PrepareAbortOnEpochFence)
      // and nothing may follow PrepareEpochFence itself.
      return TransitionFailure(t);
    case S::kDead:
      // An expiring id is removed from the cache once its tombstone is written; persisting Dead
      // is never acceptable.
      return Status::FailedPrecondition("transactional id " + transactional_id_ +
                                        " is trying to complete a transition to Dead; the only "
                                        "acceptable completion is to remove its metadata");
  }
  txn_last_update_timestamp_ = t.txn_last_update_timestamp;
  pending_state_.reset();
  state_ = to;
  return Status::Ok();
}

Status TransactionMetadata::RemovePartition(const TopicPartition& tp) {
  if (state_ != S::kPrepareCommit && state_ != S::kPrepareAbort) {
    return Status::FailedPrecondition(
        "transaction metadata's current state is " + std::string(TransactionStateName(state_)) +
        " and its pending state is " + OptionalStateString(pending_state_) +
        " while trying to remove partition " + tp.ToString() + " whose marker was sent");
  }
  topic_partitions_.erase(tp);
  return Status::Ok();
}

std::string TransactionMetadata::ToString() const {
  return "TransactionMetadata(transactionalId=" + transactional_id_ +
         ", producerId=" + std::to_string(producer_id_) +
         ", producerEpoch=" + std::to_string(producer_epoch_) +
         ", txnTimeoutMs=" + std::to_string(txn_timeout_ms_) +
         ", state=" + TransactionStateName(state_) +
         ", pendingState=" + OptionalStateString(pending_state_) +
         ", topicPartitions=" + PartitionsString(topic_partitions_) +
         ", txnStartTimestamp=" + std::to_string(txn_start_timestamp_) +
         ", txnLastUpdateTimestamp=" + std::to_string(txn_last_update_timestamp_) + ")";
}

}  // namespace gregor::txn
