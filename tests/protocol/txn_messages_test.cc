// Golden layouts of the transaction APIs' requests (specs AddPartitionsToTxn ... ListTransactions).
// The expected bytes are written out by hand from Kafka 3.7's JSON schemas (field order, types,
// compact encodings of flexible versions), not produced by our encoder: each test decodes them
// field by field and checks that encoding the same message gives them back. Round trips and
// truncations at every version come from messages_test.cc.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/protocol/api_key.h"
#include "gregor/protocol/messages/all.h"
#include "protocol/hex.h"

namespace gregor::protocol {
namespace {

using golden::Hex;
using golden::Unhex;

// Decodes the whole of `hex` as version `version` of T.
template <typename T>
::testing::AssertionResult DecodesExactly(const std::string& hex, int16_t version, T* out) {
  std::string bytes = Unhex(hex);
  Reader r(bytes);
  if (!out->Decode(r, version)) return ::testing::AssertionFailure() << "decode failed";
  if (r.remaining() != 0) return ::testing::AssertionFailure() << r.remaining() << " bytes left";
  return ::testing::AssertionSuccess();
}

template <typename T>
std::string EncodeHex(const T& m, int16_t version) {
  Writer w;
  m.Encode(w, version);
  return Hex(w.Flatten());
}

TEST(TxnMessagesTest, AddPartitionsToTxnRequestV4BatchesTransactions) {
  const std::string golden =
      "02"                // Transactions: compact array, 1 element
      "037478"            //   TransactionalId "tx"
      "0000000000000005"  //   ProducerId 5
      "0002"              //   ProducerEpoch 2
      "01"                //   VerifyOnly true
      "02"                //   Topics: 1 element
      "0274"              //     Name "t"
      "03"                //     Partitions: 2 elements
      "00000000"          //       0
      "00000003"          //       3
      "00"                //     topic tagged fields
      "00"                //   transaction tagged fields
      "00";               // request tagged fields
  AddPartitionsToTxnRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 4, &req));
  ASSERT_EQ(req.transactions.size(), 1u);
  const auto& tx = req.transactions[0];
  EXPECT_EQ(tx.transactional_id, "tx");
  EXPECT_EQ(tx.producer_id, 5);
  EXPECT_EQ(tx.producer_epoch, 2);
  EXPECT_TRUE(tx.verify_only);
  ASSERT_EQ(tx.topics.size(), 1u);
  EXPECT_EQ(tx.topics[0].name, "t");
  EXPECT_EQ(tx.topics[0].partitions, (std::vector<int32_t>{0, 3}));
  EXPECT_TRUE(req.v3_and_below_topics.empty());

  AddPartitionsToTxnRequest built;
  built.transactions.push_back({"tx", 5, 2, true, {{"t", {0, 3}}}});
  EXPECT_EQ(EncodeHex(built, 4), golden);
}

TEST(TxnMessagesTest, AddPartitionsToTxnRequestV3UsesTheSingleTransactionFields) {
  const std::string golden =
      "037478"            // V3AndBelowTransactionalId "tx"
      "0000000000000005"  // V3AndBelowProducerId 5
      "0002"              // V3AndBelowProducerEpoch 2
      "02"                // V3AndBelowTopics: 1 element
      "0274"              //   Name "t"
      "02"                //   Partitions: 1 element
      "00000001"          //     1
      "00"                //   topic tagged fields
      "00";               // request tagged fields
  AddPartitionsToTxnRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 3, &req));
  EXPECT_EQ(req.v3_and_below_transactional_id, "tx");
  EXPECT_EQ(req.v3_and_below_producer_id, 5);
  EXPECT_EQ(req.v3_and_below_producer_epoch, 2);
  ASSERT_EQ(req.v3_and_below_topics.size(), 1u);
  EXPECT_EQ(req.v3_and_below_topics[0].partitions, (std::vector<int32_t>{1}));
  EXPECT_TRUE(req.transactions.empty());
  EXPECT_EQ(EncodeHex(req, 3), golden);
}

