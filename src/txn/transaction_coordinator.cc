#include "gregor/txn/transaction_coordinator.h"

#include <glog/logging.h>

#include "gregor/txn/transaction_log.h"

namespace gregor::txn {

using protocol::ErrorCode;

namespace {

// Kafka's appendTransactionToLog: how a failed write of the transaction log reaches the client.
ErrorCode AppendError(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kNotLeader:
    case Status::Code::kNotFound:
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
    case Status::Code::kStale:
      return ErrorCode::kNotCoordinator;
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
      return ErrorCode::kCoordinatorNotAvailable;
    case Status::Code::kTooLarge:
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
    case Status::Code::kAlreadyExists:
    case Status::Code::kOutOfRange:
    case Status::Code::kInternal:
    case Status::Code::kOutOfOrder:
    case Status::Code::kFenced:
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kUnknownServerError;
  }
  return ErrorCode::kUnknownServerError;
}

bool IsComplete(TransactionState s) {
  return s == TransactionState::kCompleteCommit || s == TransactionState::kCompleteAbort;
}

}  // namespace

TransactionCoordinator::TransactionCoordinator(TxnConfig config, TransactionLogStore* store,
                                               ProducerIdManager* ids, MarkerSender send_markers,
                                               const Clock* clock)
    : config_(config),
      store_(store),
      ids_(ids),
      send_markers_(std::move(send_markers)),
      clock_(clock) {}

TransactionCoordinator::~TransactionCoordinator() { Shutdown(); }

void TransactionCoordinator::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (timer_.joinable() || stopping_) return;
  timer_ = std::thread([this] { RunTimer(); });
}

void TransactionCoordinator::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    partitions_.clear();
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

int32_t TransactionCoordinator::PartitionFor(const std::string& transactional_id) const {
  return TransactionPartitionFor(transactional_id, config_.num_partitions);
}

bool TransactionCoordinator::IsLoading(int32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partitions_.find(partition);
  return it != partitions_.end() && it->second.loading;
}

bool TransactionCoordinator::Owns(int32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partitions_.find(partition);
  return it != partitions_.end() && !it->second.loading;
}

// ---- leadership ----

void TransactionCoordinator::OnElection(int32_t partition, int32_t coordinator_epoch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    auto it = partitions_.find(partition);
    if (it != partitions_.end() && it->second.coordinator_epoch >= coordinator_epoch) return;
    PartitionState ps;
    ps.coordinator_epoch = coordinator_epoch;
    partitions_[partition] = std::move(ps);
    loads_.push_back({partition, coordinator_epoch});
  }
  LOG(INFO) << "[TransactionCoordinator] elected for " << kTransactionStateTopicName << "-"
            << partition << " at epoch " << coordinator_epoch << "; loading";
  cv_.notify_all();
}

void TransactionCoordinator::OnResignation(int32_t partition) {
  std::lock_guard<std::mutex> lock(mu_);
  if (partitions_.erase(partition) > 0) {
    LOG(INFO) << "[TransactionCoordinator] resigned as coordinator of "
              << kTransactionStateTopicName << "-" << partition;
  }
}

