#pragma once
// ZkData: Kafka's znode layout (paths) and the JSON of each znode, encoded and decoded exactly as
// Kafka 3.7 does (core/src/main/scala/kafka/zk/ZkData.scala), so gregor and Kafka tooling can read
// each other's ZooKeeper state. See zk/ZK_LAYOUT.md for the list of what gregor reads and writes.
//
// Pure functions and value types: no I/O, thread-compatible. Decoders never throw; malformed
// znode content yields kCorruption naming the path.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"

namespace gregor::zk {

// Kafka's Uuid (topic ids): 16 bytes, written as 22 characters of URL-safe base64 unpadded.
using TopicId = std::array<uint8_t, 16>;
std::string TopicIdToString(const TopicId& id);
Result<TopicId> TopicIdFromString(const std::string& s);
// A random id that is neither zero nor Kafka's reserved metadata id and whose string form does
// not start with '-' (Kafka's Uuid.randomUuid rules).
TopicId RandomTopicId();
bool IsZeroTopicId(const TopicId& id);

// One advertised listener of a broker.
struct Endpoint {
  std::string listener;  // listener name, e.g. PLAINTEXT
  std::string host;
  int32_t port = 0;
  std::string security_protocol;  // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
  bool operator==(const Endpoint&) const = default;
};

// A registered broker: /brokers/ids/<id>. `epoch` is the czxid of that znode (KIP-380).
struct BrokerInfo {
  int32_t id = -1;
  std::vector<Endpoint> endpoints;
  std::optional<std::string> rack;
  int64_t epoch = -1;
  bool operator==(const BrokerInfo&) const = default;
};

// The content of /brokers/topics/<t>/partitions/<p>/state plus that znode's version.
struct LeaderIsrAndControllerEpoch {
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> isr;
  int32_t controller_epoch = 0;
  int32_t leader_recovery_state = 0;  // 0 RECOVERED, 1 RECOVERING (KIP-704)
  int32_t zk_version = 0;
  bool operator==(const LeaderIsrAndControllerEpoch&) const = default;
};

// /brokers/topics/<t>: topic id and replica assignment (partition -> replicas, first
// preferred). During a reassignment (KIP-455) `partitions` holds every replica (Kafka's RS =
// ORS + TRS) and `adding_replicas` / `removing_replicas` the partitions being moved; they are
// empty otherwise.
struct TopicAssignment {
  TopicId topic_id{};
  bool has_topic_id = false;  // topics created by Kafka < 2.8 have none
  std::map<int32_t, std::vector<int32_t>> partitions;
  std::map<int32_t, std::vector<int32_t>> adding_replicas;
  std::map<int32_t, std::vector<int32_t>> removing_replicas;
  int32_t zk_version = 0;
};

namespace paths {
inline constexpr char kController[] = "/controller";
inline constexpr char kControllerEpoch[] = "/controller_epoch";
inline constexpr char kBrokers[] = "/brokers";
inline constexpr char kBrokerIds[] = "/brokers/ids";
inline constexpr char kBrokerTopics[] = "/brokers/topics";
inline constexpr char kBrokerSeqId[] = "/brokers/seqid";
inline constexpr char kConfig[] = "/config";
inline constexpr char kConfigTopics[] = "/config/topics";
inline constexpr char kReassignPartitions[] = "/admin/reassign_partitions";
inline constexpr char kPreferredReplicaElection[] = "/admin/preferred_replica_election";
inline constexpr char kConfigChanges[] = "/config/changes";
inline constexpr char kConfigChangePrefix[] = "config_change_";
inline constexpr char kAdminDeleteTopics[] = "/admin/delete_topics";
inline constexpr char kIsrChangeNotification[] = "/isr_change_notification";
inline constexpr char kIsrChangePrefix[] = "isr_change_";
inline constexpr char kClusterId[] = "/cluster/id";
inline constexpr char kLatestProducerIdBlock[] = "/latest_producer_id_block";
// The entity name of a cluster-wide default: /config/brokers/<default> (dynamic broker
// configs), /config/users/<default> and /config/clients/<default> (quotas).
inline constexpr char kDefaultEntity[] = "<default>";

// Kafka's Sanitizer: user and client-id names are URL-encoded in znode names (UTF-8,
// unreserved characters kept, space as %20, '*' as %2A); Desanitize reverses it and
// fails on a malformed escape.
std::string SanitizeEntityName(const std::string& name);
Result<std::string> DesanitizeEntityName(const std::string& sanitized);

std::string BrokerId(int32_t id);
std::string Topic(const std::string& topic);
std::string TopicPartitions(const std::string& topic);
std::string TopicPartition(const std::string& topic, int32_t partition);
std::string PartitionState(const gregor::TopicPartition& tp);
std::string TopicConfig(const std::string& topic);
// /config/<entity_type>/<name> ("topics", "users", "clients", "brokers"); `name` as stored
// (user and client names sanitized, see SanitizeEntityName).
std::string EntityConfig(const std::string& entity_type, const std::string& name);
std::string DeleteTopicMarker(const std::string& topic);
// ZkData.PersistentZkPaths: created by every broker at startup.
const std::vector<std::string>& PersistentPaths();
}  // namespace paths

// --- Codecs. `now_ms` is the registration timestamp Kafka writes as a string. ---

// /brokers/ids/<id>, version 5 (endpoints, listener_security_protocol_map, rack, features {}).
std::string EncodeBroker(const BrokerInfo& broker, int64_t now_ms, int32_t jmx_port = -1);
// Accepts versions 1..5; `epoch` is left at -1 (it comes from the znode's czxid).
Result<BrokerInfo> DecodeBroker(int32_t id, const std::string& json);

// /controller, version 2.
std::string EncodeController(int32_t broker_id, int64_t now_ms);
Result<int32_t> DecodeControllerId(const std::string& json);

// /controller_epoch: a plain integer.
Result<int32_t> DecodeControllerEpoch(const std::string& data);

// /brokers/topics/<t>: writes version 3 (partitions with no adding/removing replicas are left
// out of those maps, as Kafka writes them); reads versions 1..3 (missing maps are empty;
// entries for partitions that do not exist are dropped).
std::string EncodeTopicAssignment(const TopicAssignment& assignment);
Result<TopicAssignment> DecodeTopicAssignment(const std::string& json);

// /admin/reassign_partitions: {"version":1,"partitions":[{"topic":..,"partition":..,
// "replicas":[..]}]}.
using ReassignmentRequest = std::map<gregor::TopicPartition, std::vector<int32_t>>;
std::string EncodeReassignPartitions(const ReassignmentRequest& r);
Result<ReassignmentRequest> DecodeReassignPartitions(const std::string& json);

// /admin/preferred_replica_election (kafka-preferred-replica-election.sh --zookeeper):
// {"version":1,"partitions":[{"topic":..,"partition":..}]}. Duplicates are refused, as Kafka
// refuses them.
std::string EncodePreferredReplicaElection(const std::vector<gregor::TopicPartition>& tps);
Result<std::vector<gregor::TopicPartition>> DecodePreferredReplicaElection(const std::string& json);

// /brokers/topics/<t>/partitions/<p>/state, version 1.
std::string EncodePartitionState(const LeaderIsrAndControllerEpoch& state);
Result<LeaderIsrAndControllerEpoch> DecodePartitionState(const std::string& json);

// /config/<type>/<name>: {"version":1,"config":{...}} (values are strings).
std::string EncodeEntityConfig(const std::map<std::string, std::string>& config);
Result<std::map<std::string, std::string>> DecodeEntityConfig(const std::string& json);

// /config/changes/config_change_<seq>: {"version":2,"entity_path":"topics/<t>"}.
std::string EncodeConfigChange(const std::string& entity_path);
// Returns the entity path ("topics/<t>"); version 1 notifications are converted.
Result<std::string> DecodeConfigChange(const std::string& json);

// /isr_change_notification/isr_change_<seq>:
// {"version":1,"partitions":[{"topic":..,"partition":..}]}
std::string EncodeIsrChange(const std::vector<gregor::TopicPartition>& partitions);
Result<std::vector<gregor::TopicPartition>> DecodeIsrChange(const std::string& json);

// /latest_producer_id_block: the last block of producer ids handed to a broker,
// {"version":1,"broker":2,"block_start":"1000","block_end":"1999"} (start and end are strings).
struct ProducerIdBlock {
  int32_t broker = -1;
  int64_t first = 0;
  int64_t last = -1;  // inclusive
  bool operator==(const ProducerIdBlock&) const = default;
};
inline constexpr int32_t kProducerIdBlockSize = 1000;
std::string EncodeProducerIdBlock(const ProducerIdBlock& block);
Result<ProducerIdBlock> DecodeProducerIdBlock(const std::string& json);

// /cluster/id: {"version":"1","id":"<id>"} (version is a string here, as in Kafka).
std::string EncodeClusterId(const std::string& id);
Result<std::string> DecodeClusterId(const std::string& json);

}  // namespace gregor::zk