TEST(TxnMessagesTest, AddPartitionsToTxnResponseV4GroupsResultsByTransaction) {
  const std::string golden =
      "00000000"  // ThrottleTimeMs 0
      "0000"      // ErrorCode 0 (v4+)
      "02"        // ResultsByTransaction: 1 element
      "037478"    //   TransactionalId "tx"
      "02"        //   TopicResults: 1 element
      "0274"      //     Name "t"
      "02"        //     ResultsByPartition: 1 element
      "00000003"  //       PartitionIndex 3
      "0030"      //       PartitionErrorCode 48 (INVALID_TXN_STATE)
      "00"        //       partition tagged fields
      "00"        //     topic tagged fields
      "00"        //   transaction tagged fields
      "00";       // response tagged fields
  AddPartitionsToTxnResponse resp;
  ASSERT_TRUE(DecodesExactly(golden, 4, &resp));
  ASSERT_EQ(resp.results_by_transaction.size(), 1u);
  EXPECT_EQ(resp.results_by_transaction[0].transactional_id, "tx");
  ASSERT_EQ(resp.results_by_transaction[0].topic_results.size(), 1u);
  const auto& topic = resp.results_by_transaction[0].topic_results[0];
  EXPECT_EQ(topic.name, "t");
  ASSERT_EQ(topic.results_by_partition.size(), 1u);
  EXPECT_EQ(topic.results_by_partition[0].partition_index, 3);
  EXPECT_EQ(topic.results_by_partition[0].partition_error_code, ErrorCode::kInvalidTxnState);
  EXPECT_EQ(EncodeHex(resp, 4), golden);
}

TEST(TxnMessagesTest, AddOffsetsToTxnRequestV3) {
  const std::string golden =
      "037478"            // TransactionalId "tx"
      "0000000000000005"  // ProducerId 5
      "0002"              // ProducerEpoch 2
      "0267"              // GroupId "g"
      "00";               // tagged fields
  AddOffsetsToTxnRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 3, &req));
  EXPECT_EQ(req.transactional_id, "tx");
  EXPECT_EQ(req.producer_id, 5);
  EXPECT_EQ(req.producer_epoch, 2);
  EXPECT_EQ(req.group_id, "g");

  AddOffsetsToTxnRequest built;
  built.transactional_id = "tx";
  built.producer_id = 5;
  built.producer_epoch = 2;
  built.group_id = "g";
  EXPECT_EQ(EncodeHex(built, 3), golden);
}

TEST(TxnMessagesTest, EndTxnRequestV3) {
  const std::string golden =
      "037478"            // TransactionalId "tx"
      "0000000000000005"  // ProducerId 5
      "0002"              // ProducerEpoch 2
      "01"                // Committed true
      "00";               // tagged fields
  EndTxnRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 3, &req));
  EXPECT_EQ(req.transactional_id, "tx");
  EXPECT_EQ(req.producer_id, 5);
  EXPECT_EQ(req.producer_epoch, 2);
  EXPECT_TRUE(req.committed);

  EndTxnRequest built;
  built.transactional_id = "tx";
  built.producer_id = 5;
  built.producer_epoch = 2;
  built.committed = true;
  EXPECT_EQ(EncodeHex(built, 3), golden);
}

TEST(TxnMessagesTest, TxnOffsetCommitRequestV3) {
  const std::string golden =
      "037478"            // TransactionalId "tx"
      "0267"              // GroupId "g"
      "0000000000000005"  // ProducerId 5
      "0002"              // ProducerEpoch 2
      "00000007"          // GenerationId 7 (v3+)
      "026d"              // MemberId "m" (v3+)
      "00"                // GroupInstanceId null (v3+)
      "02"                // Topics: 1 element
      "0274"              //   Name "t"
      "02"                //   Partitions: 1 element
      "00000001"          //     PartitionIndex 1
      "0000000000000064"  //     CommittedOffset 100
      "00000004"          //     CommittedLeaderEpoch 4 (v2+)
      "0278"              //     CommittedMetadata "x"
      "00"                //     partition tagged fields
      "00"                //   topic tagged fields
      "00";               // request tagged fields
  TxnOffsetCommitRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 3, &req));
  EXPECT_EQ(req.transactional_id, "tx");
  EXPECT_EQ(req.group_id, "g");
  EXPECT_EQ(req.producer_id, 5);
  EXPECT_EQ(req.producer_epoch, 2);
  EXPECT_EQ(req.generation_id, 7);
  EXPECT_EQ(req.member_id, "m");
  EXPECT_FALSE(req.group_instance_id.has_value());
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].name, "t");
  ASSERT_EQ(req.topics[0].partitions.size(), 1u);
  const auto& p = req.topics[0].partitions[0];
  EXPECT_EQ(p.partition_index, 1);
  EXPECT_EQ(p.committed_offset, 100);
  EXPECT_EQ(p.committed_leader_epoch, 4);
  EXPECT_EQ(p.committed_metadata, std::optional<std::string>("x"));

  TxnOffsetCommitRequest built;
  built.transactional_id = "tx";
  built.group_id = "g";
  built.producer_id = 5;
  built.producer_epoch = 2;
  built.generation_id = 7;
  built.member_id = "m";
  built.topics.push_back({"t", {{1, 100, 4, "x"}}});
  EXPECT_EQ(EncodeHex(built, 3), golden);
}

