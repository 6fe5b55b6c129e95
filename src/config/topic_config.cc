// Topic-level configs: every key of Kafka 3.9's LogConfig, with its ranges and allowed values;
// each topic key takes its default from one broker key (and that key's synonyms, e.g.
// log.retention.minutes/.hours for retention.ms), as in Kafka's ServerTopicConfigSynonyms.
// Some keys are accepted and not acted on (preallocate, segment.jitter.ms, the deprecated
// message.format.version and message.downconversion.enable, the tiered storage keys); see
// gregor.properties(5).

#include "gregor/config/topic_config.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>

#include "config/broker_keys.h"
#include "config/value_parse.h"
#include "gregor/base/compression_codec.h"
#include "gregor/config/dynamic_broker_config.h"
#include "gregor/config/kafka_version.h"

namespace gregor::config {
namespace {

using internal::FindBrokerKey;

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kLongMin = std::numeric_limits<int64_t>::min();

// Validates a value; returns "" or the reason.
using Validator = std::function<std::string(const std::string&)>;

Validator Integer(int64_t min, int64_t max) {
  return [min, max](const std::string& v) {
    int64_t n;
    return internal::ParseInteger(v, min, max, &n);
  };
}
Validator Boolean() {
  return [](const std::string& v) {
    bool b;
    return internal::ParseBoolean(v, &b);
  };
}
Validator Ratio() {
  return [](const std::string& v) {
    double d;
    return internal::ParseDouble(v, 0, 1, &d);
  };
}
Validator OneOf(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) { return internal::CheckIn(internal::Trim(v), allowed); };
}
Validator ListOf(std::vector<std::string> allowed) {
  return [allowed](const std::string& v) {
    return internal::CheckListIn(internal::ParseList(v), allowed, false);
  };
}

Validator CompressionLevel(int codec) {
  return [codec](const std::string& v) {
    int32_t level;
    return internal::ParseCompressionLevel(codec, v, &level);
  };
}
Validator KafkaVersion() {
  return [](const std::string& v) -> std::string {
    auto parsed = ParseMetadataVersion(v);
    return parsed.ok() ? "" : parsed.status().message();
  };
}

Validator ThrottledReplicaList() {
  return [](const std::string& v) -> std::string {
    if (ParseThrottledReplicas(v)) return "";
    return "expected * (every replica) or partition:broker pairs separated by commas, such as "
           "0:1,0:2,1:2";
  };
}

// The broker's message.format.version as topics see it (KafkaConfig.logMessageFormatVersion):
// from inter.broker.protocol.version 3.0-IV1 on, Kafka ignores log.message.format.version and
// gives every topic 3.0-IV1 (KIP-724); below, the broker key's version by its full name. gregor
// writes record format v2 either way.
std::string BrokerMessageFormatVersion(const BrokerConfig& b) {
  if (b.inter_broker_protocol >= kIgnoredMessageFormatVersion) {
    return MetadataVersionName(kIgnoredMessageFormatVersion);
  }
  auto v = ParseMetadataVersion(b.log_message_format_version);
  return v.ok() ? MetadataVersionName(*v) : b.log_message_format_version;
}

// KafkaConfig.logMessageTimestampBeforeMaxMs / AfterMaxMs: a bound left at its default
// (Long.MAX) takes the deprecated log.message.timestamp.difference.max.ms (KIP-937).
int64_t BrokerTimestampBound(const BrokerConfig& b, int64_t bound) {
  return bound != kLongMax ? bound : b.log_message_timestamp_difference_max_ms;
}

struct TopicKey {
  TopicConfigDef def;
  std::vector<std::string> broker_synonyms;  // most specific first; [0] == def.broker_key
  Validator validate;
  // The value of a key without a broker key when the topic does not set it.
  const char* default_value = "";
  // The broker's value as the topic sees it, when it is not the broker key's own value
  // (Kafka's KafkaConfig.extractLogConfigMap derives some); null: the broker key's value.
  std::function<std::string(const BrokerConfig&)> broker_value = nullptr;
};

const std::vector<TopicKey>& Table() {
  static const std::vector<TopicKey> table = [] {
    std::vector<TopicKey> t = {
        {{"cleanup.policy", "LIST", "log.cleanup.policy",
          "delete (retention), compact (keep the last value per key), or both."},
         {"log.cleanup.policy"},
         ListOf({"delete", "compact"})},
        {{"compression.gzip.level", "INT", "compression.gzip.level",
          "Level used when compression.type is gzip: 1 to 9, or -1 for zlib's default."},
         {"compression.gzip.level"},
         CompressionLevel(kCompressionGzip)},
        {{"compression.lz4.level", "INT", "compression.lz4.level",
          "Level used when compression.type is lz4: 1 to 17."},
         {"compression.lz4.level"},
         CompressionLevel(kCompressionLz4)},
        {{"compression.type", "STRING", "compression.type",
          "Codec of stored batches: producer (keep each batch's own), uncompressed, gzip, "
          "snappy, lz4 or zstd."},
         {"compression.type"},
         OneOf(std::vector<std::string>(std::begin(kCompressionTypeNames),
                                        std::end(kCompressionTypeNames)))},
        {{"compression.zstd.level", "INT", "compression.zstd.level",
          "Level used when compression.type is zstd: -131072 to 22."},
         {"compression.zstd.level"},
         CompressionLevel(kCompressionZstd)},
        {{"delete.retention.ms", "LONG", "log.cleaner.delete.retention.ms",
          "How long tombstones are kept in a compacted topic."},
         {"log.cleaner.delete.retention.ms"},
         Integer(0, kLongMax)},
        {{"file.delete.delay.ms", "LONG", "log.segment.delete.delay.ms",
          "Delay before a deleted segment's files are removed."},
         {"log.segment.delete.delay.ms"},
         Integer(0, kLongMax)},
        {{"flush.messages", "LONG", "log.flush.interval.messages",
          "Messages accumulated before an fsync of the log."},
         {"log.flush.interval.messages"},
         Integer(1, kLongMax)},
        {{"flush.ms", "LONG", "log.flush.interval.ms", "Maximum time a message stays unflushed."},
         {"log.flush.interval.ms"},
         Integer(0, kLongMax)},
        {{"index.interval.bytes", "INT", "log.index.interval.bytes",
          "Bytes between two offset-index entries."},
         {"log.index.interval.bytes"},
         Integer(0, kIntMax)},
        {{"max.message.bytes", "INT", "message.max.bytes",
          "Largest record batch accepted for this topic."},
         {"message.max.bytes"},
         Integer(0, kIntMax)},
        {{"follower.replication.throttled.replicas", "LIST", "",
          "Replicas whose follower fetches are throttled by follower.replication.throttled.rate."},
         {},
         ThrottledReplicaList()},
        {{"leader.replication.throttled.replicas", "LIST", "",
          "Replicas whose leader side is throttled by leader.replication.throttled.rate."},
         {},
         ThrottledReplicaList()},
        {{"local.retention.bytes", "LONG", "log.local.retention.bytes",
          "Tiered storage: size kept on local disk; -2 = retention.bytes. Accepted, not used."},
         {"log.local.retention.bytes"},
         Integer(-2, kLongMax)},
        {{"local.retention.ms", "LONG", "log.local.retention.ms",
          "Tiered storage: time kept on local disk; -2 = retention.ms. Accepted, not used."},
         {"log.local.retention.ms"},
         Integer(-2, kLongMax)},
        {{"max.compaction.lag.ms", "LONG", "log.cleaner.max.compaction.lag.ms",
          "Maximum time a record stays ineligible for compaction."},
         {"log.cleaner.max.compaction.lag.ms"},
         Integer(1, kLongMax)},
        {{"message.downconversion.enable", "BOOLEAN", "log.message.downconversion.enable",
          "Down-convert records for old consumers. Accepted, not used (gregor serves Fetch v4+ "
          "only)."},
         {"log.message.downconversion.enable"},
         Boolean()},
        {{"message.format.version", "STRING", "log.message.format.version",
          "Deprecated; any Kafka version is accepted and ignored (record format v2 only)."},
         {"log.message.format.version"},
         KafkaVersion(),
         "",
         BrokerMessageFormatVersion},
        {{"message.timestamp.after.max.ms", "LONG", "log.message.timestamp.after.max.ms",
          "How far a CreateTime timestamp may lie ahead of the broker's clock."},
         {"log.message.timestamp.after.max.ms"},
         Integer(0, kLongMax),
         "",
         [](const BrokerConfig& b) {
           return std::to_string(BrokerTimestampBound(b, b.log_message_timestamp_after_max_ms));
         }},
        {{"message.timestamp.before.max.ms", "LONG", "log.message.timestamp.before.max.ms",
          "How far a CreateTime timestamp may lie behind the broker's clock."},
         {"log.message.timestamp.before.max.ms"},
         Integer(0, kLongMax),
         "",
         [](const BrokerConfig& b) {
           return std::to_string(BrokerTimestampBound(b, b.log_message_timestamp_before_max_ms));
         }},
        {{"message.timestamp.difference.max.ms", "LONG", "log.message.timestamp.difference.max.ms",
          "Deprecated: the value of message.timestamp.before.max.ms and .after.max.ms left at "
          "their default."},
         {"log.message.timestamp.difference.max.ms"},
         Integer(0, kLongMax)},
        {{"message.timestamp.type", "STRING", "log.message.timestamp.type",
          "CreateTime (producer's timestamp) or LogAppendTime (broker's)."},
         {"log.message.timestamp.type"},
         OneOf({"CreateTime", "LogAppendTime"})},
        {{"min.cleanable.dirty.ratio", "DOUBLE", "log.cleaner.min.cleanable.ratio",
          "Minimum dirty ratio before the log is compacted."},
         {"log.cleaner.min.cleanable.ratio"},
         Ratio()},
        {{"min.compaction.lag.ms", "LONG", "log.cleaner.min.compaction.lag.ms",
          "Minimum age of a record before it may be compacted."},
         {"log.cleaner.min.compaction.lag.ms"},
         Integer(0, kLongMax)},
        {{"min.insync.replicas", "INT", "min.insync.replicas",
          "Minimum ISR size for an acks=all produce to succeed."},
         {"min.insync.replicas"},
         Integer(1, kIntMax)},
        {{"preallocate", "BOOLEAN", "log.preallocate",
          "Preallocate the file of a new segment. Accepted, not used."},
         {"log.preallocate"},
         Boolean()},
        {{"remote.log.copy.disable", "BOOLEAN", "",
          "Tiered storage: stop copying segments to remote storage. Only false in ZooKeeper "
          "mode."},
         {},
         Boolean(),
         "false"},
        {{"remote.log.delete.on.disable", "BOOLEAN", "",
          "Tiered storage: delete remote data when remote storage is turned off. Only false in "
          "ZooKeeper mode."},
         {},
         Boolean(),
         "false"},
        {{"remote.storage.enable", "BOOLEAN", "",
          "Tiered storage for this topic. Only false: gregor has no remote storage."},
         {},
         Boolean(),
         "false"},
        {{"retention.bytes", "LONG", "log.retention.bytes",
          "Maximum partition size before old segments are deleted; -1 = no limit."},
         {"log.retention.bytes"},
         Integer(kLongMin, kLongMax)},
        {{"retention.ms", "LONG", "log.retention.ms",
          "Time a segment is kept after its newest record; -1 = forever."},
         {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
         Integer(-1, kLongMax)},
        {{"segment.bytes", "INT", "log.segment.bytes", "Segment size before a roll."},
         {"log.segment.bytes"},
         Integer(14, kIntMax)},
        {{"segment.index.bytes", "INT", "log.index.size.max.bytes",
          "Maximum size of a segment's offset and time index."},
         {"log.index.size.max.bytes"},
         Integer(4, kIntMax)},
        {{"segment.jitter.ms", "LONG", "log.roll.jitter.ms",
          "Random amount subtracted from segment.ms per segment. Accepted, not used."},
         {"log.roll.jitter.ms", "log.roll.jitter.hours"},
         Integer(0, kLongMax)},
        {{"segment.ms", "LONG", "log.roll.ms", "Maximum age of the active segment before a roll."},
         {"log.roll.ms", "log.roll.hours"},
         Integer(1, kLongMax)},
        {{"unclean.leader.election.enable", "BOOLEAN", "unclean.leader.election.enable",
          "Allow an out-of-sync replica to become leader (may lose data)."},
         {"unclean.leader.election.enable"},
         Boolean()},
    };
    return t;
  }();
  return table;
}

const TopicKey* FindTopicKey(const std::string& name) {
  for (const auto& k : Table()) {
    if (name == k.def.name) return &k;
  }
  return nullptr;
}

// The value a broker key had by default (before any file or flag).
std::string BrokerDefault(const internal::BrokerKeyDef& def) {
  static const BrokerConfig defaults;
  return def.get(defaults);
}

}  // namespace

int8_t ConfigTypeId(const std::string& type_name) {
  static const std::vector<std::pair<std::string, int8_t>> ids = {
      {"BOOLEAN", 1}, {"STRING", 2}, {"INT", 3},   {"SHORT", 4},   {"LONG", 5},
      {"DOUBLE", 6},  {"LIST", 7},   {"CLASS", 8}, {"PASSWORD", 9}};
  for (const auto& [n, id] : ids) {
    if (n == type_name) return id;
  }
  return 0;
}

const std::vector<TopicConfigDef>& TopicConfigDefs() {
  static const std::vector<TopicConfigDef> defs = [] {
    std::vector<TopicConfigDef> d;
    for (const auto& k : Table()) d.push_back(k.def);
    return d;
  }();
  return defs;
}

bool IsKnownTopicKey(const std::string& key) { return FindTopicKey(key) != nullptr; }

std::optional<ThrottledReplicas> ParseThrottledReplicas(const std::string& value) {
  ThrottledReplicas out;
  if (internal::Trim(value) == "*") {
    out.all = true;
    return out;
  }
  for (const auto& entry : internal::ParseList(value)) {
    const std::string e = internal::Trim(entry);
    if (e.empty()) continue;
    const size_t colon = e.find(':');
    if (colon == std::string::npos) return std::nullopt;
    int64_t partition = 0, broker = 0;
    const std::string p = e.substr(0, colon), b = e.substr(colon + 1);
    auto digits = [](const std::string& x) {
      return !x.empty() && x.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!digits(p) || !digits(b) || !internal::ParseInteger(p, 0, kIntMax, &partition).empty() ||
        !internal::ParseInteger(b, 0, kIntMax, &broker).empty()) {
      return std::nullopt;
    }
    out.replicas.emplace_back(static_cast<int32_t>(partition), static_cast<int32_t>(broker));
  }
  return out;
}

Status ValidateTopicConfig(const std::map<std::string, std::string>& overrides,
                           const BrokerConfig* broker) {
  for (const auto& [key, value] : overrides) {
    const TopicKey* k = FindTopicKey(key);
    if (!k) return Status::InvalidArgument("unknown topic config '" + key + "'");
    std::string why = k->validate(value);
    if (!why.empty()) {
      return Status::InvalidArgument("invalid value '" + value + "' for topic config '" + key +
                                     "': " + why);
    }
  }
  // The checks across keys, in the order of Kafka's LogConfig.validate on a ZooKeeper-mode
  // broker, which sees the overrides laid over the broker's defaults. First validateValues: a
  // lag the topic does not set is the broker's (or, without a broker, Kafka's default: 0 and
  // Long.MAX, which never conflict).
  int64_t lo = broker ? broker->log_cleaner_min_compaction_lag_ms : 0;
  int64_t hi = broker ? broker->log_cleaner_max_compaction_lag_ms : kLongMax;
  if (auto it = overrides.find("min.compaction.lag.ms"); it != overrides.end()) {
    internal::ParseInteger(it->second, kLongMin, kLongMax, &lo);
  }
  if (auto it = overrides.find("max.compaction.lag.ms"); it != overrides.end()) {
    internal::ParseInteger(it->second, kLongMin, kLongMax, &hi);
  }
  if (lo > hi) {
    return Status::InvalidArgument("conflict topic config setting min.compaction.lag.ms (" +
                                   std::to_string(lo) + ") > max.compaction.lag.ms (" +
                                   std::to_string(hi) + ")");
  }
  auto is_true = [&overrides](const char* key) {
    bool b = false;
    auto it = overrides.find(key);
    return it != overrides.end() && internal::ParseBoolean(it->second, &b).empty() && b;
  };
  // Then validateNoInvalidRemoteStorageConfigsInZK: these two are KRaft-only.
  for (const char* key : {"remote.log.delete.on.disable", "remote.log.copy.disable"}) {
    if (is_true(key)) {
      return Status::InvalidArgument("topic config '" + std::string(key) +
                                     "' cannot be true on a ZooKeeper-mode cluster (KRaft only)");
    }
  }
  // Then validateRemoteStorageOnlyIfSystemEnabled: gregor has no tiered storage, which is
  // Kafka's case of remote.log.storage.system.enable=false. Kafka's remaining remote storage
  // checks (no compacted topic, local.retention.* within retention.*, copy disabled with equal
  // retentions) apply only past this one, so they can never apply here.
  if (is_true("remote.storage.enable")) {
    return Status::InvalidArgument(
        "topic config 'remote.storage.enable' cannot be true: tiered storage is not enabled on "
        "this broker (gregor has no remote log storage)");
  }
  return Status::Ok();
}

std::vector<ResolvedTopicConfig> ResolveTopicConfigs(
    const BrokerConfig& broker, const std::map<std::string, std::string>& overrides,
    const DynamicLayers& layers) {
  std::vector<ResolvedTopicConfig> out;
  for (const auto& k : Table()) {
    ResolvedTopicConfig r;
    r.name = k.def.name;
    r.type_name = k.def.type_name;
    r.documentation = k.def.documentation;
    const internal::BrokerKeyDef* primary = FindBrokerKey(k.def.broker_key);
    auto ov = overrides.find(r.name);
    if (!primary) {  // no broker default (Kafka: no synonyms, DEFAULT_CONFIG, LogConfig's default)
      if (ov != overrides.end()) {
        r.value = internal::Trim(ov->second);
        r.source = ConfigSource::kTopicOverride;
        r.synonyms.push_back({r.name, r.value, ConfigSource::kTopicOverride});
        r.synonyms_with_values.emplace_back(r.name, r.source);
      } else {
        r.value = k.default_value;
        r.source = ConfigSource::kDefault;
      }
      out.push_back(std::move(r));
      continue;
    }
    if (ov != overrides.end()) {
      r.synonyms.push_back({r.name, internal::Trim(ov->second), ConfigSource::kTopicOverride});
    }
    // Kafka's order: by source (per broker, cluster default, static), then by synonym.
    const std::pair<const std::map<std::string, std::string>*, ConfigSource> levels[] = {
        {&layers.per_broker, ConfigSource::kDynamicBroker},
        {&layers.defaults, ConfigSource::kDynamicDefaultBroker},
        {&broker.original, ConfigSource::kStaticBroker}};
    for (const auto& [props, source] : levels) {
      for (const auto& syn : k.broker_synonyms) {
        auto it = props->find(syn);
        if (it != props->end()) r.synonyms.push_back({syn, internal::Trim(it->second), source});
      }
    }
    r.synonyms.push_back({primary->name, BrokerDefault(*primary), ConfigSource::kDefault});
    // The effective value comes from the topic override or else from the
    // broker's resolved field, which already applied .ms > .minutes > .hours.
    if (ov != overrides.end()) {
      r.value = internal::Trim(ov->second);
      r.source = ConfigSource::kTopicOverride;
    } else {
      r.value = k.broker_value ? k.broker_value(broker) : primary->get(broker);
      r.source = r.synonyms.front().source;
    }
    for (const auto& s : r.synonyms) r.synonyms_with_values.emplace_back(s.name, s.source);
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const ResolvedTopicConfig& a, const ResolvedTopicConfig& b) {
    return a.name < b.name;
  });
  return out;
}

