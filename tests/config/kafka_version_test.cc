#include "gregor/config/kafka_version.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "gregor/config/broker_config.h"
#include "gregor/config/dynamic_broker_config.h"
#include "gregor/config/inter_broker_protocol.h"
#include "gregor/config/topic_config.h"

namespace gregor::config {
namespace {

using V = MetadataVersion;

BrokerConfig Broker(std::map<std::string, std::string> file = {}) {
  file["zookeeper.connect"] = "127.0.0.1:2181";
  return ParseBrokerConfig(file, {}, nullptr);
}

std::string ConfigErrorOf(const std::map<std::string, std::string>& file) {
  try {
    Broker(file);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const ResolvedConfig& Find(const std::vector<ResolvedConfig>& v, const std::string& name) {
  for (const auto& r : v) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no config " << name;
  static ResolvedConfig none;
  return none;
}

TEST(KafkaVersionTest, ParsesAsKafkasMetadataVersionDoes) {
  const std::map<std::string, V> cases = {
      {"0.8.0", V::kIbp0_8_0},
      {"0.8.2.2", V::kIbp0_8_2},  // 0.x: three parts, the patch ignored
      {"0.10.0", V::kIbp0_10_0_IV1},
      {"0.10.0-IV0", V::kIbp0_10_0_IV0},
      {"0.10.2.1", V::kIbp0_10_2_IV0},
      {"1.0.1", V::kIbp1_0_IV0},  // others: two parts
      {"2.1", V::kIbp2_1_IV2},    // a release alone is its last sub-version
      {"2.1-IV0", V::kIbp2_1_IV0},
      {"2.1-IV2", V::kIbp2_1_IV2},
      {"2.4", V::kIbp2_4_IV1},
      {"2.4-IV1", V::kIbp2_4_IV1},
      {"2.4.1", V::kIbp2_4_IV1},
      {"2.6", V::kIbp2_6_IV0},
      {"2.7-IV2", V::kIbp2_7_IV2},
      {"3.0", V::kIbp3_0_IV1},
      {"3.4-IV0", V::kIbp3_4_IV0},
      {"3.7", V::kIbp3_7_IV4},
      {"3.9", V::kIbp3_9_IV0},
      {" 3.9-IV0 ", V::kIbp3_9_IV0},
      {"4.0-IV1", V::kIbp4_0_IV1},  // known by its full name only: not production in 3.9
  };
  for (const auto& [s, want] : cases) {
    auto got = ParseMetadataVersion(s);
    ASSERT_TRUE(got.ok()) << s << ": " << got.status().ToString();
    EXPECT_EQ(*got, want) << s << " parsed as " << MetadataVersionName(*got);
  }
  for (const char* s : {"", "3", "4.0", "3.10", "2.4-IV2", "0.10.3", "0.7.0", "2.4.", "3.0-IV01",
                        "v2.4", "latest"}) {
    auto got = ParseMetadataVersion(s);
    ASSERT_FALSE(got.ok()) << s;
    EXPECT_EQ(got.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(got.status().message().find("not a Kafka version"), std::string::npos);
  }
}

TEST(KafkaVersionTest, NamesRoundTripInOrder) {
  EXPECT_EQ(MetadataVersionName(V::kIbp0_9_0), "0.9.0");
  EXPECT_EQ(MetadataVersionName(V::kIbp2_4_IV1), "2.4-IV1");
  EXPECT_EQ(MetadataVersionRelease(V::kIbp2_4_IV1), "2.4");
  EXPECT_EQ(MetadataVersionName(kLatestProductionVersion), "3.9-IV0");
  for (int i = 0; i <= static_cast<int>(V::kIbp4_0_IV1); ++i) {
    const V v = static_cast<V>(i);
    auto back = ParseMetadataVersion(MetadataVersionName(v));
    ASSERT_TRUE(back.ok()) << MetadataVersionName(v);
    EXPECT_EQ(*back, v);
  }
  EXPECT_LT(V::kIbp2_7_IV2, V::kIbp2_8_IV0);
}

TEST(KafkaVersionTest, InterBrokerProtocolIsBoundedByWhatGregorSpeaks) {
  EXPECT_EQ(*ParseInterBrokerProtocolVersion("2.1-IV0"), V::kIbp2_1_IV0);
  EXPECT_EQ(*ParseInterBrokerProtocolVersion("3.9"), V::kIbp3_9_IV0);
  auto low = ParseInterBrokerProtocolVersion("1.0");
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.status().message().find("older than 2.1-IV0"), std::string::npos)
      << low.status().message();
  EXPECT_FALSE(ParseInterBrokerProtocolVersion("2.0-IV1").ok());
  EXPECT_FALSE(ParseInterBrokerProtocolVersion("0.10.2").ok());
  auto high = ParseInterBrokerProtocolVersion("4.0-IV0");
  ASSERT_FALSE(high.ok());
  EXPECT_NE(high.status().message().find("newer than 3.9-IV0"), std::string::npos);
  EXPECT_NE(ParseInterBrokerProtocolVersion("2.x").status().message().find("not a Kafka version"),
            std::string::npos);
}

TEST(KafkaVersionTest, BrokerKeyDefaultsToTheNewestAndKeepsTheGivenString) {
  BrokerConfig d = Broker();
  EXPECT_EQ(d.inter_broker_protocol, kLatestProductionVersion);
  EXPECT_EQ(d.inter_broker_protocol_version, MetadataVersionName(kLatestProductionVersion));
  EXPECT_EQ(d.log_message_format_version, MetadataVersionName(kIgnoredMessageFormatVersion));

  BrokerConfig b = Broker({{"inter.broker.protocol.version", "2.4"}});
  EXPECT_EQ(b.inter_broker_protocol, V::kIbp2_4_IV1);
  EXPECT_EQ(b.inter_broker_protocol_version, "2.4");
  auto described = DescribeBrokerConfigs(b);
  const auto& ibp = Find(described, "inter.broker.protocol.version");
  EXPECT_EQ(ibp.value, "2.4");
  EXPECT_EQ(ibp.source, ConfigSource::kStaticBroker);
  EXPECT_TRUE(ibp.read_only);
  EXPECT_EQ(DynamicScopeOf("inter.broker.protocol.version"), DynamicScope::kStatic);
  EXPECT_EQ(Find(DescribeBrokerConfigs(d), "inter.broker.protocol.version").value, "3.9-IV0");

  const std::string low = ConfigErrorOf({{"inter.broker.protocol.version", "1.0"}});
  EXPECT_NE(low.find("'inter.broker.protocol.version'"), std::string::npos) << low;
  EXPECT_NE(low.find("2.1-IV0, the oldest"), std::string::npos) << low;
  const std::string bad = ConfigErrorOf({{"inter.broker.protocol.version", "2.4-IV7"}});
  EXPECT_NE(bad.find("not a Kafka version"), std::string::npos) << bad;
  const std::string format = ConfigErrorOf({{"log.message.format.version", "2.x"}});
  EXPECT_NE(format.find("'log.message.format.version'"), std::string::npos) << format;
  // The message format may be older than the protocol, as in Kafka (both write format v2).
  EXPECT_EQ(
      Broker({{"inter.broker.protocol.version", "2.4"}, {"log.message.format.version", "1.0"}})
          .log_message_format_version,
      "1.0");
}

TEST(KafkaVersionTest, TopicsReportTheBrokersMessageFormatBelowIbp3_0) {
  // KafkaConfig.logMessageFormatVersion: ignored from IBP 3.0-IV1 on (every topic says 3.0-IV1),
  // the broker key's full version name below.
  auto old = ResolveTopicConfigs(
      Broker({{"inter.broker.protocol.version", "2.4"}, {"log.message.format.version", "2.3"}}),
      {});
  EXPECT_EQ(Find(old, "message.format.version").value, "2.3-IV1");
  auto current = ResolveTopicConfigs(Broker({{"log.message.format.version", "2.3"}}), {});
  EXPECT_EQ(Find(current, "message.format.version").value, "3.0-IV1");
}

TEST(InterBrokerProtocolTest, RequestVersionsFollowKafka) {
  // Each row: what a Kafka broker at that version sends.
  struct Case {
    V ibp;
    InterBrokerRequestVersions want;
  };
  const Case cases[] = {
      {V::kIbp2_1_IV0, {8, 1, 3, 1, 4, 0, 0}},  {V::kIbp2_1_IV2, {10, 2, 4, 1, 4, 0, 0}},
      {V::kIbp2_2_IV1, {10, 2, 5, 2, 5, 1, 0}}, {V::kIbp2_3_IV1, {11, 3, 5, 2, 5, 1, 0}},
      {V::kIbp2_4_IV1, {11, 3, 5, 4, 6, 2, 0}}, {V::kIbp2_5_IV0, {11, 3, 5, 4, 6, 2, 0}},
      {V::kIbp2_6_IV0, {11, 3, 5, 4, 6, 3, 0}}, {V::kIbp2_7_IV0, {11, 3, 5, 4, 6, 3, 0}},
      {V::kIbp2_7_IV1, {12, 3, 5, 4, 6, 3, 0}}, {V::kIbp2_8_IV1, {12, 4, 6, 5, 7, 3, 1}},
      {V::kIbp3_0_IV1, {12, 4, 7, 5, 7, 3, 1}}, {V::kIbp3_3_IV3, {13, 4, 7, 6, 7, 3, 1}},
      {V::kIbp3_4_IV0, {13, 4, 7, 7, 8, 4, 1}}, {V::kIbp3_6_IV2, {15, 4, 8, 7, 8, 4, 1}},
      {V::kIbp3_8_IV0, {16, 4, 8, 7, 8, 4, 1}}, {V::kIbp3_9_IV0, {17, 4, 9, 7, 8, 4, 1}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RequestVersionsFor(c.ibp), c.want) << MetadataVersionName(c.ibp);
  }
  // Below the floor: the floor's row.
  EXPECT_EQ(RequestVersionsFor(V::kIbp1_0_IV0), RequestVersionsFor(kMinInterBrokerProtocolVersion));
  EXPECT_FALSE(IsTruncationOnFetchSupported(V::kIbp2_7_IV0));
  EXPECT_TRUE(IsTruncationOnFetchSupported(V::kIbp2_7_IV1));
  // KIP-497: ISR changes in AlterPartition from 2.7-IV2; topic ids in it from 2.8-IV0.
  EXPECT_FALSE(IsAlterPartitionSupported(V::kIbp2_7_IV1));
  EXPECT_TRUE(IsAlterPartitionSupported(V::kIbp2_7_IV2));
  EXPECT_FALSE(IsTopicIdsSupported(V::kIbp2_7_IV2));
  EXPECT_TRUE(IsTopicIdsSupported(V::kIbp2_8_IV0));
  // Fetch versions only grow with the protocol, as do the others.
  InterBrokerRequestVersions prev = RequestVersionsFor(kMinInterBrokerProtocolVersion);
  for (int i = static_cast<int>(kMinInterBrokerProtocolVersion);
       i <= static_cast<int>(kLatestProductionVersion); ++i) {
    const auto v = RequestVersionsFor(static_cast<V>(i));
    EXPECT_GE(v.fetch, prev.fetch);
    EXPECT_GE(v.offset_for_leader_epoch, prev.offset_for_leader_epoch);
    EXPECT_GE(v.list_offsets, prev.list_offsets);
    EXPECT_GE(v.leader_and_isr, prev.leader_and_isr);
    EXPECT_GE(v.update_metadata, prev.update_metadata);
    EXPECT_GE(v.stop_replica, prev.stop_replica);
    EXPECT_GE(v.write_txn_markers, prev.write_txn_markers);
    prev = v;
  }
}

}  // namespace
}  // namespace gregor::config
