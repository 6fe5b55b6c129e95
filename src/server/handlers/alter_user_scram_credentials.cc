// AlterUserScramCredentials (51, KIP-554): adds, replaces and deletes SCRAM credentials in
// /config/users/<user>, as Kafka's ZkAdminManager.alterUserScramCredentials does, then writes
// a change notification so every broker picks them up. The client sends the salt and the
// salted password, never the password; the broker derives StoredKey and ServerKey.
// Per user: an empty name is UNACCEPTABLE_CREDENTIAL, an unknown mechanism
// UNSUPPORTED_SASL_MECHANISM, iterations outside [4096, 16384] UNACCEPTABLE_CREDENTIAL, the same
// user and mechanism twice DUPLICATE_RESOURCE, deleting a credential that does not exist
// RESOURCE_NOT_FOUND. A user with any such error is not changed at all.
#include "gregor/protocol/messages/alter_user_scram_credentials.h"

#include <map>
#include <optional>
#include <set>

#include "gregor/security/scram.h"
#include "gregor/zk/zk_data.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

std::optional<security::ScramMechanism> MechanismOf(int8_t type) {
  if (type == 1) return security::ScramMechanism::kSha256;  // Kafka's ScramMechanism.type
  if (type == 2) return security::ScramMechanism::kSha512;
  return std::nullopt;
}

struct UserResult {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
};

}  // namespace

asio::awaitable<bool> HandleAlterUserScramCredentials(ServerContext& ctx, Request& req,
                                                      Response& resp) {
  protocol::AlterUserScramCredentialsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  std::map<std::string, UserResult> results;  // one per user named in the request
  auto fail = [&](const std::string& user, ErrorCode e, const std::string& m) {
    UserResult& r = results[user];
    if (r.error == ErrorCode::kNone) r = {e, m};
  };
  // Validity of each entry on its own.
  std::map<std::pair<std::string, int8_t>, int> seen;
  for (const auto& d : in.deletions) {
    results.emplace(d.name, UserResult{});
    if (d.name.empty()) {
      fail(d.name, ErrorCode::kUnacceptableCredential, "Username must not be empty");
    } else if (!MechanismOf(d.mechanism)) {
      fail(d.name, ErrorCode::kUnsupportedSaslMechanism, "Unknown SCRAM mechanism");
    }
    ++seen[{d.name, d.mechanism}];
  }
  for (const auto& u : in.upsertions) {
    results.emplace(u.name, UserResult{});
    if (u.name.empty()) {
      fail(u.name, ErrorCode::kUnacceptableCredential, "Username must not be empty");
    } else if (!MechanismOf(u.mechanism)) {
      fail(u.name, ErrorCode::kUnsupportedSaslMechanism, "Unknown SCRAM mechanism");
    } else if (u.iterations < security::kScramMinIterations) {
      fail(u.name, ErrorCode::kUnacceptableCredential, "Too few iterations");
    } else if (u.iterations > security::kScramMaxIterations) {
      fail(u.name, ErrorCode::kUnacceptableCredential, "Too many iterations");
    } else if (u.salt.empty()) {
      fail(u.name, ErrorCode::kUnacceptableCredential, "The salt must not be empty");
    }
    ++seen[{u.name, u.mechanism}];
  }
  for (const auto& [key, n] : seen) {
    if (n > 1) {
      fail(key.first, ErrorCode::kDuplicateResource,
           "A user credential cannot be altered twice in the same request");
    }
  }
  if (!Authorized(ctx, req.conn, AclRuleId::kAlterUserScramCredentials)) {
    for (auto& [user, r] : results) r = {Denied(AclRuleId::kAlterUserScramCredentials), ""};
  } else if (ctx.zk == nullptr) {
    for (auto& [user, r] : results) {
      if (r.error == ErrorCode::kNone) r = {ErrorCode::kUnknownServerError, "no ZooKeeper client"};
    }
  } else {
    co_await ctx.run_blocking([&] {
      for (auto& [user, r] : results) {
        if (r.error != ErrorCode::kNone) continue;
        const std::string sanitized = zk::paths::SanitizeEntityName(user);
        auto config = ctx.zk->GetEntityConfig("users", sanitized);
        if (!config.ok()) {
          r = {ErrorCode::kUnknownServerError, config.status().message()};
          continue;
        }
        std::map<std::string, std::string> next = *config;
        for (const auto& d : in.deletions) {
          if (d.name != user) continue;
          std::string key(security::ScramMechanismName(*MechanismOf(d.mechanism)));
          if (next.erase(key) == 0) {
            r = {ErrorCode::kResourceNotFound,
                 "Attempt to delete a user credential that does not exist"};
          }
        }
        for (const auto& u : in.upsertions) {
          if (u.name != user || r.error != ErrorCode::kNone) continue;
          auto m = *MechanismOf(u.mechanism);
          auto cred = security::ScramCredentialFromSaltedPassword(m, u.salt, u.salted_password,
                                                                  u.iterations);
          if (!cred.ok()) {
            r = {ErrorCode::kUnacceptableCredential, cred.status().message()};
          } else {
            next[std::string(security::ScramMechanismName(m))] = cred->Format();
          }
        }
        if (r.error != ErrorCode::kNone) continue;
        Status st = ctx.zk->SetEntityConfig("users", sanitized, next, /*remove_if_empty=*/true);
        if (!st.ok()) r = {ErrorCode::kUnknownServerError, st.message()};
      }
    });
  }
  protocol::AlterUserScramCredentialsResponse out;
  for (const auto& [user, r] : results) {
    auto& o = out.results.emplace_back();
    o.user = user;
    o.error_code = r.error;
    o.error_message =
        r.message.empty() ? std::nullopt : std::optional<std::string>(r.message);  // null: no error
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
