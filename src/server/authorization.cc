#include "server/authorization.h"

#include <glog/logging.h>

#include <array>
#include <atomic>
#include <chrono>
#include <optional>

#include "gregor/security/authorizer.h"
#include "server/server_context.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using security::AclOperation;
using security::ResourceType;
using Id = AclRuleId;

constexpr ErrorCode kTopicDenied = ErrorCode::kTopicAuthorizationFailed;
constexpr ErrorCode kGroupDenied = ErrorCode::kGroupAuthorizationFailed;
constexpr ErrorCode kClusterDenied = ErrorCode::kClusterAuthorizationFailed;
constexpr ErrorCode kTxnDenied = ErrorCode::kTransactionalIdAuthorizationFailed;
constexpr ErrorCode kHidden = ErrorCode::kNone;

constexpr ResourceType kTopic = ResourceType::kTopic;
constexpr ResourceType kGroup = ResourceType::kGroup;
constexpr ResourceType kCluster = ResourceType::kCluster;
constexpr ResourceType kTxn = ResourceType::kTransactionalId;

// Kafka 3.7 KafkaApis (ZooKeeper mode), one row per authorize call.
constexpr std::array<AclRule, static_cast<size_t>(Id::kCount)> kRules{{
    {Id::kProduceTransactionalId, ApiKey::kProduce, "transactional_id", kTxn, AclOperation::kWrite,
     kTxnDenied},
    {Id::kProduceTopic, ApiKey::kProduce, "topic", kTopic, AclOperation::kWrite, kTopicDenied},
    {Id::kFetchFromFollower, ApiKey::kFetch, "cluster", kCluster, AclOperation::kClusterAction,
     kTopicDenied},
    {Id::kFetchTopic, ApiKey::kFetch, "topic", kTopic, AclOperation::kRead, kTopicDenied},
    {Id::kListOffsetsTopic, ApiKey::kListOffsets, "topic", kTopic, AclOperation::kDescribe,
     kTopicDenied},
    {Id::kMetadataTopic, ApiKey::kMetadata, "topic", kTopic, AclOperation::kDescribe, kTopicDenied},
    {Id::kMetadataAutoCreateCluster, ApiKey::kMetadata, "cluster", kCluster, AclOperation::kCreate,
     kTopicDenied},
    {Id::kMetadataAutoCreateTopic, ApiKey::kMetadata, "topic", kTopic, AclOperation::kCreate,
     kTopicDenied},
    {Id::kLeaderAndIsr, ApiKey::kLeaderAndIsr, "cluster", kCluster, AclOperation::kClusterAction,
     kClusterDenied},
    {Id::kStopReplica, ApiKey::kStopReplica, "cluster", kCluster, AclOperation::kClusterAction,
     kClusterDenied},
    {Id::kUpdateMetadata, ApiKey::kUpdateMetadata, "cluster", kCluster,
     AclOperation::kClusterAction, kClusterDenied},
    {Id::kControlledShutdown, ApiKey::kControlledShutdown, "cluster", kCluster,
     AclOperation::kClusterAction, kClusterDenied},
    {Id::kAlterPartition, ApiKey::kAlterPartition, "cluster", kCluster,
     AclOperation::kClusterAction, kClusterDenied},
    {Id::kOffsetCommitGroup, ApiKey::kOffsetCommit, "group_id", kGroup, AclOperation::kRead,
     kGroupDenied},
    {Id::kOffsetCommitTopic, ApiKey::kOffsetCommit, "topic", kTopic, AclOperation::kRead,
     kTopicDenied},
    {Id::kOffsetFetchGroup, ApiKey::kOffsetFetch, "group_id", kGroup, AclOperation::kDescribe,
     kGroupDenied},
    {Id::kOffsetFetchTopic, ApiKey::kOffsetFetch, "topic", kTopic, AclOperation::kDescribe,
     kTopicDenied},
    {Id::kFindCoordinatorGroup, ApiKey::kFindCoordinator, "key (GROUP)", kGroup,
     AclOperation::kDescribe, kGroupDenied},
    {Id::kFindCoordinatorTransaction, ApiKey::kFindCoordinator, "key (TRANSACTION)", kTxn,
     AclOperation::kDescribe, kTxnDenied},
    {Id::kFindCoordinatorShare, ApiKey::kFindCoordinator, "cluster (SHARE keys)", kCluster,
     AclOperation::kClusterAction, kClusterDenied},
    {Id::kJoinGroup, ApiKey::kJoinGroup, "group_id", kGroup, AclOperation::kRead, kGroupDenied},
    {Id::kHeartbeat, ApiKey::kHeartbeat, "group_id", kGroup, AclOperation::kRead, kGroupDenied},
    {Id::kLeaveGroup, ApiKey::kLeaveGroup, "group_id", kGroup, AclOperation::kRead, kGroupDenied},
    {Id::kSyncGroup, ApiKey::kSyncGroup, "group_id", kGroup, AclOperation::kRead, kGroupDenied},
    {Id::kDescribeGroups, ApiKey::kDescribeGroups, "group", kGroup, AclOperation::kDescribe,
     kGroupDenied},
    {Id::kConsumerGroupHeartbeat, ApiKey::kConsumerGroupHeartbeat, "group_id", kGroup,
     AclOperation::kRead, kGroupDenied},
    {Id::kConsumerGroupDescribe, ApiKey::kConsumerGroupDescribe, "group", kGroup,
     AclOperation::kDescribe, kGroupDenied},
    {Id::kListGroupsCluster, ApiKey::kListGroups, "cluster", kCluster, AclOperation::kDescribe,
     kHidden},
    {Id::kListGroupsGroup, ApiKey::kListGroups, "group", kGroup, AclOperation::kDescribe, kHidden},
    {Id::kCreateTopicsCluster, ApiKey::kCreateTopics, "cluster", kCluster, AclOperation::kCreate,
     kTopicDenied},
    {Id::kCreateTopicsTopic, ApiKey::kCreateTopics, "topic", kTopic, AclOperation::kCreate,
     kTopicDenied},
    {Id::kCreateTopicsDescribeConfigs, ApiKey::kCreateTopics, "topic", kTopic,
     AclOperation::kDescribeConfigs, kTopicDenied},
    {Id::kDeleteTopics, ApiKey::kDeleteTopics, "topic", kTopic, AclOperation::kDelete,
     kTopicDenied},
    {Id::kDeleteRecords, ApiKey::kDeleteRecords, "topic", kTopic, AclOperation::kDelete,
     kTopicDenied},
    {Id::kInitProducerIdTransactional, ApiKey::kInitProducerId, "transactional_id", kTxn,
     AclOperation::kWrite, kTxnDenied},
    {Id::kInitProducerIdIdempotent, ApiKey::kInitProducerId, "cluster", kCluster,
     AclOperation::kIdempotentWrite, kClusterDenied},
    {Id::kOffsetForLeaderEpochFollower, ApiKey::kOffsetForLeaderEpoch, "cluster", kCluster,
     AclOperation::kClusterAction, kTopicDenied},
    {Id::kOffsetForLeaderEpochTopic, ApiKey::kOffsetForLeaderEpoch, "topic", kTopic,
     AclOperation::kDescribe, kTopicDenied},
    {Id::kAddPartitionsToTxnVerify, ApiKey::kAddPartitionsToTxn, "cluster", kCluster,
     AclOperation::kClusterAction, kClusterDenied},
    {Id::kAddPartitionsToTxnTransactional, ApiKey::kAddPartitionsToTxn, "transactional_id", kTxn,
     AclOperation::kWrite, kTxnDenied},
    {Id::kAddPartitionsToTxnTopic, ApiKey::kAddPartitionsToTxn, "topic", kTopic,
     AclOperation::kWrite, kTopicDenied},
    {Id::kAddOffsetsToTxnTransactional, ApiKey::kAddOffsetsToTxn, "transactional_id", kTxn,
     AclOperation::kWrite, kTxnDenied},
    {Id::kAddOffsetsToTxnGroup, ApiKey::kAddOffsetsToTxn, "group_id", kGroup, AclOperation::kRead,
     kGroupDenied},
    {Id::kEndTxn, ApiKey::kEndTxn, "transactional_id", kTxn, AclOperation::kWrite, kTxnDenied},
    {Id::kWriteTxnMarkers, ApiKey::kWriteTxnMarkers, "cluster", kCluster,
     AclOperation::kClusterAction, kClusterDenied},
    {Id::kTxnOffsetCommitTransactional, ApiKey::kTxnOffsetCommit, "transactional_id", kTxn,
     AclOperation::kWrite, kTxnDenied},
    {Id::kTxnOffsetCommitGroup, ApiKey::kTxnOffsetCommit, "group_id", kGroup, AclOperation::kRead,
     kGroupDenied},
    {Id::kTxnOffsetCommitTopic, ApiKey::kTxnOffsetCommit, "topic", kTopic, AclOperation::kRead,
     kTopicDenied},
    {Id::kDescribeAcls, ApiKey::kDescribeAcls, "cluster", kCluster, AclOperation::kDescribe,
     kClusterDenied},
    {Id::kCreateAcls, ApiKey::kCreateAcls, "cluster", kCluster, AclOperation::kAlter,
     kClusterDenied},
    {Id::kDeleteAcls, ApiKey::kDeleteAcls, "cluster", kCluster, AclOperation::kAlter,
     kClusterDenied},
    {Id::kDescribeConfigsBroker, ApiKey::kDescribeConfigs, "cluster", kCluster,
     AclOperation::kDescribeConfigs, kClusterDenied},
    {Id::kDescribeConfigsTopic, ApiKey::kDescribeConfigs, "topic", kTopic,
     AclOperation::kDescribeConfigs, kTopicDenied},
    {Id::kAlterConfigsBroker, ApiKey::kAlterConfigs, "cluster", kCluster,
     AclOperation::kAlterConfigs, kClusterDenied},
    {Id::kAlterConfigsTopic, ApiKey::kAlterConfigs, "topic", kTopic, AclOperation::kAlterConfigs,
     kTopicDenied},
    {Id::kIncrementalAlterConfigsBroker, ApiKey::kIncrementalAlterConfigs, "cluster", kCluster,
     AclOperation::kAlterConfigs, kClusterDenied},
    {Id::kIncrementalAlterConfigsTopic, ApiKey::kIncrementalAlterConfigs, "topic", kTopic,
     AclOperation::kAlterConfigs, kTopicDenied},
    {Id::kCreatePartitions, ApiKey::kCreatePartitions, "topic", kTopic, AclOperation::kAlter,
     kTopicDenied},
    {Id::kDeleteGroups, ApiKey::kDeleteGroups, "group", kGroup, AclOperation::kDelete,
     kGroupDenied},
    {Id::kElectLeaders, ApiKey::kElectLeaders, "cluster", kCluster, AclOperation::kAlter,
     kClusterDenied},
    {Id::kAlterPartitionReassignments, ApiKey::kAlterPartitionReassignments, "cluster", kCluster,
     AclOperation::kAlter, kClusterDenied},
    {Id::kListPartitionReassignments, ApiKey::kListPartitionReassignments, "cluster", kCluster,
     AclOperation::kDescribe, kClusterDenied},
    {Id::kOffsetDeleteGroup, ApiKey::kOffsetDelete, "group_id", kGroup, AclOperation::kDelete,
     kGroupDenied},
    {Id::kOffsetDeleteTopic, ApiKey::kOffsetDelete, "topic", kTopic, AclOperation::kRead,
     kTopicDenied},
    {Id::kDescribeClientQuotas, ApiKey::kDescribeClientQuotas, "cluster", kCluster,
     AclOperation::kDescribeConfigs, kClusterDenied},
    {Id::kAlterClientQuotas, ApiKey::kAlterClientQuotas, "cluster", kCluster,
     AclOperation::kAlterConfigs, kClusterDenied},
    {Id::kDescribeUserScramCredentials, ApiKey::kDescribeUserScramCredentials, "cluster", kCluster,
     AclOperation::kDescribe, kClusterDenied},
    {Id::kAlterUserScramCredentials, ApiKey::kAlterUserScramCredentials, "cluster", kCluster,
     AclOperation::kAlter, kClusterDenied},
    {Id::kDescribeProducers, ApiKey::kDescribeProducers, "topic", kTopic, AclOperation::kRead,
     kTopicDenied},
    {Id::kDescribeTransactions, ApiKey::kDescribeTransactions, "transactional_id", kTxn,
     AclOperation::kDescribe, kTxnDenied},
    {Id::kDescribeTransactionsTopic, ApiKey::kDescribeTransactions, "topic", kTopic,
     AclOperation::kDescribe, kHidden},
    {Id::kListTransactions, ApiKey::kListTransactions, "transactional_id", kTxn,
     AclOperation::kDescribe, kHidden},
    {Id::kDescribeLogDirs, ApiKey::kDescribeLogDirs, "cluster", kCluster, AclOperation::kDescribe,
     kClusterDenied},
    {Id::kAlterReplicaLogDirs, ApiKey::kAlterReplicaLogDirs, "cluster", kCluster,
     AclOperation::kAlter, kClusterDenied},
}};

