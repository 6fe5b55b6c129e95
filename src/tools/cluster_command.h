#pragma once
// `gregorctl cluster describe` and `gregorctl log-dirs describe`, an operator's daily look at
// the cluster: the cluster id, controller and brokers (DescribeCluster, KIP-700; Metadata from
// brokers without it), and each broker's log directories with their partitions, sizes and
// offset lags (DescribeLogDirs, like kafka-log-dirs.sh, whose JSON layout --output json keeps).
// librdkafka 2.0 has neither API, so these use the raw protocol client (TLS and SASL from -X).
// This header holds the pure part: parsing and the output formats.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "tools/args.h"
#include "tools/client_security.h"
#include "tools/group_command.h"  // FormatTable

namespace gregor::tools {

struct ClusterCommand {
  enum class Kind { kClusterDescribe, kLogDirsDescribe, kLogDirsMove };
  Kind kind = Kind::kClusterDescribe;
  GlobalOptions global;
  std::string client_id = "gregorctl";
  ClientSecurity security;
  bool json = false;                // --output json (else table)
  std::vector<int32_t> brokers;     // log-dirs: --broker (none: every broker)
  std::vector<std::string> topics;  // log-dirs: --topic (none: every topic)
  // log-dirs move: --broker B --topic T --partition P... --dir PATH [--wait]
  int32_t move_broker = -1;
  std::vector<int32_t> move_partitions;
  std::string move_dir;
  bool wait = false;
  bool help = false;
  std::string usage;
};

inline constexpr char kClusterUsage[] =
    "usage: gregorctl cluster describe [--output table|json]\n"
    "       gregorctl log-dirs describe [--broker N]... [--topic T]... [--output table|json]\n"
    "       gregorctl log-dirs move --broker N --topic T --partition P [--partition P]...\n"
    "                --dir PATH [--wait]\n";

struct DescribedBroker {
  int32_t id = -1;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;
};
struct DescribedCluster {
  std::string cluster_id;
  int32_t controller = -1;
  std::vector<DescribedBroker> brokers;
};
struct LogDirPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t size = 0, offset_lag = 0;
  bool future = false;
};
struct LogDir {
  std::string path;
  std::string error;  // empty: none
  int64_t total_bytes = -1, usable_bytes = -1;
  std::vector<LogDirPartition> partitions;
};
struct BrokerLogDirs {
  int32_t broker = -1;
  std::string error;  // the broker could not be asked
  std::vector<LogDir> dirs;
};

inline std::optional<Result<ClusterCommand>> ParseClusterCommand(
    const std::vector<std::string>& args, const char* env_bootstrap) {
  auto [globals, rest, help] = SplitGlobalOptions(args);
  if (rest.empty() || (rest[0] != "cluster" && rest[0] != "log-dirs")) return std::nullopt;
  using R = Result<ClusterCommand>;
  ClusterCommand cmd;
  if (help) {
    cmd.help = true;
    cmd.usage = kClusterUsage;
    return R(std::move(cmd));
  }
  auto bad = [&](const std::string& why) {
    return R(Status::InvalidArgument(rest[0] + ": " + why + "\n" + kClusterUsage));
  };
  const bool move = rest[0] == "log-dirs" && rest.size() >= 2 && rest[1] == "move";
  if (rest.size() < 2 || (rest[1] != "describe" && !move)) {
    return bad(rest[0] == "log-dirs" ? "expected describe or move" : "expected describe");
  }
  cmd.kind = rest[0] == "cluster" ? ClusterCommand::Kind::kClusterDescribe
             : move               ? ClusterCommand::Kind::kLogDirsMove
                                  : ClusterCommand::Kind::kLogDirsDescribe;
  Result<GlobalOptions> g = ResolveGlobalOptions(globals, env_bootstrap);
  if (!g.ok()) return R(g.status());
  cmd.global = std::move(*g);
  Status settings = ReadRawClientSettings(cmd.global.client_config, &cmd.client_id, &cmd.security);
  if (!settings.ok()) return bad(settings.message());
  const bool log_dirs = cmd.kind == ClusterCommand::Kind::kLogDirsDescribe;
  for (size_t i = 2; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (a == "--wait" && move) {
      cmd.wait = true;
      continue;
    }
    if (i + 1 >= rest.size()) return bad(a + " needs a value");
    const std::string& v = rest[++i];
    if (move) {
      if (a == "--broker") {
        Result<int32_t> id = ParseInteger<int32_t>("--broker", v, 0, INT32_MAX);
        if (!id.ok()) return bad(id.status().message());
        cmd.move_broker = *id;
      } else if (a == "--topic") {
        if (v.empty() || !cmd.topics.empty()) return bad("one --topic with a name");
        cmd.topics.push_back(v);
      } else if (a == "--partition") {
        Result<int32_t> p = ParseInteger<int32_t>("--partition", v, 0, INT32_MAX);
        if (!p.ok()) return bad(p.status().message());
        cmd.move_partitions.push_back(*p);
      } else if (a == "--dir") {
        if (v.empty() || v[0] != '/') return bad("--dir is an absolute path");
        cmd.move_dir = v;
      } else {
        return bad("unknown option " + a);
      }
      continue;
    }
    if (a == "--output") {
      if (v != "table" && v != "json") return bad("--output is table or json");
      cmd.json = v == "json";
    } else if (a == "--broker" && log_dirs) {
      Result<int32_t> id = ParseInteger<int32_t>("--broker", v, 0, INT32_MAX);
      if (!id.ok()) return bad(id.status().message());
      cmd.brokers.push_back(*id);
    } else if (a == "--topic" && log_dirs) {
      if (v.empty()) return bad("--topic needs a name");
      cmd.topics.push_back(v);
    } else {
      return bad("unknown option " + a);
    }
  }
  if (move && (cmd.move_broker < 0 || cmd.topics.empty() || cmd.move_partitions.empty() ||
               cmd.move_dir.empty())) {
    return bad("move needs --broker, --topic, --partition and --dir");
  }
  return R(std::move(cmd));
}

