#include "gregor/zk/zk_data.h"

#include <gtest/gtest.h>

namespace gregor::zk {
namespace {

TEST(ZkDataTest, BrokerV5GoldenJson) {
  BrokerInfo b;
  b.id = 1;
  b.endpoints = {{"PLAINTEXT", "h1", 9092, "PLAINTEXT"}, {"SSL", "h1", 9093, "SSL"}};
  b.rack = "r1";
  EXPECT_EQ(EncodeBroker(b, 1700000000000),
            "{\"features\":{},\"listener_security_protocol_map\":{\"PLAINTEXT\":\"PLAINTEXT\","
            "\"SSL\":\"SSL\"},\"endpoints\":[\"PLAINTEXT://h1:9092\",\"SSL://h1:9093\"],"
            "\"rack\":\"r1\",\"jmx_port\":-1,\"port\":9092,\"host\":\"h1\",\"version\":5,"
            "\"timestamp\":\"1700000000000\"}");
  auto back = DecodeBroker(1, EncodeBroker(b, 1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, b);
}

TEST(ZkDataTest, BrokerWithoutPlaintextHasNullHost) {
  BrokerInfo b;
  b.id = 2;
  b.endpoints = {{"INTERNAL", "10.0.0.1", 9094, "SASL_SSL"}};
  std::string json = EncodeBroker(b, 5);
  EXPECT_NE(json.find("\"port\":-1,\"host\":null"), std::string::npos) << json;
  auto back = DecodeBroker(2, json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->endpoints[0].security_protocol, "SASL_SSL");
  EXPECT_FALSE(back->rack.has_value());
}

TEST(ZkDataTest, DecodesKafkaWrittenBrokerVersions) {
  // As written by a Kafka 2.x/3.x broker (hash-map field order), and a v1 registration.
  auto v4 = DecodeBroker(
      3,
      "{\"listener_security_protocol_map\":{\"CLIENT\":\"SSL\"},\"endpoints\":[\"CLIENT://"
      "[::1]:9092\"],\"rack\":\"dc1\",\"jmx_port\":-1,\"host\":null,\"timestamp\":\"1\","
      "\"port\":-1,\"version\":4}");
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_EQ(v4->endpoints[0].host, "::1");
  EXPECT_EQ(v4->endpoints[0].security_protocol, "SSL");
  EXPECT_EQ(v4->rack, "dc1");
  auto v1 = DecodeBroker(4, "{\"version\":1,\"host\":\"h\",\"port\":9092,\"jmx_port\":-1}");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->endpoints[0], (Endpoint{"PLAINTEXT", "h", 9092, "PLAINTEXT"}));
  EXPECT_EQ(DecodeBroker(5, "{\"version\":0}").status().code(), Status::Code::kCorruption);
  EXPECT_EQ(DecodeBroker(5, "not json").status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(DecodeBroker(5, "{\"version\":2,\"endpoints\":[\"nonsense\"]}").ok());
}

TEST(ZkDataTest, ProducerIdBlockAsKafkaWritesIt) {
  auto b = DecodeProducerIdBlock(
      "{\"version\":1,\"broker\":2,\"block_start\":\"1000\",\"block_end\":\"1999\"}");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, (ProducerIdBlock{2, 1000, 1999}));
  auto again = DecodeProducerIdBlock(EncodeProducerIdBlock(*b));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *b);
  EXPECT_NE(EncodeProducerIdBlock(*b).find("\"block_start\":\"1000\""), std::string::npos);
  EXPECT_NE(EncodeProducerIdBlock(*b).find("\"version\":1"), std::string::npos);
  // Start and end are strings in Kafka's JSON; numbers, gaps and reversed ranges are refused.
  EXPECT_FALSE(DecodeProducerIdBlock(
                   "{\"version\":1,\"broker\":2,\"block_start\":1000,\"block_end\":\"1999\"}")
                   .ok());
  EXPECT_FALSE(DecodeProducerIdBlock(
                   "{\"version\":1,\"broker\":2,\"block_start\":\"9\",\"block_end\":\"1\"}")
                   .ok());
  EXPECT_FALSE(DecodeProducerIdBlock(
                   "{\"version\":1,\"broker\":2,\"block_start\":\"1x\",\"block_end\":\"9\"}")
                   .ok());
  EXPECT_FALSE(DecodeProducerIdBlock("").ok());
}

TEST(ZkDataTest, ControllerAndEpochGolden) {
  EXPECT_EQ(EncodeController(3, 42),
            "{\"version\":2,\"brokerid\":3,\"timestamp\":\"42\",\"kraftControllerEpoch\":-1}");
  EXPECT_EQ(*DecodeControllerId("{\"version\":1,\"brokerid\":7,\"timestamp\":\"1\"}"), 7);
  EXPECT_EQ(*DecodeControllerEpoch("12"), 12);
  EXPECT_FALSE(DecodeControllerEpoch("12x").ok());
  EXPECT_FALSE(DecodeControllerId("{\"version\":2}").ok());
}

TEST(ZkDataTest, TopicAssignmentGoldenAndRoundTrip) {
  TopicAssignment a;
  a.has_topic_id = true;
  for (int i = 0; i < 16; ++i) a.topic_id[i] = static_cast<uint8_t>(i * 17);
  a.partitions = {{0, {1, 2}}, {1, {2, 3}}};
  std::string json = EncodeTopicAssignment(a);
  EXPECT_EQ(json,
            "{\"version\":3,\"partitions\":{\"0\":[1,2],\"1\":[2,3]},\"adding_replicas\":{},"
            "\"removing_replicas\":{},\"topic_id\":\"" +
                TopicIdToString(a.topic_id) + "\"}");
  auto back = DecodeTopicAssignment(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->partitions, a.partitions);
  EXPECT_EQ(back->topic_id, a.topic_id);
  // A Kafka 2.3 topic znode (v1, no topic id).
  auto old = DecodeTopicAssignment("{\"version\":1,\"partitions\":{\"0\":[5]}}");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->has_topic_id);
  EXPECT_EQ(old->partitions.at(0), std::vector<int32_t>{5});
}