constexpr bool InIdOrder() {
  for (size_t i = 0; i < kRules.size(); ++i) {
    if (static_cast<size_t>(kRules[i].id) != i) return false;
  }
  return true;
}
static_assert(InIdOrder(), "kRules must list the rules in AclRuleId order");

std::atomic<int64_t> g_last_denial_log_ms{0};

void LogDenial(const network::ConnectionContext& conn, const AclRule& rule,
               const std::string& name) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t prev = g_last_denial_log_ms.load(std::memory_order_relaxed);
  if (now - prev < 1000 || !g_last_denial_log_ms.compare_exchange_strong(prev, now)) return;
  LOG(INFO) << "[Authorizer] principal=" << conn.principal << " host=" << conn.client_host
            << " denied " << security::AclOperationName(rule.operation) << " on "
            << security::ResourceTypeName(rule.type) << ":" << name << " ("
            << protocol::ApiKeyName(rule.api) << ")";
}

// Denials always, allowed decisions when audit.log.authorization.allowed.
void Audit(const ServerContext& ctx, const network::ConnectionContext& conn, const AclRule& rule,
           const std::string& name, bool allowed) {
  if (ctx.audit == nullptr || (allowed && !ctx.audit->log_allowed())) return;
  ctx.audit->Authorization(
      conn.principal, conn.client_host, security::AclOperationName(rule.operation),
      security::ResourceTypeName(rule.type), name, protocol::ApiKeyName(rule.api), allowed);
}

}  // namespace

