#include "gregor/config/broker_config.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "config/broker_keys.h"
#include "config/value_parse.h"

namespace gregor::config {
namespace {

namespace po = boost::program_options;
using internal::FindBrokerKey;
using internal::ParseInteger;
using internal::ParseList;
using internal::ToUpper;
using internal::Trim;

using Props = std::map<std::string, std::string>;

const char kDefaultListeners[] = "PLAINTEXT://:9092";
const char kDefaultProtocolMap[] =
    "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL";
const char kDefaultLogDir[] = "/tmp/kafka-logs";

[[noreturn]] void Invalid(const std::string& key, const std::string& value,
                          const std::string& why) {
  throw ConfigError("invalid value '" + value + "' for configuration key '" + key + "': " + why);
}

const std::string* Find(const Props& p, const std::string& key) {
  auto it = p.find(key);
  return it == p.end() ? nullptr : &it->second;
}

int64_t GetInteger(const Props& p, const std::string& key, int64_t min, int64_t max) {
  int64_t n = 0;
  std::string why = ParseInteger(*Find(p, key), min, max, &n);
  if (!why.empty()) Invalid(key, *Find(p, key), why);
  return n;
}

std::map<std::string, std::string> ParseProtocolMap(const std::string& value) {
  static const std::set<std::string> kProtocols = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT",
                                                   "SASL_SSL"};
  std::map<std::string, std::string> m;
  for (const auto& item : ParseList(value)) {
    size_t colon = item.find(':');
    if (colon == std::string::npos) {
      Invalid("listener.security.protocol.map", value, "entry '" + item + "' is not NAME:PROTOCOL");
    }
    std::string name = ToUpper(Trim(item.substr(0, colon)));
    std::string proto = ToUpper(Trim(item.substr(colon + 1)));
    if (name.empty()) Invalid("listener.security.protocol.map", value, "empty listener name");
    if (!kProtocols.count(proto)) {
      Invalid("listener.security.protocol.map", value, "unknown security protocol '" + proto + "'");
    }
    if (!m.emplace(name, proto).second) {
      Invalid("listener.security.protocol.map", value, "listener name " + name + " given twice");
    }
  }
  return m;
}

// The listener-prefixed keys gregor reads, not in the key table because their names vary:
// listener.name.<l>.max.connections (KIP-402), listener.name.<l>.sasl.enabled.mechanisms and
// listener.name.<l>.<mechanism>.sasl.jaas.config (KIP-86). Sets *listener (upper case) and
// *rest (what follows the listener name).
bool SplitListenerKey(const std::string& key, std::string* listener, std::string* rest) {
  static const std::regex kKey(
      R"(^listener\.name\.([A-Za-z0-9_\-]+)\.(max\.connections|sasl\.enabled\.mechanisms|)"
      R"(oauthbearer\.sasl\.server\.callback\.handler\.class|)"
      R"((?:plain|scram-sha-256|scram-sha-512|gssapi|oauthbearer)\.sasl\.jaas\.config)$)");
  std::smatch m;
  if (!std::regex_match(key, m, kKey)) return false;
  if (listener) *listener = ToUpper(m[1].str());
  if (rest) *rest = m[2].str();
  return true;
}
bool IsListenerMaxConnectionsKey(const std::string& key) {
  return SplitListenerKey(key, nullptr, nullptr);
}

// Applies the keys whose value depends on several keys, in Kafka's order of
// precedence, then the checks that span keys.
void ResolveDerived(const Props& p, BrokerConfig& c) {
  // ZooKeeper.
  if (Trim(c.zookeeper_connect).empty()) {
    throw ConfigError("missing required configuration key 'zookeeper.connect'");
  }
  c.zookeeper_connection_timeout_ms =
      Find(p, "zookeeper.connection.timeout.ms")
          ? static_cast<int32_t>(GetInteger(p, "zookeeper.connection.timeout.ms", 1, INT32_MAX))
          : c.zookeeper_session_timeout_ms;

  // broker.id: KafkaConfig accepts -1..reserved.broker.max.id with generation
  // enabled, any id >= 0 without.
  if (c.broker_id_generation_enable) {
    if (c.broker_id > c.reserved_broker_max_id) {
      Invalid("broker.id", std::to_string(c.broker_id),
              "must not exceed reserved.broker.max.id (" +
                  std::to_string(c.reserved_broker_max_id) + ")");
    }
  } else if (c.broker_id < 0) {
    Invalid("broker.id", std::to_string(c.broker_id),
            "must be >= 0 when broker.id.generation.enable=false");
  }

  // Listeners.
  const std::string* map_value = Find(p, "listener.security.protocol.map");
  c.listener_security_protocol_map = ParseProtocolMap(map_value ? *map_value : kDefaultProtocolMap);
  const std::string* listeners = Find(p, "listeners");
  c.listeners = ParseListeners("listeners", listeners ? *listeners : kDefaultListeners,
                               c.listener_security_protocol_map);
  if (const std::string* adv = Find(p, "advertised.listeners")) {
    c.advertised_listeners =
        ParseListeners("advertised.listeners", *adv, c.listener_security_protocol_map);
    for (const auto& a : c.advertised_listeners) {
      if (a.host == "0.0.0.0" || a.host == "::") {
        Invalid("advertised.listeners", *adv,
                "cannot advertise the non-routable meta-address " + a.host);
      }
      bool found = false;
      for (const auto& l : c.listeners) found = found || l.name == a.name;
      if (!found) {
        Invalid("advertised.listeners", *adv, "listener " + a.name + " is not in listeners");
      }
    }
  } else {
    c.advertised_listeners = c.listeners;
  }
  // Kafka's KafkaConfig.interBrokerListenerNameAndSecurityProtocol: the listener is named
  // directly, or by protocol (the listener called like the protocol), never both. With
  // neither, gregor uses the first listener (Kafka would require one called PLAINTEXT).
  const std::string* ibl = Find(p, "inter.broker.listener.name");
  const std::string* ibp = Find(p, "security.inter.broker.protocol");
  if (ibl && ibp) {
    throw ConfigError(
        "only one of inter.broker.listener.name and security.inter.broker.protocol may be set");
  }
  if (ibl || ibp) {
    const char* key = ibl ? "inter.broker.listener.name" : "security.inter.broker.protocol";
    c.inter_broker_listener_name = ToUpper(Trim(ibl ? *ibl : *ibp));
    if (ibp) {
      std::string why = internal::CheckIn(c.inter_broker_listener_name,
                                          {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"});
      if (!why.empty()) Invalid(key, *ibp, why);
    }
    bool found = false;
    for (const auto& l : c.advertised_listeners)
      found = found || l.name == c.inter_broker_listener_name;
    if (!found) {
      Invalid(key, ibl ? *ibl : *ibp,
              "no listener named " + c.inter_broker_listener_name + " in advertised.listeners");
    }
  } else {
    c.inter_broker_listener_name = c.listeners.front().name;
  }
  for (const auto& l : c.advertised_listeners) {
    if (l.name == c.inter_broker_listener_name)
      c.security_inter_broker_protocol = l.security_protocol;
  }

  // log.dirs beats log.dir; both are comma-separated lists in Kafka.
  if (const std::string* dirs = Find(p, "log.dirs")) {
    c.log_dirs = ParseList(*dirs);
    if (c.log_dirs.empty()) Invalid("log.dirs", *dirs, "must name at least one directory");
  } else {
    const std::string* dir = Find(p, "log.dir");
    c.log_dirs = ParseList(dir ? *dir : kDefaultLogDir);
    if (c.log_dirs.empty()) Invalid("log.dir", *dir, "must name a directory");
  }
  {
    std::set<std::string> seen;
    for (const auto& d : c.log_dirs) {
      if (!seen.insert(d).second) {
        Invalid(Find(p, "log.dirs") ? "log.dirs" : "log.dir", internal::JoinList(c.log_dirs),
                "directory " + d + " is listed twice");
      }
    }
  }

  // Retention: .ms > .minutes > .hours; every given one must still be valid.
  // A negative result means "forever" (-1), as in KafkaConfig.logRetentionTimeMillis.
  std::optional<int64_t> ret_ms, ret_min, ret_hours;
  if (Find(p, "log.retention.ms")) ret_ms = GetInteger(p, "log.retention.ms", INT64_MIN, INT64_MAX);
  if (Find(p, "log.retention.minutes")) {
    ret_min = GetInteger(p, "log.retention.minutes", INT32_MIN, INT32_MAX);
  }
  if (Find(p, "log.retention.hours")) {
    ret_hours = GetInteger(p, "log.retention.hours", INT32_MIN, INT32_MAX);
  }
  int64_t retention = ret_ms      ? *ret_ms
                      : ret_min   ? *ret_min * 60000
                      : ret_hours ? *ret_hours * 3600000
                                  : 168LL * 3600000;
  c.log_retention_ms = retention < 0 ? -1 : retention;

  // Roll: .ms > .hours, both at least 1.
  std::optional<int64_t> roll_ms, roll_hours;
  if (Find(p, "log.roll.ms")) roll_ms = GetInteger(p, "log.roll.ms", 1, INT64_MAX);
  if (Find(p, "log.roll.hours")) roll_hours = GetInteger(p, "log.roll.hours", 1, INT32_MAX);
  c.log_roll_ms = roll_ms ? *roll_ms : roll_hours ? *roll_hours * 3600000 : 168LL * 3600000;

  // Roll jitter: .ms > .hours. Kafka leaves log.roll.jitter.ms unbounded but refuses a negative
  // segment.jitter.ms default when it builds the log config at start-up; the same floor here.
  std::optional<int64_t> jitter_ms, jitter_hours;
  if (Find(p, "log.roll.jitter.ms")) jitter_ms = GetInteger(p, "log.roll.jitter.ms", 0, INT64_MAX);
  if (Find(p, "log.roll.jitter.hours")) {
    jitter_hours = GetInteger(p, "log.roll.jitter.hours", 0, INT32_MAX);
  }
  c.log_roll_jitter_ms = jitter_ms ? *jitter_ms : jitter_hours ? *jitter_hours * 3600000 : 0;

  if (c.group_min_session_timeout_ms > c.group_max_session_timeout_ms) {
    Invalid("group.min.session.timeout.ms", std::to_string(c.group_min_session_timeout_ms),
            "must not exceed group.max.session.timeout.ms (" +
                std::to_string(c.group_max_session_timeout_ms) + ")");
  }

  // The consumer protocol's timeouts stay within their bounds (Kafka 4.0's checks).
  for (const std::string& proto : c.group_coordinator_rebalance_protocols) {
    if (proto != "classic" && proto != "consumer") {
      Invalid("group.coordinator.rebalance.protocols",
              internal::JoinList(c.group_coordinator_rebalance_protocols),
              "unknown protocol " + proto + " (classic, consumer)");
    }
  }
  if (std::find(c.group_coordinator_rebalance_protocols.begin(),
                c.group_coordinator_rebalance_protocols.end(),
                "classic") == c.group_coordinator_rebalance_protocols.end()) {
    Invalid("group.coordinator.rebalance.protocols",
            internal::JoinList(c.group_coordinator_rebalance_protocols), "must include classic");
  }
  auto within = [](const char* key, int32_t v, const char* min_key, int32_t min,
                   const char* max_key, int32_t max) {
    if (v < min || v > max) {
      Invalid(key, std::to_string(v),
              std::string("must be between ") + min_key + " (" + std::to_string(min) + ") and " +
                  max_key + " (" + std::to_string(max) + ")");
    }
  };
  within("group.consumer.session.timeout.ms", c.group_consumer_session_timeout_ms,
         "group.consumer.min.session.timeout.ms", c.group_consumer_min_session_timeout_ms,
         "group.consumer.max.session.timeout.ms", c.group_consumer_max_session_timeout_ms);
  within("group.consumer.heartbeat.interval.ms", c.group_consumer_heartbeat_interval_ms,
         "group.consumer.min.heartbeat.interval.ms", c.group_consumer_min_heartbeat_interval_ms,
         "group.consumer.max.heartbeat.interval.ms", c.group_consumer_max_heartbeat_interval_ms);
  if (c.group_consumer_heartbeat_interval_ms >= c.group_consumer_session_timeout_ms) {
    Invalid("group.consumer.heartbeat.interval.ms",
            std::to_string(c.group_consumer_heartbeat_interval_ms),
            "must be less than group.consumer.session.timeout.ms (" +
                std::to_string(c.group_consumer_session_timeout_ms) + ")");
  }

  // Request memory and connection limits (KIP-72, KIP-308, KIP-402).
  if (const std::string* v = Find(p, "queued.max.request.bytes")) {
    if (c.queued_max_request_bytes > 0 && c.queued_max_request_bytes < c.socket_request_max_bytes) {
      Invalid("queued.max.request.bytes", *v,
              "must be -1 (unbounded) or at least socket.request.max.bytes (" +
                  std::to_string(c.socket_request_max_bytes) + ")");
    }
  } else {
    c.queued_max_request_bytes = std::max<int64_t>(268435456, c.socket_request_max_bytes);
  }
  if (c.max_connections_per_ip == 0 && c.max_connections_per_ip_overrides.empty()) {
    Invalid("max.connections.per.ip", "0",
            "may be 0 only when max.connections.per.ip.overrides is set");
  }
  for (const auto& l : c.listeners) {
    if (l.security_protocol == "SASL_PLAINTEXT" || l.security_protocol == "SASL_SSL") {
      c.listener_sasl[l.name].mechanisms = c.sasl_enabled_mechanisms;
    }
  }
  for (const auto& [k, v] : p) {
    std::string name, rest;
    if (!SplitListenerKey(k, &name, &rest)) continue;
    bool found = false;
    for (const auto& l : c.listeners) found = found || l.name == name;
    if (!found) Invalid(k, v, "no listener named " + name + " in listeners");
    if (rest == "max.connections") {
      c.listener_max_connections[name] = static_cast<int32_t>(GetInteger(p, k, 0, INT32_MAX));
      continue;
    }
    auto sasl = c.listener_sasl.find(name);
    if (sasl == c.listener_sasl.end()) Invalid(k, v, "listener " + name + " does not use SASL");
    if (rest == "sasl.enabled.mechanisms") {
      sasl->second.mechanisms = ParseList(v);
    } else if (rest == "oauthbearer.sasl.server.callback.handler.class") {
      // Kafka's JWT validator (3.1+ under .secured, 3.4+ without) is what gregor does;
      // another handler class cannot be honoured.
      if (Trim(v) !=
              "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler" &&
          Trim(v) !=
              "org.apache.kafka.common.security.oauthbearer.secured."
              "OAuthBearerValidatorCallbackHandler") {
        Invalid(k, v,
                "gregor validates signed JWTs as Kafka's OAuthBearerValidatorCallbackHandler");
      }
    } else {
      sasl->second.jaas[ToUpper(rest.substr(0, rest.find(".sasl.")))] = v;
    }
  }
  // SASL between brokers: the mechanism must be one the inter-broker listener enables.
  c.sasl_mechanism_inter_broker_protocol = ToUpper(c.sasl_mechanism_inter_broker_protocol);
  if (auto ib = c.listener_sasl.find(c.inter_broker_listener_name); ib != c.listener_sasl.end()) {
    const auto& m = ib->second.mechanisms;
    if (std::find(m.begin(), m.end(), c.sasl_mechanism_inter_broker_protocol) == m.end()) {
      Invalid("sasl.mechanism.inter.broker.protocol", c.sasl_mechanism_inter_broker_protocol,
              "not enabled on the inter-broker listener " + ib->first + " (" +
                  internal::JoinList(m) + ")");
    }
  }
  // Kafka's ZooKeeper-mode ACL authorizers, old and new name, are gregor's ACL authorizer. Any
  // other class (a KRaft StandardAuthorizer, a custom plugin) cannot be honoured, and starting
  // without the authorization an operator asked for would be worse than not starting.
  c.authorizer_class_name = Trim(c.authorizer_class_name);
  if (!c.authorizer_class_name.empty() &&
      c.authorizer_class_name != "kafka.security.authorizer.AclAuthorizer" &&
      c.authorizer_class_name != "kafka.security.auth.SimpleAclAuthorizer") {
    Invalid("authorizer.class.name", c.authorizer_class_name,
            "gregor's authorizer is Kafka's ZooKeeper ACL authorizer: "
            "kafka.security.authorizer.AclAuthorizer (or kafka.security.auth."
            "SimpleAclAuthorizer), or empty for none");
  }
  // The mechanisms gregor serves; GSSAPI is Kafka's but not served. OAUTHBEARER needs the
  // key set its tokens are signed with (Kafka's unsecured default validator is for
  // development only and not offered).
  for (auto& [name, sasl] : c.listener_sasl) {
    for (auto& m : sasl.mechanisms) m = ToUpper(m);
    std::vector<std::string> served;
    for (const auto& m : sasl.mechanisms) {
      if (m == "PLAIN" || m == "SCRAM-SHA-256" || m == "SCRAM-SHA-512") served.push_back(m);
      if (m == "OAUTHBEARER") {
        if (Trim(c.sasl_oauthbearer_jwks_endpoint_url).empty()) {
          throw ConfigError("SASL listener " + name +
                            " enables OAUTHBEARER but sasl.oauthbearer.jwks.endpoint.url names "
                            "no JWKS to check tokens with");
        }
        served.push_back(m);
      }
    }
    if (served.empty()) {
      throw ConfigError("SASL listener " + name + " enables no mechanism gregor serves (" +
                        internal::JoinList(sasl.mechanisms) +
                        "); set sasl.enabled.mechanisms to PLAIN, SCRAM-SHA-256 and/or "
                        "SCRAM-SHA-512");
    }
    if (std::find(served.begin(), served.end(), "PLAIN") != served.end() &&
        sasl.jaas.count("PLAIN") == 0) {
      throw ConfigError("SASL listener " + name + " enables PLAIN but has no listener.name." + [&] {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        return lower;
      }() + ".plain.sasl.jaas.config naming its users");
    }
  }

  // Kafka's LogConfig.validateValues on the broker defaults.
  if (c.log_cleaner_min_compaction_lag_ms > c.log_cleaner_max_compaction_lag_ms) {
    Invalid("log.cleaner.min.compaction.lag.ms",
            std::to_string(c.log_cleaner_min_compaction_lag_ms),
            "must not exceed log.cleaner.max.compaction.lag.ms (" +
                std::to_string(c.log_cleaner_max_compaction_lag_ms) + ")");
  }

  // TLS: a listener speaking SSL needs a key and certificate, from a file or
  // inline, not both (KIP-651 forbids mixing them).
  bool needs_tls = false;
  for (const auto& l : c.listeners) {
    needs_tls = needs_tls || l.security_protocol == "SSL" || l.security_protocol == "SASL_SSL";
  }
  bool inline_key = !c.ssl_keystore_certificate_chain.empty() || !c.ssl_keystore_key.empty();
  if (inline_key && !c.ssl_keystore_location.empty()) {
    Invalid("ssl.keystore.location", c.ssl_keystore_location,
            "cannot be combined with ssl.keystore.certificate.chain / ssl.keystore.key");
  }
  if (inline_key && (c.ssl_keystore_certificate_chain.empty() || c.ssl_keystore_key.empty())) {
    throw ConfigError("ssl.keystore.certificate.chain and ssl.keystore.key must be given together");
  }
  if (!c.ssl_truststore_location.empty() && !c.ssl_truststore_certificates.empty()) {
    Invalid("ssl.truststore.location", c.ssl_truststore_location,
            "cannot be combined with ssl.truststore.certificates");
  }
  if (needs_tls && c.ssl_keystore_location.empty() && !inline_key) {
    throw ConfigError(
        "an SSL listener needs ssl.keystore.location (or ssl.keystore.certificate.chain and "
        "ssl.keystore.key)");
  }
  if (c.ssl_client_auth != "none" && needs_tls && c.ssl_truststore_location.empty() &&
      c.ssl_truststore_certificates.empty()) {
    Invalid("ssl.client.auth", c.ssl_client_auth,
            "needs ssl.truststore.location or ssl.truststore.certificates");
  }
  {
    std::string algo = c.ssl_endpoint_identification_algorithm;
    std::transform(algo.begin(), algo.end(), algo.begin(), ::tolower);
    if (!algo.empty() && algo != "https") {
      Invalid("ssl.endpoint.identification.algorithm", c.ssl_endpoint_identification_algorithm,
              "must be https or empty");
    }
    c.ssl_endpoint_identification_algorithm = algo;
  }
  // Kafka's clients raise the maximum to the initial timeout rather than refuse.
  c.socket_connection_setup_timeout_max_ms =
      std::max(c.socket_connection_setup_timeout_max_ms, c.socket_connection_setup_timeout_ms);
  for (const auto& proto : c.ssl_enabled_protocols) {
    if (proto != "TLSv1.2" && proto != "TLSv1.3") {
      Invalid("ssl.enabled.protocols", internal::JoinList(c.ssl_enabled_protocols),
              "only TLSv1.2 and TLSv1.3 are supported");
    }
  }
}

}  // namespace

std::vector<ListenerConfig> ParseListeners(const std::string& key, const std::string& value,
                                           const std::map<std::string, std::string>& protocol_map) {
  // NAME://host:port, NAME://[v6addr]:port, NAME://:port.
  static const std::regex kListener(
      R"(^([A-Za-z0-9_.\-]+)://(?:\[([0-9A-Fa-f:.%a-zA-Z]*)\]|([^:\[\]/]*)):(-?[0-9]+)$)");
  std::vector<ListenerConfig> out;
  std::set<std::string> names;
  for (const auto& item : ParseList(value)) {
    std::smatch m;
    if (!std::regex_match(item, m, kListener)) {
      Invalid(key, value, "'" + item + "' is not NAME://host:port");
    }
    ListenerConfig l;
    l.name = ToUpper(m[1].str());
    l.host = m[2].matched ? m[2].str() : m[3].str();
    int64_t port = 0;
    std::string why = ParseInteger(m[4].str(), 0, 65535, &port);
    if (!why.empty()) Invalid(key, value, "port of " + l.name + " " + why);
    l.port = static_cast<int32_t>(port);
    auto proto = protocol_map.find(l.name);
    if (proto == protocol_map.end()) {
      Invalid(key, value,
              "no security protocol for listener " + l.name + " in listener.security.protocol.map");
    }
    l.security_protocol = proto->second;
    if (!names.insert(l.name).second) {
      Invalid(key, value, "listener name " + l.name + " is used twice");
    }
    out.push_back(l);
  }
  if (out.empty()) Invalid(key, value, "must list at least one listener");
  return out;
}

BrokerConfig ParseBrokerConfig(const std::map<std::string, std::string>& file_props,
                               const std::map<std::string, std::string>& overrides,
                               std::vector<std::string>* warnings) {
  Props merged;
  for (const auto& [k, v] : file_props) {
    if (!FindBrokerKey(k) && !IsListenerMaxConnectionsKey(k)) {
      if (warnings) {
        warnings->push_back("unknown configuration key '" + k + "' in the config file was ignored");
      }
      continue;
    }
    merged[k] = v;
  }
  for (const auto& [k, v] : overrides) {
    if (!FindBrokerKey(k) && !IsListenerMaxConnectionsKey(k)) {
      throw ConfigError("unknown configuration key '" + k + "'");
    }
    merged[k] = v;
  }
  BrokerConfig c;
  c.original = merged;
  for (const auto& [k, v] : merged) {
    const internal::BrokerKeyDef* def = FindBrokerKey(k);
    if (def && def->set) def->set(c, v);
  }
  ResolveDerived(merged, c);
  return c;
}

std::string BrokerUsage() {
  return std::string(
             "usage: gregord [--config FILE | FILE] [--key=value ...] [--override key=value ...]\n"
             "               [--help] [--version]\n"
             "\n"
             "Starts a Kafka-compatible broker (ZooKeeper mode). FILE is a Java properties\n"
             "file (see gregor.properties(5)); every configuration key is also accepted as a\n"
             "flag, --key=value, which wins over the file. Example:\n"
             "  gregord /etc/gregor/server.properties --broker.id=1 \\\n"
             "          --listeners=PLAINTEXT://127.0.0.1:9092\n"
             "\n"
             "Keys: ") +
         [] {
           std::string keys;
           for (const auto& d : internal::BrokerKeyDefs()) keys += "\n  " + d.name;
           return keys;
         }() +
         "\n";
}

BrokerConfig ParseBrokerConfig(int argc, char** argv, std::vector<std::string>* warnings) {
  po::options_description desc("gregord");
  desc.add_options()("help,h", "print usage")("version", "print the version")(
      "config", po::value<std::string>(), "properties file")(
      "override", po::value<std::vector<std::string>>()->composing(), "key=value (Kafka style)");
  for (const auto& d : internal::BrokerKeyDefs()) {
    desc.add_options()(d.name.c_str(), po::value<std::string>(), d.documentation.c_str());
  }
  po::options_description hidden;
  hidden.add_options()("config-file", po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("config-file", -1);

  // Listener-prefixed keys (--listener.name.<l>.<key>=value) have no fixed names, so they are
  // taken out before Program_options sees the rest.
  Props prefixed;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    if (a.rfind("--listener.name.", 0) == 0 && eq != std::string::npos &&
        SplitListenerKey(a.substr(2, eq - 2), nullptr, nullptr)) {
      prefixed[a.substr(2, eq - 2)] = a.substr(eq + 1);
    } else {
      args.push_back(std::move(a));
    }
  }

  po::variables_map vm;
  try {
    // No guessing: a misspelt --log.retention must not silently match a longer key.
    int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args).options(all).positional(pos).style(style).run(), vm);
  } catch (const po::unknown_option& e) {
    throw ConfigError("unknown option '" + e.get_option_name() + "' (see gregord --help)");
  } catch (const po::error& e) {
    throw ConfigError(std::string("bad command line: ") + e.what());
  }
  if (vm.count("help")) throw HelpRequested(BrokerUsage());
  if (vm.count("version")) throw HelpRequested(std::string("gregord ") + kGregorVersion + "\n");

