// Transactions in the Log (Kafka's UnifiedLog: lastStableOffset, collectAbortedTransactions,
// the marker append of a COORDINATOR origin). Log members; see log.h. Every *Locked member runs
// under the Log's mutex.
#include <glog/logging.h>

#include <algorithm>
#include <string>

#include "gregor/log/log.h"
#include "gregor/protocol/record_batch.h"
#include "log/segment.h"

namespace gregor::log {

namespace {

// Kafka's ControlRecordType and EndTransactionMarker, version 0 of both.
constexpr int16_t kControlRecordVersion = 0;
constexpr int16_t kControlTypeAbort = 0;
constexpr int16_t kControlTypeCommit = 1;
constexpr int16_t kEndTxnMarkerVersion = 0;

void PutInt16(std::string& out, int16_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void PutInt32(std::string& out, int32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

}  // namespace

Result<AppendResult> Log::AppendTxnMarkerAsLeader(int64_t producer_id, int16_t producer_epoch,
                                                  int32_t coordinator_epoch, bool commit,
                                                  int32_t leader_epoch) {
  if (producer_id < 0) {
    return Status::InvalidArgument("transaction marker without a producer id for " +
                                   tp_.ToString());
  }
  protocol::BatchSpec spec;
  spec.attributes = protocol::kTransactionalBit | protocol::kControlBit;
  spec.producer_id = producer_id;
  spec.producer_epoch = producer_epoch;
  spec.base_sequence = -1;  // markers carry no sequence
  std::string key;
  PutInt16(key, kControlRecordVersion);
  PutInt16(key, commit ? kControlTypeCommit : kControlTypeAbort);
  std::string value;
  PutInt16(value, kEndTxnMarkerVersion);
  PutInt32(value, coordinator_epoch);
  std::string batch =
      protocol::BuildRecordBatch(spec, {{std::move(key), std::move(value), clock_->NowMs(), {}}});
  return AppendAsLeader(reinterpret_cast<uint8_t*>(batch.data()), batch.size(), leader_epoch,
                        AppendOrigin::kCoordinator);
}

Status Log::CompleteTxnsLocked(LogSegment* segment, const std::vector<CompletedTxn>& completed) {
  for (const CompletedTxn& txn : completed) {
    // The LSO is taken while the transaction still counts as open (Kafka's
    // lastStableOffset(completedTxn)), and it completes only once its entry is written.
    GREGOR_RETURN_IF_ERROR(segment->UpdateTxnIndex(txn, producers_->LastStableOffset(txn)));
    producers_->CompleteTxn(txn);
    VLOG(1) << "[Log " << tp_.ToString() << "] transaction of producer " << txn.producer_id
            << " from offset " << txn.first_offset << " " << (txn.aborted ? "aborted" : "committed")
            << " at " << txn.last_offset;
  }
  return Status::Ok();
}

VerificationGuard Log::MaybeStartTransactionVerification(int64_t producer_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const ProducerStateEntry* e = producers_->Find(producer_id);
  if (e != nullptr && e->current_txn_first_offset >= 0) return kNoVerificationGuard;
  return producers_->MaybeCreateVerificationGuard(producer_id, clock_->NowMs());
}

std::optional<int64_t> Log::FirstUnstableOffsetLocked() const {
  std::optional<int64_t> first = producers_->FirstUnstableOffset();
  // A transaction that began below the log start (retention, DeleteRecords) is unstable from
  // the log start on, as Kafka's maybeIncrementFirstUnstableOffset.
  if (first && *first < log_start_offset_) first = log_start_offset_;
  return first;
}

int64_t Log::LastStableOffsetLocked() const {
  std::optional<int64_t> first = FirstUnstableOffsetLocked();
  return first && *first < high_watermark_ ? *first : high_watermark_;
}

int64_t Log::LastStableOffset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return LastStableOffsetLocked();
}

std::optional<int64_t> Log::FirstUnstableOffset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return FirstUnstableOffsetLocked();
}

void Log::CollectAbortedTxnsLocked(int64_t fetch_offset, int64_t upper_bound_offset,
                                   std::vector<AbortedTxn>* out) const {
  // From the segment holding fetch_offset: a transaction aborted in an earlier segment ended
  // before the range. Later segments are searched until an entry's LSO reaches the upper bound.
  auto it = segments_.upper_bound(fetch_offset);
  if (it != segments_.begin()) --it;
  for (; it != segments_.end(); ++it) {
    if (it->second->txn_index().CollectAbortedTxns(fetch_offset, upper_bound_offset, out)) return;
  }
}

std::vector<AbortedTxn> Log::CollectAbortedTxns(int64_t fetch_offset,
                                                int64_t upper_bound_offset) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AbortedTxn> out;
  CollectAbortedTxnsLocked(fetch_offset, upper_bound_offset, &out);
  return out;
}

std::vector<AbortedTxn> Log::AbortedTxnsOf(const std::shared_ptr<LogSegment>& segment) const {
  std::lock_guard<std::mutex> lock(mu_);
  return segment->txn_index().AllAbortedTxns();
}

}  // namespace gregor::log
