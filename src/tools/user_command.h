#pragma once
// `gregorctl user scram set|list|delete`: SCRAM credentials as kafka-configs.sh
// --entity-type users --alter --add-config 'SCRAM-SHA-256=[iterations=N,password=P]' manages
// them, through AlterUserScramCredentials and DescribeUserScramCredentials (KIP-554), which
// librdkafka 2.0 lacks: they speak the protocol themselves (protocol_client.h, with TLS and
// SASL from -X). The password never leaves this process: `set` salts it (32 random bytes) and
// sends only PBKDF2's salted password, as Kafka's admin client does. This header holds the pure
// part (ParseUserCommand); nothing here throws, bad usage is a Status (main prints it, exit 2).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/security/scram.h"
#include "tools/args.h"
#include "tools/client_security.h"

namespace gregor::tools {

struct UserCommand {
  enum class Kind { kSet, kList, kDelete };
  Kind kind = Kind::kList;
  GlobalOptions global;
  std::string client_id = "gregorctl";
  ClientSecurity security;
  std::vector<std::string> users;                      // set/delete: one; list: none = all
  std::vector<security::ScramMechanism> mechanisms;    // set/delete
  int32_t iterations = security::kScramMinIterations;  // set
  std::optional<std::string> password;                 // set: --password
  std::optional<std::string> password_file;            // set: --password-file (first line)
  bool help = false;
  std::string usage;
};

inline constexpr char kUserUsage[] =
    "usage: gregorctl user scram set USER --mechanism M [--mechanism M2] [--iterations N]\n"
    "                                (--password P | --password-file FILE)\n"
    "       gregorctl user scram list [USER...]\n"
    "       gregorctl user scram delete USER --mechanism M [--mechanism M2]\n"
    "  M: SCRAM-SHA-256 or SCRAM-SHA-512; N in [4096, 16384], default 4096.\n"
    "  The password is salted here; the broker receives only the salted password.\n";

// AlterUserScramCredentials' and DescribeUserScramCredentials' mechanism codes (KIP-554).
inline int8_t ScramMechanismCode(security::ScramMechanism m) {
  return m == security::ScramMechanism::kSha256 ? 1 : 2;
}
inline std::optional<security::ScramMechanism> ScramMechanismFromCode(int8_t code) {
  if (code == 1) return security::ScramMechanism::kSha256;
  if (code == 2) return security::ScramMechanism::kSha512;
  return std::nullopt;
}

inline std::optional<Result<UserCommand>> ParseUserCommand(const std::vector<std::string>& args,
                                                           const char* env_bootstrap) {
  auto [globals, rest, help] = SplitGlobalOptions(args);
  if (rest.empty() || rest[0] != "user") return std::nullopt;
  using R = Result<UserCommand>;
  UserCommand cmd;
  if (help) {
    cmd.help = true;
    cmd.usage = kUserUsage;
    return R(std::move(cmd));
  }
  auto bad = [](const std::string& why) {
    return R(Status::InvalidArgument("user: " + why + "\n" + kUserUsage));
  };
  if (rest.size() < 3 || rest[1] != "scram") return bad("expected `user scram set|list|delete`");
  const std::string& sub = rest[2];
  if (sub == "set") {
    cmd.kind = UserCommand::Kind::kSet;
  } else if (sub == "list") {
    cmd.kind = UserCommand::Kind::kList;
  } else if (sub == "delete") {
    cmd.kind = UserCommand::Kind::kDelete;
  } else {
    return bad("unknown subcommand '" + sub + "'");
  }
  Result<GlobalOptions> g = ResolveGlobalOptions(globals, env_bootstrap);
  if (!g.ok()) return R(g.status());
  cmd.global = std::move(*g);
  Status settings = ReadRawClientSettings(cmd.global.client_config, &cmd.client_id, &cmd.security);
  if (!settings.ok()) return bad(settings.message());
  const bool modifies = cmd.kind != UserCommand::Kind::kList;
  for (size_t i = 3; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (a.empty() || a[0] != '-') {
      cmd.users.push_back(a);
      continue;
    }
    if (i + 1 >= rest.size()) return bad(a + " needs a value");
    const std::string& v = rest[++i];
    if (a == "--mechanism" && modifies) {
      auto m = security::ParseScramMechanism(v);
      if (!m) return bad("--mechanism " + v + ": expected SCRAM-SHA-256 or SCRAM-SHA-512");
      for (auto have : cmd.mechanisms) {
        if (have == *m) return bad("--mechanism " + v + " is given twice");
      }
      cmd.mechanisms.push_back(*m);
    } else if (a == "--iterations" && cmd.kind == UserCommand::Kind::kSet) {
      Result<int32_t> n = ParseInteger<int32_t>("--iterations", v, security::kScramMinIterations,
                                                security::kScramMaxIterations);
      if (!n.ok()) return bad(n.status().message());
      cmd.iterations = *n;
    } else if (a == "--password" && cmd.kind == UserCommand::Kind::kSet) {
      cmd.password = v;
    } else if (a == "--password-file" && cmd.kind == UserCommand::Kind::kSet) {
      cmd.password_file = v;
    } else {
      return bad("unknown option " + a + " for " + sub);
    }
  }
  for (const auto& u : cmd.users) {
    if (u.empty()) return bad("an empty user name");
  }
  if (modifies) {
    if (cmd.users.size() != 1) return bad(sub + " takes exactly one USER");
    if (cmd.mechanisms.empty()) return bad(sub + " needs --mechanism");
  }
  if (cmd.kind == UserCommand::Kind::kSet &&
      cmd.password.has_value() == cmd.password_file.has_value()) {
    return bad("set needs one of --password and --password-file");
  }
  return R(std::move(cmd));
}

int RunUserCommand(const UserCommand& cmd);

}  // namespace gregor::tools
