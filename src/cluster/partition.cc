#include "gregor/cluster/partition.h"

#include <glog/logging.h>

#include <algorithm>

namespace gregor::cluster {

Partition::Partition(TopicPartition tp, TopicId topic_id, int32_t local_broker_id,
                     std::shared_ptr<log::Log> log)
    : tp_(std::move(tp)),
      topic_id_(topic_id),
      local_broker_id_(local_broker_id),
      log_(std::move(log)) {}

PartitionRole Partition::role() const {
  std::lock_guard<std::mutex> lock(mu_);
  return role_;
}

bool Partition::IsLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return role_.leader == local_broker_id_;
}

int32_t Partition::leader_epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return role_.leader_epoch;
}

Status Partition::ApplyRole(const PartitionRole& role) {
  std::lock_guard<std::mutex> lock(mu_);
  if (role.leader_epoch < role_.leader_epoch ||
      (role.leader_epoch == role_.leader_epoch && role_.leader_epoch >= 0 &&
       role.zk_version <= role_.zk_version)) {
    return Status::Stale("leader epoch " + std::to_string(role.leader_epoch) +
                         " is not newer than " + std::to_string(role_.leader_epoch));
  }
  role_ = role;
  bool is_leader = role_.leader == local_broker_id_;
  if (is_leader && role_.isr.size() == 1 && role_.isr[0] == local_broker_id_) {
    // Sole in-sync replica: everything in the log is committed.
    log_->SetHighWatermark(log_->LogEndOffset());
  }
  {  // one INFO line per role change (every LeaderAndIsr is one)
    LOG(INFO) << "[Partition " << tp_.ToString() << " broker=" << local_broker_id_ << "] "
              << (is_leader ? "leader" : "follower") << " at epoch " << role_.leader_epoch
              << ", leader " << role_.leader << ", isr size " << role_.isr.size()
              << ", log end offset " << log_->LogEndOffset();
  }
  return Status::Ok();
}

Result<log::AppendResult> Partition::AppendRecordsToLeader(uint8_t* data, size_t size, int16_t acks,
                                                           int32_t min_insync_replicas) {
  int32_t epoch;
  size_t isr_size;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (role_.leader != local_broker_id_) {
      return Status::NotLeader("broker " + std::to_string(local_broker_id_) + " does not lead " +
                               tp_.ToString());
    }
    epoch = role_.leader_epoch;
    isr_size = role_.isr.size();
    // Effective min ISR is capped by the replica count (Kafka's rule).
    int32_t min_isr =
        std::min<int32_t>(min_insync_replicas, static_cast<int32_t>(role_.replicas.size()));
    if (acks == -1 && static_cast<int32_t>(isr_size) < min_isr) {
      return Status::Unavailable("in-sync replicas " + std::to_string(isr_size) +
                                 " below min.insync.replicas " + std::to_string(min_isr));
    }
  }
  auto result = log_->AppendAsLeader(data, size, epoch);
  if (result.ok() && isr_size <= 1) {
    // Only the leader is in sync: the high watermark follows the log end.
    log_->SetHighWatermark(result->last_offset + 1);
  }
  return result;
}

Status Partition::CheckLeaderEpoch(std::optional<int32_t> current) const {
  // KIP-320 fencing: -1 (or absent) means the client does not check.
  if (!current || *current < 0) return Status::Ok();
  if (*current < role_.leader_epoch) return Status::Stale("fenced leader epoch");
  if (*current > role_.leader_epoch) return Status::NotFound("unknown leader epoch");
  return Status::Ok();
}

Result<log::ReadResult> Partition::Read(int64_t offset, int32_t max_bytes, bool min_one_message,
                                        std::optional<int32_t> current_leader_epoch) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (role_.leader != local_broker_id_) {
      return Status::NotLeader(tp_.ToString() + " is not led by this broker");
    }
    GREGOR_RETURN_IF_ERROR(CheckLeaderEpoch(current_leader_epoch));
  }
  return log_->Read(offset, max_bytes, log_->HighWatermark(), min_one_message);
}

}  // namespace gregor::cluster