void TransactionCoordinator::Load(int32_t partition, int32_t coordinator_epoch) {
  std::map<std::string, std::optional<TxnTransitMetadata>> loaded;
  int64_t skipped = 0;
  Status st = store_->Load(partition, [&](const protocol::Record& r) {
    if (!r.key) return;
    auto key = DecodeTransactionLogKey(*r.key);
    if (!key.ok()) {
      ++skipped;
      return;
    }
    if (!r.value) {
      loaded[key->transactional_id] = std::nullopt;  // tombstone: the id expired
      return;
    }
    auto value = DecodeTransactionLogValue(*r.value);
    auto transit =
        value.ok() ? FromTransactionLogValue(*value) : Result<TxnTransitMetadata>(value.status());
    if (!transit.ok()) {
      ++skipped;
      return;
    }
    loaded[key->transactional_id] = *transit;
  });
  std::vector<std::pair<std::string, TxnTransitMetadata>> to_finish;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(partition);
    if (it == partitions_.end() || it->second.coordinator_epoch != coordinator_epoch) return;
    if (!st.ok()) {
      LOG(ERROR) << "[TransactionCoordinator] cannot load " << kTransactionStateTopicName << "-"
                 << partition << ": " << st.ToString();
      partitions_.erase(it);
      return;
    }
    PartitionState& ps = it->second;
    for (auto& [id, transit] : loaded) {
      if (!transit) continue;
      auto md = std::make_unique<TransactionMetadata>(id, *transit);
      if (transit->txn_state == TransactionState::kPrepareCommit ||
          transit->txn_state == TransactionState::kPrepareAbort) {
        to_finish.emplace_back(id, *transit);
      }
      ps.txns[id].metadata = std::move(md);
    }
    ps.loading = false;
    LOG(INFO) << "[TransactionCoordinator] loaded " << ps.txns.size() << " transactional ids from "
              << kTransactionStateTopicName << "-" << partition
              << (skipped ? " (" + std::to_string(skipped) + " unreadable records skipped)" : "")
              << "; " << to_finish.size() << " prepared transaction(s) to complete";
  }
  // A previous coordinator wrote PrepareCommit/PrepareAbort: the markers may be missing.
  for (const auto& [id, transit] : to_finish) SendMarkers(id, coordinator_epoch, transit);
}

ErrorCode TransactionCoordinator::LookupLocked(const std::string& transactional_id,
                                               PartitionState** ps, TransactionMetadata** txn) {
  *ps = nullptr;
  *txn = nullptr;
  if (stopping_) return ErrorCode::kNotCoordinator;
  auto it = partitions_.find(PartitionFor(transactional_id));
  if (it == partitions_.end()) return ErrorCode::kNotCoordinator;
  if (it->second.loading) return ErrorCode::kCoordinatorLoadInProgress;
  *ps = &it->second;
  auto t = it->second.txns.find(transactional_id);
  if (t != it->second.txns.end()) *txn = t->second.metadata.get();
  return ErrorCode::kNone;
}

// ---- writes ----

void TransactionCoordinator::AppendTransit(const std::string& transactional_id,
                                           int32_t coordinator_epoch,
                                           const TxnTransitMetadata& transit,
                                           std::function<void(ErrorCode)> done,
                                           bool retry_when_unavailable) {
  TransactionLogRecord record;
  record.key = EncodeTransactionLogKey(transactional_id);
  if (transit.txn_state != TransactionState::kDead) {
    auto value = ToTransactionLogValue(transit);
    if (!value.ok()) {
      LOG(ERROR) << "[TransactionCoordinator] cannot encode " << transit.ToString() << ": "
                 << value.status().ToString();
      std::lock_guard<std::mutex> lock(mu_);
      PartitionState* ps;
      TransactionMetadata* txn;
      if (LookupLocked(transactional_id, &ps, &txn) == ErrorCode::kNone && txn != nullptr) {
        txn->ResetPendingState();
      }
      done(ErrorCode::kUnknownServerError);
      return;
    }
    record.value = EncodeTransactionLogValue(*value);
  }
  const int32_t partition = PartitionFor(transactional_id);
  store_->Append(
      partition, BuildTransactionLogBatch({record}, clock_->NowMs()),
      [this, transactional_id, coordinator_epoch, transit, partition, done,
       retry_when_unavailable](Status st) {
        ErrorCode error = AppendError(st);
        {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = partitions_.find(partition);
          if (it == partitions_.end() || it->second.coordinator_epoch != coordinator_epoch) {
            // Another coordinator epoch (or none): the write is not ours to apply.
            error = ErrorCode::kNotCoordinator;
          } else {
            auto t = it->second.txns.find(transactional_id);
            TransactionMetadata* txn =
                t == it->second.txns.end() ? nullptr : t->second.metadata.get();
            if (txn == nullptr) {
              error = ErrorCode::kNotCoordinator;
            } else if (error == ErrorCode::kNone && transit.txn_state == TransactionState::kDead) {
              it->second.txns.erase(t);  // expired: the tombstone is written
            } else if (error == ErrorCode::kNone) {
              Status applied = txn->CompleteTransitionTo(transit);
              if (!applied.ok()) {
                LOG(ERROR) << "[TransactionCoordinator] " << transactional_id
                           << ": written but not applicable: " << applied.ToString();
                txn->ResetPendingState();
                error = ErrorCode::kUnknownServerError;
              }
            } else {
              if (!(retry_when_unavailable && error == ErrorCode::kCoordinatorNotAvailable)) {
                txn->ResetPendingState();
              }
              VLOG(1) << "[TransactionCoordinator] " << transactional_id
                      << ": writing the transaction log failed: " << st.ToString();
            }
          }
        }
        done(error);
      });
}

