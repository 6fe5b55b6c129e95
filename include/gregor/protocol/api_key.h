#pragma once
// ApiKey and the table of APIs gregor implements.
//
// What: Kafka's request type numbers, their names, and for each API that has a generated codec
// the version range gregor advertises in ApiVersions, the first flexible version (KIP-482) and
// whether it is advertised at all. Header versions are derived from this table, so the
// connection can decode any request header the codec knows, advertised or not.
// Owner/thread: constant data built once (thread-safe static initialisation); read-only.
// Errors: lookups return nullptr / "UNKNOWN" for keys outside the table, never fail hard.
// To switch an API on, set `advertised` in src/protocol/api_key.cc.

#include <cstdint>
#include <vector>

namespace gregor::protocol {

enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kLeaderAndIsr = 4,
  kStopReplica = 5,
  kUpdateMetadata = 6,
  kControlledShutdown = 7,
  kOffsetCommit = 8,
  kOffsetFetch = 9,
  kFindCoordinator = 10,
  kJoinGroup = 11,
  kHeartbeat = 12,
  kLeaveGroup = 13,
  kSyncGroup = 14,
  kDescribeGroups = 15,
  kListGroups = 16,
  kSaslHandshake = 17,
  kApiVersions = 18,
  kCreateTopics = 19,
  kDeleteTopics = 20,
  kDeleteRecords = 21,
  kInitProducerId = 22,
  kOffsetForLeaderEpoch = 23,
  kAddPartitionsToTxn = 24,
  kAddOffsetsToTxn = 25,
  kEndTxn = 26,
  kWriteTxnMarkers = 27,
  kTxnOffsetCommit = 28,
  kDescribeAcls = 29,
  kCreateAcls = 30,
  kDeleteAcls = 31,
  kDescribeConfigs = 32,
  kAlterConfigs = 33,
  kAlterReplicaLogDirs = 34,
  kDescribeLogDirs = 35,
  kSaslAuthenticate = 36,
  kCreatePartitions = 37,
  kCreateDelegationToken = 38,
  kRenewDelegationToken = 39,
  kExpireDelegationToken = 40,
  kDescribeDelegationToken = 41,
  kDeleteGroups = 42,
  kElectLeaders = 43,
  kIncrementalAlterConfigs = 44,
  kAlterPartitionReassignments = 45,
  kListPartitionReassignments = 46,
  kOffsetDelete = 47,
  kDescribeClientQuotas = 48,
  kAlterClientQuotas = 49,
  kDescribeUserScramCredentials = 50,
  kAlterUserScramCredentials = 51,
  kVote = 52,
  kBeginQuorumEpoch = 53,
  kEndQuorumEpoch = 54,
  kDescribeQuorum = 55,
  kAlterPartition = 56,
  kUpdateFeatures = 57,
  kEnvelope = 58,
  kFetchSnapshot = 59,
  kDescribeCluster = 60,
  kDescribeProducers = 61,
  kBrokerRegistration = 62,
  kBrokerHeartbeat = 63,
  kUnregisterBroker = 64,
  kDescribeTransactions = 65,
  kListTransactions = 66,
  kAllocateProducerIds = 67,
  kConsumerGroupHeartbeat = 68,
  kConsumerGroupDescribe = 69,
  kControllerRegistration = 70,
  kGetTelemetrySubscriptions = 71,
  kPushTelemetry = 72,
  kAssignReplicasToDirs = 73,
  kListClientMetricsResources = 74,
};

// Kafka's name for the API, e.g. "Produce", "ApiVersions"; "UNKNOWN" for other values.
const char* ApiKeyName(ApiKey key);

struct ApiVersionRange {
  ApiKey key;
  int16_t min;
  int16_t max;
  int16_t flexible_min;  // -1 if never flexible
  bool advertised;       // listed in ApiVersions responses and served by the broker
};

// Every API with a spec, ordered by key: generated from src/protocol/specs (the one place
// where API keys and version ranges are written down).
const std::vector<ApiVersionRange>& GeneratedApiTable();
// The advertised APIs only (what ApiVersions returns), ordered by key.
const std::vector<ApiVersionRange>& SupportedApis();
// Every API with a generated codec, advertised or not. For non-advertised APIs min/max are the
// codec's version range.
const std::vector<ApiVersionRange>& AllApis();
// An advertised API by key, or nullptr.
const ApiVersionRange* FindApi(int16_t key);
// Any API with a codec (advertised or not), or nullptr.
const ApiVersionRange* FindAnyApi(int16_t key);
// KIP-219: the lowest version of the API whose response body starts with ThrottleTimeMs (the
// versions above it do too), or -1 (generated from the specs; Produce has it last).
int16_t ThrottleTimeFirstSince(ApiKey key);

// True when `version` of the API uses compact encodings and tagged fields. False for APIs
// without a codec.
bool IsFlexible(ApiKey key, int16_t version);
// Request header version: 2 for flexible versions, 0 for ControlledShutdown v0, 1 otherwise.
int RequestHeaderVersion(ApiKey key, int16_t version);
// Response header version: 1 for flexible versions, except ApiVersions which always uses 0 so
// that a client can parse the answer before it knows which versions the broker speaks.
int ResponseHeaderVersion(ApiKey key, int16_t version);

}  // namespace gregor::protocol
