// gregorctl: command-line client for gregor (and any Kafka broker).
// Exit status: 0 success, 1 the operation failed, 2 bad usage.

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "gregor/config/properties.h"
#include "tools/acl_command.h"
#include "tools/args.h"
#include "tools/command_config.h"
#include "tools/commands.h"
#include "tools/group_command.h"
#include "tools/quota_command.h"
#include "tools/transactions_command.h"

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
  if (auto quota = ParseQuotaCommand(args, std::getenv(kBootstrapEnv))) {
    if (!quota->ok()) {
      const std::string& m = quota->status().message();
      std::fprintf(stderr, "gregorctl: %s", m.c_str());
      if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
      return 2;
    }
    if ((*quota)->help) {
      std::fputs((*quota)->usage.c_str(), stdout);
      return 0;
    }
    return RunQuotaCommand(**quota);
  }
  if (auto acl = ParseAclCommand(args, std::getenv(kBootstrapEnv))) {
    if (!acl->ok()) {
      const std::string& m = acl->status().message();
      std::fprintf(stderr, "gregorctl: %s", m.c_str());
      if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
      return 2;
    }
    if ((*acl)->help) {
      std::fputs((*acl)->usage.c_str(), stdout);
      return 0;
    }
    return RunAclCommand(**acl);
  }
  if (auto txn = ParseTransactionsCommand(args, std::getenv(kBootstrapEnv))) {
    if (!txn->ok()) {
      const std::string& m = txn->status().message();
      std::fprintf(stderr, "gregorctl: %s", m.c_str());
      if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
      return 2;
    }
    if ((*txn)->help) {
      std::fputs((*txn)->usage.c_str(), stdout);
      return 0;
    }
    return RunTransactionsCommand(**txn);
  }
  if (auto group = ParseGroupCommand(args, std::getenv(kBootstrapEnv))) {
    if (!group->ok()) {
      std::fprintf(stderr, "gregorctl: %s", group->status().message().c_str());
      const std::string& m = group->status().message();
      if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
      return 2;
    }
    if ((*group)->help) {
      std::fputs((*group)->usage.c_str(), stdout);
      return 0;
    }
    return RunGroupCommand((*group)->global, *(*group)->options);
  }
  gregor::Result<ParsedCommand> parsed = Parse(args, std::getenv(kBootstrapEnv));
  if (!parsed.ok()) {
    const std::string m = WithGroupUsage(parsed.status().message());
    std::fprintf(stderr, "gregorctl: %s", m.c_str());
    if (m.empty() || m.back() != '\n') std::fputc('\n', stderr);
    return 2;
  }
  if (parsed->help) {
    std::fputs(WithGroupUsage(parsed->usage).c_str(), stdout);
    return 0;
  }
  return Dispatch(parsed->global, *parsed->options);
}
