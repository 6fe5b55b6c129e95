#pragma once
// The controller's reads and fenced writes of the reassignment znodes: /brokers/topics/<t>
// with its KIP-455 fields and the legacy /admin/reassign_partitions request znode (their
// codecs are in zk_data.h) (Kafka's ZkData TopicZNode / ReassignPartitionsZNode and
// KafkaZkClient.setTopicAssignmentRaw / setOrCreatePartitionReassignment).
//
// Free functions over a caller-owned ZkClient; stateless and thread-safe as ZkClient is. Every
// call blocks on ZooKeeper (the controller's event thread calls them).
//
// Errors: as ZkClient, plus kNotLeader when a fenced write finds /controller_epoch at another
// version than `epoch_zk_version` (a newer controller exists), and kCorruption for content that
// does not parse.

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

// Reads /brokers/topics/<t>; `watch` is a one-shot data watch.
Result<TopicAssignment> GetTopicAssignmentWatched(ZkClient* zk, const std::string& topic,
                                                  WatchCallback watch = nullptr);
// Rewrites /brokers/topics/<t>, fenced by the controller epoch's znode version.
Status SetTopicAssignmentFenced(ZkClient* zk, const std::string& topic, const TopicAssignment& a,
                                int32_t epoch_zk_version);

// Reads /admin/reassign_partitions; nullopt when absent. `watch` is an exists watch, set in
// both cases (it fires on creation, data change and deletion).
Result<std::optional<ReassignmentRequest>> GetReassignPartitions(ZkClient* zk,
                                                                 WatchCallback watch = nullptr);
// Writes the remaining requests, or deletes the znode when `r` is empty; fenced.
Status SetReassignPartitions(ZkClient* zk, const ReassignmentRequest& r, int32_t epoch_zk_version);

// Reads /admin/preferred_replica_election; nullopt when absent. `watch`: an exists watch, as
// above.
Result<std::optional<std::vector<TopicPartition>>> GetPreferredReplicaElection(
    ZkClient* zk, WatchCallback watch = nullptr);
// Deletes it (absent is fine); fenced by the controller epoch's znode version.
Status DeletePreferredReplicaElection(ZkClient* zk, int32_t epoch_zk_version);

}  // namespace gregor::zk
