// Request/response headers, the ApiKey table and ErrorCode names.

#include "gregor/protocol/header.h"

#include <gtest/gtest.h>

#include <string>

#include "gregor/protocol/api_key.h"
#include "gregor/protocol/error_code.h"

namespace gregor::protocol {
namespace {

TEST(HeaderTest, RequestHeaderV1RoundTrip) {
  RequestHeader h{3, 4, 77, std::string("client")};
  Writer w;
  EncodeRequestHeader(w, h);
  std::string b = w.Flatten();
  EXPECT_EQ(b, std::string("\x00\x03\x00\x04\x00\x00\x00\x4d\x00\x06", 10) + "client");
  Reader r(b);
  RequestHeader d;
  ASSERT_TRUE(DecodeRequestHeader(r, &d));
  EXPECT_EQ(d.api_key, 3);
  EXPECT_EQ(d.api_version, 4);
  EXPECT_EQ(d.correlation_id, 77);
  EXPECT_EQ(d.client_id, std::optional<std::string>("client"));
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(HeaderTest, RequestHeaderV2HasTaggedFieldsAndClassicClientId) {
  // Metadata v9 is flexible: header v2, but the client id stays an int16-length string.
  RequestHeader h{3, 9, 1, std::nullopt};
  Writer w;
  EncodeRequestHeader(w, h);
  EXPECT_EQ(w.Flatten(), std::string("\x00\x03\x00\x09\x00\x00\x00\x01\xff\xff\x00", 11));
  // A v2 header carrying an unknown tagged field still decodes.
  std::string b("\x00\x03\x00\x09\x00\x00\x00\x01\xff\xff\x01\x05\x02zz\x42", 16);
  Reader r(b);
  RequestHeader d;
  ASSERT_TRUE(DecodeRequestHeader(r, &d));
  EXPECT_FALSE(d.client_id.has_value());
  EXPECT_EQ(r.Int8(), 0x42);
}

TEST(HeaderTest, ControlledShutdownV0HasNoClientId) {
  RequestHeader h{7, 0, 5, std::string("ignored")};
  Writer w;
  EncodeRequestHeader(w, h);
  EXPECT_EQ(w.size(), 8u);
  std::string b = w.Flatten() + std::string("\x00\x00\x00\x01", 4);  // body: broker id 1
  Reader r(b);
  RequestHeader d;
  ASSERT_TRUE(DecodeRequestHeader(r, &d));
  EXPECT_FALSE(d.client_id.has_value());
  EXPECT_EQ(r.remaining(), 4u);
}

TEST(HeaderTest, UnknownApiKeyDecodesAsV1) {
  std::string b("\x03\xe7\x00\x02\x00\x00\x00\x09\x00\x01x", 11);  // key 999
  Reader r(b);
  RequestHeader d;
  ASSERT_TRUE(DecodeRequestHeader(r, &d));
  EXPECT_EQ(d.api_key, 999);
  EXPECT_EQ(d.correlation_id, 9);
  EXPECT_EQ(d.client_id, std::optional<std::string>("x"));
}

TEST(HeaderTest, TooNewApiVersionsStillReadsItsHeader) {
  // ApiVersions v4 from a future client: header v2 like v3, so the broker can answer v0.
  std::string b("\x00\x12\x00\x04\x00\x00\x00\x02\x00\x01x\x00", 12);
  Reader r(b);
  RequestHeader d;
  ASSERT_TRUE(DecodeRequestHeader(r, &d));
  EXPECT_EQ(d.api_version, 4);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(HeaderTest, TruncatedHeaderFails) {
  std::string b("\x00\x03\x00\x04\x00\x00", 6);
  Reader r(b);
  RequestHeader d;
  EXPECT_FALSE(DecodeRequestHeader(r, &d));
  std::string c(
      "\x00\x03\x00\x04\x00\x00\x00\x01\x00\x05"
      "ab",
      12);  // client id too short
  Reader rc(c);
  EXPECT_FALSE(DecodeRequestHeader(rc, &d));
}

TEST(HeaderTest, ResponseHeaderVersions) {
  Writer v0;
  EncodeResponseHeader(v0, ApiKey::kMetadata, 8, 5);
  EXPECT_EQ(v0.Flatten(), std::string("\x00\x00\x00\x05", 4));
  Writer v1;
  EncodeResponseHeader(v1, ApiKey::kMetadata, 9, 5);
  EXPECT_EQ(v1.Flatten(), std::string("\x00\x00\x00\x05\x00", 5));
  Writer api_versions;
  EncodeResponseHeader(api_versions, ApiKey::kApiVersions, 3, 5);
  EXPECT_EQ(api_versions.size(), 4u);
}

TEST(ApiKeyTest, HeaderVersionRules) {
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kProduce, 8), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kProduce, 9), 2);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kControlledShutdown, 0), 0);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kControlledShutdown, 1), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kSaslHandshake, 1), 1);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kFetch, 12), 1);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kFetch, 11), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kApiVersions, 3), 0);
  EXPECT_TRUE(IsFlexible(ApiKey::kAlterPartition, 0));
  EXPECT_FALSE(IsFlexible(ApiKey::kOffsetDelete, 0));
  EXPECT_FALSE(IsFlexible(static_cast<ApiKey>(999), 5));
}