void TransactionCoordinator::InitProducerId(const std::string& transactional_id, int32_t timeout_ms,
                                            std::optional<std::pair<int64_t, int16_t>> expected,
                                            std::function<void(InitProducerIdResult)> done) {
  auto fail = [&done](ErrorCode e) { done({e, -1, -1}); };
  if (transactional_id.empty()) return fail(ErrorCode::kInvalidRequest);
  if (timeout_ms <= 0 || timeout_ms > config_.max_timeout_ms) {
    return fail(ErrorCode::kInvalidTransactionTimeout);
  }
  // A new producer id may be needed (a new transactional id, or an exhausted epoch): claimed
  // before taking the lock, since a new block is a ZooKeeper write.
  bool need_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    PartitionState* ps;
    TransactionMetadata* txn;
    ErrorCode e = LookupLocked(transactional_id, &ps, &txn);
    if (e != ErrorCode::kNone) return fail(e);
    need_id = txn == nullptr || txn->IsProducerEpochExhausted();
  }
  std::optional<int64_t> new_id;
  if (need_id) {
    auto id = ids_->GenerateProducerId();
    if (!id.ok()) return fail(ErrorCode::kCoordinatorNotAvailable);
    new_id = *id;
  }
  int32_t coordinator_epoch;
  TxnTransitMetadata transit;
  {
    std::lock_guard<std::mutex> lock(mu_);
    PartitionState* ps;
    TransactionMetadata* txn;
    ErrorCode e = LookupLocked(transactional_id, &ps, &txn);
    if (e != ErrorCode::kNone) return fail(e);
    coordinator_epoch = ps->coordinator_epoch;
    if (txn == nullptr) {
      if (!new_id) return fail(ErrorCode::kConcurrentTransactions);  // raced with an expiry
      auto md = std::make_unique<TransactionMetadata>(transactional_id, *new_id, timeout_ms,
                                                      clock_->NowMs());
      txn = md.get();
      ps->txns[transactional_id].metadata = std::move(md);
    }
    // Kafka's prepareInitProducerIdTransit.
    if (txn->PendingTransitionInProgress()) return fail(ErrorCode::kConcurrentTransactions);
    if (expected) {
      const bool valid =
          txn->producer_epoch() == kNoProducerEpoch || expected->first == txn->producer_id() ||
          (expected->first == txn->last_producer_id() && IsEpochExhausted(expected->second));
      if (!valid) return fail(ErrorCode::kProducerFenced);
    }
    Result<TxnTransitMetadata> r = Status::Internal("unset");
    switch (txn->state()) {
      case TransactionState::kPrepareAbort:
      case TransactionState::kPrepareCommit:
        return fail(ErrorCode::kConcurrentTransactions);
      case TransactionState::kCompleteAbort:
      case TransactionState::kCompleteCommit:
      case TransactionState::kEmpty:
        if (txn->IsProducerEpochExhausted() &&
            (!expected || expected->second == txn->producer_epoch())) {
          if (!new_id) return fail(ErrorCode::kConcurrentTransactions);
          r = txn->PrepareProducerIdRotation(*new_id, timeout_ms, clock_->NowMs(),
                                             expected.has_value());
        } else {
          r = txn->PrepareIncrementProducerEpoch(
              timeout_ms, expected ? std::optional<int16_t>(expected->second) : std::nullopt,
              clock_->NowMs());
        }
        break;
      case TransactionState::kOngoing:
        // Abort the ongoing transaction first (fencing the old producer); the client retries
        // and gets a further epoch bump.
        r = txn->PrepareFenceProducerEpoch();
        break;
      case TransactionState::kDead:
      case TransactionState::kPrepareEpochFence:
        LOG(ERROR) << "[TransactionCoordinator] " << transactional_id << " is in state "
                   << TransactionStateName(txn->state()) << " on InitProducerId";
        return fail(ErrorCode::kUnknownServerError);
    }
    if (!r.ok()) {
      return fail(r.status().code() == Status::Code::kFenced ? ErrorCode::kProducerFenced
                                                             : ErrorCode::kUnknownServerError);
    }
    transit = *r;
  }
  if (transit.txn_state == TransactionState::kPrepareEpochFence) {
    EndTxnInternal(transactional_id, transit.producer_id, transit.producer_epoch, false,
                   /*from_client=*/false, [done](ErrorCode e) {
                     done({e == ErrorCode::kNone ? ErrorCode::kConcurrentTransactions : e, -1, -1});
                   });
    return;
  }
  AppendTransit(transactional_id, coordinator_epoch, transit,
                [transactional_id, transit, done](ErrorCode e) {
                  if (e != ErrorCode::kNone) return done({e, -1, -1});
                  LOG(INFO) << "[TransactionCoordinator] initialized " << transactional_id
                            << " with producer id " << transit.producer_id << " epoch "
                            << transit.producer_epoch;
                  done({ErrorCode::kNone, transit.producer_id, transit.producer_epoch});
                });
}

