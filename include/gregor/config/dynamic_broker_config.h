#pragma once
// DynamicBrokerConfig: the broker's configuration as it is now, Kafka's dynamic broker
// configs (KIP-226) laid over the static one. Precedence, as in Kafka: /config/brokers/<id>
// (this broker), then /config/brokers/<default> (the cluster), then server.properties and
// flags, then the defaults. The ZooKeeper entities are read by the server module (at start-up
// and on each `brokers/...` change notification) and handed to Update().
//
// Which keys change at run time is gregor's subset of Kafka's dynamic keys, those it applies
// without a restart: every broker default of a topic config (log.retention.*, log.segment.bytes,
// log.cleanup.policy, min.insync.replicas, unclean.leader.election.enable, message.max.bytes,
// compression.type, ...) but log.message.format.version, as in Kafka; producer.id.expiration.ms,
// the connection limits (max.connections, max.connections.per.ip,
// max.connections.per.ip.overrides, listener.name.<l>.max.connections) and the replication
// throttles (leader/follower.replication.throttled.rate).
// Kafka's other dynamic keys (thread counts, listeners, key stores, cleaner threads) are refused
// with Kafka's "Cannot update these configs dynamically" (INVALID_CONFIG); key and trust store
// files are reloaded when they change on disk instead (ssl.reload.check.interval.ms).
//
// Thread-safe: Current() hands out an immutable snapshot that stays valid while held; Update()
// swaps it. Validation and Update never throw.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/config/broker_config.h"
#include "gregor/config/topic_config.h"

namespace gregor::config {

enum class DynamicScope : uint8_t {
  kStatic,       // server.properties / flags only
  kClusterWide,  // /config/brokers/<default> or /config/brokers/<id>
};
DynamicScope DynamicScopeOf(const std::string& key);

class DynamicBrokerConfig {
 public:
  explicit DynamicBrokerConfig(BrokerConfig static_config);

  // The effective configuration; `original` keeps the static keys only.
  std::shared_ptr<const BrokerConfig> Current() const;
  const BrokerConfig& Static() const { return static_; }
  DynamicLayers Layers() const;

  // Kafka's DynamicBrokerConfig.validate: `proposed` is the complete new content of this
  // broker's entity (per_broker) or of <default>. InvalidArgument naming the keys or value:
  // a key that is not dynamic, an unknown key, or a value the resulting config refuses.
  Status Validate(const std::map<std::string, std::string>& proposed, bool per_broker) const;

  // Installs the two entities as read from ZooKeeper. A key that is not valid (written by
  // another tool or version) is left out, with a warning in *warnings. Returns the names of
  // the keys whose effective value changed.
  std::vector<std::string> Update(const std::map<std::string, std::string>& per_broker,
                                  const std::map<std::string, std::string>& defaults,
                                  std::vector<std::string>* warnings);

  // DescribeConfigs for the BROKER resource: this broker's id (per_broker_view) or "" (the
  // cluster default, which does not show the per-broker layer).
  std::vector<ResolvedConfig> Describe(bool per_broker_view) const;
  // DescribeConfigs for a topic, with the dynamic layers among the synonyms.
  std::vector<ResolvedTopicConfig> DescribeTopic(
      const std::map<std::string, std::string>& overrides) const;

 private:
  // The static config with the layers applied; throws ConfigError on an invalid value.
  BrokerConfig Build(const std::map<std::string, std::string>& per_broker,
                     const std::map<std::string, std::string>& defaults) const;
  // Only keys that are dynamic and known; the others go to *warnings.
  std::map<std::string, std::string> Usable(const std::map<std::string, std::string>& entity,
                                            const std::string& where,
                                            std::vector<std::string>* warnings) const;

  const BrokerConfig static_;
  mutable std::mutex mu_;
  std::shared_ptr<const BrokerConfig> current_;
  DynamicLayers layers_;
};

}  // namespace gregor::config
