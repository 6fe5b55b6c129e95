#include "gregor/replication/replication_quota.h"

#include "gregor/config/topic_config.h"

namespace gregor::replication {

ReplicationQuota::ReplicationQuota(Side side, QuotaWindow window, const Clock* clock)
    : key_(side == Side::kLeader ? "leader.replication.throttled.replicas"
                                 : "follower.replication.throttled.replicas"),
      clock_(clock),
      rate_(window) {}

void ReplicationQuota::ApplyTopicConfig(const std::string& topic,
                                        const std::map<std::string, std::string>& overrides,
                                        int32_t broker_id) {
  auto it = overrides.find(key_);
  if (it == overrides.end()) {
    RemoveTopic(topic);
  } else {
    SetThrottledReplicas(topic, it->second, broker_id);
  }
}

void ReplicationQuota::SetRate(int64_t bytes_per_second) {
  bound_.store(bytes_per_second < 0 ? kUnlimited : bytes_per_second, std::memory_order_relaxed);
}

int64_t ReplicationQuota::rate() const { return bound_.load(std::memory_order_relaxed); }

void ReplicationQuota::SetThrottledReplicas(const std::string& topic, const std::string& value,
                                            int32_t broker_id) {
  Throttled t;
  if (auto parsed = config::ParseThrottledReplicas(value)) {
    t.all = parsed->all;
    for (const auto& [partition, broker] : parsed->replicas) {
      if (broker == broker_id) t.partitions.insert(partition);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!t.all && t.partitions.empty()) {
    topics_.erase(topic);
  } else {
    topics_[topic] = std::move(t);
  }
  any_throttled_.store(!topics_.empty(), std::memory_order_relaxed);
}

void ReplicationQuota::RemoveTopic(const std::string& topic) {
  std::lock_guard<std::mutex> lock(mu_);
  topics_.erase(topic);
  any_throttled_.store(!topics_.empty(), std::memory_order_relaxed);
}

bool ReplicationQuota::IsThrottled(const TopicPartition& tp) const {
  if (!any_throttled_.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = topics_.find(tp.topic);
  return it != topics_.end() && (it->second.all || it->second.partitions.count(tp.partition));
}

bool ReplicationQuota::IsQuotaExceeded() {
  const int64_t bound = bound_.load(std::memory_order_relaxed);
  if (bound == kUnlimited) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return rate_.Measure(clock_->MonotonicMs()) > static_cast<double>(bound);
}

void ReplicationQuota::Record(int64_t bytes) {
  if (bytes <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  rate_.Record(static_cast<double>(bytes), clock_->MonotonicMs());
}

double ReplicationQuota::MeasuredRate() {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_.Measure(clock_->MonotonicMs());
}

size_t ReplicationQuota::ThrottledTopicCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return topics_.size();
}

}  // namespace gregor::replication
