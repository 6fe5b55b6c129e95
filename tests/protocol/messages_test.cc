// Round trips for every generated message at every version it supports, with pseudo-random
// contents (test_fill.h), plus hand-checked layouts of the messages the broker relies on most.

#include <gtest/gtest.h>

#include <concepts>
#include <set>
#include <string>

#include "gregor/protocol/messages/all.h"
#include "gregor/protocol/messages/test_fill.h"
#include "protocol/hex.h"

namespace gregor::protocol {
namespace {

using golden::Hex;

TEST(MessagesTest, EveryMessageRoundTripsAtEveryVersion) {
  int checked = 0;
  int compared = 0;
  ForEachMessageType([&]<typename T>(const char* name) {
    for (int16_t v = T::kMinVersion; v <= T::kMaxVersion; ++v) {
      for (uint32_t seed = 1; seed <= 4; ++seed) {
        TestRng rng(seed * 7919 + static_cast<uint32_t>(v));
        T original;
        FillForTest(original, v, rng);
        Writer w1;
        original.Encode(w1, v);
        std::string bytes = w1.Flatten();
        ASSERT_EQ(bytes.size(), w1.size());
        Reader r(bytes);
        T decoded;
        ASSERT_TRUE(decoded.Decode(r, v)) << name << " v" << v << " seed " << seed;
        EXPECT_EQ(r.remaining(), 0u) << name << " v" << v;
        Writer w2;
        decoded.Encode(w2, v);
        ASSERT_EQ(Hex(w2.Flatten()), Hex(bytes)) << name << " v" << v << " seed " << seed;
        // Field by field too (messages without a records field have operator==): catches a
        // field that encode and decode would both skip.
        if constexpr (std::equality_comparable<T>) {
          EXPECT_TRUE(decoded == original) << name << " v" << v << " seed " << seed;
          ++compared;
        }
        ++checked;
      }
    }
  });
  EXPECT_GT(checked, 500);
  EXPECT_GT(compared, 400);
}

TEST(MessagesTest, EveryTruncationFailsForEveryMessage) {
  ForEachMessageType([&]<typename T>(const char* name) {
    for (int16_t v : {T::kMinVersion, static_cast<int16_t>((T::kMinVersion + T::kMaxVersion) / 2),
                      T::kMaxVersion}) {
      TestRng rng(99);
      T original;
      FillForTest(original, v, rng);
      Writer w;
      original.Encode(w, v);
      std::string bytes = w.Flatten();
      for (size_t n = 0; n < bytes.size(); ++n) {
        Reader r(reinterpret_cast<const uint8_t*>(bytes.data()), n);
        T decoded;
        EXPECT_FALSE(decoded.Decode(r, v)) << name << " v" << v << " prefix " << n;
        EXPECT_FALSE(r.ok());
      }
    }
  });
}

TEST(MessagesTest, RoundTripsCoverTheTransactionApis) {
  std::set<std::string> names;
  ForEachMessageType([&]<typename T>(const char* name) { names.insert(name); });
  for (const char* api :
       {"InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "WriteTxnMarkers",
        "TxnOffsetCommit", "DescribeProducers", "DescribeTransactions", "ListTransactions"}) {
    EXPECT_EQ(names.count(std::string(api) + "Request"), 1u) << api;
    EXPECT_EQ(names.count(std::string(api) + "Response"), 1u) << api;
  }
}

TEST(MessagesTest, DefaultsFollowKafka) {
  FetchRequest fetch;
  EXPECT_EQ(fetch.replica_id, -1);
  EXPECT_EQ(fetch.max_bytes, 0x7fffffff);
  EXPECT_EQ(fetch.session_epoch, -1);
  EXPECT_FALSE(fetch.cluster_id.has_value());
  MetadataRequest metadata;
  EXPECT_TRUE(metadata.allow_auto_topic_creation);
  ASSERT_TRUE(metadata.topics.has_value());
  MetadataResponse::MetadataResponseTopic topic;
  EXPECT_EQ(topic.topic_authorized_operations, -2147483648);
  FetchResponse::PartitionData pd;
  EXPECT_EQ(pd.last_stable_offset, -1);
  EXPECT_EQ(pd.preferred_read_replica, -1);
  EXPECT_EQ(pd.current_leader.leader_id, -1);
}

TEST(MessagesTest, ProduceResponseV8Layout) {
  ProduceResponse resp;
  resp.responses.emplace_back();
  resp.responses[0].name = "t";
  resp.responses[0].partition_responses.emplace_back();
  auto& p = resp.responses[0].partition_responses[0];
  p.index = 2;
  p.error_code = ErrorCode::kNone;
  p.base_offset = 5;
  resp.throttle_time_ms = 1;
  Writer w;
  resp.Encode(w, 8);
  EXPECT_EQ(Hex(w.Flatten()),
            "00000001"
            "000174"  // responses[1], name "t"
            "00000001"
            "00000002"
            "0000"              // partitions[1], index 2, no error
            "0000000000000005"  // base offset
            "ffffffffffffffff"  // log append time -1
            "ffffffffffffffff"  // log start offset -1 (Kafka's default)
            "00000000"
            "ffff"        // record errors [], error message null
            "00000001");  // throttle
}

TEST(MessagesTest, FetchResponseV12TaggedFieldsOnlyWhenNotDefault) {
  FetchResponse resp;
  resp.responses.emplace_back();
  resp.responses[0].topic = "t";
  resp.responses[0].partitions.emplace_back();
  Writer plain;
  resp.Encode(plain, 12);
  auto& p = resp.responses[0].partitions[0];
  p.current_leader.leader_id = 3;
  p.current_leader.leader_epoch = 9;
  Writer tagged;
  resp.Encode(tagged, 12);
  // CurrentLeader is tag 1: 1 field, tag 1, size 9 (4+4+1 empty tags), leader 3, epoch 9.
  EXPECT_EQ(tagged.size(), plain.size() + 11);
  EXPECT_NE(Hex(tagged.Flatten())
                .find("01"
                      "01"
                      "09"
                      "00000003"
                      "00000009"
                      "00"),
            std::string::npos);
  std::string bytes = tagged.Flatten();
  Reader r(bytes);
  FetchResponse decoded;
  ASSERT_TRUE(decoded.Decode(r, 12));
  EXPECT_EQ(decoded.responses[0].partitions[0].current_leader.leader_id, 3);
  EXPECT_EQ(decoded.responses[0].partitions[0].current_leader.leader_epoch, 9);
  EXPECT_EQ(decoded.responses[0].partitions[0].diverging_epoch.epoch, -1);
}

TEST(MessagesTest, FetchRequestV12ClusterIdIsTagZero) {
  FetchRequest req;
  req.cluster_id = "c";
  Writer w;
  req.Encode(w, 12);
  std::string hex = Hex(w.Flatten());
  // Body ends with the top-level tagged section: 1 field, tag 0, size 2, compact "c".
  EXPECT_EQ(hex.substr(hex.size() - 10), "0100020263");
  std::string bytes = w.Flatten();
  Reader r(bytes);
  FetchRequest decoded;
  ASSERT_TRUE(decoded.Decode(r, 12));
  EXPECT_EQ(decoded.cluster_id, std::optional<std::string>("c"));
}

TEST(MessagesTest, FetchResponseRecordsFromFileAreZeroCopyChunks) {
  FetchResponse resp;
  resp.responses.emplace_back();
  resp.responses[0].partitions.emplace_back();
  auto file = std::make_shared<const FileHandle>(-1);
  resp.responses[0].partitions[0].records.files.push_back(gregor::FileRegion{file, 100, 50});
  Writer w;
  resp.Encode(w, 11);
  ASSERT_EQ(w.chunks().size(), 2u);
  EXPECT_TRUE(w.chunks()[1].is_file);
  EXPECT_EQ(w.chunks()[1].file.length, 50u);
  // The length prefix right before the file chunk covers the file bytes.
  const std::string& head = w.chunks()[0].bytes;
  EXPECT_EQ(Hex(head.substr(head.size() - 4)), "00000032");
}

TEST(MessagesTest, UnknownTaggedFieldsAreSkipped) {
  // ApiVersions v3 request with an extra unknown tag (5) in the body's tagged section.
  std::string body(
      "\x02x\x02y\x01\x05\x03"
      "abc",
      10);
  Reader r(body);
  ApiVersionsRequest req;
  ASSERT_TRUE(req.Decode(r, 3));
  EXPECT_EQ(req.client_software_name, "x");
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(MessagesTest, NullInNonNullableVersionFails) {
  // Metadata v0 topics cannot be null.
  std::string body("\xff\xff\xff\xff", 4);
  Reader r(body);
  MetadataRequest req;
  EXPECT_FALSE(req.Decode(r, 0));
  Reader r1(body);
  MetadataRequest req1;
  EXPECT_TRUE(req1.Decode(r1, 1));
  EXPECT_FALSE(req1.topics.has_value());
}

TEST(MessagesTest, LeaderAndIsrV0UsesUngroupedStates) {
  LeaderAndIsrRequest req;
  req.controller_id = 1;
  req.controller_epoch = 2;
  req.ungrouped_partition_states.emplace_back();
  auto& s = req.ungrouped_partition_states[0];
  s.topic_name = "t";
  s.partition_index = 0;
  s.leader = 1;
  s.isr = {1, 2};
  s.replicas = {1, 2};
  req.live_leaders.push_back({1, "h", 9092});
  Writer w;
  req.Encode(w, 0);
  EXPECT_EQ(Hex(w.Flatten()),
            "00000001"
            "00000002"  // controller id, epoch
            "00000001"
            "000174"
            "00000000"
            "00000000"
            "00000001"  // state: t-0, ctl epoch, leader
            "00000000"
            "00000002"
            "00000001"
            "00000002"  // leader epoch, isr [1,2]
            "00000000"
            "00000002"
            "00000001"
            "00000002"  // partition epoch, replicas
            "00000001"
            "00000001"
            "000168"
            "00002384");  // live leaders [1 h:9092]
}

}  // namespace
}  // namespace gregor::protocol