  std::string file;
  if (vm.count("config-file")) {
    const auto& files = vm["config-file"].as<std::vector<std::string>>();
    if (files.size() > 1) throw ConfigError("more than one config file given: " + files[1]);
    file = files[0];
  }
  if (vm.count("config")) {
    if (!file.empty())
      throw ConfigError("give the config file either with --config or positionally");
    file = vm["config"].as<std::string>();
  }
  Props file_props;
  if (!file.empty()) file_props = ReadPropertiesFile(file);

  Props overrides;
  if (vm.count("override")) {
    for (const auto& kv : vm["override"].as<std::vector<std::string>>()) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos)
        throw ConfigError("--override needs key=value, got '" + kv + "'");
      overrides[Trim(kv.substr(0, eq))] = kv.substr(eq + 1);
    }
  }
  for (const auto& d : internal::BrokerKeyDefs()) {
    if (vm.count(d.name)) overrides[d.name] = vm[d.name].as<std::string>();
  }
  for (const auto& [k, v] : prefixed) overrides[k] = v;
  return ParseBrokerConfig(file_props, overrides, warnings);
}

std::string DescribeEffectiveConfig(const BrokerConfig& config) {
  std::ostringstream out;
  for (const auto& d : internal::BrokerKeyDefs()) {
    std::string v = d.get(config);
    if (d.sensitive && v != "null") v = "[hidden]";
    out << d.name << " = " << v << "\n";
  }
  return out.str();
}

bool IsKnownBrokerKey(const std::string& key) { return FindBrokerKey(key) != nullptr; }

}  // namespace gregor::config
