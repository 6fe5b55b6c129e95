// Dynamic broker configs (KIP-226): which keys gregor changes at run time, their validation
// against the whole resulting config, and the layered view DescribeConfigs reports.

#include "gregor/config/dynamic_broker_config.h"

#include <algorithm>
#include <set>

#include "config/broker_keys.h"
#include "gregor/config/properties.h"

namespace gregor::config {
namespace {

// listener.name.<l>.max.connections (KIP-402); the other listener-prefixed keys are static.
bool IsListenerMaxConnections(const std::string& key) {
  static const std::string kPrefix = "listener.name.";
  static const std::string kSuffix = ".max.connections";
  return key.size() > kPrefix.size() + kSuffix.size() &&
         key.compare(0, kPrefix.size(), kPrefix) == 0 &&
         key.compare(key.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0 &&
         key.find('.', kPrefix.size()) == key.size() - kSuffix.size();
}

// Kafka prints the offending keys as a Scala Set.
std::string SetOf(const std::vector<std::string>& keys) {
  std::string out = "Set(";
  for (size_t i = 0; i < keys.size(); ++i) out += (i ? ", " : "") + keys[i];
  return out + ")";
}

}  // namespace

DynamicScope DynamicScopeOf(const std::string& key) {
  static const std::set<std::string> keys = [] {
    std::set<std::string> k;
    for (const auto& t : TopicDefaultBrokerKeys()) k.insert(t);
    // Kafka's DynamicLogConfig keeps this one static (NonReconfigrableLogConfigs).
    k.erase("log.message.format.version");
    for (const char* n : {"producer.id.expiration.ms", "max.connections", "max.connections.per.ip",
                          "max.connections.per.ip.overrides", "leader.replication.throttled.rate",
                          "follower.replication.throttled.rate"}) {
      k.insert(n);
    }
    k.insert("replica.alter.log.dirs.io.max.bytes.per.second");  // KIP-113's throttle
    return k;
  }();
  return keys.count(key) || IsListenerMaxConnections(key) ? DynamicScope::kClusterWide
                                                          : DynamicScope::kStatic;
}

DynamicBrokerConfig::DynamicBrokerConfig(BrokerConfig static_config)
    : static_(std::move(static_config)), current_(std::make_shared<const BrokerConfig>(static_)) {}

std::shared_ptr<const BrokerConfig> DynamicBrokerConfig::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

DynamicLayers DynamicBrokerConfig::Layers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return layers_;
}

BrokerConfig DynamicBrokerConfig::Build(const std::map<std::string, std::string>& per_broker,
                                        const std::map<std::string, std::string>& defaults) const {
  std::map<std::string, std::string> merged = static_.original;
  for (const auto& [k, v] : defaults) merged[k] = v;
  for (const auto& [k, v] : per_broker) merged[k] = v;
  BrokerConfig c = ParseBrokerConfig(merged, {}, nullptr);
  c.original = static_.original;  // "given statically", for DescribeConfigs sources
  return c;
}

Status DynamicBrokerConfig::Validate(const std::map<std::string, std::string>& proposed,
                                     bool per_broker) const {
  std::vector<std::string> unknown, not_dynamic;
  for (const auto& [k, v] : proposed) {
    if (!IsKnownBrokerKey(k) && !IsListenerMaxConnections(k)) {
      unknown.push_back(k);
    } else if (DynamicScopeOf(k) == DynamicScope::kStatic) {
      not_dynamic.push_back(k);
    }
  }
  if (!unknown.empty()) return Status::InvalidArgument("Unknown broker configs: " + SetOf(unknown));
  if (!not_dynamic.empty()) {
    return Status::InvalidArgument(
        "Cannot update these configs dynamically: " + SetOf(not_dynamic) +
        " (gregor changes only topic defaults, producer.id.expiration.ms, "
        "connection limits and replication throttles at run time; set the others in "
        "server.properties)");
  }
  DynamicLayers layers = Layers();
  try {
    Build(per_broker ? proposed : layers.per_broker, per_broker ? layers.defaults : proposed);
  } catch (const ConfigError& e) {
    return Status::InvalidArgument(e.what());
  }
  // The topic-level rules (Kafka validates the broker defaults of topic configs as LogConfig).
  for (const auto& [k, v] : proposed) {
    for (const auto& def : TopicConfigDefs()) {
      if (def.broker_key != k) continue;
      Status st = ValidateTopicConfig({{def.name, v}});
      if (!st.ok())
        return Status::InvalidArgument("invalid value '" + v + "' for " + k + ": " + st.message());
    }
  }
  return Status::Ok();
}

std::map<std::string, std::string> DynamicBrokerConfig::Usable(
    const std::map<std::string, std::string>& entity, const std::string& where,
    std::vector<std::string>* warnings) const {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : entity) {
    bool known = IsKnownBrokerKey(k) || IsListenerMaxConnections(k);
    if (known && DynamicScopeOf(k) != DynamicScope::kStatic) {
      out[k] = v;
    } else if (warnings) {
      warnings->push_back(where + ": " + k + " is " + (known ? "not a dynamic config" : "unknown") +
                          "; ignored");
    }
  }
  return out;
}

std::vector<std::string> DynamicBrokerConfig::Update(
    const std::map<std::string, std::string>& per_broker,
    const std::map<std::string, std::string>& defaults, std::vector<std::string>* warnings) {
  auto pb = Usable(per_broker, "/config/brokers/<id>", warnings);
  auto df = Usable(defaults, "/config/brokers/<default>", warnings);
  // Keys whose value the whole config refuses are dropped one at a time, so that one bad
  // entry (written by another tool) does not hold back the others.
  BrokerConfig built;
  for (;;) {
    try {
      built = Build(pb, df);
      break;
    } catch (const ConfigError& e) {
      std::string bad;
      for (const auto* m : {&pb, &df}) {
        for (const auto& [k, v] : *m) {
          if (bad.empty() && std::string(e.what()).find(k) != std::string::npos) bad = k;
        }
      }
      if (warnings) warnings->push_back(std::string(e.what()) + "; the dynamic value is ignored");
      if (bad.empty()) {  // cannot tell which: keep the static config
        pb.clear();
        df.clear();
      } else {
        pb.erase(bad);
        df.erase(bad);
      }
    }
  }
  auto next = std::make_shared<const BrokerConfig>(std::move(built));
  std::vector<std::string> changed;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& d : internal::BrokerKeyDefs()) {
    if (d.get(*current_) != d.get(*next)) changed.push_back(d.name);
  }
  if (current_->listener_max_connections != next->listener_max_connections) {
    changed.push_back("listener.name.*.max.connections");
  }
  current_ = std::move(next);
  layers_.per_broker = std::move(pb);
  layers_.defaults = std::move(df);
  return changed;
}

std::vector<ResolvedConfig> DynamicBrokerConfig::Describe(bool per_broker_view) const {
  std::lock_guard<std::mutex> lock(mu_);
  return DescribeBrokerConfigs(*current_, layers_, per_broker_view);
}

std::vector<ResolvedTopicConfig> DynamicBrokerConfig::DescribeTopic(
    const std::map<std::string, std::string>& overrides) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ResolveTopicConfigs(*current_, overrides, layers_);
}

}  // namespace gregor::config
