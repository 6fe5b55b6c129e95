#include "gregor/config/topic_config.h"

#include <gtest/gtest.h>

#include <limits>

namespace gregor::config {
namespace {

BrokerConfig Broker(std::map<std::string, std::string> file = {}) {
  file["zookeeper.connect"] = "127.0.0.1:2181";
  return ParseBrokerConfig(file, {}, nullptr);
}

const ResolvedTopicConfig& Find(const std::vector<ResolvedTopicConfig>& v,
                                const std::string& name) {
  for (const auto& r : v) {
    if (r.name == name) return r;
  }
  ADD_FAILURE() << "no config " << name;
  static ResolvedTopicConfig none;
  return none;
}

TEST(TopicConfigTest, ValidOverridesPass) {
  EXPECT_TRUE(ValidateTopicConfig({{"retention.ms", "-1"},
                                   {"cleanup.policy", "compact,delete"},
                                   {"min.cleanable.dirty.ratio", "0.1"},
                                   {"message.timestamp.type", "LogAppendTime"},
                                   {"unclean.leader.election.enable", "true"},
                                   {"compression.type", "producer"}})
                  .ok());
}

TEST(TopicConfigTest, UnknownKeyIsInvalidArgumentNamingIt) {
  Status s = ValidateTopicConfig({{"retention.weeks", "1"}});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("retention.weeks"), std::string::npos);
}

TEST(TopicConfigTest, BadValuesAreInvalidArgumentNamingKeyAndValue) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"retention.ms", "-2"},          {"segment.bytes", "10"},
      {"segment.bytes", "abc"},        {"segment.ms", "0"},
      {"min.insync.replicas", "0"},    {"cleanup.policy", "forever"},
      {"cleanup.policy", ""},          {"min.cleanable.dirty.ratio", "1.5"},
      {"message.timestamp.type", "x"}, {"unclean.leader.election.enable", "1"},
      {"compression.type", "gzip"},    {"max.message.bytes", "99999999999"},
      {"flush.messages", "0"}};
  for (const auto& [k, v] : bad) {
    Status s = ValidateTopicConfig({{k, v}});
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << k << "=" << v;
    EXPECT_NE(s.message().find(k), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("'" + v + "'"), std::string::npos) << s.message();
  }
}

TEST(TopicConfigTest, ResolutionSourcesDefaultBrokerAndOverride) {
  BrokerConfig b = Broker({{"log.segment.bytes", "1048576"}});
  auto r = ResolveTopicConfigs(b, {{"retention.ms", "1000"}});
  EXPECT_EQ(r.size(), TopicConfigDefs().size());

  const auto& retention = Find(r, "retention.ms");
  EXPECT_EQ(retention.value, "1000");
  EXPECT_EQ(retention.source, ConfigSource::kTopicOverride);
  EXPECT_EQ(retention.type_name, "LONG");
  ASSERT_EQ(retention.synonyms.size(), 2u);
  EXPECT_EQ(retention.synonyms[1].name, "log.retention.ms");
  EXPECT_EQ(retention.synonyms[1].value, "604800000");
  EXPECT_EQ(retention.synonyms[1].source, ConfigSource::kDefault);

  const auto& segment = Find(r, "segment.bytes");
  EXPECT_EQ(segment.value, "1048576");
  EXPECT_EQ(segment.source, ConfigSource::kStaticBroker);
  ASSERT_EQ(segment.synonyms_with_values.size(), 2u);
  EXPECT_EQ(segment.synonyms_with_values[0].first, "log.segment.bytes");
  EXPECT_EQ(segment.synonyms_with_values[0].second, ConfigSource::kStaticBroker);

  const auto& max_bytes = Find(r, "max.message.bytes");
  EXPECT_EQ(max_bytes.value, "1048588");
  EXPECT_EQ(max_bytes.source, ConfigSource::kDefault);
  EXPECT_EQ(ConfigTypeId(max_bytes.type_name), 3);
}

TEST(TopicConfigTest, RetentionHoursOnBrokerIsAStaticSynonym) {
  BrokerConfig b = Broker({{"log.retention.hours", "2"}});
  auto all = ResolveTopicConfigs(b, {});
  const auto& r = Find(all, "retention.ms");
  EXPECT_EQ(r.value, "7200000");
  EXPECT_EQ(r.source, ConfigSource::kStaticBroker);
  ASSERT_FALSE(r.synonyms.empty());
  EXPECT_EQ(r.synonyms[0].name, "log.retention.hours");
  EXPECT_EQ(r.synonyms[0].value, "2");
}

