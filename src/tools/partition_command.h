#pragma once
// `gregorctl partition elect-leaders`, like kafka-leader-election.sh: a preferred (or unclean)
// leader election for the partitions named, or for all of them, through ElectLeaders
// (KIP-183/KIP-460), which librdkafka 2.0 lacks: the raw protocol client sends it to the
// controller. Parsing is pure, here.

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "tools/args.h"
#include "tools/client_security.h"

namespace gregor::tools {

// A reassignment plan: target replicas per partition, in kafka-reassign-partitions.sh's JSON.
using ReassignmentPlan = std::map<TopicPartition, std::vector<int32_t>>;

struct PartitionCommand {
  enum class Kind { kElectLeaders, kPlan, kExecute, kVerify };
  Kind kind = Kind::kElectLeaders;
  GlobalOptions global;
  std::string client_id = "gregorctl";
  ClientSecurity security;
  bool unclean = false;                    // --election-type unclean (else preferred)
  std::vector<TopicPartition> partitions;  // --topic T --partition P pairs
  std::vector<std::string> whole_topics;   // --topic T without --partition
  bool all = false;                        // --all-topic-partitions
  // reassign
  std::vector<int32_t> target_brokers;  // --plan --brokers 0,1,2
  int32_t replication_factor = -1;      // --plan: -1 keeps each partition's
  std::string plan_file;                // --execute / --verify --reassignment-json-file
  bool wait = false;                    // --execute --wait: a progress bar until done
  int64_t throttle = -1;                // --execute --throttle B/s (KIP-73); -1: none
  bool preserve_throttles = false;      // --verify / --wait: leave the throttles set
  bool help = false;
  std::string usage;
};

inline constexpr char kPartitionUsage[] =
    "usage: gregorctl partition elect-leaders [--election-type preferred|unclean]\n"
    "           (--all-topic-partitions | (--topic T [--partition P]...)...)\n"
    "       gregorctl partition reassign --plan --topic T... --brokers B,B,...\n"
    "           [--replication-factor N]\n"
    "       gregorctl partition reassign --execute --reassignment-json-file F\n"
    "           [--throttle BYTES_PER_SEC] [--wait [--preserve-throttles]]\n"
    "       gregorctl partition reassign --verify --reassignment-json-file F\n"
    "           [--preserve-throttles]\n";

// {"version":1,"partitions":[{"topic":..,"partition":..,"replicas":[..],"log_dirs":[..]}]}
inline std::string EncodeReassignmentPlan(const ReassignmentPlan& plan) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& [tp, replicas] : plan) {
    parts.push_back({{"topic", tp.topic},
                     {"partition", tp.partition},
                     {"replicas", replicas},
                     {"log_dirs", std::vector<std::string>(replicas.size(), "any")}});
  }
  return nlohmann::json{{"version", 1}, {"partitions", parts}}.dump();
}

inline Result<ReassignmentPlan> DecodeReassignmentPlan(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("reassignment JSON: " + why);
  };
  if (!j.is_object() || !j.contains("partitions") || !j["partitions"].is_array()) {
    return bad("expected {\"version\":1,\"partitions\":[...]}");
  }
  ReassignmentPlan plan;
  for (const auto& p : j["partitions"]) {
    if (!p.is_object() || !p.contains("topic") || !p["topic"].is_string() ||
        !p.contains("partition") || !p["partition"].is_number_integer() ||
        !p.contains("replicas") || !p["replicas"].is_array()) {
      return bad("each entry needs topic, partition and replicas");
    }
    std::vector<int32_t> replicas;
    for (const auto& r : p["replicas"]) {
      if (!r.is_number_integer() || r.get<int64_t>() < 0 || r.get<int64_t>() > INT32_MAX) {
        return bad("replicas are broker ids");
      }
      replicas.push_back(r.get<int32_t>());
    }
    if (replicas.empty()) return bad("an entry without replicas");
    const int64_t partition = p["partition"].get<int64_t>();
    if (partition < 0 || partition > INT32_MAX) return bad("a negative partition");
    TopicPartition tp{p["topic"].get<std::string>(), static_cast<int32_t>(partition)};
    if (!plan.emplace(tp, std::move(replicas)).second) {
      return bad("partition " + tp.ToString() + " appears twice");
    }
  }
  if (plan.empty()) return bad("no partitions");
  return plan;
}