TEST(ZkDataTest, TopicIdIsKafkaBase64) {
  // Uuid(0x0001020304050607, 0x08090a0b0c0d0e0f).toString in Kafka.
  TopicId id;
  for (int i = 0; i < 16; ++i) id[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(TopicIdToString(id), "AAECAwQFBgcICQoLDA0ODw");
  auto back = TopicIdFromString("AAECAwQFBgcICQoLDA0ODw");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, id);
  EXPECT_FALSE(TopicIdFromString("AAECAwQFBgcICQoLDA0OD").ok());
  EXPECT_FALSE(TopicIdFromString("AAECAwQFBgcICQoLDA0OD!").ok());
  for (int i = 0; i < 100; ++i) {
    TopicId r = RandomTopicId();
    EXPECT_FALSE(IsZeroTopicId(r));
    EXPECT_NE(TopicIdToString(r)[0], '-');
    EXPECT_EQ(*TopicIdFromString(TopicIdToString(r)), r);
  }
}

TEST(ZkDataTest, PartitionStateGolden) {
  LeaderIsrAndControllerEpoch s;
  s.leader = 1;
  s.leader_epoch = 4;
  s.controller_epoch = 5;
  s.isr = {1, 2};
  EXPECT_EQ(EncodePartitionState(s),
            "{\"version\":1,\"leader\":1,\"leader_epoch\":4,\"controller_epoch\":5,\"isr\":[1,2]}");
  auto back = DecodePartitionState(EncodePartitionState(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(DecodePartitionState("{\"version\":1,\"leader\":1}").ok());
}

TEST(ZkDataTest, ConfigAndNotificationsGolden) {
  EXPECT_EQ(
      EncodeEntityConfig({{"cleanup.policy", "compact"}, {"retention.ms", "1000"}}),
      "{\"version\":1,\"config\":{\"cleanup.policy\":\"compact\",\"retention.ms\":\"1000\"}}");
  auto cfg = DecodeEntityConfig("{\"version\":1,\"config\":{\"a\":\"b\"}}");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->at("a"), "b");
  EXPECT_EQ(EncodeConfigChange("topics/t1"), "{\"version\":2,\"entity_path\":\"topics/t1\"}");
  EXPECT_EQ(*DecodeConfigChange("{\"version\":1,\"entity_type\":\"topics\",\"entity_name\":\"x\"}"),
            "topics/x");
  EXPECT_EQ(EncodeIsrChange({{"t", 0}, {"u", 3}}),
            "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0},{\"topic\":\"u\","
            "\"partition\":3}]}");
  auto isr = DecodeIsrChange(EncodeIsrChange({{"t", 0}}));
  ASSERT_TRUE(isr.ok());
  EXPECT_EQ(isr->at(0), (TopicPartition{"t", 0}));
  EXPECT_EQ(EncodeClusterId("abc"), "{\"version\":\"1\",\"id\":\"abc\"}");
  EXPECT_EQ(*DecodeClusterId(EncodeClusterId("abc")), "abc");
}

TEST(ZkDataTest, Paths) {
  EXPECT_EQ(paths::BrokerId(3), "/brokers/ids/3");
  EXPECT_EQ(paths::PartitionState({"t", 2}), "/brokers/topics/t/partitions/2/state");
  EXPECT_EQ(paths::TopicConfig("t"), "/config/topics/t");
  EXPECT_EQ(paths::DeleteTopicMarker("t"), "/admin/delete_topics/t");
}

// Znode contents are not trusted: whatever another process wrote is refused as kCorruption,
// never a crash or an exception.
TEST(ZkDataTest, HostileZnodeContentIsCorruptionNotACrash) {
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\" 1}", "01", "-", "\"unterminated", "tru", "{\"a\":1}x",
        "\"\\ud800\"", "\"\\q\"", "[1 2]", "{1:2}", "\"a\x01\"", "null", "[]", "7"}) {
    auto s = DecodePartitionState(bad);
    EXPECT_EQ(s.status().code(), Status::Code::kCorruption) << bad;
    EXPECT_EQ(DecodeTopicAssignment(bad).status().code(), Status::Code::kCorruption) << bad;
  }
  // Wrong types and values that do not fit an int32.
  for (
      const char* bad :
      {R"({"version":1,"leader":"1","leader_epoch":0,"controller_epoch":1,"isr":[1]})",
       R"({"version":1,"leader":1,"leader_epoch":0,"controller_epoch":1,"isr":[1,"x"]})",
       R"({"version":1,"leader":4294967296,"leader_epoch":0,"controller_epoch":1,"isr":[1]})",
       R"({"version":1,"leader":1,"leader_epoch":0,"controller_epoch":1,"isr":[18446744073709551615]})"}) {
    EXPECT_EQ(DecodePartitionState(bad).status().code(), Status::Code::kCorruption) << bad;
  }
  // Deep nesting is refused before anything is built; a huge one does not exhaust the stack.
  std::string deep = "{\"version\":1,\"partitions\":{\"0\":" + std::string(100, '[') +
                     std::string(100, ']') + "}}";
  EXPECT_EQ(DecodeTopicAssignment(deep).status().code(), Status::Code::kCorruption);
  std::string huge(1'000'000, '[');
  EXPECT_EQ(DecodeTopicAssignment(huge).status().code(), Status::Code::kCorruption);
  // Brackets inside strings do not count as nesting.
  auto fine =
      DecodeEntityConfig("{\"version\":1,\"config\":{\"k\":\"" + std::string(100, '[') + "\"}}");
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ(fine->at("k"), std::string(100, '['));
}

TEST(ZkDataTest, EncodingEscapesAndNeverThrows) {
  std::map<std::string, std::string> config = {{"quote", "x\"y\\z\n\x01"},
                                               {"bad-utf8", "\xff\xfe"}};
  std::string json;
  ASSERT_NO_THROW(json = EncodeEntityConfig(config));
  EXPECT_NE(json.find(R"("quote":"x\"y\\z\n\u0001")"), std::string::npos) << json;
  auto back = DecodeEntityConfig(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->at("quote"), config["quote"]);
}

}  // namespace
}  // namespace gregor::zk