TEST(TopicConfigTest, ToLogConfigAppliesBrokerDefaultsThenOverrides) {
  BrokerConfig b = Broker({{"log.segment.bytes", "1048576"},
                           {"log.retention.minutes", "10"},
                           {"log.message.timestamp.type", "LogAppendTime"}});
  TopicLogSettings s = ToLogConfig(b, {});
  EXPECT_EQ(s.segment_bytes, 1048576);
  EXPECT_EQ(s.retention_ms, 600000);
  EXPECT_TRUE(s.log_append_time);
  EXPECT_TRUE(s.delete_enabled);
  EXPECT_FALSE(s.compact);

  s = ToLogConfig(b, {{"segment.bytes", "4096"},
                      {"retention.ms", "-1"},
                      {"message.timestamp.type", "CreateTime"},
                      {"cleanup.policy", "compact"},
                      {"max.message.bytes", "100"},
                      {"file.delete.delay.ms", "0"},
                      {"flush.messages", "1"}});
  EXPECT_EQ(s.segment_bytes, 4096);
  EXPECT_EQ(s.retention_ms, -1);
  EXPECT_FALSE(s.log_append_time);
  EXPECT_TRUE(s.compact);
  EXPECT_FALSE(s.delete_enabled);
  EXPECT_EQ(s.max_message_bytes, 100);
  EXPECT_EQ(s.file_delete_delay_ms, 0);
  EXPECT_EQ(s.flush_interval_messages, 1);
}

TEST(TopicConfigTest, ToLogConfigCompactionSettings) {
  // Kafka's defaults when nothing is set.
  TopicLogSettings s = ToLogConfig(Broker(), {});
  EXPECT_EQ(s.delete_retention_ms, 86400000);
  EXPECT_DOUBLE_EQ(s.min_cleanable_dirty_ratio, 0.5);
  EXPECT_EQ(s.min_compaction_lag_ms, 0);
  EXPECT_EQ(s.max_compaction_lag_ms, std::numeric_limits<int64_t>::max());

  // Broker keys supply the defaults...
  BrokerConfig b = Broker({{"log.cleaner.delete.retention.ms", "1000"},
                           {"log.cleaner.min.cleanable.ratio", "0.25"},
                           {"log.cleaner.min.compaction.lag.ms", "2000"},
                           {"log.cleaner.max.compaction.lag.ms", "3000"}});
  s = ToLogConfig(b, {});
  EXPECT_EQ(s.delete_retention_ms, 1000);
  EXPECT_DOUBLE_EQ(s.min_cleanable_dirty_ratio, 0.25);
  EXPECT_EQ(s.min_compaction_lag_ms, 2000);
  EXPECT_EQ(s.max_compaction_lag_ms, 3000);

  // ...and topic overrides win.
  s = ToLogConfig(b, {{"delete.retention.ms", "10"},
                      {"min.cleanable.dirty.ratio", "0.01"},
                      {"min.compaction.lag.ms", "20"},
                      {"max.compaction.lag.ms", "30"}});
  EXPECT_EQ(s.delete_retention_ms, 10);
  EXPECT_DOUBLE_EQ(s.min_cleanable_dirty_ratio, 0.01);
  EXPECT_EQ(s.min_compaction_lag_ms, 20);
  EXPECT_EQ(s.max_compaction_lag_ms, 30);

  // Invalid overrides keep the broker's values.
  s = ToLogConfig(b, {{"min.cleanable.dirty.ratio", "2"}, {"max.compaction.lag.ms", "0"}});
  EXPECT_DOUBLE_EQ(s.min_cleanable_dirty_ratio, 0.25);
  EXPECT_EQ(s.max_compaction_lag_ms, 3000);
}