inline std::string FormatCluster(const DescribedCluster& c, bool json) {
  if (json) {
    nlohmann::json brokers = nlohmann::json::array();
    for (const auto& b : c.brokers) {
      brokers.push_back({{"id", b.id},
                         {"host", b.host},
                         {"port", b.port},
                         {"rack", b.rack ? nlohmann::json(*b.rack) : nlohmann::json()}});
    }
    return nlohmann::json{
               {"cluster_id", c.cluster_id}, {"controller", c.controller}, {"brokers", brokers}}
               .dump() +
           "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : c.brokers) {
    rows.push_back({std::to_string(b.id), b.host, std::to_string(b.port), b.rack.value_or("-"),
                    b.id == c.controller ? "yes" : ""});
  }
  return "Cluster id: " + c.cluster_id + "\nController: " + std::to_string(c.controller) + "\n" +
         FormatTable({"BROKER", "HOST", "PORT", "RACK", "CONTROLLER"}, rows);
}

// --output json keeps kafka-log-dirs.sh's layout: {"version":1,"brokers":[{"broker":0,
// "logDirs":[{"logDir":..,"error":null,"partitions":[{"partition":"t-0","size":..,
// "offsetLag":..,"isFuture":false}]}]}]}.
inline std::string FormatLogDirs(const std::vector<BrokerLogDirs>& brokers, bool json) {
  if (json) {
    nlohmann::json out = {{"version", 1}, {"brokers", nlohmann::json::array()}};
    for (const auto& b : brokers) {
      nlohmann::json dirs = nlohmann::json::array();
      for (const auto& d : b.dirs) {
        nlohmann::json parts = nlohmann::json::array();
        for (const auto& p : d.partitions) {
          parts.push_back({{"partition", p.topic + "-" + std::to_string(p.partition)},
                           {"size", p.size},
                           {"offsetLag", p.offset_lag},
                           {"isFuture", p.future}});
        }
        dirs.push_back({{"logDir", d.path},
                        {"error", d.error.empty() ? nlohmann::json() : nlohmann::json(d.error)},
                        {"partitions", parts}});
      }
      nlohmann::json entry = {{"broker", b.broker}, {"logDirs", dirs}};
      if (!b.error.empty()) entry["error"] = b.error;
      out["brokers"].push_back(std::move(entry));
    }
    return out.dump() + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& b : brokers) {
    if (!b.error.empty()) rows.push_back({std::to_string(b.broker), "-", "-", "-", "-", b.error});
    for (const auto& d : b.dirs) {
      if (!d.error.empty() || d.partitions.empty()) {
        rows.push_back({std::to_string(b.broker), d.path, "-", "-", "-", d.error});
      }
      for (const auto& p : d.partitions) {
        rows.push_back({std::to_string(b.broker), d.path,
                        p.topic + "-" + std::to_string(p.partition), std::to_string(p.size),
                        std::to_string(p.offset_lag), ""});
      }
    }
  }
  return FormatTable({"BROKER", "LOG DIR", "PARTITION", "SIZE", "LAG", "ERROR"}, rows);
}

int RunClusterCommand(const ClusterCommand& cmd);

}  // namespace gregor::tools
