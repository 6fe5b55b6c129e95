// The GroupCoordinator's half of exactly-once (Kafka's handleTxnCommitOffsets, storeOffsets
// with a producer id, and handleTxnCompletion): offsets a transactional producer commits are
// written to the group's __consumer_offsets partition as one transactional batch, then stay
// pending for (group, producer) until the transaction coordinator's COMMIT or ABORT marker
// lands in that partition (HandleTxnCompletion, or the marker read when loading).
#include <glog/logging.h>

#include "gregor/group/group_coordinator.h"

namespace gregor::group {

ErrorCode GroupCoordinator::TxnOffsetCommitError(const Status& s) {
  // Kafka's maybeConvertOffsetCommitError; the producer-state rejections of a transactional
  // batch reach the client as they are.
  switch (s.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kFenced:
      return ErrorCode::kInvalidProducerEpoch;  // a newer epoch of this producer wrote here
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kInvalidTxnState;
    case Status::Code::kTooLarge:
      return ErrorCode::kInvalidCommitOffsetSize;
    case Status::Code::kNotLeader:
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
    case Status::Code::kStale:
    case Status::Code::kUnavailable:
    case Status::Code::kTimeout:
    case Status::Code::kNotFound:
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
    case Status::Code::kAlreadyExists:
    case Status::Code::kOutOfRange:
    case Status::Code::kInternal:
    case Status::Code::kOutOfOrder:
      return StorageError(s);
  }
  return ErrorCode::kUnknownServerError;
}

std::optional<ErrorCode> GroupCoordinator::ValidateTxnOffsetCommitGroup(
    const std::string& group_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ValidateGroupStatusLocked(group_id, false);
}

void GroupCoordinator::CommitTxnOffsets(TxnOffsetCommitParams p, OffsetCommitCallback done) {
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<ErrorCode> err = ValidateGroupStatusLocked(p.group_id, false);
    GroupPtr g;
    if (!err) {
      // A producer that never joined the group (or a group that expired) commits all the same.
      g = GetGroupLocked(p.group_id);
      if (!g) g = AddGroupLocked(p.group_id);
      err = ValidateOffsetCommitLocked(*g, p.generation_id, p.member_id, p.group_instance_id, true);
    }
    auto results = std::make_shared<std::map<TopicPartition, ErrorCode>>();
    if (err) {
      for (const auto& [tp, o] : p.offsets) (*results)[tp] = *err;
      d.push_back([done, results] { done(*results); });
    } else {
      const int64_t now = Wall();
      std::vector<GroupRecord> records;
      std::vector<std::pair<TopicPartition, OffsetAndMetadata>> accepted;
      for (auto& [tp, o] : p.offsets) {
        if (static_cast<int64_t>(o.metadata.size()) > config_.offset_metadata_max_bytes) {
          (*results)[tp] = ErrorCode::kOffsetMetadataTooLarge;
          continue;
        }
        OffsetAndMetadata v = o;
        if (v.commit_timestamp < 0) v.commit_timestamp = now;
        v.expire_timestamp.reset();
        records.push_back({EncodeOffsetCommitKey(p.group_id, tp.topic, tp.partition),
                           EncodeOffsetCommitValue(v)});
        accepted.emplace_back(tp, v);
      }
      if (records.empty()) {
        d.push_back([done, results] { done(*results); });
      } else {
        const int64_t pid = p.producer_id;
        for (const auto& [tp, v] : accepted) g->PrepareTxnOffsetCommit(pid, tp, v);
        producer_groups_[pid].insert(p.group_id);
        VLOG(1) << "[GroupCoordinator] group " << p.group_id << ": " << accepted.size()
                << " offsets of producer " << pid << " (transactional id " << p.transactional_id
                << ", epoch " << p.producer_epoch << ") pending";
        AppendBatchLocked(
            PartitionFor(p.group_id),
            BuildTxnOffsetCommitBatch(records, now, pid, p.producer_epoch),
            [this, g, pid, accepted, results, done](Status s, int64_t base_offset) {
              const ErrorCode err = TxnOffsetCommitError(s);
              {
                std::lock_guard<std::mutex> lock(mu_);
                if (!g->Is(GroupState::kDead)) {
                  for (const auto& [tp, v] : accepted) {
                    if (err == ErrorCode::kNone) {
                      g->OnTxnOffsetCommitAppend(pid, tp, v, base_offset);
                    } else {
                      g->FailPendingTxnOffsetCommit(pid, tp, v);
                    }
                  }
                  if (!g->HasPendingTxnOffsetsFrom(pid)) {
                    auto it = producer_groups_.find(pid);
                    if (it != producer_groups_.end()) {
                      it->second.erase(g->group_id());
                      if (it->second.empty()) producer_groups_.erase(it);
                    }
                  }
                }
                if (err != ErrorCode::kNone) {
                  VLOG(1) << "[GroupCoordinator] transactional offset commit of producer " << pid
                          << " for group " << g->group_id() << " failed: " << s.ToString();
                }
                for (const auto& [tp, v] : accepted) (*results)[tp] = err;
              }
              done(*results);
            },
            &d, p.verification);
      }
    }
  }
  RunDeferred(d);
}

void GroupCoordinator::HandleTxnCompletion(int64_t producer_id,
                                           const std::vector<int32_t>& offsets_partitions,
                                           bool commit) {
  std::lock_guard<std::mutex> lock(mu_);
  for (int32_t partition : offsets_partitions) {
    auto it = partitions_.find(partition);
    // Not ours (any more): whoever loads the partition reads the marker from the log.
    if (it == partitions_.end()) continue;
    switch (it->second.state) {
      case PartitionState::kLoading:
        // The load may have read the log before the marker landed: complete once loaded.
        it->second.txn_completions.emplace_back(producer_id, commit);
        break;
      case PartitionState::kLoaded:
        CompleteTxnLocked(producer_id, partition, commit);
        break;
      case PartitionState::kFailed:
        break;
    }
  }
}

void GroupCoordinator::CompleteTxnLocked(int64_t producer_id, int32_t partition, bool commit) {
  auto pg = producer_groups_.find(producer_id);
  if (pg == producer_groups_.end()) return;
  for (auto it = pg->second.begin(); it != pg->second.end();) {
    if (PartitionFor(*it) != partition) {
      ++it;
      continue;
    }
    GroupPtr g = GetGroupLocked(*it);
    if (g && !g->Is(GroupState::kDead)) {
      size_t n = g->CompletePendingTxnOffsetCommit(producer_id, commit);
      VLOG(1) << "[GroupCoordinator] group " << *it << ": transaction of producer " << producer_id
              << (commit ? " committed, " + std::to_string(n) + " offsets applied" : " aborted");
    }
    it = pg->second.erase(it);
  }
  if (pg->second.empty()) producer_groups_.erase(pg);
}

}  // namespace gregor::group
