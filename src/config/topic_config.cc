// Topic-level configs. Ranges and allowed values follow Kafka 3.7's LogConfig;
// each topic key takes its default from one broker key (and that key's
// synonyms, e.g. log.retention.minutes/.hours for retention.ms), as in
// KafkaConfig's topic-to-broker synonym table.

#include "gregor/config/topic_config.h"

#include <algorithm>
#include <functional>
#include <limits>

#include "config/broker_keys.h"
#include "config/value_parse.h"
#include "gregor/config/dynamic_broker_config.h"

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

Validator ThrottledReplicaList() {
  return [](const std::string& v) -> std::string {
    if (ParseThrottledReplicas(v)) return "";
    return "expected * (every replica) or partition:broker pairs separated by commas, such as "
           "0:1,0:2,1:2";
  };
}

struct TopicKey {
  TopicConfigDef def;
  std::vector<std::string> broker_synonyms;  // most specific first; [0] == def.broker_key
  Validator validate;
};

const std::vector<TopicKey>& Table() {
  static const std::vector<TopicKey> table = [] {
    std::vector<TopicKey> t = {
        {{"cleanup.policy", "LIST", "log.cleanup.policy",
          "delete (retention), compact (keep the last value per key), or both."},
         {"log.cleanup.policy"},
         ListOf({"delete", "compact"})},
        {{"compression.type", "STRING", "compression.type",
          "Compression of stored batches; gregor keeps batches as the producer sent them "
          "('producer')."},
         {"compression.type"},
         OneOf({"producer"})},
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
        {{"max.compaction.lag.ms", "LONG", "log.cleaner.max.compaction.lag.ms",
          "Maximum time a record stays ineligible for compaction."},
         {"log.cleaner.max.compaction.lag.ms"},
         Integer(1, kLongMax)},
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

Status ValidateTopicConfig(const std::map<std::string, std::string>& overrides) {
  for (const auto& [key, value] : overrides) {
    const TopicKey* k = FindTopicKey(key);
    if (!k) return Status::InvalidArgument("unknown topic config '" + key + "'");
    std::string why = k->validate(value);
    if (!why.empty()) {
      return Status::InvalidArgument("invalid value '" + value + "' for topic config '" + key +
                                     "': " + why);
    }
  }
  // Kafka's LogConfig.validateValues. Only the overrides are known here, so a lag given alone
  // is compared with Kafka's default for the other (0 and Long.MAX, which never conflict).
  auto min_lag = overrides.find("min.compaction.lag.ms");
  auto max_lag = overrides.find("max.compaction.lag.ms");
  if (min_lag != overrides.end() && max_lag != overrides.end()) {
    int64_t lo = 0, hi = 0;
    internal::ParseInteger(min_lag->second, kLongMin, kLongMax, &lo);
    internal::ParseInteger(max_lag->second, kLongMin, kLongMax, &hi);
    if (lo > hi) {
      return Status::InvalidArgument("conflict topic config setting min.compaction.lag.ms (" +
                                     std::to_string(lo) + ") > max.compaction.lag.ms (" +
                                     std::to_string(hi) + ")");
    }
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
    if (!primary) {  // no broker default (Kafka: no synonyms, DEFAULT_CONFIG, value "")
      if (ov != overrides.end()) {
        r.value = internal::Trim(ov->second);
        r.source = ConfigSource::kTopicOverride;
        r.synonyms.push_back({r.name, r.value, ConfigSource::kTopicOverride});
        r.synonyms_with_values.emplace_back(r.name, r.source);
      } else {
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
      r.value = primary->get(broker);
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
  return s;
}

}  // namespace gregor::config
