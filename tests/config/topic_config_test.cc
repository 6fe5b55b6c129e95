#include "gregor/config/topic_config.h"

#include <gtest/gtest.h>

#include <iterator>
#include <limits>
#include <tuple>

#include "gregor/config/dynamic_broker_config.h"

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
      {"compression.type", "GZIP"},    {"max.message.bytes", "99999999999"},
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

// Expects InvalidArgument for {key: value} whose message names the key.
void ExpectRefused(const std::string& key, const std::string& value, const std::string& why = "") {
  Status s = ValidateTopicConfig({{key, value}});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << key << "=" << value;
  EXPECT_NE(s.message().find("'" + key + "'"), std::string::npos) << s.message();
  if (!why.empty()) {
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  }
}

constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();

TEST(TopicConfigTest, EveryKafkaLogConfigKeyIsKnown) {
  // Kafka 3.9's LogConfig, all 36 keys.
  const char* keys[] = {"cleanup.policy",
                        "compression.gzip.level",
                        "compression.lz4.level",
                        "compression.type",
                        "compression.zstd.level",
                        "delete.retention.ms",
                        "file.delete.delay.ms",
                        "flush.messages",
                        "flush.ms",
                        "follower.replication.throttled.replicas",
                        "index.interval.bytes",
                        "leader.replication.throttled.replicas",
                        "local.retention.bytes",
                        "local.retention.ms",
                        "max.compaction.lag.ms",
                        "max.message.bytes",
                        "message.downconversion.enable",
                        "message.format.version",
                        "message.timestamp.after.max.ms",
                        "message.timestamp.before.max.ms",
                        "message.timestamp.difference.max.ms",
                        "message.timestamp.type",
                        "min.cleanable.dirty.ratio",
                        "min.compaction.lag.ms",
                        "min.insync.replicas",
                        "preallocate",
                        "remote.log.copy.disable",
                        "remote.log.delete.on.disable",
                        "remote.storage.enable",
                        "retention.bytes",
                        "retention.ms",
                        "segment.bytes",
                        "segment.index.bytes",
                        "segment.jitter.ms",
                        "segment.ms",
                        "unclean.leader.election.enable"};
  for (const char* k : keys) EXPECT_TRUE(IsKnownTopicKey(k)) << k;
  EXPECT_EQ(TopicConfigDefs().size(), std::size(keys));
}

TEST(TopicConfigTest, NewKeysAcceptValidValuesAndRefuseInvalidOnes) {
  struct Case {
    const char* key;
    std::vector<std::string> good, bad;
  };
  const std::vector<Case> cases = {
      {"compression.gzip.level", {"-1", "1", "9", " 6 "}, {"0", "-2", "10", "x", "99999999999"}},
      {"compression.lz4.level", {"1", "9", "17"}, {"0", "-1", "18"}},
      {"compression.zstd.level", {"-131072", "-1", "0", "3", "22"}, {"-131073", "23", "3.5"}},
      {"local.retention.bytes", {"-2", "-1", "0", "1048576"}, {"-3", "big"}},
      {"local.retention.ms", {"-2", "-1", "0", "86400000"}, {"-3", ""}},
      {"message.downconversion.enable", {"true", "FALSE"}, {"yes", "1"}},
      {"message.timestamp.after.max.ms", {"0", "3600000", "9223372036854775807"}, {"-1", "1h"}},
      {"message.timestamp.before.max.ms", {"0", "86400000"}, {"-1", "9223372036854775808"}},
      {"message.timestamp.difference.max.ms", {"0", "60000"}, {"-1", ""}},
      {"preallocate", {"true", "false"}, {"on"}},
      {"remote.log.copy.disable", {"false"}, {"no"}},
      {"remote.log.delete.on.disable", {"false"}, {"0"}},
      {"remote.storage.enable", {"false", " False "}, {"off"}},
      {"segment.jitter.ms", {"0", "3600000"}, {"-1", "1.5"}},
  };
  for (const auto& c : cases) {
    for (const auto& v : c.good) {
      EXPECT_TRUE(ValidateTopicConfig({{c.key, v}}).ok()) << c.key << "=" << v;
    }
    for (const auto& v : c.bad) ExpectRefused(c.key, v, "'" + v + "'");
  }
}

