#pragma once
// Reassignment znodes: the KIP-455 fields of /brokers/topics/<t> (adding_replicas,
// removing_replicas) and the legacy /admin/reassign_partitions request znode, with the fenced
// writes the controller makes to them (Kafka's ZkData TopicZNode / ReassignPartitionsZNode and
// KafkaZkClient.setTopicAssignmentRaw / setOrCreatePartitionReassignment).
//
// Free functions over a caller-owned ZkClient; stateless and thread-safe as ZkClient is. Every
// call blocks on ZooKeeper (the controller's event thread calls them).
//
// Errors: as ZkClient, plus kNotLeader when a fenced write finds /controller_epoch at another
// version than `epoch_zk_version` (a newer controller exists), and kCorruption for content that
// does not parse. Decoders never throw.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/zk/zk_client.h"
#include "gregor/zk/zk_data.h"

namespace gregor::zk {

namespace paths {
inline constexpr char kReassignPartitions[] = "/admin/reassign_partitions";
}  // namespace paths

// /brokers/topics/<t> in full: `partitions` holds every replica of a partition (during a
// reassignment, origin plus target replicas, Kafka's RS = ORS + TRS); `adding_replicas` and
// `removing_replicas` hold the partitions being reassigned.
struct FullTopicAssignment {
  TopicId topic_id{};
  bool has_topic_id = false;
  std::map<int32_t, std::vector<int32_t>> partitions;
  std::map<int32_t, std::vector<int32_t>> adding_replicas;
  std::map<int32_t, std::vector<int32_t>> removing_replicas;
  int32_t zk_version = 0;
};

// Version 3 JSON; partitions with no adding/removing replicas are left out of those maps, as
// Kafka writes them.
std::string EncodeFullTopicAssignment(const FullTopicAssignment& a);
// Accepts versions 1..3 (missing adding/removing maps decode as empty).
Result<FullTopicAssignment> DecodeFullTopicAssignment(const std::string& json);

// /admin/reassign_partitions: {"version":1,"partitions":[{"topic":..,"partition":..,
// "replicas":[..]}]}.
using ReassignmentRequest = std::map<gregor::TopicPartition, std::vector<int32_t>>;
std::string EncodeReassignPartitions(const ReassignmentRequest& r);
Result<ReassignmentRequest> DecodeReassignPartitions(const std::string& json);

// Reads /brokers/topics/<t>; `watch` is a one-shot data watch.
Result<FullTopicAssignment> GetFullTopicAssignment(ZkClient* zk, const std::string& topic,
                                                   WatchCallback watch = nullptr);
// Rewrites /brokers/topics/<t> (any version), fenced by the controller epoch's znode version.
Status SetFullTopicAssignment(ZkClient* zk, const std::string& topic, const FullTopicAssignment& a,
                              int32_t epoch_zk_version);

// Reads /admin/reassign_partitions; nullopt when absent. `watch` is an exists watch, set in
// both cases (it fires on creation, data change and deletion).
Result<std::optional<ReassignmentRequest>> GetReassignPartitions(ZkClient* zk,
                                                                 WatchCallback watch = nullptr);
// Writes the remaining requests, or deletes the znode when `r` is empty; fenced.
Status SetReassignPartitions(ZkClient* zk, const ReassignmentRequest& r, int32_t epoch_zk_version);

}  // namespace gregor::zk
