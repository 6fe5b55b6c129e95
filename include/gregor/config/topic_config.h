#pragma once
// Topic-level configuration: the table of topic keys gregor supports, their
// validation, and their resolution against the broker's defaults.
//
// Free functions over an immutable static table; safe from any thread. No
// exceptions: validation returns Status (InvalidArgument naming the key and the
// value), which the CreateTopics / AlterConfigs handlers map to
// INVALID_CONFIG. ResolveTopicConfigs / DescribeBrokerConfigs feed the
// DescribeConfigs handler; ToLogConfig feeds the log module (via the lead's
// conversion of TopicLogSettings to gregor::log::LogConfig, which keeps config
// free of a dependency on log).

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/compression_codec.h"
#include "gregor/base/status.h"
#include "gregor/config/broker_config.h"

namespace gregor::config {

// DescribeConfigs ConfigSource ids (DescribeConfigsResponse): cast to int8.
enum class ConfigSource : int8_t {
  kTopicOverride = 1,         // DYNAMIC_TOPIC_CONFIG
  kDynamicBroker = 2,         // DYNAMIC_BROKER_CONFIG: /config/brokers/<id>
  kDynamicDefaultBroker = 3,  // DYNAMIC_DEFAULT_BROKER_CONFIG: /config/brokers/<default>
  kStaticBroker = 4,          // STATIC_BROKER_CONFIG
  kDefault = 5,               // DEFAULT_CONFIG
  kDynamicBrokerLogger = 6,   // DYNAMIC_BROKER_LOGGER_CONFIG
};

// The dynamic layers of broker configs (KIP-226) above the static ones, for the
// synonyms DescribeConfigs lists: the per-broker entity, then the cluster default.
struct DynamicLayers {
  std::map<std::string, std::string> per_broker;  // /config/brokers/<id>
  std::map<std::string, std::string> defaults;    // /config/brokers/<default>
};

// A synonym of a config, most specific first (DescribeConfigs v1+).
struct ConfigSynonym {
  std::string name;
  std::string value;
  ConfigSource source;
};

// One described config entry (topic or broker resource).
struct ResolvedTopicConfig {
  std::string name;
  std::string value;
  ConfigSource source = ConfigSource::kDefault;
  bool sensitive = false;  // value must be sent as null
  bool read_only = false;
  // Synonym names and their sources, most specific first (the brief's shape);
  // `synonyms` below carries the same list with values.
  std::vector<std::pair<std::string, ConfigSource>> synonyms_with_values;
  std::vector<ConfigSynonym> synonyms;
  std::string type_name;  // "LONG","INT","SHORT","STRING","BOOLEAN","DOUBLE","LIST","PASSWORD"
  std::string documentation;
};
using ResolvedConfig = ResolvedTopicConfig;

// DescribeConfigs v3+ config_type id for a type_name (BOOLEAN 1, STRING 2,
// INT 3, SHORT 4, LONG 5, DOUBLE 6, LIST 7, CLASS 8, PASSWORD 9; else 0).
int8_t ConfigTypeId(const std::string& type_name);

// One supported topic key.
struct TopicConfigDef {
  const char* name;
  const char* type_name;
  const char* broker_key;  // the broker key that supplies the default; "" for none
  const char* documentation;
};

// leader.replication.throttled.replicas / follower.replication.throttled.replicas (KIP-73):
// "*" (every replica of the topic) or "partition:broker,..."; "" throttles nothing.
struct ThrottledReplicas {
  bool all = false;
  std::vector<std::pair<int32_t, int32_t>> replicas;  // (partition, broker id)
};
// nullopt when the value is neither "*" nor such a list (Kafka's ThrottledReplicaListValidator).
std::optional<ThrottledReplicas> ParseThrottledReplicas(const std::string& value);
const std::vector<TopicConfigDef>& TopicConfigDefs();
bool IsKnownTopicKey(const std::string& key);

// Unknown key or bad value -> InvalidArgument naming it. Then the checks across keys of Kafka's
// LogConfig.validate on a ZooKeeper-mode broker without tiered storage: min.compaction.lag.ms
// > max.compaction.lag.ms (a lag the topic does not set is `broker`'s, or Kafka's default when
// `broker` is null); remote.log.copy.disable or remote.log.delete.on.disable true (KRaft only);
// remote.storage.enable true (gregor has no tiered storage).
Status ValidateTopicConfig(const std::map<std::string, std::string>& overrides,
                           const BrokerConfig* broker = nullptr);

// Every supported topic key with its effective value: the override
// (kTopicOverride) else the broker key from the dynamic layers (per broker, then
// cluster default) or the static config (`broker.original`) else the default.
// `broker` is the effective config (dynamic layers applied). Synonyms in Kafka's
// order: by source, then by synonym. Sorted by name. Overrides are assumed
// validated; unknown keys in `overrides` are ignored.
std::vector<ResolvedTopicConfig> ResolveTopicConfigs(
    const BrokerConfig& broker, const std::map<std::string, std::string>& overrides,
    const DynamicLayers& layers = {});

// Every broker key with its value, source and synonyms, sorted by name: from
// `layers.per_broker` (when `per_broker_view`; the cluster-default resource "" does
// not show them), `layers.defaults`, the static config, else the default. `read_only`
// unless the key can change at run time (dynamic_broker_config.h). Sensitive values
// are blanked.
std::vector<ResolvedConfig> DescribeBrokerConfigs(const BrokerConfig& broker,
                                                  const DynamicLayers& layers = {},
                                                  bool per_broker_view = true);

// The broker keys a topic key takes its default from, most specific first
// (log.retention.ms, log.retention.minutes, log.retention.hours); {key} for a
// broker key no topic key uses.
std::vector<std::string> BrokerKeySynonyms(const std::string& broker_key);
// Every broker key that supplies a topic default (the synonyms of every topic key).
std::vector<std::string> TopicDefaultBrokerKeys();

// The log module's view of a topic's config; field names match
// gregor::log::LogConfig so the conversion is one line per field.
struct TopicLogSettings {
  int64_t segment_bytes = 1073741824;
  int64_t segment_ms = 604800000;
  int32_t segment_index_bytes = 10485760;
  int32_t index_interval_bytes = 4096;
  int64_t retention_ms = 604800000;
  int64_t retention_bytes = -1;
  int32_t max_message_bytes = 1048588;
  int64_t flush_interval_messages = std::numeric_limits<int64_t>::max();
  int64_t flush_interval_ms = std::numeric_limits<int64_t>::max();
  int64_t file_delete_delay_ms = 60000;
  bool log_append_time = false;  // message.timestamp.type=LogAppendTime
  bool compact = false;          // cleanup.policy contains compact
  bool delete_enabled = true;    // cleanup.policy contains delete
  // Compaction (used when `compact`).
  int64_t delete_retention_ms = 86400000;                               // delete.retention.ms
  double min_cleanable_dirty_ratio = 0.5;                               // min.cleanable.dirty.ratio
  int64_t min_compaction_lag_ms = 0;                                    // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();  // max.compaction.lag.ms
  int64_t producer_id_expiration_ms = 86400000;  // broker-level producer.id.expiration.ms
  // compression.type: kCompressionProducer (-1, keep each batch's codec) or the codec id to
  // store batches in (gregor/base/compression_codec.h; "uncompressed" is kCompressionNone, 0).
  int compression_type = kCompressionProducer;
  // The level of that codec: its compression.<codec>.level (topic, else broker), or the
  // codec's default for one without levels. Not meaningful for producer: a batch the log must
  // rewrite keeps its own codec, at that codec's default level (as Kafka does).
  int compression_level = 0;
  // KIP-937: a CreateTime record whose timestamp lies more than this behind (before) or ahead of
  // (after) the broker's clock is refused; Long.MAX = no bound. Resolved from
  // message.timestamp.before/after.max.ms and the deprecated .difference.max.ms as Kafka 3.9
  // does (topic_config.cc).
  int64_t message_timestamp_before_max_ms = std::numeric_limits<int64_t>::max();
  int64_t message_timestamp_after_max_ms = std::numeric_limits<int64_t>::max();
};

// Broker defaults overlaid with the topic's overrides. Overrides must have
// passed ValidateTopicConfig; an invalid one is ignored (the default stays).
TopicLogSettings ToLogConfig(const BrokerConfig& broker,
                             const std::map<std::string, std::string>& overrides);

}  // namespace gregor::config