// The throttles of a reassignment, as kafka-reassign-partitions.sh sets them: for each topic,
// leader.replication.throttled.replicas lists every current replica of its planned partitions
// (the sources) and follower.replication.throttled.replicas the replicas being added (the
// destinations), as "partition:broker" sorted as strings; the rates go to every source and
// destination broker.
struct ReassignmentThrottles {
  std::map<std::string, std::string> leader;    // topic -> leader.replication.throttled.replicas
  std::map<std::string, std::string> follower;  // topic -> follower.replication.throttled.replicas
  std::set<int32_t> brokers;
};

inline ReassignmentThrottles ComputeReassignmentThrottles(
    const ReassignmentPlan& plan, const std::map<TopicPartition, std::vector<int32_t>>& current) {
  std::map<std::string, std::set<std::string>> leader, follower;
  ReassignmentThrottles out;
  for (const auto& [tp, target] : plan) {
    auto it = current.find(tp);
    const std::vector<int32_t> sources = it == current.end() ? std::vector<int32_t>{} : it->second;
    auto& l = leader[tp.topic];
    auto& f = follower[tp.topic];
    for (int32_t b : sources) {
      l.insert(std::to_string(tp.partition) + ":" + std::to_string(b));
      out.brokers.insert(b);
    }
    for (int32_t b : target) {
      if (std::find(sources.begin(), sources.end(), b) != sources.end()) continue;
      f.insert(std::to_string(tp.partition) + ":" + std::to_string(b));
      out.brokers.insert(b);
    }
  }
  auto join = [](const std::set<std::string>& parts) {
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : ",") + p;
    return s;
  };
  for (const auto& [topic, parts] : leader) out.leader[topic] = join(parts);
  for (const auto& [topic, parts] : follower) out.follower[topic] = join(parts);
  return out;
}

// A balanced proposal for `partitions` (partition -> current replicas) over `brokers`: partition
// p's replicas are brokers[(p + i) % n] for i < its replication factor (`rf`, or its current one),
// so leaders and replicas spread evenly, as Kafka's rack-unaware assignment intends.
inline Result<ReassignmentPlan> ProposeReassignment(
    const std::map<TopicPartition, std::vector<int32_t>>& partitions,
    const std::vector<int32_t>& brokers, int32_t rf) {
  if (brokers.empty()) return Status::InvalidArgument("no brokers to move to");
  ReassignmentPlan plan;
  for (const auto& [tp, current] : partitions) {
    const size_t want = rf > 0 ? static_cast<size_t>(rf) : current.size();
    if (want > brokers.size()) {
      return Status::InvalidArgument("replication factor " + std::to_string(want) + " of " +
                                     tp.ToString() + " is larger than the " +
                                     std::to_string(brokers.size()) + " brokers given");
    }
    std::vector<int32_t> replicas;
    for (size_t i = 0; i < want; ++i) {
      replicas.push_back(brokers[(static_cast<size_t>(tp.partition) + i) % brokers.size()]);
    }
    plan[tp] = std::move(replicas);
  }
  return plan;
}