void TransactionCoordinator::AddPartitions(const std::string& transactional_id, int64_t producer_id,
                                           int16_t producer_epoch,
                                           const std::set<TopicPartition>& partitions,
                                           std::function<void(ErrorCode)> done) {
  if (transactional_id.empty()) return done(ErrorCode::kInvalidRequest);
  int32_t coordinator_epoch;
  TxnTransitMetadata transit;
  {
    std::lock_guard<std::mutex> lock(mu_);
    PartitionState* ps;
    TransactionMetadata* txn;
    ErrorCode e = LookupLocked(transactional_id, &ps, &txn);
    if (e != ErrorCode::kNone) return done(e);
    if (txn == nullptr || txn->producer_id() != producer_id) {
      return done(ErrorCode::kInvalidProducerIdMapping);
    }
    if (txn->producer_epoch() != producer_epoch) return done(ErrorCode::kProducerFenced);
    if (txn->PendingTransitionInProgress() || txn->state() == TransactionState::kPrepareCommit ||
        txn->state() == TransactionState::kPrepareAbort) {
      return done(ErrorCode::kConcurrentTransactions);
    }
    if (txn->state() == TransactionState::kOngoing) {
      bool all = true;
      for (const auto& tp : partitions) all = all && txn->topic_partitions().count(tp) > 0;
      if (all) return done(ErrorCode::kNone);
    }
    auto r = txn->PrepareAddPartitions(partitions, clock_->NowMs());
    if (!r.ok()) return done(ErrorCode::kInvalidTxnState);
    transit = *r;
    coordinator_epoch = ps->coordinator_epoch;
  }
  AppendTransit(transactional_id, coordinator_epoch, transit, std::move(done));
}

std::map<TopicPartition, ErrorCode> TransactionCoordinator::VerifyPartitions(
    const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
    const std::set<TopicPartition>& partitions) {
  std::map<TopicPartition, ErrorCode> out;
  auto all = [&](ErrorCode e) {
    for (const auto& tp : partitions) out[tp] = e;
    return out;
  };
  if (transactional_id.empty()) return all(ErrorCode::kInvalidRequest);
  std::lock_guard<std::mutex> lock(mu_);
  PartitionState* ps;
  TransactionMetadata* txn;
  ErrorCode e = LookupLocked(transactional_id, &ps, &txn);
  if (e != ErrorCode::kNone) return all(e);
  if (txn == nullptr || txn->producer_id() != producer_id) {
    return all(ErrorCode::kInvalidProducerIdMapping);
  }
  if (txn->producer_epoch() != producer_epoch) return all(ErrorCode::kProducerFenced);
  if (txn->state() == TransactionState::kPrepareCommit ||
      txn->state() == TransactionState::kPrepareAbort) {
    return all(ErrorCode::kConcurrentTransactions);
  }
  for (const auto& tp : partitions) {
    // Kafka 3.8+ (KIP-890): TRANSACTION_ABORTABLE; the partition leader turns it into
    // INVALID_TXN_STATE for clients that predate it (Produce v10-, TxnOffsetCommit v4-).
    out[tp] =
        txn->topic_partitions().count(tp) ? ErrorCode::kNone : ErrorCode::kTransactionAbortable;
  }
  return out;
}