TEST(ApiKeyTest, SupportedApisAreTheAdvertisedOnes) {
  struct Want {
    ApiKey key;
    int16_t min, max;
  } want[] = {{ApiKey::kProduce, 0, 11},
              {ApiKey::kFetch, 4, 17},
              {ApiKey::kListOffsets, 0, 9},
              {ApiKey::kMetadata, 0, 12},
              {ApiKey::kLeaderAndIsr, 0, 7},
              {ApiKey::kStopReplica, 0, 4},
              {ApiKey::kUpdateMetadata, 0, 8},
              {ApiKey::kApiVersions, 0, 4},
              {ApiKey::kCreateTopics, 0, 7},
              {ApiKey::kDeleteTopics, 0, 6},
              {ApiKey::kDeleteRecords, 0, 2},
              {ApiKey::kDescribeConfigs, 0, 4},
              {ApiKey::kAlterConfigs, 0, 2},
              {ApiKey::kCreatePartitions, 0, 3},
              {ApiKey::kDescribeAcls, 0, 3},
              {ApiKey::kCreateAcls, 0, 3},
              {ApiKey::kDeleteAcls, 0, 3},
              {ApiKey::kSaslHandshake, 0, 1},
              {ApiKey::kSaslAuthenticate, 0, 2},
              {ApiKey::kDescribeUserScramCredentials, 0, 0},
              {ApiKey::kAlterUserScramCredentials, 0, 0},
              {ApiKey::kIncrementalAlterConfigs, 0, 1},
              {ApiKey::kControlledShutdown, 0, 3},
              {ApiKey::kOffsetForLeaderEpoch, 0, 4},
              {ApiKey::kElectLeaders, 0, 2},
              {ApiKey::kAlterPartitionReassignments, 0, 0},
              {ApiKey::kListPartitionReassignments, 0, 0},
              {ApiKey::kAlterReplicaLogDirs, 0, 2},
              {ApiKey::kDescribeLogDirs, 0, 4},
              {ApiKey::kDescribeCluster, 0, 1},
              {ApiKey::kFindCoordinator, 0, 6},
              {ApiKey::kJoinGroup, 0, 9},
              {ApiKey::kSyncGroup, 0, 5},
              {ApiKey::kHeartbeat, 0, 4},
              {ApiKey::kLeaveGroup, 0, 5},
              {ApiKey::kOffsetCommit, 0, 9},
              {ApiKey::kOffsetFetch, 0, 9},
              {ApiKey::kListGroups, 0, 5},
              {ApiKey::kDescribeGroups, 0, 5},
              {ApiKey::kConsumerGroupHeartbeat, 0, 1},
              {ApiKey::kConsumerGroupDescribe, 0, 1},
              {ApiKey::kDeleteGroups, 0, 2},
              {ApiKey::kOffsetDelete, 0, 0},
              {ApiKey::kTxnOffsetCommit, 0, 4},
              {ApiKey::kInitProducerId, 0, 5},
              {ApiKey::kWriteTxnMarkers, 0, 1},
              {ApiKey::kDescribeProducers, 0, 0},
              {ApiKey::kAddPartitionsToTxn, 0, 5},
              {ApiKey::kAddOffsetsToTxn, 0, 4},
              {ApiKey::kEndTxn, 0, 4},
              {ApiKey::kDescribeTransactions, 0, 0},
              {ApiKey::kListTransactions, 0, 1},
              {ApiKey::kDescribeClientQuotas, 0, 1},
              {ApiKey::kAlterClientQuotas, 0, 1},
              {ApiKey::kAlterPartition, 0, 3}};
  EXPECT_EQ(SupportedApis().size(), sizeof(want) / sizeof(want[0]));
  for (const Want& w : want) {
    const ApiVersionRange* r = FindApi(static_cast<int16_t>(w.key));
    ASSERT_NE(r, nullptr) << ApiKeyName(w.key);
    EXPECT_EQ(r->min, w.min) << ApiKeyName(w.key);
    EXPECT_EQ(r->max, w.max) << ApiKeyName(w.key);
    EXPECT_TRUE(r->advertised);
  }
  // An API without a codec is neither known nor answered.
  EXPECT_EQ(FindApi(static_cast<int16_t>(ApiKey::kUpdateFeatures)), nullptr);
  EXPECT_EQ(FindAnyApi(static_cast<int16_t>(ApiKey::kUpdateFeatures)), nullptr);
}

