#pragma once
// `gregorctl quota set|describe`, kafka-configs.sh --entity-type users/clients/ips for client
// quotas, through AlterClientQuotas and DescribeClientQuotas (KIP-546), which librdkafka 2.0
// lacks: these speak the protocol themselves (tools/protocol_client.h, with TLS and SASL from
// -X, like the transactions commands). This header holds the pure part: ParseQuotaCommand()
// recognises a `quota` command line (global options resolved by Parse()). Nothing here
// throws; bad usage is a Status (printed by main, exit 2).

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/status.h"
#include "tools/args.h"
#include "tools/client_security.h"

namespace gregor::tools {

// One part of a quota entity: absent, the default (<default>) or a name.
struct QuotaEntityPart {
  bool present = false;
  std::optional<std::string> name;  // nullopt: the default
  bool operator==(const QuotaEntityPart&) const = default;
};

struct QuotaCommand {
  bool set = false;  // set, else describe
  GlobalOptions global;
  std::string client_id = "gregorctl";
  ClientSecurity security;  // -X security.protocol, sasl.*, ssl.*
  QuotaEntityPart user, client;
  QuotaEntityPart ip;                               // KIP-612, alone: connection_creation_rate
  std::vector<std::pair<std::string, double>> add;  // set
  std::vector<std::string> remove;                  // set
  bool help = false;
  std::string usage;
};

inline constexpr char kQuotaUsage[] =
    "usage: gregorctl quota set (--user U | --user-default) [--client C | --client-default]\n"
    "           [--add key=value[,key=value]...] [--delete key[,key]...]\n"
    "       gregorctl quota set (--client C | --client-default) ...\n"
    "       gregorctl quota set (--ip A | --ip-default) --add connection_creation_rate=N\n"
    "       gregorctl quota describe [--user U | --user-default] [--client C | --client-default]\n"
    "       gregorctl quota describe (--ip A | --ip-default)\n"
    "  keys: producer_byte_rate, consumer_byte_rate, request_percentage,\n"
    "        controller_mutation_rate; for IPs connection_creation_rate\n";

inline std::optional<Result<QuotaCommand>> ParseQuotaCommand(const std::vector<std::string>& args,
                                                             const char* env_bootstrap) {
  auto [globals, rest, help] = SplitGlobalOptions(args);
  if (rest.empty() || rest[0] != "quota") return std::nullopt;
  using R = Result<QuotaCommand>;
  QuotaCommand cmd;
  if (help) {
    cmd.help = true;
    cmd.usage = kQuotaUsage;
    return R(std::move(cmd));
  }
  auto bad = [](const std::string& why) {
    return R(Status::InvalidArgument("quota: " + why + "\n" + kQuotaUsage));
  };
  if (rest.size() < 2 || (rest[1] != "set" && rest[1] != "describe")) {
    return bad("set or describe");
  }
  cmd.set = rest[1] == "set";
  Result<GlobalOptions> g = ResolveGlobalOptions(globals, env_bootstrap);
  if (!g.ok()) return R(g.status());
  cmd.global = std::move(*g);
  Status settings = ReadRawClientSettings(cmd.global.client_config, &cmd.client_id, &cmd.security);
  if (!settings.ok()) return bad(settings.message());
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      if (comma == std::string::npos) comma = s.size();
      if (comma > start) out.push_back(s.substr(start, comma - start));
      start = comma + 1;
    }
    return out;
  };
  for (size_t i = 2; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    auto part = [&](QuotaEntityPart* p, std::optional<std::string> name) -> bool {
      if (p->present) return false;
      p->present = true;
      p->name = std::move(name);
      return true;
    };
    if (a == "--user-default" || a == "--client-default" || a == "--ip-default") {
      QuotaEntityPart* p = a == "--user-default"     ? &cmd.user
                           : a == "--client-default" ? &cmd.client
                                                     : &cmd.ip;
      if (!part(p, std::nullopt)) return bad("the user, client or ip is given twice");
      continue;
    }
    if (i + 1 >= rest.size()) return bad(a + " needs a value");
    const std::string& v = rest[++i];
    if (a == "--user" || a == "--client") {
      if (v.empty()) return bad(a + " needs a name");
      if (!part(a == "--user" ? &cmd.user : &cmd.client, v)) {
        return bad("the user or client is given twice");
      }
    } else if (a == "--ip") {
      if (v.empty()) return bad("--ip needs an address");
      if (!part(&cmd.ip, v)) return bad("the ip is given twice");
    } else if (a == "--add" && cmd.set) {
      for (const std::string& item : split(v)) {
        auto eq = item.find('=');
        if (eq == std::string::npos) return bad("--add takes key=value, not '" + item + "'");
        char* end = nullptr;
        const std::string num = item.substr(eq + 1);
        double d = std::strtod(num.c_str(), &end);
        if (num.empty() || end != num.c_str() + num.size()) {
          return bad("'" + num + "' is not a number");
        }
        cmd.add.push_back({item.substr(0, eq), d});
      }
    } else if (a == "--delete" && cmd.set) {
      for (const std::string& k : split(v)) cmd.remove.push_back(k);
    } else {
      return bad("unknown option " + a);
    }
  }
  if (cmd.ip.present && (cmd.user.present || cmd.client.present)) {
    return bad("--ip cannot be combined with --user or --client");
  }
  if (cmd.set && !cmd.user.present && !cmd.client.present && !cmd.ip.present) {
    return bad("no --user, --client or --ip");
  }
  if (cmd.set && cmd.add.empty() && cmd.remove.empty()) return bad("nothing to --add or --delete");
  return R(std::move(cmd));
}

int RunQuotaCommand(const QuotaCommand& cmd);

}  // namespace gregor::tools
