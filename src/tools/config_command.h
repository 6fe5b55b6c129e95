#pragma once
// `gregorctl config describe|alter`, the daily equivalent of kafka-configs.sh --bootstrap-server
// for topics, brokers, the cluster-wide broker defaults and broker log levels: DescribeConfigs
// (with synonyms) and IncrementalAlterConfigs (KIP-339: SET, DELETE, APPEND, SUBTRACT).
// librdkafka 2.0.2 has no IncrementalAlterConfigs, so both speak the protocol themselves
// (tools/protocol_client.h, TLS and SASL from -X). This header holds the pure part: parsing,
// the choice of entries shown, and the output formats. Nothing here throws; bad usage is a
// Status (printed by main, exit 2).

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gregor/base/status.h"
#include "tools/args.h"
#include "tools/client_security.h"
#include "tools/group_command.h"  // FormatTable

namespace gregor::tools {

// The entity a command is about, as kafka-configs.sh selects it.
struct ConfigEntity {
  enum class Type { kTopic, kBroker, kBrokerDefaults, kBrokerLogger };
  Type type = Type::kTopic;
  std::string name;  // the topic, or the broker id in decimal; empty for kBrokerDefaults
  bool operator==(const ConfigEntity&) const = default;
};

// ConfigResource types on the wire (DescribeConfigs, IncrementalAlterConfigs).
inline constexpr int8_t kTopicConfigResource = 2;
inline constexpr int8_t kBrokerConfigResource = 4;
inline constexpr int8_t kBrokerLoggerConfigResource = 8;

inline int8_t ConfigResourceType(const ConfigEntity& e) {
  switch (e.type) {
    case ConfigEntity::Type::kTopic:
      return kTopicConfigResource;
    case ConfigEntity::Type::kBroker:
    case ConfigEntity::Type::kBrokerDefaults:
      return kBrokerConfigResource;
    case ConfigEntity::Type::kBrokerLogger:
      return kBrokerLoggerConfigResource;
  }
  return kTopicConfigResource;
}

// "topic orders", "broker 1", "broker defaults", "broker-logger 1": how messages name it.
inline std::string ConfigEntityText(const ConfigEntity& e) {
  switch (e.type) {
    case ConfigEntity::Type::kTopic:
      return "topic " + e.name;
    case ConfigEntity::Type::kBroker:
      return "broker " + e.name;
    case ConfigEntity::Type::kBrokerDefaults:
      return "broker defaults";
    case ConfigEntity::Type::kBrokerLogger:
      return "broker-logger " + e.name;
  }
  return e.name;
}

// IncrementalAlterConfigs operations (AlterableConfig.ConfigOperation).
enum class ConfigOpType : int8_t { kSet = 0, kDelete = 1, kAppend = 2, kSubtract = 3 };

struct ConfigOp {
  std::string name;
  ConfigOpType op = ConfigOpType::kSet;
  std::optional<std::string> value;  // nullopt for kDelete
  bool operator==(const ConfigOp&) const = default;
};

struct ConfigCommand {
  bool alter = false;  // alter, else describe
  GlobalOptions global;
  std::string client_id = "gregorctl";
  ClientSecurity security;  // -X security.protocol, sasl.*, ssl.*
  ConfigEntity entity;
  bool all = false;            // describe --all
  bool json = false;           // describe --output json
  std::vector<ConfigOp> ops;   // alter, in command-line order
  bool validate_only = false;  // alter --validate-only
  bool help = false;
  std::string usage;
};

inline constexpr char kConfigUsage[] =
    "usage: gregorctl config describe ENTITY [--all] [--output table|json]\n"
    "       gregorctl config alter ENTITY [--set k=v]... [--delete k]... [--append k=v]...\n"
    "                 [--subtract k=v]... [--validate-only]\n"
    "  ENTITY: --topic T | --broker N | --broker-defaults | --broker-logger N\n"
    "\n"
    "describe: the dynamic configs (a topic's overrides and the dynamic broker values it\n"
    "  takes; a broker's own and the cluster-wide dynamic values; for --broker-defaults the\n"
    "  cluster-wide ones; every log level for --broker-logger), or with --all every config\n"
    "  with its source and synonyms.\n"
    "alter: --set k=v (the value is everything after the first '='), --delete k (back to\n"
    "  the inherited value), --append/--subtract k=v (list configs, e.g. cleanup.policy);\n"
    "  one operation per key. --validate-only asks the broker to check and change nothing.\n"
    "  --broker N and --broker-logger N are sent to broker N itself.\n";

// The lines of the config command for the main usage (see WithConfigUsage).
inline constexpr char kConfigUsageLines[] =
    "  config describe (--topic T | --broker N | --broker-defaults | --broker-logger N)\n"
    "          [--all] [--output table|json]\n"
    "  config alter (--topic T | --broker N | --broker-defaults | --broker-logger N)\n"
    "          [--set k=v]... [--delete k]... [--append k=v]... [--subtract k=v]...\n"
    "          [--validate-only]\n";

// Adds the config command lines to a text that contains the main usage, just before its
// "Global options:" paragraph. Other texts are returned unchanged.
inline std::string WithConfigUsage(std::string text) {
  static constexpr std::string_view kMarker = "\nGlobal options:\n";
  if (text.find("usage: gregorctl [-b BOOTSTRAP") == std::string::npos) return text;
  auto pos = text.find(kMarker);
  if (pos == std::string::npos) return text;
  text.insert(pos, kConfigUsageLines);
  return text;
}

inline std::optional<Result<ConfigCommand>> ParseConfigCommand(const std::vector<std::string>& args,
                                                               const char* env_bootstrap) {
  auto [globals, rest, help] = SplitGlobalOptions(args);
  if (rest.empty() || rest[0] != "config") return std::nullopt;
  using R = Result<ConfigCommand>;
  ConfigCommand cmd;
  if (help) {
    cmd.help = true;
    cmd.usage = kConfigUsage;
    return R(std::move(cmd));
  }
  auto bad = [](const std::string& why) {
    return R(Status::InvalidArgument("config: " + why + "\n" + kConfigUsage));
  };
  if (rest.size() < 2 || (rest[1] != "describe" && rest[1] != "alter")) {
    return bad("expected describe or alter");
  }
  cmd.alter = rest[1] == "alter";
  Result<GlobalOptions> g = ResolveGlobalOptions(globals, env_bootstrap);
  if (!g.ok()) return R(g.status());
  cmd.global = std::move(*g);
  Status settings = ReadRawClientSettings(cmd.global.client_config, &cmd.client_id, &cmd.security);
  if (!settings.ok()) return bad(settings.message());

  bool have_entity = false;
  auto set_entity = [&](ConfigEntity::Type type, std::string name) {
    if (have_entity) return false;
    have_entity = true;
    cmd.entity = {type, std::move(name)};
    return true;
  };
  const char* kOneEntity =
      "give exactly one of --topic, --broker, --broker-defaults, --broker-logger";
  for (size_t i = 2; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    // Flags without a value.
    if (a == "--broker-defaults") {
      if (!set_entity(ConfigEntity::Type::kBrokerDefaults, "")) return bad(kOneEntity);
      continue;
    }
    if (a == "--all" && !cmd.alter) {
      cmd.all = true;
      continue;
    }
    if (a == "--validate-only" && cmd.alter) {
      cmd.validate_only = true;
      continue;
    }
    const bool takes_value =
        a == "--topic" || a == "--broker" || a == "--broker-logger" ||
        (!cmd.alter && a == "--output") ||
        (cmd.alter && (a == "--set" || a == "--delete" || a == "--append" || a == "--subtract"));
    if (!takes_value) return bad("unknown option " + a);
    if (i + 1 >= rest.size()) return bad(a + " needs a value");
    const std::string& v = rest[++i];
    if (a == "--topic") {
      if (v.empty()) return bad("--topic needs a name");
      if (!set_entity(ConfigEntity::Type::kTopic, v)) return bad(kOneEntity);
    } else if (a == "--broker" || a == "--broker-logger") {
      Result<int32_t> id = ParseInteger<int32_t>(a, v, 0, INT32_MAX);
      if (!id.ok()) return bad(id.status().message());
      if (!set_entity(
              a == "--broker" ? ConfigEntity::Type::kBroker : ConfigEntity::Type::kBrokerLogger,
              std::to_string(*id))) {
        return bad(kOneEntity);
      }
    } else if (a == "--output") {
      if (v != "table" && v != "json") return bad("--output is table or json");
      cmd.json = v == "json";
    } else {  // an alter operation
      ConfigOp op;
      if (a == "--delete") {
        if (v.empty() || v.find('=') != std::string::npos) {
          return bad("--delete takes a config name, not '" + v + "'");
        }
        op = {v, ConfigOpType::kDelete, std::nullopt};
      } else {
        Result<KeyValue> kv = ParseKeyValue(a, v);
        if (!kv.ok()) return bad(kv.status().message());
        op = {kv->key,
              a == "--set"      ? ConfigOpType::kSet
              : a == "--append" ? ConfigOpType::kAppend
                                : ConfigOpType::kSubtract,
              kv->value};
      }
      // Kafka refuses a request naming a key twice (INVALID_REQUEST); say so here.
      for (const auto& prev : cmd.ops) {
        if (prev.name == op.name) return bad("'" + op.name + "' is given more than once");
      }
      cmd.ops.push_back(std::move(op));
    }
  }
  if (!have_entity) return bad(kOneEntity);
  if (cmd.alter && cmd.ops.empty()) {
    return bad("nothing to alter: give --set, --delete, --append or --subtract");
  }
  return R(std::move(cmd));
}

// ---------------------------------------------------------------------------
// What DescribeConfigs returned, and how it is shown.

// DescribeConfigsResponse ConfigSource values.
inline constexpr int8_t kDynamicTopicConfig = 1;
inline constexpr int8_t kDynamicBrokerConfig = 2;
inline constexpr int8_t kDynamicDefaultBrokerConfig = 3;
inline constexpr int8_t kStaticBrokerConfig = 4;
inline constexpr int8_t kDefaultConfig = 5;
inline constexpr int8_t kDynamicBrokerLoggerConfig = 6;

inline const char* ConfigSourceName(int8_t source) {
  switch (source) {
    case kDynamicTopicConfig:
      return "DYNAMIC_TOPIC_CONFIG";
    case kDynamicBrokerConfig:
      return "DYNAMIC_BROKER_CONFIG";
    case kDynamicDefaultBrokerConfig:
      return "DYNAMIC_DEFAULT_BROKER_CONFIG";
    case kStaticBrokerConfig:
      return "STATIC_BROKER_CONFIG";
    case kDefaultConfig:
      return "DEFAULT_CONFIG";
    case kDynamicBrokerLoggerConfig:
      return "DYNAMIC_BROKER_LOGGER_CONFIG";
    case 7:
      return "CLIENT_METRICS_CONFIG";
    default:
      return "UNKNOWN";
  }
}

struct ConfigSynonym {
  std::string name;
  std::optional<std::string> value;
  int8_t source = 0;
  bool operator==(const ConfigSynonym&) const = default;
};

struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;
  int8_t source = 0;
  bool read_only = false;
  bool sensitive = false;
  std::vector<ConfigSynonym> synonyms;  // highest precedence first, as the broker sends them
  bool operator==(const ConfigEntry&) const = default;
};

