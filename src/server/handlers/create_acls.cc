// CreateAcls (30): Kafka's AclApis.handleCreateAcls with AclAuthorizer.createAcls (ZooKeeper
// mode): each creation is validated on its own (INVALID_REQUEST with the reason), the valid
// ones are written to /kafka-acl* per resource (acl_store.h). One result per creation, in
// request order. v0 carries no pattern type: LITERAL.
#include "gregor/protocol/messages/create_acls.h"

#include <vector>

#include "gregor/security/acl.h"
#include "server/acl_store.h"
#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleCreateAcls(ServerContext& ctx, Request& req, Response& resp) {
  protocol::CreateAclsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  std::vector<security::AclBinding> bindings;
  bindings.reserve(in.creations.size());
  for (const auto& c : in.creations) {
    security::AclBinding b;
    b.pattern.type = security::ResourceTypeFromCode(c.resource_type);
    b.pattern.name = c.resource_name;
    b.pattern.pattern_type = security::PatternTypeFromCode(c.resource_pattern_type);
    b.entry.principal = c.principal;
    b.entry.host = c.host;
    b.entry.operation = security::AclOperationFromCode(c.operation);
    b.entry.permission = security::AclPermissionTypeFromCode(c.permission_type);
    bindings.push_back(std::move(b));
  }
  protocol::CreateAclsResponse out;
  if (ctx.acls == nullptr) {
    for (size_t i = 0; i < bindings.size(); ++i) {
      auto& r = out.results.emplace_back();
      r.error_code = protocol::ErrorCode::kSecurityDisabled;
      r.error_message = "No Authorizer is configured.";
    }
  } else if (!Authorized(ctx, req.conn, AclRuleId::kCreateAcls)) {
    for (size_t i = 0; i < bindings.size(); ++i) {
      auto& r = out.results.emplace_back();
      r.error_code = Denied(AclRuleId::kCreateAcls);
      r.error_message = "Cluster authorization failed.";
    }
  } else {
    std::vector<Status> results;
    co_await ctx.run_blocking([&] { results = ctx.acls->Add(bindings); });
    for (const Status& st : results) {
      auto& r = out.results.emplace_back();
      r.error_code = AclError(st);
      if (st.ok()) {
        r.error_message = std::nullopt;
      } else {
        r.error_message = st.message();
      }
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