void TransactionCoordinator::EndTxn(const std::string& transactional_id, int64_t producer_id,
                                    int16_t producer_epoch, bool commit,
                                    std::function<void(ErrorCode)> done) {
  EndTxnInternal(transactional_id, producer_id, producer_epoch, commit, /*from_client=*/true,
                 std::move(done));
}

void TransactionCoordinator::EndTxnInternal(const std::string& transactional_id,
                                            int64_t producer_id, int16_t producer_epoch,
                                            bool commit, bool from_client,
                                            std::function<void(ErrorCode)> done) {
  if (transactional_id.empty()) return done(ErrorCode::kInvalidRequest);
  int32_t coordinator_epoch;
  TxnTransitMetadata transit;
  bool epoch_fence = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    PartitionState* ps;
    TransactionMetadata* txn;
    ErrorCode e = LookupLocked(transactional_id, &ps, &txn);
    if (e != ErrorCode::kNone) return done(e);
    if (txn == nullptr || txn->producer_id() != producer_id) {
      return done(ErrorCode::kInvalidProducerIdMapping);
    }
    // Clients must name the current epoch; the coordinator's own aborts name the bumped one.
    if ((from_client && producer_epoch != txn->producer_epoch()) ||
        producer_epoch < txn->producer_epoch()) {
      return done(ErrorCode::kProducerFenced);
    }
    const auto pending = txn->pending_state();
    if (pending && *pending != TransactionState::kPrepareEpochFence) {
      return done(ErrorCode::kConcurrentTransactions);
    }
    auto wrong = [&] {
      VLOG(1) << "[TransactionCoordinator] " << transactional_id << " is "
              << TransactionStateName(txn->state()) << ", asked to "
              << (commit ? "commit" : "abort");
      done(ErrorCode::kInvalidTxnState);
    };
    Result<TxnTransitMetadata> r = Status::Internal("unset");
    switch (txn->state()) {
      case TransactionState::kOngoing:
        if (!commit && pending == TransactionState::kPrepareEpochFence) {
          epoch_fence = true;
          r = txn->PrepareAbortOnEpochFence(producer_epoch, clock_->NowMs());
        } else {
          r = txn->PrepareAbortOrCommit(
              commit ? TransactionState::kPrepareCommit : TransactionState::kPrepareAbort,
              clock_->NowMs());
        }
        break;
      case TransactionState::kCompleteCommit:
        return commit ? done(ErrorCode::kNone) : wrong();
      case TransactionState::kCompleteAbort:
        return !commit ? done(ErrorCode::kNone) : wrong();
      case TransactionState::kPrepareCommit:
        return commit ? done(ErrorCode::kConcurrentTransactions) : wrong();
      case TransactionState::kPrepareAbort:
        return !commit ? done(ErrorCode::kConcurrentTransactions) : wrong();
      case TransactionState::kEmpty:
        return wrong();
      case TransactionState::kDead:
      case TransactionState::kPrepareEpochFence:
        LOG(ERROR) << "[TransactionCoordinator] " << transactional_id << " is in state "
                   << TransactionStateName(txn->state()) << " on EndTxn";
        return done(ErrorCode::kUnknownServerError);
    }
    if (!r.ok()) {
      LOG(WARNING) << "[TransactionCoordinator] " << transactional_id << ": "
                   << r.status().ToString();
      return done(ErrorCode::kInvalidTxnState);
    }
    transit = *r;
    coordinator_epoch = ps->coordinator_epoch;
  }
  AppendTransit(
      transactional_id, coordinator_epoch, transit,
      [this, transactional_id, coordinator_epoch, transit, epoch_fence, done](ErrorCode e) {
        if (e != ErrorCode::kNone) {
          if (epoch_fence) {
            std::lock_guard<std::mutex> lock(mu_);
            PartitionState* ps;
            TransactionMetadata* txn;
            if (LookupLocked(transactional_id, &ps, &txn) == ErrorCode::kNone && txn != nullptr &&
                ps->coordinator_epoch == coordinator_epoch) {
              txn->set_has_failed_epoch_fence(true);
            }
          }
          return done(e);
        }
        done(ErrorCode::kNone);
        SendMarkers(transactional_id, coordinator_epoch, transit);
      });
}