// Whether `describe` without --all shows an entry of `source`: the dynamic ones, as
// kafka-configs.sh does. A topic: its overrides and the values it inherits from dynamic broker
// configs (1, 2, 3); a broker: its own and the cluster-wide dynamic values (2, 3); the broker
// defaults: the cluster-wide dynamic values (3); a broker's loggers: every level.
inline bool ShownWithoutAll(ConfigEntity::Type type, int8_t source) {
  switch (type) {
    case ConfigEntity::Type::kTopic:
      return source == kDynamicTopicConfig || source == kDynamicBrokerConfig ||
             source == kDynamicDefaultBrokerConfig;
    case ConfigEntity::Type::kBroker:
      return source == kDynamicBrokerConfig || source == kDynamicDefaultBrokerConfig;
    case ConfigEntity::Type::kBrokerDefaults:
      return source == kDynamicDefaultBrokerConfig;
    case ConfigEntity::Type::kBrokerLogger:
      return true;
  }
  return true;
}

// The entries `describe` shows, sorted by name.
inline std::vector<ConfigEntry> SelectConfigs(const ConfigEntity& entity,
                                              std::vector<ConfigEntry> entries, bool all) {
  if (!all) {
    std::erase_if(entries,
                  [&](const ConfigEntry& e) { return !ShownWithoutAll(entity.type, e.source); });
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; });
  return entries;
}

