#include "gregor/cluster/partition.h"

#include <glog/logging.h>

#include <algorithm>
#include <shared_mutex>

namespace gregor::cluster {

namespace {

bool Contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string IsrString(const std::vector<int32_t>& isr) {
  std::string s = "[";
  for (size_t i = 0; i < isr.size(); ++i) s += (i ? "," : "") + std::to_string(isr[i]);
  return s + "]";
}

// After a rejected or failed ISR write, the leader waits this long before proposing again
// (the controller's LeaderAndIsr usually arrives first).
constexpr int64_t kIsrRetryBackoffMs = 1000;

}  // namespace

Partition::Partition(TopicPartition tp, TopicId topic_id, int32_t local_broker_id,
                     std::shared_ptr<log::Log> log, const Clock* clock)
    : tp_(std::move(tp)),
      topic_id_(topic_id),
      local_broker_id_(local_broker_id),
      log_(std::move(log)),
      clock_(clock) {}

PartitionRole Partition::role() const {
  std::lock_guard<std::mutex> lock(mu_);
  return role_;
}

bool Partition::IsLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return IsLeaderLocked();
}

int32_t Partition::leader_epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return role_.leader_epoch;
}

bool Partition::HighWatermarkBelowEpochStart() const {
  std::lock_guard<std::mutex> lock(mu_);
  return IsLeaderLocked() && leader_epoch_start_offset_ > log_->HighWatermark();
}

std::string Partition::Prefix() const {
  return "[Partition " + tp_.ToString() + " broker=" + std::to_string(local_broker_id_) + "] ";
}

Status Partition::ApplyRole(const PartitionRole& role) {
  // Waits for appends and truncations in progress under the old role.
  std::unique_lock<RwLock> role_guard(leader_isr_update_lock_);
  bool hw_moved = false;
  bool is_leader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (role.leader_epoch < role_.leader_epoch ||
        (role.leader_epoch == role_.leader_epoch && role_.leader_epoch >= 0 &&
         role.zk_version <= role_.zk_version)) {
      return Status::Stale("leader epoch " + std::to_string(role.leader_epoch) +
                           " is not newer than " + std::to_string(role_.leader_epoch));
    }
    const bool was_leader = IsLeaderLocked();
    const bool new_epoch = role.leader_epoch != role_.leader_epoch;
    role_ = role;
    is_leader = IsLeaderLocked();
    // Any ISR write in flight was for the previous state: its answer is ignored.
    ++isr_seq_;
    isr_in_flight_ = false;
    pending_isr_.clear();
    isr_retry_after_ms_ = 0;
    if (!is_leader) {
      followers_.clear();
      leadership_start_epoch_ = -1;
    } else {
      const int64_t now = clock_->MonotonicMs();
      if (!was_leader) {
        // A new leadership: nothing is known of the followers yet. ISR members get a full
        // replica.lag.time.max.ms to show up before they can be dropped (Kafka resets the same
        // only for a new leader: an epoch bump that keeps the leader, such as the controller
        // removing a dead broker from the ISR, keeps what the followers have fetched, so the
        // high watermark moves on at once).
        followers_.clear();
        leadership_start_epoch_ = role_.leader_epoch;
      }
      if (!was_leader || new_epoch) {
        leader_epoch_start_offset_ = log_->LogEndOffset();
        Status st = log_->AssignEpochStartOffset(role_.leader_epoch, leader_epoch_start_offset_);
        if (!st.ok()) LOG(WARNING) << Prefix() << "leader epoch cache: " << st.ToString();
      }
      std::map<int32_t, ReplicaState> next;
      for (int32_t r : role_.replicas) {
        if (r == local_broker_id_) continue;
        auto it = followers_.find(r);
        ReplicaState st = it != followers_.end() ? it->second : ReplicaState{};
        if (it == followers_.end() && Contains(role_.isr, r)) st.last_caught_up_ms = now;
        next[r] = st;
      }
      followers_ = std::move(next);
      hw_moved = MaybeIncrementHighWatermarkLocked();
    }
  }
  LOG(INFO) << Prefix() << (is_leader ? "leader" : "follower") << " at epoch " << role.leader_epoch
            << ", leader " << role.leader << ", isr " << IsrString(role.isr) << ", log end offset "
            << log_->LogEndOffset() << ", high watermark " << log_->HighWatermark();
  if (hw_moved) NotifyHighWatermark();
  return Status::Ok();
}