std::vector<std::string> BrokerKeySynonyms(const std::string& broker_key) {
  for (const auto& k : Table()) {
    if (k.def.broker_key == broker_key) return k.broker_synonyms;
  }
  return {broker_key};
}

std::vector<std::string> TopicDefaultBrokerKeys() {
  std::vector<std::string> out;
  for (const auto& k : Table())
    out.insert(out.end(), k.broker_synonyms.begin(), k.broker_synonyms.end());
  return out;
}

std::vector<ResolvedConfig> DescribeBrokerConfigs(const BrokerConfig& broker,
                                                  const DynamicLayers& layers,
                                                  bool per_broker_view) {
  static const std::map<std::string, std::string> kNone;
  const std::pair<const std::map<std::string, std::string>*, ConfigSource> levels[] = {
      {per_broker_view ? &layers.per_broker : &kNone, ConfigSource::kDynamicBroker},
      {&layers.defaults, ConfigSource::kDynamicDefaultBroker},
      {&broker.original, ConfigSource::kStaticBroker}};
  std::vector<ResolvedConfig> out;
  for (const auto& d : internal::BrokerKeyDefs()) {
    std::string value = d.get(broker);
    if (value == "null") continue;  // unset with no default: nothing to describe
    ResolvedConfig r;
    r.name = d.name;
    r.type_name = d.type_name;
    r.documentation = d.documentation;
    r.sensitive = d.sensitive;
    r.read_only = DynamicScopeOf(d.name) == DynamicScope::kStatic;
    r.value = d.sensitive ? "" : value;
    const std::vector<std::string> synonyms = BrokerKeySynonyms(d.name);
    for (const auto& [props, source] : levels) {
      for (const auto& syn : synonyms) {
        auto it = props->find(syn);
        if (it != props->end()) {
          r.synonyms.push_back({syn, d.sensitive ? "" : internal::Trim(it->second), source});
        }
      }
    }
    r.synonyms.push_back({d.name, d.sensitive ? "" : BrokerDefault(d), ConfigSource::kDefault});
    r.source = r.synonyms.front().source;
    for (const auto& s : r.synonyms) r.synonyms_with_values.emplace_back(s.name, s.source);
    out.push_back(std::move(r));
  }
  return out;
}

