#pragma once
// Topic administration shared by CreateTopics, Metadata auto-creation,
// DeleteTopics, CreatePartitions and the config APIs: validation and the
// ZooKeeper writes that the controller then acts on (Kafka's AdminZkClient
// and ZkAdminManager). The blocking functions talk to ZooKeeper: call them
// through ServerContext::run_blocking. The pure functions (validation,
// replica assignment, incremental config ops) touch no state and are unit
// tested. Nothing here throws; every failure is an AdminResult carrying the
// Kafka error code and a message for the client.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/config/broker_config.h"
#include "gregor/controller/replica_assignment.h"
#include "gregor/protocol/error_code.h"
#include "server/server_context.h"

namespace gregor::server {

// partition -> replicas (first = preferred leader), as in /brokers/topics/<t>.
using ReplicaAssignment = std::map<int32_t, std::vector<int32_t>>;

struct TopicCreation {
  std::string name;
  int32_t num_partitions = -1;                         // -1: num.partitions
  int16_t replication_factor = -1;                     // -1: default.replication.factor
  std::map<int32_t, std::vector<int32_t>> assignment;  // manual assignment, if any
  std::map<std::string, std::string> configs;
};

struct AdminResult {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  std::string message;
  int32_t num_partitions = -1;
  int16_t replication_factor = -1;
  std::array<uint8_t, 16> topic_id{};  // set by CreateTopic when the topic was written

  bool ok() const { return error == protocol::ErrorCode::kNone; }
  static AdminResult Error(protocol::ErrorCode e, std::string m) {
    AdminResult r;
    r.error = e;
    r.message = std::move(m);
    return r;
  }
};

// Kafka's topic name rules: 1-249 chars of [a-zA-Z0-9._-], not "." or "..".
Status ValidateTopicName(const std::string& name);
// Kafka: '.' and '_' collide in metric names, so "a.b" and "a_b" cannot
// coexist. True when the two distinct names differ only by those.
bool TopicNamesCollide(const std::string& a, const std::string& b);

// Kafka's replica assignment (AdminUtils.assignReplicasToBrokers, through
// controller::AssignReplicasToBrokers; rack-aware when every broker has a
// rack): round robin from `start_index` with a replica shift growing every
// full round; `start_index` < 0 picks a random start and shift. Partitions
// are numbered from `start_partition`. INVALID_PARTITIONS /
// INVALID_REPLICATION_FACTOR on bad counts (or racks on only some brokers).
using BrokerList = std::vector<controller::BrokerMetadata>;
AdminResult AssignReplicas(const BrokerList& brokers, int32_t num_partitions,
                           int16_t replication_factor, int32_t start_index, int32_t start_partition,
                           ReplicaAssignment* out);

// A manual assignment for a new topic: partitions 0..n-1, every partition
// with the same non-zero number of distinct replicas, all of them registered
// brokers. INVALID_REPLICA_ASSIGNMENT otherwise.
AdminResult ValidateManualAssignment(const ReplicaAssignment& assignment,
                                     const std::set<int32_t>& brokers);

// The assignment of the partitions CreatePartitions adds to `existing`
// (which must hold partition 0) to reach `new_count`: `manual` when given
// (one replica list per new partition, same replication factor as
// partition 0, registered brokers only), else Kafka's assignment continuing
// from partition 0's leader.
AdminResult AssignNewPartitions(const std::string& topic, const ReplicaAssignment& existing,
                                int32_t new_count,
                                const std::optional<std::vector<std::vector<int32_t>>>& manual,
                                const BrokerList& brokers, ReplicaAssignment* out);

// One IncrementalAlterConfigs operation.
enum class ConfigOpType : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };
struct ConfigOp {
  std::string name;
  int8_t op = 0;  // ConfigOpType; anything else is INVALID_REQUEST
  std::optional<std::string> value;
};
// Applies `ops` in order to a topic's overrides (Kafka's
// prepareIncrementalConfigs). APPEND/SUBTRACT start from the effective value
// (override, else broker default) and are allowed on LIST keys only. Does
// not validate the resulting values (ValidateTopicConfig does).
AdminResult ApplyIncrementalConfigOps(const config::BrokerConfig& broker,
                                      const std::vector<ConfigOp>& ops,
                                      std::map<std::string, std::string>* overrides);

