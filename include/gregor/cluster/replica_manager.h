#pragma once
// ReplicaManager: every Partition replica hosted by this broker. Applies the
// controller's LeaderAndIsr and StopReplica requests (fenced by controller
// epoch and leader epoch, Kafka's ReplicaManager rules), hands partitions to
// request handlers, and wakes long-polling fetches when data arrives.
//
// Owned by the Broker; thread-safe (a mutex guards the partition map; never
// held across I/O other than log creation).

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/cluster/append_listeners.h"
#include "gregor/cluster/partition.h"
#include "gregor/log/log_manager.h"
#include "gregor/protocol/error_code.h"

namespace gregor::cluster {

// A partition this broker follows: fetch it from `leader`, whose leadership is `leader_epoch`.
struct FollowTarget {
  TopicPartition tp;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
};

struct LeaderAndIsrPartition {
  TopicPartition tp;
  TopicId topic_id{};
  PartitionRole role;
  bool is_new = false;
};

class ReplicaManager {
 public:
  // Supplies the resolved LogConfig of a topic (broker defaults + overrides).
  using LogConfigFn = std::function<log::LogConfig(const std::string& topic)>;

  ReplicaManager(int32_t broker_id, log::LogManager* logs, LogConfigFn log_config,
                 const Clock* clock = SystemClock::Get());

  // LeaderAndIsr: returns the top-level error and per-partition errors.
  protocol::ErrorCode BecomeLeaderOrFollower(
      int32_t controller_id, int32_t controller_epoch,
      const std::vector<LeaderAndIsrPartition>& partitions,
      std::vector<std::pair<TopicPartition, protocol::ErrorCode>>* results);
  // StopReplica: stops serving, optionally deletes the logs.
  protocol::ErrorCode StopReplicas(
      int32_t controller_epoch, const std::vector<TopicPartition>& tps, bool delete_partitions,
      std::vector<std::pair<TopicPartition, protocol::ErrorCode>>* results);

  std::shared_ptr<Partition> GetPartition(const TopicPartition& tp) const;
  std::vector<std::shared_ptr<Partition>> AllPartitions() const;
  // A topic's config changed: re-resolve and apply to its logs at once.
  void RefreshLogConfig(const std::string& topic);
  // The same for every partition here (the broker defaults changed).
  void RefreshAllLogConfigs();
  // Called by the produce path after an append and by partitions when their high watermark
  // moves (wakes long polls and acks=all waits).
  AppendListeners& listeners() { return listeners_; }

  // Replication hooks, set by the Broker before the first LeaderAndIsr.
  // After each LeaderAndIsr / StopReplica (outside the lock): partitions to start (or restart,
  // at a new leader epoch) fetching, and partitions to stop fetching.
  using FollowerListener = std::function<void(const std::vector<FollowTarget>& follow,
                                              const std::vector<TopicPartition>& unfollow)>;
  void set_follower_listener(FollowerListener fn) { follower_listener_ = std::move(fn); }
  // How leaders record ISR changes (given to every Partition).
  void set_isr_writer(IsrWriter writer) { isr_writer_ = std::move(writer); }
  // Leader side of replica.lag.time.max.ms: the Broker calls this every max_lag_ms / 2.
  void MaybeShrinkIsrs(int64_t max_lag_ms);
  int32_t broker_id() const { return broker_id_; }
  int32_t controller_epoch() const;

  // Metrics: the counters of every topic a partition here uses (topics whose partitions all
  // left are dropped), and the broker's ISR change counters.
  std::vector<std::pair<std::string, std::shared_ptr<const TopicCounters>>> TopicCountersByTopic();
  const ReplicaCounters& replica_counters() const { return *replica_counters_; }

 private:
  const int32_t broker_id_;
  log::LogManager* const logs_;
  const LogConfigFn log_config_;
  const Clock* const clock_;
  mutable std::mutex mu_;
  int32_t controller_epoch_ = 0;
  std::unordered_map<TopicPartition, std::shared_ptr<Partition>> partitions_;
  std::map<std::string, std::shared_ptr<TopicCounters>> topic_counters_;  // guarded by mu_
  const std::shared_ptr<ReplicaCounters> replica_counters_ = std::make_shared<ReplicaCounters>();
  AppendListeners listeners_;
  FollowerListener follower_listener_;
  IsrWriter isr_writer_;
};

}  // namespace gregor::cluster
