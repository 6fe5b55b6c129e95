#pragma once
// MetadataCache: this broker's view of the cluster (live brokers and their
// endpoints, every partition's leader/ISR/replicas), fed by the
// controller's UpdateMetadata requests, exactly as in Kafka's ZK mode, so
// that Metadata from any broker gives the same answer.
//
// Thread-safe: readers take an immutable snapshot (copy-on-write); updates
// come from the UpdateMetadata handler. No errors: it holds what it was told.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace gregor::cluster {

using TopicId = std::array<uint8_t, 16>;

struct BrokerEndpoint {
  std::string listener;
  std::string host;
  int32_t port = 0;
  std::string security_protocol;
};

struct CachedBroker {
  int32_t id = -1;
  std::vector<BrokerEndpoint> endpoints;
  std::optional<std::string> rack;
};

struct CachedPartition {
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  int32_t zk_version = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::vector<int32_t> offline_replicas;
};

struct CachedTopic {
  TopicId id{};
  std::map<int32_t, CachedPartition> partitions;
};

// Kafka's marker leader for a partition whose topic is being deleted.
constexpr int32_t kLeaderDuringDelete = -2;

struct PartitionUpdate {
  std::string topic;
  int32_t partition = 0;
  TopicId topic_id{};
  CachedPartition state;
};

class MetadataCache {
 public:
  struct Snapshot {
    int32_t controller_id = -1;
    std::map<int32_t, CachedBroker> brokers;
    std::map<std::string, CachedTopic> topics;
    // Topic id -> name of every topic in `topics` with a non-zero id (Kafka's
    // topicIdsToNames, used by Fetch v13+ to resolve the ids it is given).
    std::map<TopicId, std::string> topic_names;
  };

  std::shared_ptr<const Snapshot> Get() const;
  // Applies an UpdateMetadata: the live-broker list is replaced; the given
  // partitions are upserted, or removed when their leader is
  // kLeaderDuringDelete (topic deletion).
  void Update(int32_t controller_id, std::vector<CachedBroker> live_brokers,
              const std::vector<PartitionUpdate>& partitions);
  // True once any UpdateMetadata arrived (a broker is not ready before).
  bool initialized() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>();
  bool initialized_ = false;
};

}  // namespace gregor::cluster
