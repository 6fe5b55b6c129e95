#include "gregor/protocol/api_key.h"

namespace gregor::protocol {

const char* ApiKeyName(ApiKey key) {
  switch (key) {
    case ApiKey::kProduce:
      return "Produce";
    case ApiKey::kFetch:
      return "Fetch";
    case ApiKey::kListOffsets:
      return "ListOffsets";
    case ApiKey::kMetadata:
      return "Metadata";
    case ApiKey::kLeaderAndIsr:
      return "LeaderAndIsr";
    case ApiKey::kStopReplica:
      return "StopReplica";
    case ApiKey::kUpdateMetadata:
      return "UpdateMetadata";
    case ApiKey::kControlledShutdown:
      return "ControlledShutdown";
    case ApiKey::kOffsetCommit:
      return "OffsetCommit";
    case ApiKey::kOffsetFetch:
      return "OffsetFetch";
    case ApiKey::kFindCoordinator:
      return "FindCoordinator";
    case ApiKey::kJoinGroup:
      return "JoinGroup";
    case ApiKey::kHeartbeat:
      return "Heartbeat";
    case ApiKey::kLeaveGroup:
      return "LeaveGroup";
    case ApiKey::kSyncGroup:
      return "SyncGroup";
    case ApiKey::kDescribeGroups:
      return "DescribeGroups";
    case ApiKey::kListGroups:
      return "ListGroups";
    case ApiKey::kSaslHandshake:
      return "SaslHandshake";
    case ApiKey::kApiVersions:
      return "ApiVersions";
    case ApiKey::kCreateTopics:
      return "CreateTopics";
    case ApiKey::kDeleteTopics:
      return "DeleteTopics";
    case ApiKey::kDeleteRecords:
      return "DeleteRecords";
    case ApiKey::kInitProducerId:
      return "InitProducerId";
    case ApiKey::kOffsetForLeaderEpoch:
      return "OffsetForLeaderEpoch";
    case ApiKey::kAddPartitionsToTxn:
      return "AddPartitionsToTxn";
    case ApiKey::kAddOffsetsToTxn:
      return "AddOffsetsToTxn";
    case ApiKey::kEndTxn:
      return "EndTxn";
    case ApiKey::kWriteTxnMarkers:
      return "WriteTxnMarkers";
    case ApiKey::kTxnOffsetCommit:
      return "TxnOffsetCommit";
    case ApiKey::kDescribeAcls:
      return "DescribeAcls";
    case ApiKey::kCreateAcls:
      return "CreateAcls";
    case ApiKey::kDeleteAcls:
      return "DeleteAcls";
    case ApiKey::kDescribeConfigs:
      return "DescribeConfigs";
    case ApiKey::kAlterConfigs:
      return "AlterConfigs";
    case ApiKey::kAlterReplicaLogDirs:
      return "AlterReplicaLogDirs";
    case ApiKey::kDescribeLogDirs:
      return "DescribeLogDirs";
    case ApiKey::kSaslAuthenticate:
      return "SaslAuthenticate";
    case ApiKey::kCreatePartitions:
      return "CreatePartitions";
    case ApiKey::kCreateDelegationToken:
      return "CreateDelegationToken";
    case ApiKey::kRenewDelegationToken:
      return "RenewDelegationToken";
    case ApiKey::kExpireDelegationToken:
      return "ExpireDelegationToken";
    case ApiKey::kDescribeDelegationToken:
      return "DescribeDelegationToken";
    case ApiKey::kDeleteGroups:
      return "DeleteGroups";
    case ApiKey::kElectLeaders:
      return "ElectLeaders";
    case ApiKey::kIncrementalAlterConfigs:
      return "IncrementalAlterConfigs";
    case ApiKey::kAlterPartitionReassignments:
      return "AlterPartitionReassignments";
    case ApiKey::kListPartitionReassignments:
      return "ListPartitionReassignments";
    case ApiKey::kOffsetDelete:
      return "OffsetDelete";
    case ApiKey::kDescribeClientQuotas:
      return "DescribeClientQuotas";
    case ApiKey::kAlterClientQuotas:
      return "AlterClientQuotas";
    case ApiKey::kDescribeUserScramCredentials:
      return "DescribeUserScramCredentials";
    case ApiKey::kAlterUserScramCredentials:
      return "AlterUserScramCredentials";
    case ApiKey::kVote:
      return "Vote";
    case ApiKey::kBeginQuorumEpoch:
      return "BeginQuorumEpoch";
    case ApiKey::kEndQuorumEpoch:
      return "EndQuorumEpoch";
    case ApiKey::kDescribeQuorum:
      return "DescribeQuorum";
    case ApiKey::kAlterPartition:
      return "AlterPartition";
    case ApiKey::kUpdateFeatures:
      return "UpdateFeatures";
    case ApiKey::kEnvelope:
      return "Envelope";
    case ApiKey::kFetchSnapshot:
      return "FetchSnapshot";
    case ApiKey::kDescribeCluster:
      return "DescribeCluster";
    case ApiKey::kDescribeProducers:
      return "DescribeProducers";
    case ApiKey::kBrokerRegistration:
      return "BrokerRegistration";
    case ApiKey::kBrokerHeartbeat:
      return "BrokerHeartbeat";
    case ApiKey::kUnregisterBroker:
      return "UnregisterBroker";
    case ApiKey::kDescribeTransactions:
      return "DescribeTransactions";
    case ApiKey::kListTransactions:
      return "ListTransactions";
    case ApiKey::kAllocateProducerIds:
      return "AllocateProducerIds";
    case ApiKey::kConsumerGroupHeartbeat:
      return "ConsumerGroupHeartbeat";
    case ApiKey::kConsumerGroupDescribe:
      return "ConsumerGroupDescribe";
    case ApiKey::kControllerRegistration:
      return "ControllerRegistration";
    case ApiKey::kGetTelemetrySubscriptions:
      return "GetTelemetrySubscriptions";
    case ApiKey::kPushTelemetry:
      return "PushTelemetry";
    case ApiKey::kAssignReplicasToDirs:
      return "AssignReplicasToDirs";
    case ApiKey::kListClientMetricsResources:
      return "ListClientMetricsResources";
  }
  return "UNKNOWN";
}

namespace {

// From the specs (src/protocol/specs, generated into api_table.cc): served APIs list the
// versions the broker answers; the rest have codecs (so their headers can be read and answered
// with UNSUPPORTED_VERSION) but no handler yet.
const std::vector<ApiVersionRange>& Table() { return GeneratedApiTable(); }

}  // namespace

const std::vector<ApiVersionRange>& AllApis() { return Table(); }

const std::vector<ApiVersionRange>& SupportedApis() {
  static const std::vector<ApiVersionRange> supported = [] {
    std::vector<ApiVersionRange> out;
    for (const ApiVersionRange& r : Table()) {
      if (r.advertised) out.push_back(r);
    }
    return out;
  }();
  return supported;
}

const ApiVersionRange* FindApi(int16_t key) {
  for (const ApiVersionRange& r : SupportedApis()) {
    if (static_cast<int16_t>(r.key) == key) return &r;
  }
  return nullptr;
}

const ApiVersionRange* FindAnyApi(int16_t key) {
  for (const ApiVersionRange& r : Table()) {
    if (static_cast<int16_t>(r.key) == key) return &r;
  }
  return nullptr;
}

bool IsFlexible(ApiKey key, int16_t version) {
  const ApiVersionRange* r = FindAnyApi(static_cast<int16_t>(key));
  return r != nullptr && r->flexible_min >= 0 && version >= r->flexible_min;
}

int RequestHeaderVersion(ApiKey key, int16_t version) {
  // ControlledShutdown v0 predates the client id field (Kafka 0.8 era inter-broker request).
  if (key == ApiKey::kControlledShutdown && version == 0) return 0;
  return IsFlexible(key, version) ? 2 : 1;
}

int ResponseHeaderVersion(ApiKey key, int16_t version) {
  if (key == ApiKey::kApiVersions) return 0;
  return IsFlexible(key, version) ? 1 : 0;
}

}  // namespace gregor::protocol
