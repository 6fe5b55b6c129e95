// gregorctl: command-line client for gregor (and any Kafka broker).
// Exit status: 0 success, 1 the operation failed, 2 bad usage.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gregor/config/properties.h"
#include "tools/acl_command.h"
#include "tools/args.h"
#include "tools/cluster_command.h"
#include "tools/command_config.h"
#include "tools/commands.h"
#include "tools/config_command.h"
#include "tools/group_command.h"
#include "tools/partition_command.h"
#include "tools/quota_command.h"
#include "tools/transactions_command.h"
#include "tools/user_command.h"

namespace gregor::tools {
namespace {

int Dispatch(const GlobalOptions& g, const CommandOptions& options) {
  struct Visitor {
    const GlobalOptions& g;
    int operator()(const TopicCreateOptions& o) { return RunTopicCreate(g, o); }
    int operator()(const TopicListOptions& o) { return RunTopicList(g, o); }
    int operator()(const TopicDescribeOptions& o) { return RunTopicDescribe(g, o); }
    int operator()(const TopicDeleteOptions& o) { return RunTopicDelete(g, o); }
    int operator()(const TopicAlterConfigOptions& o) { return RunTopicAlterConfig(g, o); }
    int operator()(const ProduceOptions& o) { return RunProduce(g, o); }
    int operator()(const ConsumeOptions& o) { return RunConsume(g, o); }
    int operator()(const BenchProduceOptions& o) { return RunBenchProduce(g, o); }
    int operator()(const BenchConsumeOptions& o) { return RunBenchConsume(g, o); }
    int operator()(const MockClusterOptions& o) { return RunMockCluster(g, o); }
  };
  return std::visit(Visitor{g}, options);
}

// A command that parses itself (nullopt when the line is not that command):
// bad usage prints the reason (exit 2), --help the usage (exit 0), else `run`.
template <typename Command, typename Run>
std::optional<int> RunSelfParsed(const std::optional<Result<Command>>& parsed, Run run) {
  if (!parsed) return std::nullopt;
  if (!parsed->ok()) {
    const std::string& m = parsed->status().message();
    std::fprintf(stderr, "gregorctl: %s", m.c_str());
    if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
    return 2;
  }
  if ((*parsed)->help) {
    std::fputs((*parsed)->usage.c_str(), stdout);
    return 0;
  }
  return run(**parsed);
}

}  // namespace
}  // namespace gregor::tools

int main(int argc, char** argv) {
  using namespace gregor::tools;
  auto expanded = ExpandCommandConfig(
      std::vector<std::string>(argv + 1, argv + argc),
      [](const std::string& path) -> gregor::Result<std::map<std::string, std::string>> {
        try {
          return gregor::config::ReadPropertiesFile(path);
        } catch (const gregor::config::ConfigError& e) {
          return gregor::Status::InvalidArgument(e.what());
        }
      });
  if (!expanded.ok()) {
    std::fprintf(stderr, "gregorctl: %s\n", expanded.status().message().c_str());
    return 2;
  }
  std::vector<std::string> args = std::move(*expanded);
  const char* env = std::getenv(kBootstrapEnv);
  if (auto rc = RunSelfParsed(ParseQuotaCommand(args, env), RunQuotaCommand)) return *rc;
  if (auto rc = RunSelfParsed(ParseAclCommand(args, env), RunAclCommand)) return *rc;
  if (auto rc = RunSelfParsed(ParseUserCommand(args, env), RunUserCommand)) return *rc;
  if (auto rc = RunSelfParsed(ParseClusterCommand(args, env), RunClusterCommand)) return *rc;
  if (auto rc = RunSelfParsed(ParseConfigCommand(args, env), RunConfigCommand)) return *rc;
  if (auto rc = RunSelfParsed(ParsePartitionCommand(args, env), RunPartitionCommand)) return *rc;
  if (auto rc = RunSelfParsed(ParseTransactionsCommand(args, env), RunTransactionsCommand)) {
    return *rc;
  }
  if (auto rc = RunSelfParsed(ParseGroupCommand(args, env), [](const ParsedGroupCommand& g) {
        return RunGroupCommand(g.global, *g.options);
      })) {
    return *rc;
  }
  gregor::Result<ParsedCommand> parsed = Parse(args, std::getenv(kBootstrapEnv));
  if (!parsed.ok()) {
    const std::string m = WithConfigUsage(WithGroupUsage(parsed.status().message()));
    std::fprintf(stderr, "gregorctl: %s", m.c_str());
    if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
    return 2;
  }
  if (parsed->help) {
    std::fputs(WithConfigUsage(WithGroupUsage(parsed->usage)).c_str(), stdout);
    return 0;
  }
  return Dispatch(parsed->global, *parsed->options);
}
