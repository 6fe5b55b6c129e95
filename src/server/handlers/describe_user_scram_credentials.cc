// DescribeUserScramCredentials (50, KIP-554): the SCRAM mechanisms and iteration counts of
// users, from /config/users (Kafka's ZkAdminManager.describeUserScramCredentials): all users
// with a credential when none are named; a named user without one is RESOURCE_NOT_FOUND, an
// empty name too, a name given twice DUPLICATE_RESOURCE. Keys and salts are never returned.
#include "gregor/protocol/messages/describe_user_scram_credentials.h"

#include <map>
#include <set>

#include "gregor/security/scram.h"
#include "gregor/zk/zk_data.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
using Result_ = protocol::DescribeUserScramCredentialsResponse::DescribeUserScramCredentialsResult;

int8_t MechanismType(security::ScramMechanism m) {
  return m == security::ScramMechanism::kSha256 ? 1 : 2;  // Kafka's ScramMechanism.type
}

// The user's credential infos; false when it has none. A credential that does not parse is an
// error of that user.
bool Describe(const std::map<std::string, std::string>& config, Result_* out) {
  bool any = false;
  for (auto m : {security::ScramMechanism::kSha256, security::ScramMechanism::kSha512}) {
    auto it = config.find(std::string(security::ScramMechanismName(m)));
    if (it == config.end()) continue;
    any = true;
    auto cred = security::ScramCredential::Parse(it->second);
    if (!cred.ok()) {
      out->error_code = ErrorCode::kUnknownServerError;
      out->error_message = "Error processing describe user SCRAM credential configs request";
      out->credential_infos.clear();
      return true;
    }
    auto& info = out->credential_infos.emplace_back();
    info.mechanism = MechanismType(m);
    info.iterations = cred->iterations;
  }
  return any;
}

}  // namespace

asio::awaitable<bool> HandleDescribeUserScramCredentials(ServerContext& ctx, Request& req,
                                                         Response& resp) {
  protocol::DescribeUserScramCredentialsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::DescribeUserScramCredentialsResponse out;
  out.error_message = std::nullopt;  // null unless the request as a whole failed
  const bool all = !in.users || in.users->empty();
  Status failed;
  if (!Authorized(ctx, req.conn, AclRuleId::kDescribeUserScramCredentials)) {
    out.error_code = Denied(AclRuleId::kDescribeUserScramCredentials);
    out.Encode(resp.out, req.version());
    co_return true;
  }
  if (ctx.zk == nullptr) {
    failed = Status::Unavailable("ZooKeeper client not available");
  } else {
    co_await ctx.run_blocking([&] {
      if (all) {
        auto names = ctx.zk->GetEntityNames("users");
        if (!names.ok()) {
          failed = names.status();
          return;
        }
        std::map<std::string, Result_> sorted;
        for (const auto& sanitized : *names) {
          auto user = zk::paths::DesanitizeEntityName(sanitized);
          auto config = ctx.zk->GetEntityConfig("users", sanitized);
          if (!user.ok() || !config.ok()) continue;
          Result_ r;
          r.user = *user;
          r.error_message = std::nullopt;
          if (Describe(*config, &r)) sorted.emplace(*user, std::move(r));
        }
        for (auto& [_, r] : sorted) out.results.push_back(std::move(r));
        return;
      }
      std::map<std::string, int> count;
      for (const auto& u : *in.users) ++count[u.name];
      std::set<std::string> done;
      for (const auto& u : *in.users) {
        if (!done.insert(u.name).second) continue;  // one result per user
        Result_ r;
        r.user = u.name;
        r.error_message = std::nullopt;
        if (u.name.empty()) {
          r.error_code = ErrorCode::kResourceNotFound;
          r.error_message = "Username must not be empty";
        } else if (count[u.name] > 1) {
          r.error_code = ErrorCode::kDuplicateResource;
          r.error_message =
              "Cannot describe SCRAM credentials for the same user twice in a single "
              "request";
        } else {
          auto config = ctx.zk->GetEntityConfig("users", zk::paths::SanitizeEntityName(u.name));
          if (!config.ok()) {
            r.error_code = ErrorCode::kUnknownServerError;
            r.error_message = config.status().message();
          } else if (!Describe(*config, &r)) {
            r.error_code = ErrorCode::kResourceNotFound;
            r.error_message =
                "Attempt to describe a user credential that does not exist: " + u.name;
          }
        }
        out.results.push_back(std::move(r));
      }
    });
  }
  if (!failed.ok()) {
    out.results.clear();
    out.error_code = ErrorCode::kUnknownServerError;
    out.error_message = failed.message();
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
