#pragma once
// `gregorctl partition elect-leaders`, like kafka-leader-election.sh: a preferred (or unclean)
// leader election for the partitions named, or for all of them, through ElectLeaders
// (KIP-183/KIP-460), which librdkafka 2.0 lacks: the raw protocol client sends it to the
// controller. Parsing is pure, here.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "tools/args.h"
#include "tools/client_security.h"

namespace gregor::tools {

struct PartitionCommand {
  GlobalOptions global;
  std::string client_id = "gregorctl";
  ClientSecurity security;
  bool unclean = false;                    // --election-type unclean (else preferred)
  std::vector<TopicPartition> partitions;  // --topic T --partition P pairs
  std::vector<std::string> whole_topics;   // --topic T without --partition
  bool all = false;                        // --all-topic-partitions
  bool help = false;
  std::string usage;
};

inline constexpr char kPartitionUsage[] =
    "usage: gregorctl partition elect-leaders [--election-type preferred|unclean]\n"
    "           (--all-topic-partitions | (--topic T [--partition P]...)...)\n";

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
  if (rest.size() < 2 || rest[1] != "elect-leaders") return bad("expected elect-leaders");
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
    if (a == "--all-topic-partitions") {
      cmd.all = true;
      continue;
    }
    if (i + 1 >= rest.size()) return bad(a + " needs a value");
    const std::string& v = rest[++i];
    if (a == "--election-type") {
      if (v != "preferred" && v != "unclean") return bad("--election-type is preferred or unclean");
      cmd.unclean = v == "unclean";
    } else if (a == "--topic") {
      if (v.empty()) return bad("--topic needs a name");
      close_topic();
      topic = v;
      topic_has_partition = false;
    } else if (a == "--partition") {
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
  if (cmd.all == (!cmd.partitions.empty() || !cmd.whole_topics.empty())) {
    return bad("give either --all-topic-partitions or --topic");
  }
  return R(std::move(cmd));
}

int RunPartitionCommand(const PartitionCommand& cmd);

}  // namespace gregor::tools
