// Golden frames of the remaining versions a Kafka 3.9 ZooKeeper-mode broker serves: the KIP-890
// bumps (EndTxn v4, InitProducerId v5, AddOffsetsToTxn v4, TxnOffsetCommit v4,
// AddPartitionsToTxn v5), ApiVersions v4 (KAFKA-17011), FindCoordinator v6 (KIP-932), the
// controller's LeaderAndIsr v7, UpdateMetadata v8 and StopReplica v4 (KIP-866), and
// AlterPartition v0-3. Each request frame (header v2, client id "c", correlation id 7) and each
// response frame (header v1, or v0 for ApiVersions) is written out field by field from Kafka's
// JSON schemas; requests must decode to the fields written and re-encode to the same bytes,
// responses must encode to the bytes written.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "gregor/protocol/header.h"
#include "gregor/protocol/messages/all.h"
#include "protocol/hex.h"

namespace gregor::protocol {
namespace {

using golden::Hex;
using golden::Unhex;

// Request header v2 of `key` at `version`: correlation id 7, client id "c", no tagged fields.
std::string RequestHeaderHex(int16_t key, int16_t version) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x%04x", key, version);
  return std::string(buf) + "00000007" + "000163" + "00";
}

// Decodes a whole request frame (without its size prefix) into T and checks that it re-encodes
// to the same bytes.
template <typename T>
T DecodeFrame(const std::string& hex, int16_t version) {
  const std::string frame = Unhex(hex);
  Reader r(frame);
  RequestHeader h;
  EXPECT_TRUE(DecodeRequestHeader(r, &h));
  EXPECT_EQ(h.api_key, T::kApiKey);
  EXPECT_EQ(h.api_version, version);
  EXPECT_EQ(h.correlation_id, 7);
  EXPECT_EQ(h.client_id, std::optional<std::string>("c"));
  T body;
  EXPECT_TRUE(body.Decode(r, version));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  Writer w;
  EncodeRequestHeader(w, h);
  body.Encode(w, version);
  EXPECT_EQ(Hex(w.Flatten()), hex);
  return body;
}

// The response frame (header and body) for correlation id 7.
template <typename T>
std::string ResponseFrame(const T& body, int16_t version) {
  Writer w;
  EncodeResponseHeader(w, static_cast<ApiKey>(T::kApiKey), version, 7);
  body.Encode(w, version);
  return Hex(w.Flatten());
}

const char kTopicId[] = "000102030405060708090a0b0c0d0e0f";
const std::array<uint8_t, 16> kTopicIdBytes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// ---------------------------------------------------------------- KIP-890 bumps

TEST(Kafka39VersionsTest, EndTxnV4) {
  const std::string request = RequestHeaderHex(26, 4) +
                              "037478"            // TransactionalId "tx"
                              "0000000000000005"  // ProducerId 5
                              "0002"              // ProducerEpoch 2
                              "01"                // Committed
                              "00";               // tagged fields
  auto req = DecodeFrame<EndTxnRequest>(request, 4);
  EXPECT_EQ(req.transactional_id, "tx");
  EXPECT_EQ(req.producer_id, 5);
  EXPECT_EQ(req.producer_epoch, 2);
  EXPECT_TRUE(req.committed);
  EndTxnResponse resp;
  resp.error_code = ErrorCode::kTransactionAbortable;
  EXPECT_EQ(ResponseFrame(resp, 4), std::string("00000007") + "00" +  // header v1
                                        "00000000"                    // ThrottleTimeMs
                                        "0078"                        // TRANSACTION_ABORTABLE
                                        "00");
}

TEST(Kafka39VersionsTest, InitProducerIdV5) {
  const std::string request = RequestHeaderHex(22, 5) +
                              "037478"            // TransactionalId "tx"
                              "0000ea60"          // TransactionTimeoutMs 60000
                              "ffffffffffffffff"  // ProducerId -1
                              "ffff"              // ProducerEpoch -1
                              "00";
  auto req = DecodeFrame<InitProducerIdRequest>(request, 5);
  EXPECT_EQ(req.transactional_id, std::optional<std::string>("tx"));
  EXPECT_EQ(req.transaction_timeout_ms, 60000);
  EXPECT_EQ(req.producer_id, -1);
  EXPECT_EQ(req.producer_epoch, -1);
  InitProducerIdResponse resp;
  resp.producer_id = 42;
  resp.producer_epoch = 3;
  EXPECT_EQ(ResponseFrame(resp, 5), std::string("00000007") + "00" +
                                        "00000000"          // ThrottleTimeMs
                                        "0000"              // ErrorCode
                                        "000000000000002a"  // ProducerId 42
                                        "0003"              // ProducerEpoch 3
                                        "00");
}

TEST(Kafka39VersionsTest, AddOffsetsToTxnV4) {
  const std::string request = RequestHeaderHex(25, 4) +
                              "037478"            // TransactionalId "tx"
                              "0000000000000005"  // ProducerId
                              "0002"              // ProducerEpoch
                              "0267"              // GroupId "g"
                              "00";
  auto req = DecodeFrame<AddOffsetsToTxnRequest>(request, 4);
  EXPECT_EQ(req.group_id, "g");
  AddOffsetsToTxnResponse resp;
  resp.error_code = ErrorCode::kTransactionAbortable;
  EXPECT_EQ(ResponseFrame(resp, 4), std::string("00000007") + "00" + "00000000" + "0078" + "00");
}

TEST(Kafka39VersionsTest, TxnOffsetCommitV4) {
  const std::string request = RequestHeaderHex(28, 4) +
                              "037478"            // TransactionalId "tx"
                              "0267"              // GroupId "g"
                              "0000000000000005"  // ProducerId
                              "0002"              // ProducerEpoch
                              "00000001"          // GenerationId 1
                              "026d"              // MemberId "m"
                              "00"                // GroupInstanceId null
                              "02"                // Topics: 1
                              "0274"              //   Name "t"
                              "02"                //   Partitions: 1
                              "00000000"          //     PartitionIndex 0
                              "000000000000000a"  //     CommittedOffset 10
                              "ffffffff"          //     CommittedLeaderEpoch -1
                              "00"                //     CommittedMetadata null
                              "00"                //     tagged fields
                              "00"                //   tagged fields
                              "00";
  auto req = DecodeFrame<TxnOffsetCommitRequest>(request, 4);
  EXPECT_EQ(req.generation_id, 1);
  EXPECT_EQ(req.member_id, "m");
  EXPECT_FALSE(req.group_instance_id.has_value());
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].partitions.at(0).committed_offset, 10);
  EXPECT_FALSE(req.topics[0].partitions[0].committed_metadata.has_value());
  TxnOffsetCommitResponse resp;
  auto& t = resp.topics.emplace_back();
  t.name = "t";
  t.partitions.push_back({0, ErrorCode::kTransactionAbortable});
  EXPECT_EQ(ResponseFrame(resp, 4), std::string("00000007") + "00" +
                                        "00000000"  // ThrottleTimeMs
                                        "02"        // Topics: 1
                                        "0274"      //   Name "t"
                                        "02"        //   Partitions: 1
                                        "00000000"  //     PartitionIndex
                                        "0078"      //     TRANSACTION_ABORTABLE
                                        "00"
                                        "00"
                                        "00");
}