// ---------------------------------------------------------------- leader

template <typename AppendFn>
Result<log::AppendResult> Partition::AppendAsLeaderChecked(int16_t acks,
                                                           int32_t min_insync_replicas,
                                                           const AppendFn& append) {
  // The leadership checked here holds until the append is done.
  std::shared_lock<RwLock> role_guard(leader_isr_update_lock_);
  int32_t epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!IsLeaderLocked()) {
      return Status::NotLeader("broker " + std::to_string(local_broker_id_) + " does not lead " +
                               tp_.ToString());
    }
    epoch = role_.leader_epoch;
    // Effective min ISR is capped by the replica count (Kafka's rule).
    int32_t min_isr =
        std::min<int32_t>(min_insync_replicas, static_cast<int32_t>(role_.replicas.size()));
    if (acks == -1 && static_cast<int32_t>(role_.isr.size()) < min_isr) {
      return Status::Unavailable("in-sync replicas " + std::to_string(role_.isr.size()) +
                                 " below min.insync.replicas " + std::to_string(min_isr));
    }
  }
  auto result = append(epoch);
  if (result.ok()) {
    result->leader_epoch = epoch;
    bool hw_moved;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hw_moved = MaybeIncrementHighWatermarkLocked();
    }
    if (hw_moved) NotifyHighWatermark();
  }
  return result;
}

Result<log::AppendResult> Partition::AppendRecordsToLeader(
    uint8_t* data, size_t size, int16_t acks, int32_t min_insync_replicas, log::AppendOrigin origin,
    std::optional<log::VerificationGuard> verification, log::RecordErrors* record_errors) {
  return AppendAsLeaderChecked(acks, min_insync_replicas, [&](int32_t epoch) {
    return log_->AppendAsLeader(data, size, epoch, origin, verification, record_errors);
  });
}

Result<log::AppendResult> Partition::AppendTxnMarker(int64_t producer_id, int16_t producer_epoch,
                                                     int32_t coordinator_epoch, bool commit,
                                                     int32_t min_insync_replicas) {
  return AppendAsLeaderChecked(/*acks=*/-1, min_insync_replicas, [&](int32_t epoch) {
    return log_->AppendTxnMarkerAsLeader(producer_id, producer_epoch, coordinator_epoch, commit,
                                         epoch);
  });
}

ReplicationStatus Partition::CheckReplicated(int64_t required_offset, int32_t min_insync_replicas,
                                             int32_t append_leader_epoch) const {
  std::lock_guard<std::mutex> lock(mu_);
  // A leadership lost (even regained) since the append may have truncated the records. An
  // epoch bump that kept this broker leader did not: waiting produce requests go on (Kafka's
  // DelayedProduce fails them only when the leader moved), or their producers would retry
  // records already appended and duplicate them.
  if (!IsLeaderLocked() || append_leader_epoch < leadership_start_epoch_) {
    return ReplicationStatus::kNotLeader;
  }
  if (log_->HighWatermark() < required_offset) return ReplicationStatus::kPending;
  int32_t min_isr =
      std::min<int32_t>(min_insync_replicas, static_cast<int32_t>(role_.replicas.size()));
  if (static_cast<int32_t>(role_.isr.size()) < min_isr) {
    return ReplicationStatus::kNotEnoughReplicasAfterAppend;
  }
  return ReplicationStatus::kDone;
}

Status Partition::CheckLeaderEpochLocked(std::optional<int32_t> current) const {
  // KIP-320 fencing: -1 (or absent) means the client does not check.
  if (!current || *current < 0) return Status::Ok();
  if (*current < role_.leader_epoch) return Status::Stale("fenced leader epoch");
  if (*current > role_.leader_epoch) return Status::NotFound("unknown leader epoch");
  return Status::Ok();
}

Result<log::ReadResult> Partition::Read(int64_t offset, int32_t max_bytes, bool min_one_message,
                                        std::optional<int32_t> current_leader_epoch,
                                        log::FetchIsolation isolation, bool leader_only) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leader_only ? !IsLeaderLocked() : role_.leader < 0) {
      return Status::NotLeader(tp_.ToString() + " is not led by this broker");
    }
    GREGOR_RETURN_IF_ERROR(CheckLeaderEpochLocked(current_leader_epoch));
  }
  // The bound (HW or LSO) is taken with the read's own snapshot of the log.
  return log_->Read(offset, max_bytes, isolation, min_one_message);
}