TopicLogSettings ToLogConfig(const BrokerConfig& broker,
                             const std::map<std::string, std::string>& overrides) {
  TopicLogSettings s;
  s.segment_bytes = broker.log_segment_bytes;
  s.segment_ms = broker.log_roll_ms;
  s.segment_index_bytes = broker.log_index_size_max_bytes;
  s.index_interval_bytes = broker.log_index_interval_bytes;
  s.retention_ms = broker.log_retention_ms;
  s.retention_bytes = broker.log_retention_bytes;
  s.max_message_bytes = broker.message_max_bytes;
  s.flush_interval_messages = broker.log_flush_interval_messages;
  s.flush_interval_ms = broker.log_flush_interval_ms;
  s.file_delete_delay_ms = broker.log_segment_delete_delay_ms;
  s.delete_retention_ms = broker.log_cleaner_delete_retention_ms;
  s.min_cleanable_dirty_ratio = broker.log_cleaner_min_cleanable_ratio;
  s.min_compaction_lag_ms = broker.log_cleaner_min_compaction_lag_ms;
  s.max_compaction_lag_ms = broker.log_cleaner_max_compaction_lag_ms;
  s.producer_id_expiration_ms = broker.producer_id_expiration_ms;
  std::string timestamp_type = broker.log_message_timestamp_type;
  std::string cleanup = broker.log_cleanup_policy;

  // Applies one override when it is valid; invalid ones keep the broker value.
  auto integer = [&](const char* key, auto* field) {
    auto it = overrides.find(key);
    if (it == overrides.end() || !FindTopicKey(key)->validate(it->second).empty()) return;
    int64_t n = 0;
    internal::ParseInteger(it->second, kLongMin, kLongMax, &n);
    *field = static_cast<std::remove_reference_t<decltype(*field)>>(n);
  };
  integer("segment.bytes", &s.segment_bytes);
  integer("segment.ms", &s.segment_ms);
  integer("segment.index.bytes", &s.segment_index_bytes);
  integer("index.interval.bytes", &s.index_interval_bytes);
  integer("retention.ms", &s.retention_ms);
  integer("retention.bytes", &s.retention_bytes);
  integer("max.message.bytes", &s.max_message_bytes);
  integer("flush.messages", &s.flush_interval_messages);
  integer("flush.ms", &s.flush_interval_ms);
  integer("file.delete.delay.ms", &s.file_delete_delay_ms);
  integer("delete.retention.ms", &s.delete_retention_ms);
  integer("min.compaction.lag.ms", &s.min_compaction_lag_ms);
  integer("max.compaction.lag.ms", &s.max_compaction_lag_ms);
  if (auto it = overrides.find("min.cleanable.dirty.ratio");
      it != overrides.end() && FindTopicKey(it->first)->validate(it->second).empty()) {
    internal::ParseDouble(it->second, 0, 1, &s.min_cleanable_dirty_ratio);
  }
  auto string = [&](const char* key, std::string* field) {
    auto it = overrides.find(key);
    if (it != overrides.end() && FindTopicKey(key)->validate(it->second).empty()) {
      *field = internal::Trim(it->second);
    }
  };
  string("message.timestamp.type", &timestamp_type);
  string("cleanup.policy", &cleanup);
  s.log_append_time = timestamp_type == "LogAppendTime";
  auto policies = internal::ParseList(cleanup);
  s.compact = std::find(policies.begin(), policies.end(), "compact") != policies.end();
  s.delete_enabled = std::find(policies.begin(), policies.end(), "delete") != policies.end();

  // LogConfig.getCompression: the level key of the chosen codec; none for producer (a batch
  // the log must rewrite then keeps its own codec at that codec's default level).
  std::string compression = broker.compression_type;
  string("compression.type", &compression);
  s.compression_type = CompressionTypeCodec(compression).value_or(kCompressionProducer);
  int32_t gzip_level = broker.compression_gzip_level;
  int32_t lz4_level = broker.compression_lz4_level;
  int32_t zstd_level = broker.compression_zstd_level;
  integer("compression.gzip.level", &gzip_level);
  integer("compression.lz4.level", &lz4_level);
  integer("compression.zstd.level", &zstd_level);
  switch (s.compression_type) {
    case kCompressionGzip:
      s.compression_level = gzip_level;
      break;
    case kCompressionLz4:
      s.compression_level = lz4_level;
      break;
    case kCompressionZstd:
      s.compression_level = zstd_level;
      break;
    default:
      s.compression_level = DefaultCompressionLevel(s.compression_type);
  }

  // KIP-937, as Kafka 3.9 resolves it in two steps. The broker first derives its defaults of
  // the two bounds (a bound at Long.MAX takes log.message.timestamp.difference.max.ms); then
  // LogConfig does the same per topic with the topic's values, each taken from the override or
  // else from the broker's derived default. So a topic that overrides only the difference key
  // gets it for a bound only when the broker's derived bound is still Long.MAX.
  int64_t difference = broker.log_message_timestamp_difference_max_ms;
  int64_t before = BrokerTimestampBound(broker, broker.log_message_timestamp_before_max_ms);
  int64_t after = BrokerTimestampBound(broker, broker.log_message_timestamp_after_max_ms);
  integer("message.timestamp.difference.max.ms", &difference);
  integer("message.timestamp.before.max.ms", &before);
  integer("message.timestamp.after.max.ms", &after);
  s.message_timestamp_before_max_ms = before != kLongMax ? before : difference;
  s.message_timestamp_after_max_ms = after != kLongMax ? after : difference;
  return s;
}

}  // namespace gregor::config