void TransactionCoordinator::SendMarkers(const std::string& transactional_id,
                                         int32_t coordinator_epoch,
                                         const TxnTransitMetadata& prepared) {
  const bool commit = prepared.txn_state == TransactionState::kPrepareCommit;
  TxnTransitMetadata complete;
  {
    // The Complete state is pending from now on: the producer's next requests wait
    // (CONCURRENT_TRANSACTIONS) until the markers are written.
    std::lock_guard<std::mutex> lock(mu_);
    PartitionState* ps;
    TransactionMetadata* txn;
    if (LookupLocked(transactional_id, &ps, &txn) != ErrorCode::kNone || txn == nullptr ||
        ps->coordinator_epoch != coordinator_epoch || txn->PendingTransitionInProgress()) {
      return;
    }
    auto r = txn->PrepareComplete(clock_->NowMs());
    if (!r.ok()) {
      LOG(ERROR) << "[TransactionCoordinator] " << transactional_id << ": "
                 << r.status().ToString();
      return;
    }
    complete = *r;
  }
  if (prepared.topic_partitions.empty()) {
    CompleteAfterMarkers(transactional_id, coordinator_epoch, complete);
    return;
  }
  VLOG(1) << "[TransactionCoordinator] " << transactional_id << ": writing "
          << (commit ? "COMMIT" : "ABORT") << " markers to " << prepared.topic_partitions.size()
          << " partition(s)";
  TxnMarker marker;
  marker.producer_id = prepared.producer_id;
  marker.producer_epoch = prepared.producer_epoch;
  marker.coordinator_epoch = coordinator_epoch;
  marker.commit = commit;
  marker.partitions = prepared.topic_partitions;
  marker.transactional_id = transactional_id;
  marker.txn_topic_partition = PartitionFor(transactional_id);
  send_markers_(
      std::move(marker), [this, transactional_id, coordinator_epoch, commit, complete](Status st) {
        if (st.ok()) {
          CompleteAfterMarkers(transactional_id, coordinator_epoch, complete);
          return;
        }
        // Fenced or shut down: a newer coordinator (or this one after a restart)
        // completes the transaction from the PrepareCommit/PrepareAbort it finds.
        LOG(WARNING) << "[TransactionCoordinator] " << transactional_id << ": "
                     << (commit ? "COMMIT" : "ABORT") << " markers not written: " << st.ToString();
        std::lock_guard<std::mutex> lock(mu_);
        PartitionState* ps;
        TransactionMetadata* txn;
        if (LookupLocked(transactional_id, &ps, &txn) == ErrorCode::kNone && txn != nullptr &&
            ps->coordinator_epoch == coordinator_epoch) {
          txn->ResetPendingState();
        }
      });
}

