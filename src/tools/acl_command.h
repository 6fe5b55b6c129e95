#pragma once
// `gregorctl acl add|list|remove`, Kafka's kafka-acls.sh through the Admin API (CreateAcls,
// DescribeAcls, DeleteAcls, which librdkafka 2.0 has). This header holds the pure part:
// ParseAclCommand() recognises an `acl` command line (the global options -b/-X resolved by
// Parse(), so all commands agree on them) and expands it into ACL bindings with Kafka's
// codes, including kafka-acls.sh's --producer and --consumer conveniences. Nothing here
// throws; bad usage is a Status (printed by main, exit 2).

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gregor/base/status.h"
#include "tools/args.h"

namespace gregor::tools {

// Kafka's codes (librdkafka's enums have the same values).
enum class AclResource : int {
  kAny = 1,
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5
};
enum class AclPattern : int { kAny = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4 };
enum class AclPermission : int { kAny = 1, kDeny = 2, kAllow = 3 };

struct AclSpec {
  AclResource resource = AclResource::kTopic;
  std::string name;
  AclPattern pattern = AclPattern::kLiteral;
  std::string principal;  // "User:alice"
  std::string host = "*";
  int operation = 0;  // Kafka's AclOperation code
  AclPermission permission = AclPermission::kAllow;
  bool operator==(const AclSpec&) const = default;
};

struct AclCommand {
  enum class Kind { kAdd, kList, kRemove };
  Kind kind = Kind::kList;
  GlobalOptions global;
  std::vector<AclSpec> bindings;  // add: to create; remove: exact filters
  // list: a filter (resource kAny / name empty / principal empty: any).
  AclSpec filter{AclResource::kAny, "", AclPattern::kAny, "", "", 1, AclPermission::kAny};
  bool help = false;
  std::string usage;
};

inline constexpr char kAclUsage[] =
    "usage: gregorctl acl add|remove (--allow-principal P | --deny-principal P)...\n"
    "           [--allow-host H]... [--deny-host H]... (--operation OP... | --producer |\n"
    "           --consumer) RESOURCE... [--resource-pattern-type literal|prefixed]\n"
    "       gregorctl acl list [RESOURCE] [--principal P]\n"
    "           [--resource-pattern-type any|match|literal|prefixed]\n"
    "  RESOURCE: --topic T | --group G | --cluster | --transactional-id T\n"
    "  OP: Read Write Create Delete Alter Describe ClusterAction DescribeConfigs\n"
    "      AlterConfigs IdempotentWrite All (as kafka-acls.sh names them)\n";

namespace internal {

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct AclOpName {
  int code;
  const char* name;
};
inline constexpr AclOpName kAclOps[] = {
    {2, "All"},
    {3, "Read"},
    {4, "Write"},
    {5, "Create"},
    {6, "Delete"},
    {7, "Alter"},
    {8, "Describe"},
    {9, "ClusterAction"},
    {10, "DescribeConfigs"},
    {11, "AlterConfigs"},
    {12, "IdempotentWrite"},
};

}  // namespace internal

// Kafka's AclOperation code of a kafka-acls.sh operation name (case-insensitive); 0 if none.
inline int AclOperationCode(std::string_view name) {
  for (const auto& op : internal::kAclOps) {
    if (internal::Lower(op.name) == internal::Lower(name)) return op.code;
  }
  return 0;
}
inline std::string AclOperationName(int code) {
  for (const auto& op : internal::kAclOps) {
    if (op.code == code) return op.name;
  }
  return "Unknown(" + std::to_string(code) + ")";
}
inline std::string AclResourceName(AclResource r) {
  switch (r) {
    case AclResource::kTopic:
      return "Topic";
    case AclResource::kGroup:
      return "Group";
    case AclResource::kCluster:
      return "Cluster";
    case AclResource::kTransactionalId:
      return "TransactionalId";
    default:
      return "Any";
  }
}
inline std::string AclPatternName(AclPattern p) {
  switch (p) {
    case AclPattern::kLiteral:
      return "LITERAL";
    case AclPattern::kPrefixed:
      return "PREFIXED";
    case AclPattern::kMatch:
      return "MATCH";
    default:
      return "ANY";
  }
}
inline std::string AclPermissionName(AclPermission p) {
  return p == AclPermission::kAllow ? "ALLOW" : p == AclPermission::kDeny ? "DENY" : "ANY";
}

// nullopt when `args` is not an `acl` command.
inline std::optional<Result<AclCommand>> ParseAclCommand(const std::vector<std::string>& args,
                                                         const char* env_bootstrap) {
  // The global options (-b, -X) are Parse()'s; the rest is ours.
  auto [globals, rest, help] = SplitGlobalOptions(args);
  if (rest.empty() || rest[0] != "acl") return std::nullopt;
  AclCommand cmd;
  if (help || rest.size() < 2) {
    if (!help)
      return Result<AclCommand>(
          Status::InvalidArgument(std::string("acl: missing subcommand\n") + kAclUsage));
    cmd.help = true;
    cmd.usage = kAclUsage;
    return Result<AclCommand>(std::move(cmd));
  }
  Result<GlobalOptions> g = ResolveGlobalOptions(globals, env_bootstrap);
  if (!g.ok()) return Result<AclCommand>(g.status());
  cmd.global = std::move(*g);
  const std::string& sub = rest[1];
  auto bad = [&](const std::string& why) {
    return Result<AclCommand>(
        Status::InvalidArgument("acl " + sub + ": " + why + "\n" + kAclUsage));
  };
  if (sub == "add") {
    cmd.kind = AclCommand::Kind::kAdd;
  } else if (sub == "remove") {
    cmd.kind = AclCommand::Kind::kRemove;
  } else if (sub == "list") {
    cmd.kind = AclCommand::Kind::kList;
  } else {
    return bad("unknown subcommand");
  }
  std::vector<std::pair<AclResource, std::string>> resources;
  std::vector<std::string> allow, deny, allow_hosts, deny_hosts;
  std::vector<int> ops;
  bool producer = false, consumer = false;
  std::optional<AclPattern> pattern;
  std::string principal;
  for (size_t i = 2; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= rest.size()) return std::nullopt;
      return rest[++i];
    };
    std::optional<std::string> v;
    if (a == "--cluster") {
      resources.push_back({AclResource::kCluster, "kafka-cluster"});
      continue;
    }
    if (a == "--producer") {
      producer = true;
      continue;
    }
    if (a == "--consumer") {
      consumer = true;
      continue;
    }
    if (!(v = value())) return bad(a + " needs a value");
    if (a == "--topic") {
      resources.push_back({AclResource::kTopic, *v});
    } else if (a == "--group") {
      resources.push_back({AclResource::kGroup, *v});
    } else if (a == "--transactional-id") {
      resources.push_back({AclResource::kTransactionalId, *v});
    } else if (a == "--allow-principal") {
      allow.push_back(*v);
    } else if (a == "--deny-principal") {
      deny.push_back(*v);
    } else if (a == "--allow-host") {
      allow_hosts.push_back(*v);
    } else if (a == "--deny-host") {
      deny_hosts.push_back(*v);
    } else if (a == "--principal") {
      principal = *v;
    } else if (a == "--operation") {
      int code = AclOperationCode(*v);
      if (code == 0) return bad("unknown operation '" + *v + "'");
      ops.push_back(code);
    } else if (a == "--resource-pattern-type") {
      const std::string p = internal::Lower(*v);
      pattern = p == "literal"    ? AclPattern::kLiteral
                : p == "prefixed" ? AclPattern::kPrefixed
                : p == "match"    ? AclPattern::kMatch
                : p == "any"      ? AclPattern::kAny
                                  : std::optional<AclPattern>();
      if (!pattern) return bad("unknown resource pattern type '" + *v + "'");
    } else {
      return bad("unknown option " + a);
    }
  }
  for (const std::string& p : allow) {
    if (p.find(':') == std::string::npos) return bad("principal '" + p + "' is not Type:name");
  }
  for (const std::string& p : deny) {
    if (p.find(':') == std::string::npos) return bad("principal '" + p + "' is not Type:name");
  }
  if (cmd.kind == AclCommand::Kind::kList) {
    if (resources.size() > 1) return bad("at most one resource");
    if (!resources.empty()) {
      cmd.filter.resource = resources[0].first;
      cmd.filter.name = resources[0].second;
      cmd.filter.pattern = pattern.value_or(AclPattern::kLiteral);
    } else if (pattern) {
      cmd.filter.pattern = *pattern;
    }
    cmd.filter.principal = principal;
    return Result<AclCommand>(std::move(cmd));
  }
  const AclPattern pat = pattern.value_or(AclPattern::kLiteral);
  if (pat != AclPattern::kLiteral && pat != AclPattern::kPrefixed) {
    return bad("ACLs are literal or prefixed");
  }
  if (allow.empty() && deny.empty()) return bad("no --allow-principal or --deny-principal");
  if (resources.empty())
    return bad("no resource (--topic, --group, --cluster, --transactional-id)");
  // (resource, operation) pairs: explicit operations on every resource, or kafka-acls.sh's
  // --producer (topics: Write, Describe, Create; transactional ids: Write, Describe) and
  // --consumer (topics: Read, Describe; groups: Read).
  std::vector<std::pair<std::pair<AclResource, std::string>, int>> grants;
  if (producer || consumer) {
    if (!ops.empty()) return bad("--operation cannot be combined with --producer/--consumer");
    for (const auto& r : resources) {
      if (producer && r.first == AclResource::kTopic) {
        for (int op : {4, 8, 5}) grants.push_back({r, op});
      }
      if (producer && r.first == AclResource::kTransactionalId) {
        for (int op : {4, 8}) grants.push_back({r, op});
      }
      if (consumer && r.first == AclResource::kTopic) {
        for (int op : {3, 8}) grants.push_back({r, op});
      }
      if (consumer && r.first == AclResource::kGroup) grants.push_back({r, 3});
    }
    if (grants.empty()) return bad("--producer/--consumer need a --topic (and --group)");
  } else {
    if (ops.empty()) return bad("no --operation");
    for (const auto& r : resources) {
      for (int op : ops) grants.push_back({r, op});
    }
  }
  auto add = [&](const std::vector<std::string>& principals, std::vector<std::string> hosts,
                 AclPermission perm) {
    if (hosts.empty()) hosts.push_back("*");
    for (const auto& p : principals) {
      for (const auto& h : hosts) {
        for (const auto& [r, op] : grants) {
          cmd.bindings.push_back({r.first, r.second, pat, p, h, op, perm});
        }
      }
    }
  };
  add(allow, allow_hosts, AclPermission::kAllow);
  add(deny, deny_hosts, AclPermission::kDeny);
  return Result<AclCommand>(std::move(cmd));
}

// One line per binding: principal, host, permission, operation, resource type, name, pattern.
inline std::string FormatAclTable(const std::vector<AclSpec>& acls) {
  std::string out = "PRINCIPAL\tHOST\tPERMISSION\tOPERATION\tRESOURCE\tNAME\tPATTERN\n";
  for (const auto& a : acls) {
    out += a.principal + "\t" + a.host + "\t" + AclPermissionName(a.permission) + "\t" +
           AclOperationName(a.operation) + "\t" + AclResourceName(a.resource) + "\t" + a.name +
           "\t" + AclPatternName(a.pattern) + "\n";
  }
  return out;
}

int RunAclCommand(const AclCommand& cmd);

}  // namespace gregor::tools
