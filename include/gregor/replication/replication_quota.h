#pragma once
// ReplicationQuota: Kafka's ReplicationQuotaManager (KIP-73), one per direction. The leader's
// limits what it sends to followers that are out of the ISR (leader.replication.throttled.rate
// over the replicas leader.replication.throttled.replicas names for this broker); the
// follower's limits what it fetches while it has not caught up (follower.replication.*).
// Replicas in sync are never throttled, so a throttle slows a reassignment or a returning
// broker, never the acknowledgement of produce requests.
//
// The rate is measured as Kafka measures it: bytes of throttled partitions recorded after
// each fetch, over replication.quota.window.num samples of replication.quota.window.size.seconds;
// the quota is exceeded while that rate is above the bound. A throttled fetch sends (or asks
// for) nothing for those partitions until the rate falls back.
//
// Thread-safety: every method may be called from any thread. IsThrottled costs one atomic load
// when no topic names throttled replicas; the rest take one mutex, never held across I/O.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "gregor/base/clock.h"
#include "gregor/base/ids.h"
#include "gregor/base/sampled_rate.h"

namespace gregor::replication {

class ReplicationQuota {
 public:
  static constexpr int64_t kUnlimited = INT64_MAX;

  enum class Side : uint8_t { kLeader, kFollower };
  // `side` says which topic config names its replicas: leader. or
  // follower.replication.throttled.replicas.
  ReplicationQuota(Side side, QuotaWindow window, const Clock* clock = SystemClock::Get());

  // leader/follower.replication.throttled.rate (bytes/s); kUnlimited turns the bound off.
  void SetRate(int64_t bytes_per_second);
  int64_t rate() const;

  // The topic's leader/follower.replication.throttled.replicas value as this broker reads it:
  // "*" throttles every partition, else the partitions listed with `broker_id`. An empty or
  // invalid value (validated when written) throttles nothing.
  void SetThrottledReplicas(const std::string& topic, const std::string& value, int32_t broker_id);
  void RemoveTopic(const std::string& topic);
  // The topic's overrides as read from ZooKeeper: SetThrottledReplicas with this side's key,
  // or RemoveTopic when the topic does not set it (or was deleted: empty overrides).
  void ApplyTopicConfig(const std::string& topic,
                        const std::map<std::string, std::string>& overrides, int32_t broker_id);

  bool IsThrottled(const TopicPartition& tp) const;
  // Whether the bytes recorded over the window exceed the bound now.
  bool IsQuotaExceeded();
  void Record(int64_t bytes);
  // The measured rate in bytes/s (the byte-rate metric).
  double MeasuredRate();
  // Partitions (or "*" topics) throttled here, for metrics and logs.
  size_t ThrottledTopicCount() const;

 private:
  struct Throttled {
    bool all = false;
    std::set<int32_t> partitions;
  };

  const char* const key_;  // the topic config this side reads
  const Clock* clock_;
  mutable std::mutex mu_;
  std::atomic<bool> any_throttled_{false};
  std::atomic<int64_t> bound_{kUnlimited};
  std::map<std::string, Throttled, std::less<>> topics_;
  SampledRate rate_;
};

}  // namespace gregor::replication