std::span<const AclRule> AclRules() { return kRules; }

const AclRule& Rule(AclRuleId id) { return kRules[static_cast<size_t>(id)]; }

bool Authorized(const ServerContext& ctx, const network::ConnectionContext& conn, AclRuleId id,
                const std::string& name, bool log_denial) {
  if (ctx.authorizer == nullptr) return true;
  const AclRule& rule = Rule(id);
  static const std::string kCluster(kClusterResourceName);
  const std::string& n = rule.type == ResourceType::kCluster ? kCluster : name;
  bool ok =
      ctx.authorizer->Authorize(conn.principal, conn.client_host, rule.operation, rule.type, n);
  if (!ok && !log_denial) return false;
  if (!ok) LogDenial(conn, rule, n);
  Audit(ctx, conn, rule, n, ok);
  return ok;
}

bool AuthorizedIdempotentWrite(const ServerContext& ctx, const network::ConnectionContext& conn) {
  if (ctx.authorizer == nullptr) return true;
  bool ok = ctx.authorizer->AuthorizeIdempotentWrite(conn.principal, conn.client_host);
  const AclRule& rule = Rule(AclRuleId::kInitProducerIdIdempotent);
  if (!ok) LogDenial(conn, rule, kClusterResourceName);
  Audit(ctx, conn, rule, kClusterResourceName, ok);
  return ok;
}

