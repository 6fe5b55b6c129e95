#pragma once
// AssignReplicasToBrokers: Kafka's replica placement for new topics and partitions
// (server-common AdminUtils.assignReplicasToBrokers), used by the CreateTopics and
// CreatePartitions handlers before they write /brokers/topics/<t>.
//
// Rack-unaware (no broker has a rack): brokers sorted by id; partition p's first replica is
// broker (p + start) mod n; the other replicas follow at a shift that grows by one every n
// partitions, so leaders and followers both spread evenly. Rack-aware (every broker has a rack):
// the same walk over a rack-alternating broker list, skipping a broker whose rack already holds a
// replica while some rack holds none. Pure function; thread-safe.
//
// Errors (the handler maps them to Kafka codes):
//   kOutOfRange      num_partitions <= 0                      -> INVALID_PARTITIONS (37)
//   kInvalidArgument replication_factor <= 0 or > #brokers    -> INVALID_REPLICATION_FACTOR (38)
//   kInvalidArgument some but not all brokers have a rack     -> INVALID_REPLICATION_FACTOR (38)

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gregor/base/status.h"

namespace gregor::controller {

struct BrokerMetadata {
  int32_t id = -1;
  std::optional<std::string> rack;
};

// fixed_start_index < 0: random start index and replica shift (Kafka's default);
// start_partition_id < 0: number from 0 (CreatePartitions passes the current count).
Result<std::map<int32_t, std::vector<int32_t>>> AssignReplicasToBrokers(
    std::vector<BrokerMetadata> brokers, int32_t num_partitions, int32_t replication_factor,
    int32_t fixed_start_index = -1, int32_t start_partition_id = -1);

}  // namespace gregor::controller
