#include "gregor/config/dynamic_broker_config.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace gregor::config {
namespace {

BrokerConfig Static(std::map<std::string, std::string> file = {}) {
  file["zookeeper.connect"] = "127.0.0.1:2181";
  return ParseBrokerConfig(file, {}, nullptr);
}

const ResolvedConfig& Find(const std::vector<ResolvedConfig>& v, const std::string& name) {
  for (const auto& r : v) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no config " << name;
  static ResolvedConfig none;
  return none;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(DynamicBrokerConfigTest, WhichKeysAreDynamic) {
  for (const char* k :
       {"log.retention.ms", "log.retention.hours", "log.segment.bytes", "log.cleanup.policy",
        "min.insync.replicas", "unclean.leader.election.enable", "message.max.bytes",
        "max.connections", "max.connections.per.ip.overrides", "producer.id.expiration.ms",
        "listener.name.PLAINTEXT.max.connections"}) {
    EXPECT_EQ(DynamicScopeOf(k), DynamicScope::kClusterWide) << k;
  }
  for (const char* k : {"num.io.threads", "listeners", "broker.id", "zookeeper.connect",
                        "listener.name.SSL.plain.sasl.jaas.config", "ssl.keystore.location"}) {
    EXPECT_EQ(DynamicScopeOf(k), DynamicScope::kStatic) << k;
  }
}

TEST(DynamicBrokerConfigTest, PrecedencePerBrokerOverDefaultOverStatic) {
  DynamicBrokerConfig d(Static({{"log.retention.ms", "1000"}, {"min.insync.replicas", "2"}}));
  EXPECT_EQ(d.Current()->log_retention_ms, 1000);
  auto changed = d.Update({}, {{"log.retention.ms", "2000"}}, nullptr);
  EXPECT_TRUE(Contains(changed, "log.retention.ms"));
  EXPECT_EQ(d.Current()->log_retention_ms, 2000);
  d.Update({{"log.retention.ms", "3000"}}, {{"log.retention.ms", "2000"}}, nullptr);
  EXPECT_EQ(d.Current()->log_retention_ms, 3000);
  EXPECT_EQ(d.Current()->min_insync_replicas, 2);  // untouched static key
  // Removing the dynamic layers brings the static value back.
  changed = d.Update({}, {}, nullptr);
  EXPECT_EQ(changed, std::vector<std::string>{"log.retention.ms"});
  EXPECT_EQ(d.Current()->log_retention_ms, 1000);
  // The static config itself never changes.
  EXPECT_EQ(d.Static().log_retention_ms, 1000);
}

TEST(DynamicBrokerConfigTest, SynonymsResolveAcrossLayersAsKafka) {
  // log.retention.ms beats log.retention.hours whatever layer each comes from, as Kafka's
  // KafkaConfig does on the merged properties.
  DynamicBrokerConfig d(Static({{"log.retention.ms", "5000"}}));
  d.Update({}, {{"log.retention.hours", "1"}}, nullptr);
  EXPECT_EQ(d.Current()->log_retention_ms, 5000);
  DynamicBrokerConfig e(Static());
  e.Update({}, {{"log.retention.hours", "1"}}, nullptr);
  EXPECT_EQ(e.Current()->log_retention_ms, 3600000);
}

TEST(DynamicBrokerConfigTest, ValidateRefusesStaticUnknownAndBadValues) {
  DynamicBrokerConfig d(Static());
  Status st = d.Validate({{"num.io.threads", "4"}, {"log.retention.ms", "1"}}, true);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("Cannot update these configs dynamically: Set(num.io.threads)"),
            std::string::npos)
      << st.message();
  st = d.Validate({{"log.retention.weeks", "1"}}, false);
  EXPECT_NE(st.message().find("log.retention.weeks"), std::string::npos) << st.message();
  st = d.Validate({{"log.retention.ms", "abc"}}, false);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("log.retention.ms"), std::string::npos) << st.message();
  st = d.Validate({{"log.cleanup.policy", "shred"}}, false);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.message();
  EXPECT_TRUE(d.Validate({{"log.retention.ms", "60000"}, {"max.connections", "100"}}, true).ok());
  EXPECT_TRUE(d.Validate({}, false).ok());
}

TEST(DynamicBrokerConfigTest, UpdateDropsOnlyTheBadEntries) {
  DynamicBrokerConfig d(Static());
  std::vector<std::string> warnings;
  d.Update({{"num.io.threads", "64"}, {"log.segment.bytes", "oops"}},
           {{"log.retention.ms", "7000"}, {"made.up.key", "1"}}, &warnings);
  EXPECT_EQ(d.Current()->log_retention_ms, 7000);
  EXPECT_EQ(d.Current()->num_io_threads, 8);              // static only
  EXPECT_EQ(d.Current()->log_segment_bytes, 1073741824);  // bad value ignored
  EXPECT_EQ(warnings.size(), 3u);
  auto layers = d.Layers();
  EXPECT_EQ(layers.per_broker.size(), 0u);
  EXPECT_EQ(layers.defaults.size(), 1u);
}

TEST(DynamicBrokerConfigTest, DescribeSourcesSynonymsAndReadOnly) {
  DynamicBrokerConfig d(Static({{"log.retention.ms", "1000"}}));
  d.Update({{"log.retention.ms", "3000"}}, {{"log.retention.ms", "2000"}}, nullptr);
  auto all = d.Describe(true);
  const auto& r = Find(all, "log.retention.ms");
  EXPECT_EQ(r.value, "3000");
  EXPECT_EQ(r.source, ConfigSource::kDynamicBroker);
  EXPECT_FALSE(r.read_only);
  ASSERT_GE(r.synonyms.size(), 3u);
  EXPECT_EQ(r.synonyms[0].source, ConfigSource::kDynamicBroker);
  EXPECT_EQ(r.synonyms[1].source, ConfigSource::kDynamicDefaultBroker);
  EXPECT_EQ(r.synonyms[1].value, "2000");
  EXPECT_EQ(r.synonyms[2].source, ConfigSource::kStaticBroker);
  EXPECT_EQ(r.synonyms[2].value, "1000");
  EXPECT_TRUE(Find(all, "num.io.threads").read_only);
  // The cluster-default resource does not show the per-broker layer.
  const auto& def = Find(d.Describe(false), "log.retention.ms");
  EXPECT_EQ(def.source, ConfigSource::kDynamicDefaultBroker);
  // Topics see the dynamic layers among their synonyms.
  auto topic = d.DescribeTopic({});
  for (const auto& t : topic) {
    if (t.name != "retention.ms") continue;
    EXPECT_EQ(t.value, "3000");
    EXPECT_EQ(t.source, ConfigSource::kDynamicBroker);
    ASSERT_GE(t.synonyms.size(), 2u);
    EXPECT_EQ(t.synonyms[1].source, ConfigSource::kDynamicDefaultBroker);
  }
}

}  // namespace
}  // namespace gregor::config
