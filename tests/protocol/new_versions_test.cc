// Golden bytes of the versions Kafka 3.9 added to Produce (v10-11), Fetch (v15-17), ListOffsets
// (v8-9) and FindCoordinator (v5), worked out by hand from Kafka's message schemas: each
// expected frame is written field by field below, encoded and decoded back.
#include <gtest/gtest.h>

#include <string>

#include "gregor/protocol/messages/all.h"
#include "protocol/hex.h"

namespace gregor::protocol {
namespace {

using golden::Hex;
using golden::Unhex;

template <typename Message>
std::string Encoded(const Message& m, int16_t version) {
  Writer w;
  m.Encode(w, version);
  return Hex(w.Flatten());
}

template <typename Message>
Message Decoded(const std::string& hex, int16_t version) {
  std::string bytes = Unhex(hex);
  Reader r(bytes);
  Message m;
  EXPECT_TRUE(m.Decode(r, version));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  return m;
}

// NodeEndpoints entry {id 2, host "h", port 9092, rack null} as a one-element compact array.
const char* kOneEndpoint =
    "02"        // compact array of 1
    "00000002"  // NodeId
    "0268"      // Host "h"
    "00002384"  // Port 9092
    "00"        // Rack null
    "00";       // no tagged fields

TEST(NewVersionsTest, ProduceResponseV10CarriesCurrentLeaderAndNodeEndpoints) {
  ProduceResponse resp;
  auto& p = resp.responses.emplace_back();
  p.name = "t";
  auto& pr = p.partition_responses.emplace_back();
  pr.index = 0;
  pr.error_code = ErrorCode::kNotLeaderOrFollower;
  pr.base_offset = -1;
  pr.current_leader.leader_id = 2;
  pr.current_leader.leader_epoch = 7;
  auto& ep = resp.node_endpoints.emplace_back();
  ep.node_id = 2;
  ep.host = "h";
  ep.port = 9092;
  const std::string partition =
      "00000000"          // Index 0
      "0006"              // NOT_LEADER_OR_FOLLOWER
      "ffffffffffffffff"  // BaseOffset -1
      "ffffffffffffffff"  // LogAppendTimeMs -1
      "ffffffffffffffff"  // LogStartOffset -1
      "01"                // RecordErrors []
      "00";               // ErrorMessage null
  const std::string v10 = std::string("02") + "0274" + "02" + partition +
                          "01"        // one tagged field
                          "00"        // tag 0: CurrentLeader
                          "09"        // 9 bytes
                          "00000002"  // LeaderId 2
                          "00000007"  // LeaderEpoch 7
                          "00"        // its tagged fields
                          "00"        // topic's tagged fields
                          "00000000"  // ThrottleTimeMs
                          "01"
                          "00"
                          "0d" +  // one tagged field, tag 0: NodeEndpoints, 13 bytes
                          kOneEndpoint;
  EXPECT_EQ(Encoded(resp, 10), v10);
  EXPECT_EQ(Encoded(resp, 11), v10);  // v11 changes no layout
  // v9 has neither field.
  EXPECT_EQ(Encoded(resp, 9),
            std::string("02") + "0274" + "02" + partition + "00" + "00" + "00000000" + "00");
  auto back = Decoded<ProduceResponse>(v10, 10);
  EXPECT_EQ(back, resp);
  // Defaults (leader unknown, no endpoints) write nothing.
  ProduceResponse plain = resp;
  plain.responses[0].partition_responses[0].current_leader = {};
  plain.node_endpoints.clear();
  EXPECT_EQ(Encoded(plain, 10), Encoded(plain, 9));
}

TEST(NewVersionsTest, ProduceRequestV11IsV9Layout) {
  const std::string hex =
      "00"        // TransactionalId null
      "ffff"      // Acks -1
      "00007530"  // TimeoutMs 30000
      "02"
      "0274"  // one topic "t"
      "02"
      "00000001"  // one partition, index 1
      "00"        // Records null
      "00"
      "00"
      "00";  // tagged fields of partition, topic, request
  auto req = Decoded<ProduceRequest>(hex, 11);
  EXPECT_EQ(req.acks, -1);
  EXPECT_EQ(req.timeout_ms, 30000);
  ASSERT_EQ(req.topic_data.size(), 1u);
  EXPECT_EQ(req.topic_data[0].partition_data[0].index, 1);
  EXPECT_TRUE(req.topic_data[0].partition_data[0].records.is_null);
  EXPECT_EQ(Encoded(req, 11), hex);
  EXPECT_EQ(Encoded(req, 10), hex);
}

TEST(NewVersionsTest, FetchRequestV15CarriesReplicaStateAsTagOne) {
  FetchRequest req;
  req.replica_state.replica_id = 3;
  req.replica_state.replica_epoch = 5;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  const std::string v15 =
      "000001f4"          // MaxWaitMs 500 (no top-level ReplicaId from v15)
      "00000001"          // MinBytes
      "7fffffff"          // MaxBytes
      "00"                // IsolationLevel
      "00000000"          // SessionId
      "ffffffff"          // SessionEpoch
      "01"                // Topics []
      "01"                // ForgottenTopicsData []
      "01"                // RackId ""
      "01"                // one tagged field (ClusterId null is not written)
      "01"                // tag 1: ReplicaState
      "0d"                // 13 bytes
      "00000003"          // ReplicaId 3
      "0000000000000005"  // ReplicaEpoch 5
      "00";
  EXPECT_EQ(Encoded(req, 15), v15);
  auto back = Decoded<FetchRequest>(v15, 15);
  EXPECT_EQ(back.replica_state.replica_id, 3);
  EXPECT_EQ(back.replica_state.replica_epoch, 5);
  EXPECT_EQ(back.replica_id, -1);
  // A consumer's v15 request: ReplicaState at its defaults, no tagged field at all.
  FetchRequest consumer;
  consumer.max_wait_ms = 500;
  consumer.min_bytes = 1;
  EXPECT_EQ(Encoded(consumer, 15), v15.substr(0, 2 * 24) + "00");
  // v14 still has the top-level ReplicaId and no ReplicaState.
  req.replica_id = 3;
  EXPECT_EQ(Encoded(req, 14), "00000003" + v15.substr(0, 2 * 24) + "00");
}

TEST(NewVersionsTest, FetchRequestV17ReplicaDirectoryIdIsPartitionTagZero) {
  const std::string uuid(32, '1');
  const std::string dir = "22222222222222222222222222222222";
  const std::string v17 = std::string(
                              "000001f4"
                              "00000001"
                              "7fffffff"
                              "00"
                              "00000000"
                              "ffffffff"
                              "02") +
                          uuid +              // one topic, by id
                          "02"                // one partition
                          "00000000"          // Partition
                          "ffffffff"          // CurrentLeaderEpoch
                          "0000000000000000"  // FetchOffset
                          "ffffffff"          // LastFetchedEpoch
                          "ffffffffffffffff"  // LogStartOffset
                          "00100000"          // PartitionMaxBytes 1 MiB
                          "01"
                          "00"
                          "10" +  // one tagged field, tag 0: ReplicaDirectoryId, 16 bytes
                          dir +
                          "00"   // topic's tagged fields
                          "01"   // ForgottenTopicsData []
                          "01"   // RackId ""
                          "00";  // no request tagged fields
  auto req = Decoded<FetchRequest>(v17, 17);
  ASSERT_EQ(req.topics.size(), 1u);
  ASSERT_EQ(req.topics[0].partitions.size(), 1u);
  EXPECT_EQ(req.topics[0].topic_id[0], 0x11);
  EXPECT_EQ(req.topics[0].partitions[0].replica_directory_id[15], 0x22);
  EXPECT_EQ(req.topics[0].partitions[0].partition_max_bytes, 1 << 20);
  EXPECT_EQ(Encoded(req, 17), v17);
  // v16 has no directory id: the same partition without its tagged field.
  std::string v16 = v17;
  v16.replace(v16.find("010010" + dir), 2 * 19, "00");
  EXPECT_EQ(Encoded(req, 16), v16);
}

TEST(NewVersionsTest, FetchResponseV16CarriesNodeEndpointsAsTagZero) {
  FetchResponse resp;
  auto& t = resp.responses.emplace_back();
  t.topic_id.fill(0xab);
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.error_code = ErrorCode::kFencedLeaderEpoch;
  p.high_watermark = -1;
  p.aborted_transactions.reset();
  p.current_leader.leader_id = 2;
  p.current_leader.leader_epoch = 7;
  auto& ep = resp.node_endpoints.emplace_back();
  ep.node_id = 2;
  ep.host = "h";
  ep.port = 9092;
  const std::string body = std::string(
                               "00000000"  // ThrottleTimeMs
                               "0000"      // ErrorCode
                               "00000000"  // SessionId
                               "02") +
                           "abababababababababababababababab"  // TopicId
                           "02"
                           "00000000"          // PartitionIndex
                           "004a"              // FENCED_LEADER_EPOCH (74)
                           "ffffffffffffffff"  // HighWatermark
                           "ffffffffffffffff"  // LastStableOffset
                           "ffffffffffffffff"  // LogStartOffset
                           "00"                // AbortedTransactions null
                           "ffffffff"          // PreferredReadReplica
                           "01"                // Records (empty)
                           "01"
                           "01"
                           "09"  // one tagged field, tag 1: CurrentLeader, 9 bytes
                           "00000002"
                           "00000007"
                           "00"
                           "00";  // topic's tagged fields
  const std::string v16 = body + "01" + "00" + "0d" + kOneEndpoint;
  EXPECT_EQ(Encoded(resp, 16), v16);
  EXPECT_EQ(Encoded(resp, 17), v16);
  EXPECT_EQ(Encoded(resp, 15), body + "00");  // no NodeEndpoints before v16
  auto back = Decoded<FetchResponse>(v16, 16);
  ASSERT_EQ(back.node_endpoints.size(), 1u);
  EXPECT_EQ(back.node_endpoints[0].host, "h");
  EXPECT_EQ(back.node_endpoints[0].port, 9092);
  EXPECT_FALSE(back.node_endpoints[0].rack.has_value());
  EXPECT_EQ(back.responses[0].partitions[0].current_leader.leader_epoch, 7);
}

TEST(NewVersionsTest, ListOffsetsV9LatestTieredTimestamp) {
  const std::string request =
      "ffffffff"  // ReplicaId -1
      "00"        // IsolationLevel
      "02"
      "0274"  // one topic "t"
      "02"
      "00000000"          // PartitionIndex 0
      "ffffffff"          // CurrentLeaderEpoch -1
      "fffffffffffffffb"  // Timestamp -5 (LATEST_TIERED_TIMESTAMP)
      "00"
      "00"
      "00";
  auto req = Decoded<ListOffsetsRequest>(request, 9);
  EXPECT_EQ(req.topics[0].partitions[0].timestamp, -5);
  EXPECT_EQ(Encoded(req, 9), request);
  EXPECT_EQ(Encoded(req, 8), request);  // same layout from v6
  ListOffsetsResponse resp;
  auto& t = resp.topics.emplace_back();
  t.name = "t";
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  EXPECT_EQ(Encoded(resp, 9),
            "00000000"  // ThrottleTimeMs
            "02"
            "0274"
            "02"
            "00000000"          // PartitionIndex
            "0000"              // ErrorCode
            "ffffffffffffffff"  // Timestamp -1
            "ffffffffffffffff"  // Offset -1
            "ffffffff"          // LeaderEpoch -1
            "00"
            "00"
            "00");
}

TEST(NewVersionsTest, FindCoordinatorV5IsV4Layout) {
  const std::string request =
      "00"    // KeyType group
      "02"    // one key
      "0267"  // "g"
      "00";
  auto req = Decoded<FindCoordinatorRequest>(request, 5);
  ASSERT_EQ(req.coordinator_keys.size(), 1u);
  EXPECT_EQ(req.coordinator_keys[0], "g");
  FindCoordinatorResponse resp;
  auto& c = resp.coordinators.emplace_back();
  c.key = "g";
  c.node_id = 1;
  c.host = "h";
  c.port = 9092;
  c.error_message.reset();  // the broker sends null when there is no error
  const std::string response =
      "00000000"  // ThrottleTimeMs
      "02"
      "0267"      // Key "g"
      "00000001"  // NodeId
      "0268"      // Host "h"
      "00002384"  // Port
      "0000"      // ErrorCode
      "00"        // ErrorMessage null
      "00"
      "00";
  EXPECT_EQ(Encoded(resp, 5), response);
  EXPECT_EQ(Encoded(resp, 4), response);
  EXPECT_EQ(Decoded<FindCoordinatorResponse>(response, 5), resp);
}

}  // namespace
}  // namespace gregor::protocol