TEST(ApiKeyTest, ThrottleTimeFirstSinceFollowsTheResponseLayouts) {
  // Kafka's response schemas: ThrottleTimeMs leads the body from these versions on; Produce
  // has it last, ApiVersions after its key list, SaslHandshake not at all.
  EXPECT_EQ(ThrottleTimeFirstSince(ApiKey::kFetch), 1);
  EXPECT_EQ(ThrottleTimeFirstSince(ApiKey::kMetadata), 3);
  EXPECT_EQ(ThrottleTimeFirstSince(ApiKey::kListOffsets), 2);
  EXPECT_EQ(ThrottleTimeFirstSince(ApiKey::kDescribeClientQuotas), 0);
  EXPECT_EQ(ThrottleTimeFirstSince(ApiKey::kProduce), -1);
  EXPECT_EQ(ThrottleTimeFirstSince(ApiKey::kApiVersions), -1);
  EXPECT_EQ(ThrottleTimeFirstSince(ApiKey::kSaslHandshake), -1);
}

TEST(ApiKeyTest, Names) {
  EXPECT_STREQ(ApiKeyName(ApiKey::kApiVersions), "ApiVersions");
  EXPECT_STREQ(ApiKeyName(ApiKey::kAlterPartition), "AlterPartition");
  EXPECT_STREQ(ApiKeyName(static_cast<ApiKey>(-5)), "UNKNOWN");
  EXPECT_EQ(static_cast<int16_t>(ApiKey::kIncrementalAlterConfigs), 44);
  EXPECT_EQ(static_cast<int16_t>(ApiKey::kOffsetDelete), 47);
}

TEST(ErrorCodeTest, CodesAndNamesMatchKafka) {
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kUnknownServerError), -1);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kNone), 0);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kNotLeaderOrFollower), 6);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kStaleControllerEpoch), 11);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kNotEnoughReplicas), 19);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kUnsupportedVersion), 35);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kTopicAlreadyExists), 36);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kNotController), 41);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kKafkaStorageError), 56);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kFencedLeaderEpoch), 74);
  EXPECT_EQ(static_cast<int16_t>(ErrorCode::kUnknownTopicId), 100);
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kNotLeaderOrFollower), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_STREQ(ErrorCodeName(int16_t{3}), "UNKNOWN_TOPIC_OR_PARTITION");
  EXPECT_STREQ(ErrorCodeName(int16_t{-300}), "UNKNOWN");
}

}  // namespace
}  // namespace gregor::protocol