TEST(Kafka39VersionsTest, AddPartitionsToTxnV5VerifyOnly) {
  const std::string request = RequestHeaderHex(24, 5) +
                              "02"                // Transactions: 1
                              "037478"            //   TransactionalId "tx"
                              "0000000000000005"  //   ProducerId
                              "0002"              //   ProducerEpoch
                              "01"                //   VerifyOnly
                              "02"                //   Topics: 1
                              "0274"              //     Name "t"
                              "03"                //     Partitions: 2
                              "00000000"
                              "00000001"
                              "00"  //     tagged fields
                              "00"  //   tagged fields
                              "00";
  auto req = DecodeFrame<AddPartitionsToTxnRequest>(request, 5);
  ASSERT_EQ(req.transactions.size(), 1u);
  EXPECT_TRUE(req.transactions[0].verify_only);
  EXPECT_EQ(req.transactions[0].topics.at(0).partitions, (std::vector<int32_t>{0, 1}));
  AddPartitionsToTxnResponse resp;
  auto& r = resp.results_by_transaction.emplace_back();
  r.transactional_id = "tx";
  auto& tr = r.topic_results.emplace_back();
  tr.name = "t";
  tr.results_by_partition.push_back({0, ErrorCode::kNone});
  tr.results_by_partition.push_back({1, ErrorCode::kTransactionAbortable});
  EXPECT_EQ(ResponseFrame(resp, 5), std::string("00000007") + "00" +
                                        "00000000"  // ThrottleTimeMs
                                        "0000"      // ErrorCode
                                        "02"        // ResultsByTransaction: 1
                                        "037478"    //   TransactionalId
                                        "02"        //   TopicResults: 1
                                        "0274"      //     Name
                                        "03"        //     ResultsByPartition: 2
                                        "00000000"
                                        "0000"
                                        "00"
                                        "00000001"
                                        "0078"
                                        "00"
                                        "00"
                                        "00"
                                        "00");
}