TEST(TopicConfigTest, MaxCompactionLagValidationAndResolution) {
  EXPECT_TRUE(ValidateTopicConfig({{"max.compaction.lag.ms", "1"}}).ok());
  Status s = ValidateTopicConfig({{"max.compaction.lag.ms", "0"}});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("max.compaction.lag.ms"), std::string::npos);
  // Kafka's LogConfig.validateValues conflict.
  s = ValidateTopicConfig({{"min.compaction.lag.ms", "100"}, {"max.compaction.lag.ms", "99"}});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("min.compaction.lag.ms (100) > max.compaction.lag.ms (99)"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(
      ValidateTopicConfig({{"min.compaction.lag.ms", "99"}, {"max.compaction.lag.ms", "99"}}).ok());

  auto r = ResolveTopicConfigs(Broker(), {});
  const auto& d = Find(r, "max.compaction.lag.ms");
  EXPECT_EQ(d.value, "9223372036854775807");
  EXPECT_EQ(d.source, ConfigSource::kDefault);
  EXPECT_EQ(d.type_name, "LONG");
  r = ResolveTopicConfigs(Broker({{"log.cleaner.max.compaction.lag.ms", "5000"}}), {});
  const auto& b = Find(r, "max.compaction.lag.ms");
  EXPECT_EQ(b.value, "5000");
  EXPECT_EQ(b.source, ConfigSource::kStaticBroker);
  ASSERT_EQ(b.synonyms.size(), 2u);
  EXPECT_EQ(b.synonyms[0].name, "log.cleaner.max.compaction.lag.ms");
  EXPECT_EQ(b.synonyms[1].value, "9223372036854775807");
}

TEST(TopicConfigTest, ToLogConfigIgnoresInvalidOverride) {
  BrokerConfig b = Broker();
  TopicLogSettings s = ToLogConfig(b, {{"segment.bytes", "tiny"}});
  EXPECT_EQ(s.segment_bytes, 1073741824);
}

TEST(TopicConfigTest, DescribeBrokerConfigsSourcesAndSecrets) {
  BrokerConfig b = Broker({{"num.io.threads", "2"}, {"ssl.key.password", "pw"}});
  auto r = DescribeBrokerConfigs(b);
  const auto& io = Find(r, "num.io.threads");
  EXPECT_EQ(io.value, "2");
  EXPECT_EQ(io.source, ConfigSource::kStaticBroker);
  EXPECT_TRUE(io.read_only);
  const auto& net = Find(r, "num.network.threads");
  EXPECT_EQ(net.value, "3");
  EXPECT_EQ(net.source, ConfigSource::kDefault);
  const auto& pw = Find(r, "ssl.key.password");
  EXPECT_TRUE(pw.sensitive);
  EXPECT_EQ(pw.value, "");
  EXPECT_EQ(ConfigTypeId(pw.type_name), 9);
}

TEST(TopicConfigTest, ThrottledReplicasListsAreKafkasFormat) {
  auto all = ParseThrottledReplicas(" * ");
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->all);
  auto list = ParseThrottledReplicas("0:1, 0:2,1:3");
  ASSERT_TRUE(list.has_value());
  EXPECT_FALSE(list->all);
  const std::vector<std::pair<int32_t, int32_t>> want = {{0, 1}, {0, 2}, {1, 3}};
  EXPECT_EQ(list->replicas, want);
  auto none = ParseThrottledReplicas("");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->replicas.empty());
  EXPECT_FALSE(none->all);
  for (const char* bad : {"0", "0:", ":1", "a:1", "0:1,*", "-1:2", "0:1:2", "0:99999999999"}) {
    EXPECT_FALSE(ParseThrottledReplicas(bad).has_value()) << bad;
    Status s = ValidateTopicConfig({{"leader.replication.throttled.replicas", bad}});
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("partition:broker pairs"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(ValidateTopicConfig({{"follower.replication.throttled.replicas", "3:0,3:1"}}).ok());
}

TEST(TopicConfigTest, ThrottledReplicasHaveNoBrokerDefault) {
  BrokerConfig b = Broker({});
  auto r = ResolveTopicConfigs(b, {{"leader.replication.throttled.replicas", "0:1"}});
  const auto& leader = Find(r, "leader.replication.throttled.replicas");
  EXPECT_EQ(leader.value, "0:1");
  EXPECT_EQ(leader.source, ConfigSource::kTopicOverride);
  EXPECT_EQ(leader.type_name, "LIST");
  ASSERT_EQ(leader.synonyms.size(), 1u);
  const auto& follower = Find(r, "follower.replication.throttled.replicas");
  EXPECT_EQ(follower.value, "");
  EXPECT_EQ(follower.source, ConfigSource::kDefault);
  EXPECT_TRUE(follower.synonyms.empty());
}

}  // namespace
}  // namespace gregor::config