inline std::optional<Result<PartitionCommand>> ParsePartitionCommand(
    const std::vector<std::string>& args, const char* env_bootstrap) {
  auto [globals, rest, help] = SplitGlobalOptions(args);
  if (rest.empty() || rest[0] != "partition") return std::nullopt;
  using R = Result<PartitionCommand>;
  PartitionCommand cmd;
  if (help) {
    cmd.help = true;
    cmd.usage = kPartitionUsage;
    return R(std::move(cmd));
  }
  auto bad = [](const std::string& why) {
    return R(Status::InvalidArgument("partition: " + why + "\n" + kPartitionUsage));
  };
  if (rest.size() < 2 || (rest[1] != "elect-leaders" && rest[1] != "reassign")) {
    return bad("expected elect-leaders or reassign");
  }
  const bool reassign = rest[1] == "reassign";
  Result<GlobalOptions> g = ResolveGlobalOptions(globals, env_bootstrap);
  if (!g.ok()) return R(g.status());
  cmd.global = std::move(*g);
  Status settings = ReadRawClientSettings(cmd.global.client_config, &cmd.client_id, &cmd.security);
  if (!settings.ok()) return bad(settings.message());
  std::optional<std::string> topic;  // the --topic the next --partition belongs to
  bool topic_has_partition = false;
  auto close_topic = [&] {
    if (topic && !topic_has_partition) cmd.whole_topics.push_back(*topic);
  };
  for (size_t i = 2; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (a == "--all-topic-partitions" && !reassign) {
      cmd.all = true;
      continue;
    }
    if (reassign && (a == "--plan" || a == "--execute" || a == "--verify")) {
      if (cmd.kind != PartitionCommand::Kind::kElectLeaders) {
        return bad("give one of --plan, --execute and --verify");
      }
      cmd.kind = a == "--plan"      ? PartitionCommand::Kind::kPlan
                 : a == "--execute" ? PartitionCommand::Kind::kExecute
                                    : PartitionCommand::Kind::kVerify;
      continue;
    }
    if (reassign && a == "--wait") {
      cmd.wait = true;
      continue;
    }
    if (reassign && a == "--preserve-throttles") {
      cmd.preserve_throttles = true;
      continue;
    }
    if (i + 1 >= rest.size()) return bad(a + " needs a value");
    const std::string& v = rest[++i];
    if (reassign && a == "--brokers") {
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        if (comma == std::string::npos) comma = v.size();
        Result<int32_t> id =
            ParseInteger<int32_t>("--brokers", v.substr(start, comma - start), 0, INT32_MAX);
        if (!id.ok()) return bad(id.status().message());
        cmd.target_brokers.push_back(*id);
        start = comma + 1;
      }
    } else if (reassign && a == "--replication-factor") {
      Result<int32_t> rf = ParseInteger<int32_t>("--replication-factor", v, 1, 32767);
      if (!rf.ok()) return bad(rf.status().message());
      cmd.replication_factor = *rf;
    } else if (reassign && a == "--throttle") {
      Result<int64_t> t = ParseInteger<int64_t>("--throttle", v, 0, INT64_MAX);
      if (!t.ok()) return bad(t.status().message());
      cmd.throttle = *t;
    } else if (reassign && a == "--reassignment-json-file") {
      cmd.plan_file = v;
    } else if (a == "--election-type" && !reassign) {
      if (v != "preferred" && v != "unclean") return bad("--election-type is preferred or unclean");
      cmd.unclean = v == "unclean";
    } else if (a == "--topic") {
      if (v.empty()) return bad("--topic needs a name");
      close_topic();
      topic = v;
      topic_has_partition = false;
    } else if (a == "--partition" && !reassign) {
      if (!topic) return bad("--partition follows the --topic it belongs to");
      Result<int32_t> p = ParseInteger<int32_t>("--partition", v, 0, INT32_MAX);
      if (!p.ok()) return bad(p.status().message());
      cmd.partitions.push_back({*topic, *p});
      topic_has_partition = true;
    } else {
      return bad("unknown option " + a);
    }
  }
  close_topic();
  if (reassign) {
    switch (cmd.kind) {
      case PartitionCommand::Kind::kElectLeaders:
        return bad("reassign needs --plan, --execute or --verify");
      case PartitionCommand::Kind::kPlan:
        if (cmd.whole_topics.empty() || cmd.target_brokers.empty()) {
          return bad("--plan needs --topic and --brokers");
        }
        break;
      case PartitionCommand::Kind::kExecute:
      case PartitionCommand::Kind::kVerify:
        if (cmd.plan_file.empty()) return bad("give the plan with --reassignment-json-file");
        if (!cmd.whole_topics.empty()) return bad("the plan file names the partitions");
        break;
    }
    if (cmd.wait && cmd.kind != PartitionCommand::Kind::kExecute) {
      return bad("--wait goes with --execute");
    }
    if (cmd.throttle >= 0 && cmd.kind != PartitionCommand::Kind::kExecute) {
      return bad("--throttle goes with --execute");
    }
    if (cmd.preserve_throttles && cmd.kind != PartitionCommand::Kind::kVerify && !cmd.wait) {
      return bad("--preserve-throttles goes with --verify or --wait");
    }
    return R(std::move(cmd));
  }
  if (cmd.all == (!cmd.partitions.empty() || !cmd.whole_topics.empty())) {
    return bad("give either --all-topic-partitions or --topic");
  }
  return R(std::move(cmd));
}

int RunPartitionCommand(const PartitionCommand& cmd);

}  // namespace gregor::tools