// The same for a BROKER resource: LIST keys APPEND/SUBTRACT from the broker's effective value.
AdminResult ApplyIncrementalBrokerConfigOps(const config::BrokerConfig& broker,
                                            const std::vector<ConfigOp>& ops,
                                            std::map<std::string, std::string>* entity);

// AlterConfigs / IncrementalAlterConfigs on a BROKER resource (Kafka's
// ZkAdminManager.alterBrokerConfigs): `name` is "" (the cluster default,
// /config/brokers/<default>) or this broker's id (/config/brokers/<id>; another id is
// INVALID_REQUEST, as the request belongs to that broker). Either `replacement` (AlterConfigs:
// the entity's complete new content) or `ops` (read-modify-write of the stored entity).
// Validated by DynamicBrokerConfig (INVALID_CONFIG for a key that is not dynamic or a bad
// value); unless validate_only, written with a change notification and applied here at once.
// Blocking.
AdminResult AlterBrokerConfig(ServerContext& ctx, const std::string& name,
                              const std::vector<ConfigOp>* ops,
                              const std::map<std::string, std::string>* replacement,
                              bool validate_only);

// Validates and (unless validate_only) writes /config/topics/<t> and
// /brokers/topics/<t>. Blocking.
AdminResult CreateTopic(ServerContext& ctx, const TopicCreation& topic, bool validate_only);

// Grows a topic to `count` partitions: rewrites /brokers/topics/<t>; the
// controller's watch brings the new partitions online. Blocking.
AdminResult CreatePartitions(ServerContext& ctx, const std::string& topic, int32_t count,
                             const std::optional<std::vector<std::vector<int32_t>>>& assignments,
                             bool validate_only);

// Marks the topic for deletion (/admin/delete_topics/<t>); an existing
// marker counts as success, so repeated calls all wait for the deletion.
// UNKNOWN_TOPIC_OR_PARTITION when the topic is not in ZooKeeper. Blocking.
AdminResult DeleteTopic(ServerContext& ctx, const std::string& topic);

// ConfigResource types of the config APIs (Kafka's ConfigResource.Type ids).
constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;
constexpr int8_t kBrokerLoggerResource = 8;

// Whether AlterConfigs / IncrementalAlterConfigs can change a resource of
// this type: topics and brokers yes; anything else INVALID_REQUEST with the
// reason (BROKER_LOGGER has its own path, in IncrementalAlterConfigs only).
AdminResult CheckAlterableResource(int8_t resource_type);

// Replaces a topic's overrides (validated) unless validate_only, then makes
// this broker apply them at once (the others follow the change
// notification). UNKNOWN_TOPIC_OR_PARTITION for an unknown topic,
// INVALID_CONFIG naming the bad key. Blocking.
AdminResult AlterTopicConfig(ServerContext& ctx, const std::string& topic,
                             const std::map<std::string, std::string>& overrides,
                             bool validate_only);

// Waits until every partition of `topics` has a live leader in the metadata
// cache, or the timeout passes. Returns the topics still not ready.
asio::awaitable<std::vector<std::string>> WaitForTopicsOnline(ServerContext& ctx,
                                                              std::vector<std::string> topics,
                                                              int32_t timeout_ms);
// As above, also requiring at least `count` partitions per topic.
asio::awaitable<std::vector<std::string>> WaitForPartitionsOnline(
    ServerContext& ctx, std::map<std::string, int32_t> topics, int32_t timeout_ms);
// Waits until none of `topics` is in the metadata cache any more.
asio::awaitable<std::vector<std::string>> WaitForTopicsGone(ServerContext& ctx,
                                                            std::vector<std::string> topics,
                                                            int32_t timeout_ms);

}  // namespace gregor::server