TEST(TxnMessagesTest, TxnOffsetCommitDefaultsFollowKafka) {
  TxnOffsetCommitRequest req;
  EXPECT_EQ(req.generation_id, -1);
  EXPECT_EQ(req.member_id, "");
  EXPECT_FALSE(req.group_instance_id.has_value());
  TxnOffsetCommitRequest::TxnOffsetCommitRequestPartition p;
  EXPECT_EQ(p.committed_leader_epoch, -1);
  AddPartitionsToTxnRequest::AddPartitionsToTxnTransaction tx;
  EXPECT_FALSE(tx.verify_only);
  DescribeProducersResponse::ProducerState ps;
  EXPECT_EQ(ps.last_sequence, -1);
  EXPECT_EQ(ps.last_timestamp, -1);
  EXPECT_EQ(ps.current_txn_start_offset, -1);
}

TEST(TxnMessagesTest, WriteTxnMarkersRequestV1) {
  const std::string golden =
      "02"                // Markers: 1 element
      "0000000000000005"  //   ProducerId 5
      "0002"              //   ProducerEpoch 2
      "01"                //   TransactionResult true (COMMIT)
      "02"                //   Topics: 1 element
      "0274"              //     Name "t"
      "02"                //     PartitionIndexes: 1 element
      "00000000"          //       0
      "00"                //     topic tagged fields
      "00000003"          //   CoordinatorEpoch 3 (after Topics)
      "00"                //   marker tagged fields
      "00";               // request tagged fields
  WriteTxnMarkersRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 1, &req));
  ASSERT_EQ(req.markers.size(), 1u);
  const auto& m = req.markers[0];
  EXPECT_EQ(m.producer_id, 5);
  EXPECT_EQ(m.producer_epoch, 2);
  EXPECT_TRUE(m.transaction_result);
  ASSERT_EQ(m.topics.size(), 1u);
  EXPECT_EQ(m.topics[0].name, "t");
  EXPECT_EQ(m.topics[0].partition_indexes, (std::vector<int32_t>{0}));
  EXPECT_EQ(m.coordinator_epoch, 3);

  WriteTxnMarkersRequest built;
  built.markers.push_back({5, 2, true, {{"t", {0}}}, 3});
  EXPECT_EQ(EncodeHex(built, 1), golden);
}

TEST(TxnMessagesTest, DescribeProducersRequestV0) {
  const std::string golden =
      "02"        // Topics: 1 element
      "0274"      //   Name "t"
      "03"        //   PartitionIndexes: 2 elements
      "00000000"  //     0
      "00000001"  //     1
      "00"        //   topic tagged fields
      "00";       // request tagged fields
  DescribeProducersRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 0, &req));
  ASSERT_EQ(req.topics.size(), 1u);
  EXPECT_EQ(req.topics[0].name, "t");
  EXPECT_EQ(req.topics[0].partition_indexes, (std::vector<int32_t>{0, 1}));

  DescribeProducersRequest built;
  built.topics.push_back({"t", {0, 1}});
  EXPECT_EQ(EncodeHex(built, 0), golden);
}

TEST(TxnMessagesTest, DescribeTransactionsRequestV0) {
  const std::string golden =
      "03"      // TransactionalIds: 2 elements
      "037478"  //   "tx"
      "0279"    //   "y"
      "00";     // request tagged fields
  DescribeTransactionsRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 0, &req));
  EXPECT_EQ(req.transactional_ids, (std::vector<std::string>{"tx", "y"}));

  DescribeTransactionsRequest built;
  built.transactional_ids = {"tx", "y"};
  EXPECT_EQ(EncodeHex(built, 0), golden);
}

TEST(TxnMessagesTest, ListTransactionsRequestV0) {
  const std::string golden =
      "02"                // StateFilters: 1 element
      "084f6e676f696e67"  //   "Ongoing"
      "02"                // ProducerIdFilters: 1 element
      "0000000000000005"  //   5
      "00";               // request tagged fields
  ListTransactionsRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 0, &req));
  EXPECT_EQ(req.state_filters, (std::vector<std::string>{"Ongoing"}));
  EXPECT_EQ(req.producer_id_filters, (std::vector<int64_t>{5}));

  ListTransactionsRequest built;
  built.state_filters = {"Ongoing"};
  built.producer_id_filters = {5};
  EXPECT_EQ(EncodeHex(built, 0), golden);
}