// ---------------------------------------------------------------- ApiVersions, FindCoordinator

TEST(Kafka39VersionsTest, ApiVersionsV4) {
  const std::string request = RequestHeaderHex(18, 4) +
                              "07677265676f72"  // ClientSoftwareName "gregor"
                              "04312e30"        // ClientSoftwareVersion "1.0"
                              "00";
  auto req = DecodeFrame<ApiVersionsRequest>(request, 4);
  EXPECT_EQ(req.client_software_name, "gregor");
  EXPECT_EQ(req.client_software_version, "1.0");
  // v4 only allows a SupportedFeatures MinVersion of 0 (which Kafka leaves out below v4); the
  // layout is v3's. The response header stays v0 (no tagged fields), as for every version.
  ApiVersionsResponse resp;
  resp.api_keys.push_back({18, 0, 4});
  auto& f = resp.supported_features.emplace_back();
  f.name = "f";
  f.min_version = 0;
  f.max_version = 1;
  const std::string body =
      "0000"      // ErrorCode
      "02"        // ApiKeys: 1
      "0012"      //   ApiKey 18
      "0000"      //   MinVersion 0
      "0004"      //   MaxVersion 4
      "00"        //   tagged fields
      "00000000"  // ThrottleTimeMs
      "01"        // one tagged field
      "00"        //   tag 0: SupportedFeatures
      "08"        //   8 bytes
      "02"        //     1 feature
      "0266"      //       Name "f"
      "0000"      //       MinVersion 0
      "0001"      //       MaxVersion 1
      "00";       //       tagged fields
  EXPECT_EQ(ResponseFrame(resp, 4), std::string("00000007") + body);
  EXPECT_EQ(ResponseFrame(resp, 3), std::string("00000007") + body);
}

TEST(Kafka39VersionsTest, FindCoordinatorV6ShareKey) {
  const std::string request = RequestHeaderHex(10, 6) +
                              "02"    // KeyType 2 (SHARE)
                              "02"    // CoordinatorKeys: 1
                              "0273"  //   "s"
                              "00";
  auto req = DecodeFrame<FindCoordinatorRequest>(request, 6);
  EXPECT_EQ(req.key_type, 2);
  EXPECT_EQ(req.coordinator_keys, std::vector<std::string>{"s"});
  // A ZooKeeper-mode Kafka 3.9 broker has no share coordinator: COORDINATOR_NOT_AVAILABLE,
  // Node.noNode() (-1, "", -1), and the ErrorMessage it never sets at v4+: the schema's
  // default, "" (not null).
  FindCoordinatorResponse resp;
  auto& c = resp.coordinators.emplace_back();
  c.key = "s";
  c.node_id = -1;
  c.host = "";
  c.port = -1;
  c.error_code = ErrorCode::kCoordinatorNotAvailable;
  EXPECT_EQ(ResponseFrame(resp, 6), std::string("00000007") + "00" +
                                        "00000000"  // ThrottleTimeMs
                                        "02"        // Coordinators: 1
                                        "0273"      //   Key "s"
                                        "ffffffff"  //   NodeId -1
                                        "01"        //   Host ""
                                        "ffffffff"  //   Port -1
                                        "000f"      //   COORDINATOR_NOT_AVAILABLE
                                        "01"        //   ErrorMessage ""
                                        "00"
                                        "00");
}

// ---------------------------------------------------------------- KIP-866 controller requests

