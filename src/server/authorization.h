#pragma once
// Who may do what: every ACL check a request handler makes, as one table of rules (Kafka 3.7's
// KafkaApis, ZooKeeper mode), and the call handlers make to apply a rule.
//
// A rule names the API, the resource the request names (a topic of the request, its group id,
// its transactional id, or the cluster), the operation, and what a refused resource gets: an
// error code in the response, or kNone when refused resources are silently left out (Metadata
// for all topics, ListGroups, ListTransactions). Several rules of one API apply in the order a
// handler checks them; where a rule says "or" (the cluster-wide rule that lets a request
// through before the per-topic one), the handler checks the cluster rule first.
//
// Without an authorizer (authorizer.class.name empty) every check passes. With one, the
// principal is the connection's (KafkaPrincipal string) and the host its client's IP address.
// Denials are logged at most once per second per broker (the audit log will record each).
//
// Thread-safe: the table is constant, AclAuthorizer is thread-safe.

#include <cstdint>
#include <span>
#include <string>

#include "gregor/network/request_handler.h"
#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"
#include "gregor/security/acl.h"

namespace gregor::server {

struct ServerContext;

// The cluster resource's only name.
inline constexpr const char* kClusterResourceName = "kafka-cluster";

enum class AclRuleId : uint8_t {
  kProduceTransactionalId,        // transactional batches: WRITE on the transactional id
  kProduceTopic,                  // WRITE on each topic
  kFetchFromFollower,             // replica fetch: CLUSTER_ACTION
  kFetchTopic,                    // consumer fetch: READ on each topic
  kListOffsetsTopic,              // DESCRIBE on each topic
  kMetadataTopic,                 // DESCRIBE on each topic (all-topics requests hide the rest)
  kMetadataAutoCreateCluster,     // auto-creation: CREATE on the cluster, or ...
  kMetadataAutoCreateTopic,       // ... CREATE on each missing topic
  kLeaderAndIsr,                  // controller -> broker
  kStopReplica,                   // controller -> broker
  kUpdateMetadata,                // controller -> broker
  kControlledShutdown,            // broker -> controller
  kAlterPartition,                // partition leader -> controller
  kOffsetCommitGroup,             // READ on the group
  kOffsetCommitTopic,             // READ on each topic
  kOffsetFetchGroup,              // DESCRIBE on the group
  kOffsetFetchTopic,              // DESCRIBE on each topic (all-partitions requests hide the rest)
  kFindCoordinatorGroup,          // key_type GROUP: DESCRIBE on the group
  kFindCoordinatorTransaction,    // key_type TRANSACTION: DESCRIBE on the transactional id
  kFindCoordinatorShare,          // key_type SHARE (v6+, KIP-932): CLUSTER_ACTION
  kJoinGroup,                     // READ on the group
  kHeartbeat,                     // READ on the group
  kLeaveGroup,                    // READ on the group
  kSyncGroup,                     // READ on the group
  kDescribeGroups,                // DESCRIBE on each group
  kConsumerGroupHeartbeat,        // READ on the group (KIP-848)
  kConsumerGroupDescribe,         // DESCRIBE on each group (KIP-848)
  kListGroupsCluster,             // DESCRIBE on the cluster lists every group, or ...
  kListGroupsGroup,               // ... those the principal may DESCRIBE
  kCreateTopicsCluster,           // CREATE on the cluster, or ...
  kCreateTopicsTopic,             // ... CREATE on each topic
  kCreateTopicsDescribeConfigs,   // v5+ answers a new topic's configs only with DESCRIBE_CONFIGS
  kDeleteTopics,                  // DELETE on each topic
  kDeleteRecords,                 // DELETE on each topic
  kInitProducerIdTransactional,   // WRITE on the transactional id
  kInitProducerIdIdempotent,      // IDEMPOTENT_WRITE on the cluster, or WRITE on some topic
  kOffsetForLeaderEpochFollower,  // CLUSTER_ACTION lets every partition through, or ...
  kOffsetForLeaderEpochTopic,     // ... DESCRIBE on each topic
  kAddPartitionsToTxnVerify,      // v4+ batches from partition leaders (KIP-890): CLUSTER_ACTION
  kAddPartitionsToTxnTransactional,  // v0-3: WRITE on the transactional id
  kAddPartitionsToTxnTopic,          // WRITE on each topic
  kAddOffsetsToTxnTransactional,     // WRITE on the transactional id
  kAddOffsetsToTxnGroup,             // READ on the group
  kEndTxn,                           // WRITE on the transactional id
  kWriteTxnMarkers,                  // coordinator -> partition leaders
  kTxnOffsetCommitTransactional,     // WRITE on the transactional id
  kTxnOffsetCommitGroup,             // READ on the group
  kTxnOffsetCommitTopic,             // READ on each topic
  kDescribeAcls,
  kCreateAcls,
  kDeleteAcls,
  kDescribeConfigsBroker,  // BROKER and BROKER_LOGGER resources
  kDescribeConfigsTopic,
  kAlterConfigsBroker,
  kAlterConfigsTopic,
  kIncrementalAlterConfigsBroker,
  kIncrementalAlterConfigsTopic,
  kCreatePartitions,  // ALTER on each topic
  kDeleteGroups,      // DELETE on each group
  kElectLeaders,
  kAlterPartitionReassignments,
  kListPartitionReassignments,
  kOffsetDeleteGroup,  // DELETE on the group
  kOffsetDeleteTopic,  // READ on each topic
  kDescribeClientQuotas,
  kAlterClientQuotas,
  kDescribeUserScramCredentials,
  kAlterUserScramCredentials,
  kDescribeProducers,          // READ on each topic
  kDescribeTransactions,       // DESCRIBE on each transactional id
  kDescribeTransactionsTopic,  // its partitions of topics the principal may not DESCRIBE hidden
  kListTransactions,           // DESCRIBE on each transactional id, the rest hidden
  kDescribeLogDirs,            // DESCRIBE on the cluster
  kAlterReplicaLogDirs,        // ALTER on the cluster
  kCount,
};

struct AclRule {
  AclRuleId id;
  protocol::ApiKey api;
  const char* resource;  // where the request names it, for docs and test names
  security::ResourceType type;
  security::AclOperation operation;
  protocol::ErrorCode denied;  // kNone: a refused resource is left out of the response
};

// The table, in AclRuleId order (rules()[i].id == AclRuleId(i)).
std::span<const AclRule> AclRules();
const AclRule& Rule(AclRuleId id);

// May this connection do what `id` says on the resource `name` (the cluster rules ignore it)?
// True when the broker has no authorizer. `log_denial` false: a refusal is expected and not
// worth recording (the first check of an "or", a filter over every topic or group), as Kafka
// passes logIfDenied=false there.
bool Authorized(const ServerContext& ctx, const network::ConnectionContext& conn, AclRuleId id,
                const std::string& name = kClusterResourceName, bool log_denial = true);

// kInitProducerIdIdempotent: IDEMPOTENT_WRITE on the cluster or WRITE on at least one topic
// (KIP-679, AclAuthorizer::AuthorizeIdempotentWrite).
bool AuthorizedIdempotentWrite(const ServerContext& ctx, const network::ConnectionContext& conn);

// Kafka's authorized-operations bitfield (Metadata v8+, DescribeGroups v3+; AuthHelper.
// authorizedOperations): bit (1 << code) for each operation the resource type supports that
// the principal may perform on the resource, every supported one without an authorizer. These
// checks are neither logged nor audited.
int32_t AuthorizedOperations(const ServerContext& ctx, const network::ConnectionContext& conn,
                             security::ResourceType type, const std::string& name);

// DescribeConfigs, AlterConfigs, IncrementalAlterConfigs: a TOPIC resource (type 2) is checked
// with `topic_rule`, BROKER (4) and BROKER_LOGGER (8) with `cluster_rule`; other types pass (the
// handler refuses them itself). kNone when allowed, otherwise the rule's error.
protocol::ErrorCode AuthorizeConfigResource(const ServerContext& ctx,
                                            const network::ConnectionContext& conn,
                                            int8_t resource_type, const std::string& name,
                                            AclRuleId topic_rule, AclRuleId cluster_rule);

// The rule's error, for a handler that just refused.
inline protocol::ErrorCode Denied(AclRuleId id) { return Rule(id).denied; }

}  // namespace gregor::server
