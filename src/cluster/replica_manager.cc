#include "gregor/cluster/replica_manager.h"

#include <glog/logging.h>

#include <algorithm>

namespace gregor::cluster {

using protocol::ErrorCode;

ReplicaManager::ReplicaManager(int32_t broker_id, log::LogManager* logs, LogConfigFn log_config,
                               const Clock* clock)
    : broker_id_(broker_id), logs_(logs), log_config_(std::move(log_config)), clock_(clock) {}

int32_t ReplicaManager::controller_epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return controller_epoch_;
}

ErrorCode ReplicaManager::BecomeLeaderOrFollower(
    int32_t controller_id, int32_t controller_epoch,
    const std::vector<LeaderAndIsrPartition>& partitions,
    std::vector<std::pair<TopicPartition, ErrorCode>>* results) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A deposed controller's request is rejected as a whole.
    if (controller_epoch < controller_epoch_) {
      LOG(WARNING) << "[ReplicaManager broker=" << broker_id_
                   << "] ignoring LeaderAndIsr from controller " << controller_id
                   << " with stale epoch " << controller_epoch << " < " << controller_epoch_;
      return ErrorCode::kStaleControllerEpoch;
    }
    controller_epoch_ = controller_epoch;
  }
  std::vector<FollowTarget> follow;
  std::vector<TopicPartition> unfollow;
  for (const auto& p : partitions) {
    if (std::find(p.role.replicas.begin(), p.role.replicas.end(), broker_id_) ==
        p.role.replicas.end()) {
      results->emplace_back(p.tp, ErrorCode::kUnknownTopicOrPartition);
      continue;
    }
    std::shared_ptr<Partition> partition = GetPartition(p.tp);
    if (!partition) {
      auto created = logs_->GetOrCreateLog(p.tp, log_config_(p.tp.topic), p.topic_id);
      if (!created.ok()) {
        LOG(ERROR) << "[ReplicaManager broker=" << broker_id_ << "] cannot create log for "
                   << p.tp.ToString() << ": " << created.status().ToString();
        results->emplace_back(p.tp, ErrorCode::kKafkaStorageError);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = partitions_[p.tp];
      if (!slot) {
        slot = std::make_shared<Partition>(p.tp, p.topic_id, broker_id_, *created, clock_);
        auto& counters = topic_counters_[p.tp.topic];
        if (!counters) counters = std::make_shared<TopicCounters>();
        slot->set_metrics(counters, replica_counters_);
        slot->set_isr_writer(isr_writer_);
        slot->set_on_high_watermark([this](const TopicPartition& tp) { listeners_.Notify(tp); });
      }
      partition = slot;
    }
    Status st = partition->ApplyRole(p.role);
    results->emplace_back(p.tp, st.ok() ? ErrorCode::kNone : ErrorCode::kStaleControllerEpoch);
    if (st.ok()) {
      if (p.role.leader >= 0 && p.role.leader != broker_id_) {
        follow.push_back({p.tp, p.role.leader, p.role.leader_epoch});
      } else {
        unfollow.push_back(p.tp);
      }
    }
    // Fetchers and acks=all waits on a partition that changed role must re-check.
    listeners_.Notify(p.tp);
  }
  if (follower_listener_ && (!follow.empty() || !unfollow.empty())) {
    follower_listener_(follow, unfollow);
  }
  return ErrorCode::kNone;
}

ErrorCode ReplicaManager::StopReplicas(int32_t controller_epoch,
                                       const std::vector<TopicPartition>& tps,
                                       bool delete_partitions,
                                       std::vector<std::pair<TopicPartition, ErrorCode>>* results) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (controller_epoch < controller_epoch_) return ErrorCode::kStaleControllerEpoch;
    controller_epoch_ = controller_epoch;
  }
  for (const auto& tp : tps) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      partitions_.erase(tp);
    }
    listeners_.Notify(tp);
    ErrorCode ec = ErrorCode::kNone;
    if (delete_partitions && logs_->GetLog(tp)) {
      Status st = logs_->DeleteLog(tp);
      if (!st.ok()) {
        LOG(ERROR) << "[ReplicaManager broker=" << broker_id_ << "] deleting " << tp.ToString()
                   << ": " << st.ToString();
        ec = ErrorCode::kKafkaStorageError;
      } else {
        LOG(INFO) << "[ReplicaManager broker=" << broker_id_ << "] deleted log " << tp.ToString();
      }
    }
    results->emplace_back(tp, ec);
  }
  if (follower_listener_ && !tps.empty()) follower_listener_({}, tps);
  return ErrorCode::kNone;
}

void ReplicaManager::MaybeShrinkIsrs(int64_t max_lag_ms) {
  for (const auto& p : AllPartitions()) p->MaybeShrinkIsr(max_lag_ms);
}

std::shared_ptr<Partition> ReplicaManager::GetPartition(const TopicPartition& tp) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Partition>> ReplicaManager::AllPartitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Partition>> out;
  out.reserve(partitions_.size());
  for (const auto& [tp, p] : partitions_) out.push_back(p);
  return out;
}

void ReplicaManager::RefreshLogConfig(const std::string& topic) {
  log::LogConfig cfg = log_config_(topic);
  for (const auto& p : AllPartitions()) {
    if (p->topic_partition().topic == topic) p->log()->UpdateConfig(cfg);
  }
}

void ReplicaManager::RefreshAllLogConfigs() {
  std::map<std::string, log::LogConfig> by_topic;
  for (const auto& p : AllPartitions()) {
    const std::string& topic = p->topic_partition().topic;
    auto it = by_topic.find(topic);
    if (it == by_topic.end()) it = by_topic.emplace(topic, log_config_(topic)).first;
    p->log()->UpdateConfig(it->second);
  }
}

std::vector<std::pair<std::string, std::shared_ptr<const TopicCounters>>>
ReplicaManager::TopicCountersByTopic() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, std::shared_ptr<const TopicCounters>>> out;
  for (auto it = topic_counters_.begin(); it != topic_counters_.end();) {
    if (it->second.use_count() == 1) {  // no partition of the topic is left here
      it = topic_counters_.erase(it);
      continue;
    }
    out.emplace_back(it->first, it->second);
    ++it;
  }
  return out;
}

}  // namespace gregor::cluster