std::string LeaderAndIsrV7(bool kraft) {
  return RequestHeaderHex(4, 7) + "00000001"  // ControllerId 1
         + (kraft ? "01" : "00") +            // isKRaftController
         "00000003"                           // ControllerEpoch 3
         "0000000000000064"                   // BrokerEpoch 100
         "00"                                 // Type 0
         "02"                                 // TopicStates: 1
         "0274" +                             //   TopicName "t"
         kTopicId +                           //   TopicId
         "02"                                 //   PartitionStates: 1
         "00000000"                           //     PartitionIndex 0
         "00000003"                           //     ControllerEpoch 3
         "00000001"                           //     Leader 1
         "00000005"                           //     LeaderEpoch 5
         "030000000100000002"                 //     Isr [1, 2]
         "00000007"                           //     PartitionEpoch 7
         "030000000100000002"                 //     Replicas [1, 2]
         "01"                                 //     AddingReplicas []
         "01"                                 //     RemovingReplicas []
         "00"                                 //     IsNew false
         "00"                                 //     LeaderRecoveryState 0
         "00"                                 //     tagged fields
         "00"                                 //   tagged fields
         "02"                                 // LiveLeaders: 1
         "00000001"                           //   BrokerId 1
         "0268"                               //   HostName "h"
         "00002384"                           //   Port 9092
         "00"                                 //   tagged fields
         "00";
}