int32_t AuthorizedOperations(const ServerContext& ctx, const network::ConnectionContext& conn,
                             ResourceType type, const std::string& name) {
  using Op = AclOperation;
  // Kafka's AclEntry.supportedOperations.
  static const std::vector<Op> kTopic = {
      Op::kRead,   Op::kWrite, Op::kCreate,          Op::kDescribe,
      Op::kDelete, Op::kAlter, Op::kDescribeConfigs, Op::kAlterConfigs};
  static const std::vector<Op> kGroup = {Op::kRead, Op::kDescribe, Op::kDelete};
  static const std::vector<Op> kClusterOps = {
      Op::kCreate,          Op::kClusterAction, Op::kDescribeConfigs, Op::kAlterConfigs,
      Op::kIdempotentWrite, Op::kAlter,         Op::kDescribe};
  static const std::vector<Op> kTransactionalId = {Op::kDescribe, Op::kWrite};
  static const std::vector<Op> kNone;
  const std::vector<Op>& ops = type == ResourceType::kTopic             ? kTopic
                               : type == ResourceType::kGroup           ? kGroup
                               : type == ResourceType::kCluster         ? kClusterOps
                               : type == ResourceType::kTransactionalId ? kTransactionalId
                                                                        : kNone;
  int32_t bits = 0;
  for (Op op : ops) {
    if (ctx.authorizer == nullptr ||
        ctx.authorizer->Authorize(conn.principal, conn.client_host, op, type, name)) {
      bits |= int32_t{1} << security::ToCode(op);
    }
  }
  return bits;
}

ErrorCode AuthorizeConfigResource(const ServerContext& ctx, const network::ConnectionContext& conn,
                                  int8_t resource_type, const std::string& name,
                                  AclRuleId topic_rule, AclRuleId cluster_rule) {
  std::optional<AclRuleId> rule;
  if (resource_type == kTopicResource) rule = topic_rule;
  if (resource_type == kBrokerResource || resource_type == kBrokerLoggerResource)
    rule = cluster_rule;
  if (!rule || Authorized(ctx, conn, *rule, name)) return ErrorCode::kNone;
  return Denied(*rule);
}

}  // namespace gregor::server