void TransactionCoordinator::CompleteAfterMarkers(const std::string& transactional_id,
                                                  int32_t coordinator_epoch,
                                                  const TxnTransitMetadata& complete, int attempt) {
  const bool commit = complete.txn_state == TransactionState::kCompleteCommit;
  AppendTransit(
      transactional_id, coordinator_epoch, complete,
      [this, transactional_id, coordinator_epoch, complete, commit, attempt](ErrorCode e) {
        if (e == ErrorCode::kNone) {
          VLOG(1) << "[TransactionCoordinator] " << transactional_id << " "
                  << (commit ? "committed" : "aborted");
          return;
        }
        const char* what = commit ? "CompleteCommit" : "CompleteAbort";
        if (e != ErrorCode::kCoordinatorNotAvailable) {
          // Not the coordinator any more: the next one completes it from the Prepare state.
          LOG(WARNING) << "[TransactionCoordinator] " << transactional_id << ": cannot record "
                       << what << ": " << protocol::ErrorCodeName(e);
          return;
        }
        // A warning at the first failure and about every 10 s after (one tick is 100 ms).
        if (attempt % 100 == 0) {
          LOG(WARNING) << "[TransactionCoordinator] " << transactional_id << ": cannot record "
                       << what << " yet (" << protocol::ErrorCodeName(e) << ", attempt "
                       << attempt + 1 << "); retrying";
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        complete_retries_.push_back({transactional_id, coordinator_epoch, complete, attempt + 1});
      },
      /*retry_when_unavailable=*/true);
}

void TransactionCoordinator::RetryCompletions() {
  std::vector<CompleteRetry> retries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    retries.swap(complete_retries_);
    // Only those this broker still coordinates at the same epoch, still waiting on that write.
    std::erase_if(retries, [&](const CompleteRetry& r) {
      PartitionState* ps;
      TransactionMetadata* txn;
      return LookupLocked(r.transactional_id, &ps, &txn) != ErrorCode::kNone || txn == nullptr ||
             ps->coordinator_epoch != r.coordinator_epoch || !txn->PendingTransitionInProgress();
    });
  }
  for (const auto& r : retries) {
    CompleteAfterMarkers(r.transactional_id, r.coordinator_epoch, r.complete, r.attempt);
  }
}

// ---- admin ----

TransactionDescription TransactionCoordinator::Describe(const std::string& transactional_id) {
  TransactionDescription d;
  d.transactional_id = transactional_id;
  if (transactional_id.empty()) {
    d.error = ErrorCode::kInvalidRequest;
    return d;
  }
  std::lock_guard<std::mutex> lock(mu_);
  PartitionState* ps;
  TransactionMetadata* txn;
  d.error = LookupLocked(transactional_id, &ps, &txn);
  if (d.error != ErrorCode::kNone) return d;
  if (txn == nullptr || txn->state() == TransactionState::kDead) {
    d.error = ErrorCode::kTransactionalIdNotFound;
    return d;
  }
  d.state = TransactionStateName(txn->state());
  d.timeout_ms = txn->txn_timeout_ms();
  d.start_time_ms = txn->txn_start_timestamp();
  d.producer_id = txn->producer_id();
  d.producer_epoch = txn->producer_epoch();
  d.partitions = txn->topic_partitions();
  return d;
}

ErrorCode TransactionCoordinator::List(const std::set<int64_t>& producer_ids,
                                       const std::set<std::string>& states,
                                       std::vector<TransactionListing>* out,
                                       int64_t min_duration_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return ErrorCode::kCoordinatorNotAvailable;
  for (const auto& [p, ps] : partitions_) {
    if (ps.loading) return ErrorCode::kCoordinatorLoadInProgress;
  }
  const int64_t now = clock_->NowMs();
  for (const auto& [p, ps] : partitions_) {
    for (const auto& [id, entry] : ps.txns) {
      const TransactionMetadata& t = *entry.metadata;
      std::string state = TransactionStateName(t.state());
      if (!producer_ids.empty() && !producer_ids.count(t.producer_id())) continue;
      if (!states.empty() && !states.count(state)) continue;
      // Kafka's listTransactionStates measures from the transaction's start timestamp, whatever
      // the state, and keeps only those strictly longer than the filter.
      if (min_duration_ms >= 0 && now - t.txn_start_timestamp() <= min_duration_ms) continue;
      out->push_back({id, t.producer_id(), state});
    }
  }
  return ErrorCode::kNone;
}

// ---- timers ----