std::optional<int32_t> Partition::PreferredReadReplica(
    const std::string& client_rack, int64_t fetch_offset,
    const std::function<std::string(int32_t)>& rack_of) const {
  if (client_rack.empty()) return std::nullopt;
  const int64_t now = clock_->MonotonicMs();
  std::lock_guard<std::mutex> lock(mu_);
  if (!IsLeaderLocked() || rack_of(local_broker_id_) == client_rack) return std::nullopt;
  // The most caught-up follower of the client's rack that has the offset: highest log end,
  // then the most recently caught up.
  std::optional<int32_t> best;
  int64_t best_end = -1, best_lag = 0;
  for (const auto& [id, st] : followers_) {
    if (st.log_end_offset < fetch_offset || rack_of(id) != client_rack) continue;
    const int64_t lag = now - st.last_caught_up_ms;
    if (!best || st.log_end_offset > best_end ||
        (st.log_end_offset == best_end && lag < best_lag)) {
      best = id;
      best_end = st.log_end_offset;
      best_lag = lag;
    }
  }
  return best;
}

Result<FollowerReadResult> Partition::ReadForFollower(const FollowerFetch& fetch) {
  int32_t epoch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!IsLeaderLocked()) {
      return Status::NotLeader(tp_.ToString() + " is not led by this broker");
    }
    GREGOR_RETURN_IF_ERROR(CheckLeaderEpochLocked(fetch.current_leader_epoch));
    if (!followers_.count(fetch.replica_id)) {
      return Status::NotLeader("broker " + std::to_string(fetch.replica_id) +
                               " is not a replica of " + tp_.ToString());
    }
    epoch = role_.leader_epoch;
  }
  FollowerReadResult out;
  if (fetch.last_fetched_epoch >= 0) {
    // Truncation on fetch (KIP-320): does the follower's last epoch end where it thinks?
    log::EpochEndOffset end = log_->EndOffsetForEpoch(fetch.last_fetched_epoch);
    if (end.leader_epoch < 0 || end.end_offset < 0) {
      return Status::OutOfRange("epoch " + std::to_string(fetch.last_fetched_epoch) +
                                " is unknown to the leader of " + tp_.ToString());
    }
    if (end.end_offset < fetch.fetch_offset || end.leader_epoch < fetch.last_fetched_epoch) {
      out.diverging_epoch = end;
      out.read.high_watermark = log_->HighWatermark();
      out.read.log_start_offset = log_->LogStartOffset();
      out.read.log_end_offset = log_->LogEndOffset();
      return out;
    }
  }
  const int64_t leader_end = log_->LogEndOffset();
  auto read = log_->Read(fetch.fetch_offset, fetch.max_bytes, leader_end, fetch.min_one_message);
  if (!read.ok()) return read.status();
  out.read = std::move(*read);

  bool hw_moved = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = followers_.find(fetch.replica_id);
    if (IsLeaderLocked() && role_.leader_epoch == epoch && it != followers_.end()) {
      ReplicaState& st = it->second;
      const int64_t now = clock_->MonotonicMs();
      // Kafka's Replica.updateFetchState: caught up now, or caught up to where the leader was
      // at the previous fetch.
      if (fetch.fetch_offset >= leader_end) {
        st.last_caught_up_ms = std::max(st.last_caught_up_ms, now);
      } else if (fetch.fetch_offset >= st.last_fetch_leader_log_end_offset) {
        st.last_caught_up_ms = std::max(st.last_caught_up_ms, st.last_fetch_ms);
      }
      st.log_end_offset = fetch.fetch_offset;
      st.last_fetch_leader_log_end_offset = leader_end;
      st.last_fetch_ms = now;
      MaybeExpandIsrLocked(fetch.replica_id, st);
      hw_moved = MaybeIncrementHighWatermarkLocked();
    }
  }
  if (hw_moved) NotifyHighWatermark();
  SendPendingIsrChange();
  out.read.high_watermark = log_->HighWatermark();
  return out;
}

Result<log::EpochEndOffset> Partition::LastOffsetForLeaderEpoch(
    std::optional<int32_t> current_leader_epoch, int32_t epoch, bool only_leader) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (only_leader && !IsLeaderLocked()) {
      return Status::NotLeader(tp_.ToString() + " is not led by this broker");
    }
    GREGOR_RETURN_IF_ERROR(CheckLeaderEpochLocked(current_leader_epoch));
  }
  return log_->EndOffsetForEpoch(epoch);
}