inline constexpr char kHiddenValue[] = "[hidden]";

// A value as the table shows it: "[hidden]" when sensitive, "null" when the broker sent none.
inline std::string ConfigValueText(const std::optional<std::string>& value, bool sensitive) {
  if (sensitive) return kHiddenValue;
  return value.value_or("null");
}

inline const char* ConfigEntityTypeName(ConfigEntity::Type type) {
  switch (type) {
    case ConfigEntity::Type::kTopic:
      return "topic";
    case ConfigEntity::Type::kBroker:
      return "broker";
    case ConfigEntity::Type::kBrokerDefaults:
      return "broker-defaults";
    case ConfigEntity::Type::kBrokerLogger:
      return "broker-logger";
  }
  return "";
}

// `entries` as already selected (SelectConfigs). The table: NAME, VALUE, SOURCE, READ_ONLY,
// SENSITIVE and, with `all`, SYNONYMS ("name=value (SOURCE), ..."). JSON:
// {"resource":{"type":..,"name":..},"configs":[{"name","value","source","read_only",
// "sensitive","synonyms":[{"name","value","source"}]}]}, a sensitive value null, the name of
// the broker defaults null.
inline std::string FormatConfigs(const ConfigEntity& entity,
                                 const std::vector<ConfigEntry>& entries, bool all, bool json) {
  if (json) {
    nlohmann::json configs = nlohmann::json::array();
    auto value_of = [](const std::optional<std::string>& v, bool sensitive) {
      return v && !sensitive ? nlohmann::json(*v) : nlohmann::json();
    };
    for (const auto& e : entries) {
      nlohmann::json synonyms = nlohmann::json::array();
      for (const auto& s : e.synonyms) {
        synonyms.push_back({{"name", s.name},
                            {"value", value_of(s.value, e.sensitive)},
                            {"source", ConfigSourceName(s.source)}});
      }
      configs.push_back({{"name", e.name},
                         {"value", value_of(e.value, e.sensitive)},
                         {"source", ConfigSourceName(e.source)},
                         {"read_only", e.read_only},
                         {"sensitive", e.sensitive},
                         {"synonyms", std::move(synonyms)}});
    }
    nlohmann::json resource = {
        {"type", ConfigEntityTypeName(entity.type)},
        {"name", entity.type == ConfigEntity::Type::kBrokerDefaults ? nlohmann::json()
                                                                    : nlohmann::json(entity.name)}};
    return nlohmann::json{{"resource", std::move(resource)}, {"configs", std::move(configs)}}
               .dump() +
           "\n";
  }
  std::vector<std::string> header = {"NAME", "VALUE", "SOURCE", "READ_ONLY", "SENSITIVE"};
  if (all) header.push_back("SYNONYMS");
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : entries) {
    std::vector<std::string> row = {e.name, ConfigValueText(e.value, e.sensitive),
                                    ConfigSourceName(e.source), e.read_only ? "true" : "false",
                                    e.sensitive ? "true" : "false"};
    if (all) {
      std::string synonyms;
      for (const auto& s : e.synonyms) {
        if (!synonyms.empty()) synonyms += ", ";
        synonyms += s.name + "=" + ConfigValueText(s.value, e.sensitive) + " (" +
                    ConfigSourceName(s.source) + ")";
      }
      row.push_back(synonyms.empty() ? std::string(kNone) : synonyms);
    }
    rows.push_back(std::move(row));
  }
  return FormatTable(header, rows);
}

// `alter`'s line for a resource the broker accepted: "Altered config of topic T.", or
// "Validated config of topic T." with --validate-only (nothing changed).
inline std::string FormatAlterDone(const ConfigEntity& entity, bool validate_only) {
  return std::string(validate_only ? "Validated" : "Altered") + " config of " +
         ConfigEntityText(entity) + ".\n";
}

// The stderr line for a resource the broker refused: "<entity>: <ERROR_NAME>: <message>"
// (without ": <message>" when the broker sent none).
inline std::string FormatResourceError(const ConfigEntity& entity, std::string_view error_name,
                                       const std::optional<std::string>& message) {
  std::string line = ConfigEntityText(entity) + ": " + std::string(error_name);
  if (message && !message->empty()) line += ": " + *message;
  return line + "\n";
}

int RunConfigCommand(const ConfigCommand& cmd);

}  // namespace gregor::tools