TEST(TopicConfigTest, CompressionTypeTakesKafkasSixValues) {
  for (const char* v : {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}) {
    EXPECT_TRUE(ValidateTopicConfig({{"compression.type", v}}).ok()) << v;
  }
  // Kafka's list is matched exactly: no "none" (the codec's name), no upper case.
  for (const char* v : {"none", "brotli", "Zstd", ""}) ExpectRefused("compression.type", v);
}

TEST(TopicConfigTest, CompressionLevelRangesPerCodec) {
  ExpectRefused("compression.gzip.level", "0", "gzip levels go from 1 to 9, or -1");
  ExpectRefused("compression.lz4.level", "18", "lz4 levels go from 1 to 17");
  ExpectRefused("compression.zstd.level", "23", "zstd levels go from -131072 to 22");
  // The broker keys of the same name are checked with the same ranges.
  EXPECT_EQ(Broker({{"compression.zstd.level", "-5"}}).compression_zstd_level, -5);
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"compression.gzip.level", "10"},
                                                        {"compression.lz4.level", "0"},
                                                        {"compression.zstd.level", "-131073"},
                                                        {"compression.type", "none"}}) {
    try {
      Broker({{k, v}});
      ADD_FAILURE() << k << "=" << v << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("'" + k + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(Broker({{"compression.type", "zstd"}}).compression_type, "zstd");
}

TEST(TopicConfigTest, MessageFormatVersionTakesAnyKafkaVersion) {
  // As Kafka 3.9's MetadataVersion parses it: "0.x.y" by three parts, others by two, whole
  // when it has no more parts; a bare release only for production releases (not 4.0).
  for (const char* v : {"0.8.0", "0.8.2.2", "0.9.0", "0.10.0", "0.10.0-IV1", "0.10.2.1", "0.11.0.3",
                        "1.0", "1.0.1", "2.4", "2.4-IV1", "2.8-IV1", "3.0-IV1", "3.3-IV3",
                        "3.7-IV4", "3.9", " 3.9-IV0 ", "4.0-IV1"}) {
    EXPECT_TRUE(ValidateTopicConfig({{"message.format.version", v}}).ok()) << v;
  }
  for (const char* v : {"", "3", "4.0", "3.10", "2.4-IV2", "0.10.3", "0.7.0", "2.4.", "3.0-IV01",
                        "v2.4", "latest"}) {
    ExpectRefused("message.format.version", v, "not a Kafka version");
  }
  EXPECT_EQ(Broker({{"log.message.format.version", "2.8"}}).log_message_format_version, "2.8");
  EXPECT_THROW(Broker({{"log.message.format.version", "2.x"}}), ConfigError);
}

TEST(TopicConfigTest, RemoteStorageIsRefusedWithoutTieredStorage) {
  ExpectRefused("remote.storage.enable", "true", "tiered storage is not enabled");
  ExpectRefused("remote.storage.enable", "TRUE", "tiered storage is not enabled");
  // KRaft-only keys, refused in ZooKeeper mode whatever remote.storage.enable says.
  ExpectRefused("remote.log.copy.disable", "true", "ZooKeeper-mode");
  ExpectRefused("remote.log.delete.on.disable", "true", "ZooKeeper-mode");
  // local.retention.* are checked against retention.* only with remote storage on.
  EXPECT_TRUE(ValidateTopicConfig({{"local.retention.ms", "-1"}, {"retention.ms", "1000"}}).ok());
  EXPECT_TRUE(
      ValidateTopicConfig({{"local.retention.bytes", "500"}, {"retention.bytes", "100"}}).ok());
}

TEST(TopicConfigTest, CompactionLagsAreComparedWithTheBrokersDefaults) {
  BrokerConfig b = Broker({{"log.cleaner.max.compaction.lag.ms", "3000"}});
  EXPECT_TRUE(ValidateTopicConfig({{"min.compaction.lag.ms", "5000"}}).ok());
  Status s = ValidateTopicConfig({{"min.compaction.lag.ms", "5000"}}, &b);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("min.compaction.lag.ms (5000) > max.compaction.lag.ms (3000)"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(ValidateTopicConfig(
                  {{"min.compaction.lag.ms", "5000"}, {"max.compaction.lag.ms", "6000"}}, &b)
                  .ok());
}

TEST(TopicConfigTest, ResolutionOfNewKeys) {
  BrokerConfig b = Broker({{"compression.zstd.level", "7"},
                           {"log.roll.jitter.hours", "1"},
                           {"log.message.format.version", "2.8"},
                           {"log.message.timestamp.difference.max.ms", "5000"}});
  auto r = ResolveTopicConfigs(b, {{"compression.type", "zstd"}, {"preallocate", "true"}});
  EXPECT_EQ(r.size(), TopicConfigDefs().size());

  const auto& zstd = Find(r, "compression.zstd.level");
  EXPECT_EQ(zstd.value, "7");
  EXPECT_EQ(zstd.source, ConfigSource::kStaticBroker);
  EXPECT_EQ(zstd.type_name, "INT");
  ASSERT_EQ(zstd.synonyms.size(), 2u);
  EXPECT_EQ(zstd.synonyms[0].name, "compression.zstd.level");
  EXPECT_EQ(zstd.synonyms[0].source, ConfigSource::kStaticBroker);
  EXPECT_EQ(zstd.synonyms[1].value, "3");
  EXPECT_EQ(zstd.synonyms[1].source, ConfigSource::kDefault);

  const auto& type = Find(r, "compression.type");
  EXPECT_EQ(type.value, "zstd");
  EXPECT_EQ(type.source, ConfigSource::kTopicOverride);
  ASSERT_EQ(type.synonyms.size(), 2u);
  EXPECT_EQ(type.synonyms[1].name, "compression.type");
  EXPECT_EQ(type.synonyms[1].value, "producer");

  const auto& jitter = Find(r, "segment.jitter.ms");
  EXPECT_EQ(jitter.value, "3600000");
  EXPECT_EQ(jitter.source, ConfigSource::kStaticBroker);
  ASSERT_EQ(jitter.synonyms.size(), 2u);
  EXPECT_EQ(jitter.synonyms[0].name, "log.roll.jitter.hours");
  EXPECT_EQ(jitter.synonyms[1].name, "log.roll.jitter.ms");
  EXPECT_EQ(jitter.synonyms[1].value, "0");

  const auto& pre = Find(r, "preallocate");
  EXPECT_EQ(pre.value, "true");
  EXPECT_EQ(pre.source, ConfigSource::kTopicOverride);
  EXPECT_EQ(pre.synonyms[1].name, "log.preallocate");

  // Kafka 3.x gives every topic message.format.version 3.0-IV1 whatever the broker key says.
  const auto& format = Find(r, "message.format.version");
  EXPECT_EQ(format.value, "3.0-IV1");
  EXPECT_EQ(format.source, ConfigSource::kStaticBroker);
  ASSERT_EQ(format.synonyms.size(), 2u);
  EXPECT_EQ(format.synonyms[0].value, "2.8");
  EXPECT_EQ(format.synonyms[1].value, "3.0-IV1");

  // The bounds show the broker's derived value (difference key) with their own synonym only.
  const auto& before = Find(r, "message.timestamp.before.max.ms");
  EXPECT_EQ(before.value, "5000");
  EXPECT_EQ(before.source, ConfigSource::kDefault);
  ASSERT_EQ(before.synonyms.size(), 1u);
  EXPECT_EQ(before.synonyms[0].name, "log.message.timestamp.before.max.ms");
  EXPECT_EQ(before.synonyms[0].value, "9223372036854775807");

  // Keys without a broker key: LogConfig's default, no synonyms.
  for (const char* k :
       {"remote.storage.enable", "remote.log.copy.disable", "remote.log.delete.on.disable"}) {
    const auto& remote = Find(r, k);
    EXPECT_EQ(remote.value, "false") << k;
    EXPECT_EQ(remote.source, ConfigSource::kDefault) << k;
    EXPECT_TRUE(remote.synonyms.empty()) << k;
    EXPECT_EQ(remote.type_name, "BOOLEAN") << k;
  }
  const auto& local = Find(r, "local.retention.ms");
  EXPECT_EQ(local.value, "-2");
  EXPECT_EQ(local.synonyms[0].name, "log.local.retention.ms");
}

TEST(TopicConfigTest, ToLogConfigCompression) {
  TopicLogSettings s = ToLogConfig(Broker(), {});
  EXPECT_EQ(s.compression_type, kCompressionProducer);
  EXPECT_EQ(s.compression_type, -1);
  EXPECT_EQ(s.compression_level, 0);

  BrokerConfig b = Broker({{"compression.type", "zstd"}, {"compression.zstd.level", "10"}});
  s = ToLogConfig(b, {});
  EXPECT_EQ(s.compression_type, kCompressionZstd);
  EXPECT_EQ(s.compression_level, 10);

  const std::vector<std::tuple<std::map<std::string, std::string>, int, int>> cases = {
      {{{"compression.type", "uncompressed"}}, 0, 0},
      {{{"compression.type", "gzip"}}, 1, -1},
      {{{"compression.type", "gzip"}, {"compression.gzip.level", "9"}}, 1, 9},
      {{{"compression.type", "snappy"}}, 2, 0},
      {{{"compression.type", "lz4"}}, 3, 9},
      {{{"compression.type", "lz4"}, {"compression.lz4.level", "12"}}, 3, 12},
      {{{"compression.zstd.level", "-3"}}, 4, -3},  // the broker's zstd, the topic's level
      {{{"compression.type", "producer"}, {"compression.zstd.level", "5"}}, -1, 0},
      {{{"compression.type", "lz4"}, {"compression.lz4.level", "99"}}, 3, 9},  // invalid: ignored
  };
  for (const auto& [overrides, codec, level] : cases) {
    s = ToLogConfig(b, overrides);
    EXPECT_EQ(s.compression_type, codec) << overrides.begin()->second;
    EXPECT_EQ(s.compression_level, level) << overrides.begin()->second;
  }
}

TEST(TopicConfigTest, ToLogConfigTimestampBoundsFollowKip937) {
  TopicLogSettings s = ToLogConfig(Broker(), {});
  EXPECT_EQ(s.message_timestamp_before_max_ms, kLongMax);
  EXPECT_EQ(s.message_timestamp_after_max_ms, kLongMax);

  // The deprecated key alone sets both bounds.
  s = ToLogConfig(Broker(), {{"message.timestamp.difference.max.ms", "1000"}});
  EXPECT_EQ(s.message_timestamp_before_max_ms, 1000);
  EXPECT_EQ(s.message_timestamp_after_max_ms, 1000);
  // A bound that is set wins over it; one set to Long.MAX counts as not set.
  s = ToLogConfig(Broker(), {{"message.timestamp.difference.max.ms", "1000"},
                             {"message.timestamp.before.max.ms", "500"},
                             {"message.timestamp.after.max.ms", "9223372036854775807"}});
  EXPECT_EQ(s.message_timestamp_before_max_ms, 500);
  EXPECT_EQ(s.message_timestamp_after_max_ms, 1000);

  // Broker keys: the same rule, applied to the broker's defaults first.
  BrokerConfig b = Broker({{"log.message.timestamp.difference.max.ms", "2000"},
                           {"log.message.timestamp.after.max.ms", "300"}});
  s = ToLogConfig(b, {});
  EXPECT_EQ(s.message_timestamp_before_max_ms, 2000);
  EXPECT_EQ(s.message_timestamp_after_max_ms, 300);
  // So a topic's difference key does not reach a bound the broker already derived (Kafka 3.9).
  s = ToLogConfig(b, {{"message.timestamp.difference.max.ms", "7000"}});
  EXPECT_EQ(s.message_timestamp_before_max_ms, 2000);
  EXPECT_EQ(s.message_timestamp_after_max_ms, 300);
  s = ToLogConfig(b, {{"message.timestamp.before.max.ms", "10"}});
  EXPECT_EQ(s.message_timestamp_before_max_ms, 10);
  // A topic bound set to Long.MAX falls back to the difference, the topic's or the broker's.
  s = ToLogConfig(b, {{"message.timestamp.after.max.ms", "9223372036854775807"}});
  EXPECT_EQ(s.message_timestamp_after_max_ms, 2000);
}

TEST(TopicConfigTest, NewBrokerKeysAndTheirDynamicScope) {
  BrokerConfig b = Broker({{"log.roll.jitter.hours", "2"}, {"log.local.retention.ms", "-1"}});
  EXPECT_EQ(b.log_roll_jitter_ms, 7200000);
  EXPECT_EQ(
      Broker({{"log.roll.jitter.ms", "5"}, {"log.roll.jitter.hours", "2"}}).log_roll_jitter_ms, 5);
  EXPECT_EQ(b.log_local_retention_ms, -1);
  EXPECT_THROW(Broker({{"log.local.retention.bytes", "-3"}}), ConfigError);
  EXPECT_THROW(Broker({{"log.message.timestamp.before.max.ms", "-1"}}), ConfigError);
  EXPECT_THROW(Broker({{"log.roll.jitter.ms", "-1"}}), ConfigError);

  auto described = DescribeBrokerConfigs(b);
  const auto& gzip = Find(described, "compression.gzip.level");
  EXPECT_EQ(gzip.value, "-1");
  EXPECT_EQ(gzip.source, ConfigSource::kDefault);
  EXPECT_FALSE(gzip.read_only);
  const auto& jitter = Find(described, "log.roll.jitter.ms");
  EXPECT_EQ(jitter.value, "7200000");
  EXPECT_EQ(jitter.source, ConfigSource::kStaticBroker);  // through log.roll.jitter.hours
  EXPECT_TRUE(Find(described, "log.message.format.version").read_only);

  // Kafka's DynamicLogConfig: every broker default of a topic key but the message format.
  for (const char* k :
       {"compression.type", "compression.gzip.level", "compression.lz4.level",
        "compression.zstd.level", "log.preallocate", "log.roll.jitter.ms",
        "log.message.timestamp.before.max.ms", "log.message.timestamp.after.max.ms",
        "log.message.timestamp.difference.max.ms", "log.message.downconversion.enable",
        "log.local.retention.ms", "log.local.retention.bytes"}) {
    EXPECT_EQ(DynamicScopeOf(k), DynamicScope::kClusterWide) << k;
  }
  EXPECT_EQ(DynamicScopeOf("log.message.format.version"), DynamicScope::kStatic);
  DynamicBrokerConfig dynamic(Broker());
  EXPECT_TRUE(
      dynamic.Validate({{"compression.type", "lz4"}, {"compression.lz4.level", "4"}}, false).ok());
  EXPECT_FALSE(dynamic.Validate({{"compression.lz4.level", "40"}}, false).ok());
  EXPECT_FALSE(dynamic.Validate({{"log.message.format.version", "2.8"}}, false).ok());
}

}  // namespace
}  // namespace gregor::config