void TransactionCoordinator::AbortTimedOutTransactions() {
  struct Victim {
    std::string id;
    int64_t producer_id;
    int16_t fenced_epoch;
  };
  std::vector<Victim> victims;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowMs();
    for (auto& [p, ps] : partitions_) {
      if (ps.loading) continue;
      for (auto& [id, entry] : ps.txns) {
        TransactionMetadata& t = *entry.metadata;
        if (t.state() != TransactionState::kOngoing || t.PendingTransitionInProgress() ||
            t.txn_start_timestamp() + t.txn_timeout_ms() >= now) {
          continue;
        }
        auto fence = t.PrepareFenceProducerEpoch();
        if (!fence.ok()) continue;
        victims.push_back({id, fence->producer_id, fence->producer_epoch});
      }
    }
  }
  for (const auto& v : victims) {
    LOG(INFO) << "[TransactionCoordinator] aborting the timed-out transaction of " << v.id
              << " (producer id " << v.producer_id << ", fenced to epoch " << v.fenced_epoch << ")";
    EndTxnInternal(v.id, v.producer_id, v.fenced_epoch, /*commit=*/false, /*from_client=*/false,
                   [id = v.id](ErrorCode e) {
                     if (e != ErrorCode::kNone) {
                       LOG(WARNING) << "[TransactionCoordinator] abort of " << id
                                    << " after its timeout: " << protocol::ErrorCodeName(e);
                     }
                   });
  }
}

ErrorCode TransactionCoordinator::AbortTransaction(const std::string& transactional_id) {
  int64_t producer_id;
  int16_t fenced_epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    PartitionState* ps;
    TransactionMetadata* txn;
    ErrorCode e = LookupLocked(transactional_id, &ps, &txn);
    if (e != ErrorCode::kNone) return e;
    if (txn == nullptr) return ErrorCode::kTransactionalIdNotFound;
    if (txn->state() != TransactionState::kOngoing || txn->PendingTransitionInProgress()) {
      return ErrorCode::kInvalidTxnState;
    }
    auto fence = txn->PrepareFenceProducerEpoch();
    if (!fence.ok()) return ErrorCode::kInvalidTxnState;
    producer_id = fence->producer_id;
    fenced_epoch = fence->producer_epoch;
  }
  EndTxnInternal(transactional_id, producer_id, fenced_epoch, false, false, [](ErrorCode) {});
  return ErrorCode::kNone;
}

void TransactionCoordinator::RemoveExpiredTransactionalIds() {
  std::vector<std::pair<std::string, std::pair<int32_t, TxnTransitMetadata>>> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowMs();
    for (auto& [p, ps] : partitions_) {
      if (ps.loading) continue;
      for (auto& [id, entry] : ps.txns) {
        TransactionMetadata& t = *entry.metadata;
        const bool idle = t.state() == TransactionState::kEmpty || IsComplete(t.state());
        if (!idle || t.PendingTransitionInProgress() ||
            now - t.txn_last_update_timestamp() < config_.transactional_id_expiration_ms) {
          continue;
        }
        auto dead = t.PrepareDead();
        if (dead.ok()) doomed.push_back({id, {ps.coordinator_epoch, *dead}});
      }
    }
  }
  for (const auto& [id, epoch_and_transit] : doomed) {
    LOG(INFO) << "[TransactionCoordinator] transactional id " << id
              << " expired (transactional.id.expiration.ms)";
    AppendTransit(id, epoch_and_transit.first, epoch_and_transit.second, [](ErrorCode) {});
  }
}

void TransactionCoordinator::RunTimer() {
  int64_t next_abort = clock_->MonotonicMs() + config_.abort_timed_out_interval_ms;
  int64_t next_expire = clock_->MonotonicMs() + config_.remove_expired_interval_ms;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping_) break;
    std::vector<std::pair<int32_t, int32_t>> loads;
    loads.swap(loads_);
    lock.unlock();
    for (const auto& [partition, epoch] : loads) Load(partition, epoch);
    store_->Poll();
    RetryCompletions();
    const int64_t now = clock_->MonotonicMs();
    if (now >= next_abort) {
      AbortTimedOutTransactions();
      next_abort = now + config_.abort_timed_out_interval_ms;
    }
    if (now >= next_expire) {
      RemoveExpiredTransactionalIds();
      next_expire = now + config_.remove_expired_interval_ms;
    }
    lock.lock();
  }
}

}  // namespace gregor::txn