TEST(TxnMessagesTest, ListTransactionsRequestV1HasADurationFilter) {
  const std::string golden =
      "01"                // StateFilters: empty
      "01"                // ProducerIdFilters: empty
      "00000000000003e8"  // DurationFilter: 1000 ms
      "00";               // request tagged fields
  ListTransactionsRequest req;
  ASSERT_TRUE(DecodesExactly(golden, 1, &req));
  EXPECT_EQ(req.duration_filter, 1000);

  ListTransactionsRequest built;
  built.duration_filter = 1000;
  EXPECT_EQ(EncodeHex(built, 1), golden);
  // v0 has no such field: it stays at its default, "no filter".
  ListTransactionsRequest v0;
  ASSERT_TRUE(DecodesExactly("010100", 0, &v0));
  EXPECT_EQ(v0.duration_filter, -1);
}

TEST(TxnMessagesTest, VersionRangesAreKafka39s) {
  EXPECT_EQ(AddPartitionsToTxnRequest::kMaxVersion, 5);  // KIP-890 bumps (3.8)
  EXPECT_EQ(AddPartitionsToTxnRequest::kFlexibleMin, 3);
  EXPECT_EQ(AddOffsetsToTxnRequest::kMaxVersion, 4);
  EXPECT_EQ(EndTxnRequest::kMaxVersion, 4);
  EXPECT_EQ(TxnOffsetCommitRequest::kMaxVersion, 4);
  EXPECT_EQ(WriteTxnMarkersRequest::kMaxVersion, 1);
  EXPECT_EQ(WriteTxnMarkersRequest::kFlexibleMin, 1);
  EXPECT_EQ(DescribeProducersRequest::kMaxVersion, 0);
  EXPECT_EQ(DescribeTransactionsRequest::kMaxVersion, 0);
  EXPECT_EQ(ListTransactionsRequest::kMaxVersion, 1);  // 3.8's DurationFilter (KIP-994)
  EXPECT_EQ(ListTransactionsRequest::kFlexibleMin, 0);
  EXPECT_EQ(InitProducerIdRequest::kMaxVersion, 5);
  EXPECT_EQ(InitProducerIdRequest::kFlexibleMin, 2);
}

TEST(TxnMessagesTest, TransactionApisAreServedAtKafka39Ranges) {
  // InitProducerId is served (idempotent and transactional producers).
  ASSERT_NE(FindApi(static_cast<int16_t>(ApiKey::kInitProducerId)), nullptr);
  // TxnOffsetCommit is served by the group coordinator (pending until the markers).
  ASSERT_NE(FindApi(static_cast<int16_t>(ApiKey::kTxnOffsetCommit)), nullptr);
  EXPECT_EQ(FindApi(static_cast<int16_t>(ApiKey::kTxnOffsetCommit))->max, 4);
  // The partition leaders' side: markers from coordinators, and the producers' state.
  ASSERT_NE(FindApi(static_cast<int16_t>(ApiKey::kWriteTxnMarkers)), nullptr);
  EXPECT_EQ(FindApi(static_cast<int16_t>(ApiKey::kWriteTxnMarkers))->max, 1);
  ASSERT_NE(FindApi(static_cast<int16_t>(ApiKey::kDescribeProducers)), nullptr);
  EXPECT_EQ(FindApi(static_cast<int16_t>(ApiKey::kDescribeProducers))->max, 0);
  // The coordinator's APIs at Kafka 3.9's ranges.
  const std::pair<ApiKey, int16_t> served[] = {{ApiKey::kAddPartitionsToTxn, 5},
                                               {ApiKey::kAddOffsetsToTxn, 4},
                                               {ApiKey::kEndTxn, 4},
                                               {ApiKey::kDescribeTransactions, 0},
                                               {ApiKey::kListTransactions, 1}};
  for (const auto& [key, max] : served) {
    const ApiVersionRange* r = FindApi(static_cast<int16_t>(key));
    ASSERT_NE(r, nullptr) << ApiKeyName(key);
    EXPECT_EQ(r->min, 0) << ApiKeyName(key);
    EXPECT_EQ(r->max, max) << ApiKeyName(key);
  }
  // Header versions follow the flexible rule: AddPartitionsToTxn v3+ uses request header v2.
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kAddPartitionsToTxn, 2), 1);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kAddPartitionsToTxn, 3), 2);
  EXPECT_EQ(RequestHeaderVersion(ApiKey::kDescribeTransactions, 0), 2);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kWriteTxnMarkers, 0), 0);
  EXPECT_EQ(ResponseHeaderVersion(ApiKey::kWriteTxnMarkers, 1), 1);
}

}  // namespace
}  // namespace gregor::protocol