TEST(Kafka39VersionsTest, LeaderAndIsrV7) {
  auto req = DecodeFrame<LeaderAndIsrRequest>(LeaderAndIsrV7(false), 7);
  EXPECT_FALSE(req.is_k_raft_controller);
  EXPECT_EQ(req.controller_id, 1);
  EXPECT_EQ(req.controller_epoch, 3);
  EXPECT_EQ(req.broker_epoch, 100);
  ASSERT_EQ(req.topic_states.size(), 1u);
  EXPECT_EQ(req.topic_states[0].topic_id, kTopicIdBytes);
  const auto& ps = req.topic_states[0].partition_states.at(0);
  EXPECT_EQ(ps.leader_epoch, 5);
  EXPECT_EQ(ps.partition_epoch, 7);
  EXPECT_EQ(ps.isr, (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE(DecodeFrame<LeaderAndIsrRequest>(LeaderAndIsrV7(true), 7).is_k_raft_controller);

  LeaderAndIsrResponse resp;
  auto& t = resp.topics.emplace_back();
  t.topic_id = kTopicIdBytes;
  t.partition_errors.push_back({"", 0, ErrorCode::kNone});
  EXPECT_EQ(ResponseFrame(resp, 7), std::string("00000007") + "00" +
                                        "0000"  // ErrorCode
                                        "02" +  // Topics: 1
                                        kTopicId +
                                        "02"        //   PartitionErrors: 1
                                        "00000000"  //     PartitionIndex
                                        "0000"      //     ErrorCode
                                        "00"
                                        "00"
                                        "00");
}

std::string UpdateMetadataV8(bool kraft) {
  return RequestHeaderHex(6, 8) + "00000001" +
         (kraft ? "01" : "00") +  // ControllerId 1, isKRaftController
         "00000003"               // ControllerEpoch 3
         "0000000000000064"       // BrokerEpoch 100
         "02"                     // TopicStates: 1
         "0274" +                 //   TopicName "t"
         kTopicId +               //   TopicId
         "02"                     //   PartitionStates: 1
         "00000000"               //     PartitionIndex
         "00000003"               //     ControllerEpoch
         "00000001"               //     Leader 1
         "00000005"               //     LeaderEpoch 5
         "030000000100000002"     //     Isr [1, 2]
         "00000007"               //     ZkVersion 7
         "030000000100000002"     //     Replicas [1, 2]
         "01"                     //     OfflineReplicas []
         "00"                     //     tagged fields
         "00"                     //   tagged fields
         "02"                     // LiveBrokers: 1
         "00000001"               //   Id 1
         "02"                     //   Endpoints: 1
         "00002384"               //     Port 9092
         "0268"                   //     Host "h"
         "0a504c41494e54455854"   //     Listener "PLAINTEXT"
         "0000"                   //     SecurityProtocol 0
         "00"                     //     tagged fields
         "00"                     //   Rack null
         "00" +                   //   tagged fields
         (kraft ? "01000102"      // tag 0 (Type), 1 byte: 2 (FULL)
                : "00");
}

TEST(Kafka39VersionsTest, UpdateMetadataV8) {
  auto req = DecodeFrame<UpdateMetadataRequest>(UpdateMetadataV8(false), 8);
  EXPECT_FALSE(req.is_k_raft_controller);
  EXPECT_EQ(req.type, 0);
  ASSERT_EQ(req.live_brokers.size(), 1u);
  EXPECT_EQ(req.live_brokers[0].endpoints.at(0).listener, "PLAINTEXT");
  EXPECT_EQ(req.topic_states.at(0).partition_states.at(0).zk_version, 7);
  auto kraft = DecodeFrame<UpdateMetadataRequest>(UpdateMetadataV8(true), 8);
  EXPECT_TRUE(kraft.is_k_raft_controller);
  EXPECT_EQ(kraft.type, 2);
  UpdateMetadataResponse resp;
  resp.error_code = ErrorCode::kUnknownServerError;
  EXPECT_EQ(ResponseFrame(resp, 8), std::string("00000007") + "00" + "ffff" + "00");
}

TEST(Kafka39VersionsTest, StopReplicaV4) {
  const std::string request = RequestHeaderHex(5, 4) +
                              "00000001"          // ControllerId
                              "00"                // isKRaftController
                              "00000003"          // ControllerEpoch
                              "0000000000000064"  // BrokerEpoch
                              "02"                // TopicStates: 1
                              "0274"              //   TopicName "t"
                              "02"                //   PartitionStates: 1
                              "00000000"          //     PartitionIndex
                              "00000005"          //     LeaderEpoch 5
                              "01"                //     DeletePartition
                              "00"
                              "00"
                              "00";
  auto req = DecodeFrame<StopReplicaRequest>(request, 4);
  EXPECT_FALSE(req.is_k_raft_controller);
  ASSERT_EQ(req.topic_states.size(), 1u);
  EXPECT_TRUE(req.topic_states[0].partition_states.at(0).delete_partition);
  StopReplicaResponse resp;
  resp.partition_errors.push_back({"t", 0, ErrorCode::kNone});
  EXPECT_EQ(ResponseFrame(resp, 4), std::string("00000007") + "00" +
                                        "0000"      // ErrorCode
                                        "02"        // PartitionErrors: 1
                                        "0274"      //   TopicName
                                        "00000000"  //   PartitionIndex
                                        "0000"      //   ErrorCode
                                        "00"
                                        "00");
}

// ---------------------------------------------------------------- AlterPartition

TEST(Kafka39VersionsTest, AlterPartitionV0ByName) {
  const std::string request = RequestHeaderHex(56, 0) +
                              "00000002"            // BrokerId 2
                              "0000000000000064"    // BrokerEpoch 100
                              "02"                  // Topics: 1
                              "0274"                //   TopicName "t"
                              "02"                  //   Partitions: 1
                              "00000000"            //     PartitionIndex
                              "00000005"            //     LeaderEpoch 5
                              "030000000200000003"  //     NewIsr [2, 3]
                              "00000007"            //     PartitionEpoch 7
                              "00"
                              "00"
                              "00";
  auto req = DecodeFrame<AlterPartitionRequest>(request, 0);
  EXPECT_EQ(req.broker_id, 2);
  EXPECT_EQ(req.broker_epoch, 100);
  EXPECT_EQ(req.topics.at(0).topic_name, "t");
  EXPECT_EQ(req.topics[0].partitions.at(0).new_isr, (std::vector<int32_t>{2, 3}));
  AlterPartitionResponse resp;
  auto& t = resp.topics.emplace_back();
  t.topic_name = "t";
  auto& p = t.partitions.emplace_back();
  p.leader_id = 2;
  p.leader_epoch = 5;
  p.isr = {2, 3};
  p.partition_epoch = 8;
  EXPECT_EQ(ResponseFrame(resp, 0), std::string("00000007") + "00" +
                                        "00000000"            // ThrottleTimeMs
                                        "0000"                // ErrorCode
                                        "02"                  // Topics: 1
                                        "0274"                //   TopicName
                                        "02"                  //   Partitions: 1
                                        "00000000"            //     PartitionIndex
                                        "0000"                //     ErrorCode
                                        "00000002"            //     LeaderId 2
                                        "00000005"            //     LeaderEpoch 5
                                        "030000000200000003"  //     Isr [2, 3]
                                        "00000008"            //     PartitionEpoch 8
                                        "00"
                                        "00"
                                        "00");
}

TEST(Kafka39VersionsTest, AlterPartitionV1AddsLeaderRecoveryState) {
  const std::string request = RequestHeaderHex(56, 1) + "00000002" + "0000000000000064" + "02" +
                              "0274" + "02" + "00000000" + "00000005" + "0200000002" +
                              "01"  // LeaderRecoveryState 1 (RECOVERING)
                              "00000007" +
                              "00" + "00" + "00";
  auto req = DecodeFrame<AlterPartitionRequest>(request, 1);
  EXPECT_EQ(req.topics.at(0).partitions.at(0).leader_recovery_state, 1);
  AlterPartitionResponse resp;
  auto& t = resp.topics.emplace_back();
  t.topic_name = "t";
  auto& p = t.partitions.emplace_back();
  p.error_code = ErrorCode::kInvalidRequest;
  EXPECT_EQ(ResponseFrame(resp, 1), std::string("00000007") + "00" + "00000000" + "0000" + "02" +
                                        "0274" + "02" + "00000000" +
                                        "002a"      // INVALID_REQUEST
                                        "00000000"  // LeaderId 0 (Kafka's default)
                                        "00000000"  // LeaderEpoch 0
                                        "01"        // Isr []
                                        "00"        // LeaderRecoveryState 0
                                        "00000000"  // PartitionEpoch 0
                                        "00" +
                                        "00" + "00");
}

TEST(Kafka39VersionsTest, AlterPartitionV3ByIdWithBrokerEpochs) {
  const std::string request = RequestHeaderHex(56, 3) +
                              "00000002"          // BrokerId 2
                              "0000000000000064"  // BrokerEpoch 100
                              "02" +              // Topics: 1
                              kTopicId +          //   TopicId
                              "02"                //   Partitions: 1
                              "00000000"          //     PartitionIndex
                              "00000005"          //     LeaderEpoch 5
                              "03"                //     NewIsrWithEpochs: 2
                              "00000002"          //       BrokerId 2
                              "ffffffffffffffff"  //       BrokerEpoch -1
                              "00"
                              "00000003"          //       BrokerId 3
                              "00000000000000c8"  //       BrokerEpoch 200
                              "00"
                              "00"        //     LeaderRecoveryState 0
                              "00000007"  //     PartitionEpoch 7
                              "00"
                              "00"
                              "00";
  auto req = DecodeFrame<AlterPartitionRequest>(request, 3);
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].topic_id, kTopicIdBytes);
  const auto& pd = req.topics[0].partitions.at(0);
  ASSERT_EQ(pd.new_isr_with_epochs.size(), 2u);
  EXPECT_EQ(pd.new_isr_with_epochs[0].broker_epoch, -1);
  EXPECT_EQ(pd.new_isr_with_epochs[1].broker_id, 3);
  EXPECT_EQ(pd.new_isr_with_epochs[1].broker_epoch, 200);
  EXPECT_TRUE(pd.new_isr.empty());
  AlterPartitionResponse resp;
  auto& t = resp.topics.emplace_back();
  t.topic_id = kTopicIdBytes;
  auto& p = t.partitions.emplace_back();
  p.leader_id = 2;
  p.leader_epoch = 5;
  p.isr = {2, 3};
  p.partition_epoch = 8;
  EXPECT_EQ(ResponseFrame(resp, 3), std::string("00000007") + "00" +
                                        "00000000"  // ThrottleTimeMs
                                        "0000"      // ErrorCode
                                        "02" +      // Topics: 1
                                        kTopicId +  //   TopicId
                                        "02"        //   Partitions: 1
                                        "00000000"
                                        "0000"
                                        "00000002"
                                        "00000005"
                                        "030000000200000003"
                                        "00"        //     LeaderRecoveryState
                                        "00000008"  //     PartitionEpoch
                                        "00"
                                        "00"
                                        "00");
  // A top-level error carries no topics.
  AlterPartitionResponse stale;
  stale.error_code = ErrorCode::kStaleBrokerEpoch;
  EXPECT_EQ(ResponseFrame(stale, 3),
            std::string("00000007") + "00" + "00000000" + "004d" + "01" + "00");
}

}  // namespace
}  // namespace gregor::protocol