void Partition::MaybeExpandIsrLocked(int32_t replica, const ReplicaState& st) {
  if (Contains(role_.isr, replica) || isr_in_flight_) return;
  if (clock_->MonotonicMs() < isr_retry_after_ms_) return;
  // Kafka's isFollowerInSync: caught up to the HW, and holding this leadership's first offset
  // (so that a replica from before the leader change cannot count for records it lacks).
  if (st.log_end_offset < log_->HighWatermark() || st.log_end_offset < leader_epoch_start_offset_) {
    return;
  }
  std::vector<int32_t> isr = role_.isr;
  isr.push_back(replica);
  ProposeIsrLocked(std::move(isr), "expand");
}

void Partition::MaybeShrinkIsr(int64_t max_lag_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!IsLeaderLocked() || isr_in_flight_) return;
    const int64_t now = clock_->MonotonicMs();
    if (now < isr_retry_after_ms_) return;
    std::vector<int32_t> isr;
    for (int32_t r : role_.isr) {
      auto it = followers_.find(r);
      if (r != local_broker_id_ && it != followers_.end() &&
          now - it->second.last_caught_up_ms > max_lag_ms) {
        LOG(INFO) << Prefix() << "replica " << r << " is out of sync: last caught up "
                  << (now - it->second.last_caught_up_ms) << " ms ago, log end offset "
                  << it->second.log_end_offset << " vs " << log_->LogEndOffset();
        continue;
      }
      isr.push_back(r);
    }
    if (isr.size() == role_.isr.size()) return;
    ProposeIsrLocked(std::move(isr), "shrink");
  }
  SendPendingIsrChange();
}

std::vector<int32_t> Partition::MaximalIsrLocked() const {
  // While an expansion is in flight the added replica already counts (it is caught up); while a
  // shrink is in flight the removed one still does: the union covers both.
  std::vector<int32_t> isr = role_.isr;
  if (isr_in_flight_) {
    for (int32_t r : pending_isr_) {
      if (!Contains(isr, r)) isr.push_back(r);
    }
  }
  return isr;
}

bool Partition::MaybeIncrementHighWatermarkLocked() {
  if (!IsLeaderLocked()) return false;
  int64_t hw = log_->LogEndOffset();
  for (int32_t r : MaximalIsrLocked()) {
    if (r == local_broker_id_) continue;
    auto it = followers_.find(r);
    // A member that has not fetched under this leadership holds the HW where it is.
    if (it == followers_.end() || it->second.log_end_offset < 0) return false;
    hw = std::min(hw, it->second.log_end_offset);
  }
  if (hw <= log_->HighWatermark()) return false;
  log_->SetHighWatermark(hw);
  return true;
}

void Partition::ProposeIsrLocked(std::vector<int32_t> isr, const char* why) {
  if (!isr_writer_ || isr_in_flight_) return;
  isr_in_flight_ = true;
  pending_isr_ = isr;
  IsrChange change;
  change.tp = tp_;
  change.leader = local_broker_id_;
  change.leader_epoch = role_.leader_epoch;
  change.controller_epoch = role_.controller_epoch;
  change.zk_version = role_.zk_version;
  change.isr = std::move(isr);
  LOG(INFO) << Prefix() << "ISR " << why << " " << IsrString(role_.isr) << " -> "
            << IsrString(change.isr) << " at epoch " << role_.leader_epoch;
  outbox_.emplace(std::move(change), isr_seq_);
}

void Partition::SendPendingIsrChange() {
  std::optional<std::pair<IsrChange, uint64_t>> item;
  {
    std::lock_guard<std::mutex> lock(mu_);
    item.swap(outbox_);
  }
  if (!item) return;
  std::weak_ptr<Partition> weak = weak_from_this();
  uint64_t seq = item->second;
  int32_t epoch = item->first.leader_epoch;
  int32_t version = item->first.zk_version;
  std::vector<int32_t> isr = item->first.isr;
  isr_writer_(std::move(item->first), [weak, seq, epoch, version, isr](Result<int32_t> result) {
    if (auto self = weak.lock()) self->OnIsrWritten(seq, epoch, version, isr, std::move(result));
  });
}

