// gregorctl user scram set|list|delete: AlterUserScramCredentials and
// DescribeUserScramCredentials over the raw protocol client (librdkafka 2.0 has neither);
// parsing is in user_command.h.
#include "tools/user_command.h"

#include <openssl/crypto.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "gregor/protocol/messages/alter_user_scram_credentials.h"
#include "gregor/protocol/messages/describe_user_scram_credentials.h"
#include "tools/group_command.h"  // FormatTable
#include "tools/protocol_client.h"

namespace gregor::tools {

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "Error: %s\n", m.c_str());
  return 1;
}

std::string ErrorText(protocol::ErrorCode code, const std::optional<std::string>& message) {
  return std::string(protocol::ErrorCodeName(code)) +
         (message && !message->empty() ? ": " + *message : std::string());
}

Result<std::string> ReadPassword(const UserCommand& cmd) {
  if (cmd.password) return *cmd.password;
  std::ifstream in(*cmd.password_file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return Status::InvalidArgument("cannot read a password from " + *cmd.password_file);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::InvalidArgument(*cmd.password_file + ": the password is empty");
  return line;
}

int RunAlter(const UserCommand& cmd, BrokerConnection& conn, Clock::time_point deadline) {
  const std::string& user = cmd.users.front();
  protocol::AlterUserScramCredentialsRequest req;
  if (cmd.kind == UserCommand::Kind::kSet) {
    Result<std::string> password = ReadPassword(cmd);
    if (!password.ok()) return Fail(password.status().message());
    for (auto m : cmd.mechanisms) {
      Result<std::string> salt = security::GenerateScramSalt();
      if (!salt.ok()) return Fail(salt.status().message());
      Result<std::string> salted =
          security::ScramSaltedPassword(m, *password, *salt, cmd.iterations);
      if (!salted.ok()) return Fail(salted.status().message());
      auto& u = req.upsertions.emplace_back();
      u.name = user;
      u.mechanism = ScramMechanismCode(m);
      u.iterations = cmd.iterations;
      u.salt = std::move(*salt);
      u.salted_password = std::move(*salted);
    }
    OPENSSL_cleanse(password->data(), password->size());
  } else {
    for (auto m : cmd.mechanisms) {
      auto& d = req.deletions.emplace_back();
      d.name = user;
      d.mechanism = ScramMechanismCode(m);
    }
  }
  auto r = conn.Call<protocol::AlterUserScramCredentialsResponse>(req, deadline);
  for (auto& u : req.upsertions)
    OPENSSL_cleanse(u.salted_password.data(), u.salted_password.size());
  if (!r.ok()) return Fail(r.status().message());
  int rc = 0;
  for (const auto& res : r->results) {
    if (res.error_code != protocol::ErrorCode::kNone) {
      std::fprintf(stderr, "Error: user %s: %s\n", res.user.c_str(),
                   ErrorText(res.error_code, res.error_message).c_str());
      rc = 1;
    } else {
      std::string names;
      for (auto m : cmd.mechanisms) {
        names += (names.empty() ? "" : ", ") + std::string(security::ScramMechanismName(m));
      }
      std::printf("%s the %s credentials of user %s\n",
                  cmd.kind == UserCommand::Kind::kSet ? "Set" : "Deleted", names.c_str(),
                  res.user.c_str());
    }
  }
  if (r->results.empty()) return Fail("the broker answered no result for user " + user);
  return rc;
}

int RunList(const UserCommand& cmd, BrokerConnection& conn, Clock::time_point deadline) {
  protocol::DescribeUserScramCredentialsRequest req;
  if (!cmd.users.empty()) {
    req.users.emplace();
    for (const auto& u : cmd.users) req.users->emplace_back().name = u;
  }  // else null: every user
  auto r = conn.Call<protocol::DescribeUserScramCredentialsResponse>(req, deadline);
  if (!r.ok()) return Fail(r.status().message());
  if (r->error_code != protocol::ErrorCode::kNone) {
    return Fail(ErrorText(r->error_code, r->error_message));
  }
  int rc = 0;
  std::vector<std::vector<std::string>> rows;
  for (const auto& res : r->results) {
    if (res.error_code != protocol::ErrorCode::kNone) {
      std::fprintf(stderr, "Error: user %s: %s\n", res.user.c_str(),
                   ErrorText(res.error_code, res.error_message).c_str());
      rc = 1;
      continue;
    }
    for (const auto& c : res.credential_infos) {
      auto m = ScramMechanismFromCode(c.mechanism);
      rows.push_back({res.user,
                      m ? std::string(security::ScramMechanismName(*m))
                        : "UNKNOWN(" + std::to_string(c.mechanism) + ")",
                      std::to_string(c.iterations)});
    }
  }
  if (!rows.empty())
    std::fputs(FormatTable({"USER", "MECHANISM", "ITERATIONS"}, rows).c_str(), stdout);
  return rc;
}

}  // namespace

int RunUserCommand(const UserCommand& cmd) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(cmd.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  Cluster cluster(std::move(*bootstrap), cmd.client_id,
                  Clock::now() + std::chrono::milliseconds(cmd.global.request_timeout_ms),
                  cmd.security);
  Result<BrokerConnection*> conn = cluster.AnyBroker();
  if (!conn.ok()) return Fail(conn.status().message());
  if (cmd.kind == UserCommand::Kind::kList) return RunList(cmd, **conn, cluster.deadline());
  return RunAlter(cmd, **conn, cluster.deadline());
}

}  // namespace gregor::tools