void Partition::OnIsrWritten(uint64_t seq, int32_t leader_epoch, int32_t expected_zk_version,
                             std::vector<int32_t> isr, Result<int32_t> result) {
  bool hw_moved = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (seq != isr_seq_ || !isr_in_flight_) return;  // a newer LeaderAndIsr superseded it
    isr_in_flight_ = false;
    pending_isr_.clear();
    if (!result.ok()) {
      isr_retry_after_ms_ = clock_->MonotonicMs() + kIsrRetryBackoffMs;
      LOG(WARNING) << Prefix() << "ISR change to " << IsrString(isr)
                   << " not recorded: " << result.status().ToString()
                   << (result.status().code() == Status::Code::kStale
                           ? " (the state changed; waiting for the controller)"
                           : "");
      return;
    }
    if (role_.leader_epoch != leader_epoch || role_.zk_version != expected_zk_version) return;
    if (isr.size() < role_.isr.size()) replica_counters_->isr_shrinks.Add();
    if (isr.size() > role_.isr.size()) replica_counters_->isr_expands.Add();
    role_.isr = std::move(isr);
    role_.zk_version = *result;
    LOG(INFO) << Prefix() << "ISR is now " << IsrString(role_.isr) << " (partition epoch "
              << role_.zk_version << ")";
    hw_moved = MaybeIncrementHighWatermarkLocked();
  }
  if (hw_moved) NotifyHighWatermark();
}

void Partition::NotifyHighWatermark() {
  if (on_high_watermark_) on_high_watermark_(tp_);
}

// ---------------------------------------------------------------- follower

Status Partition::CheckFollowerEpochLocked(int32_t leader_epoch) const {
  if (IsLeaderLocked() || role_.leader_epoch != leader_epoch) {
    return Status::Stale(tp_.ToString() + " is no longer following leader epoch " +
                         std::to_string(leader_epoch));
  }
  return Status::Ok();
}

Result<log::AppendResult> Partition::AppendRecordsAsFollower(uint8_t* data, size_t size,
                                                             int32_t leader_epoch) {
  std::shared_lock<RwLock> role_guard(leader_isr_update_lock_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    GREGOR_RETURN_IF_ERROR(CheckFollowerEpochLocked(leader_epoch));
  }
  auto result = log_->AppendAsFollower(data, size);
  if (result.ok()) topic_counters_->replication_bytes_in.Add(size);
  return result;
}

void Partition::UpdateFollowerHighWatermark(int64_t leader_high_watermark) {
  log_->SetHighWatermark(std::min(leader_high_watermark, log_->LogEndOffset()));
}

Result<int64_t> Partition::TruncateToDivergence(const log::EpochEndOffset& diverging,
                                                int32_t leader_epoch) {
  // Still a follower of this epoch until the truncation is done: a leader never truncates.
  std::shared_lock<RwLock> role_guard(leader_isr_update_lock_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    GREGOR_RETURN_IF_ERROR(CheckFollowerEpochLocked(leader_epoch));
  }
  const int64_t leo = log_->LogEndOffset();
  log::EpochEndOffset local = log_->EndOffsetForEpoch(diverging.leader_epoch);
  int64_t target;
  if (local.leader_epoch < 0 || local.end_offset < 0) {
    target = std::min(diverging.end_offset, leo);
  } else if (local.leader_epoch == diverging.leader_epoch) {
    target = std::min({diverging.end_offset, local.end_offset, leo});
  } else {
    // The leader's epoch is unknown here: cut to the end of our largest smaller epoch; the
    // next fetch carries that epoch and the leader checks again.
    target = std::min(local.end_offset, leo);
  }
  target = std::max<int64_t>(target, 0);
  if (target < leo) {
    LOG(INFO) << Prefix() << "truncating from " << leo << " to " << target << ": leader's epoch "
              << diverging.leader_epoch << " ends at " << diverging.end_offset;
  }
  // Even with nothing to cut, the log drops an epoch it started here without records.
  GREGOR_RETURN_IF_ERROR(log_->TruncateTo(target));
  return log_->LogEndOffset();
}

Status Partition::TruncateFullyAndStartAt(int64_t offset, int32_t leader_epoch) {
  std::shared_lock<RwLock> role_guard(leader_isr_update_lock_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    GREGOR_RETURN_IF_ERROR(CheckFollowerEpochLocked(leader_epoch));
  }
  LOG(WARNING) << Prefix() << "log end " << log_->LogEndOffset()
               << " is below the leader's log start " << offset << ": starting over there";
  return log_->TruncateFullyAndStartAt(offset);
}

}  // namespace gregor::cluster
