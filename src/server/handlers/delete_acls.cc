// DeleteAcls (31): Kafka's AclApis.handleDeleteAcls with AclAuthorizer.deleteAcls (ZooKeeper
// mode): per filter, the bindings it deleted, each with the outcome of its resource's write
// (acl_store.h). A request with a filter with an UNKNOWN element is INVALID_REQUEST for every
// filter. v0 carries no pattern type: LITERAL.
#include "gregor/protocol/messages/delete_acls.h"

#include <vector>

#include "gregor/security/acl.h"
#include "server/acl_store.h"
#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleDeleteAcls(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DeleteAclsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  std::vector<security::AclBindingFilter> filters;
  bool unknown = false;
  for (const auto& f : in.filters) {
    security::AclBindingFilter filter;
    filter.pattern.type = security::ResourceTypeFromCode(f.resource_type_filter);
    filter.pattern.name = f.resource_name_filter;
    filter.pattern.pattern_type = security::PatternTypeFromCode(f.pattern_type_filter);
    filter.entry.principal = f.principal_filter;
    filter.entry.host = f.host_filter;
    filter.entry.operation = security::AclOperationFromCode(f.operation);
    filter.entry.permission = security::AclPermissionTypeFromCode(f.permission_type);
    unknown = unknown || filter.IsUnknown();
    filters.push_back(std::move(filter));
  }
  protocol::DeleteAclsResponse out;
  auto fail_all = [&](protocol::ErrorCode code, const char* message) {
    for (size_t i = 0; i < filters.size(); ++i) {
      auto& r = out.filter_results.emplace_back();
      r.error_code = code;
      r.error_message = message;
    }
  };
  if (ctx.acls == nullptr) {
    fail_all(protocol::ErrorCode::kSecurityDisabled, "No Authorizer is configured.");
  } else if (!Authorized(ctx, req.conn, AclRuleId::kDeleteAcls)) {
    fail_all(Denied(AclRuleId::kDeleteAcls), "Cluster authorization failed.");
  } else if (unknown) {
    fail_all(protocol::ErrorCode::kInvalidRequest, "Filters contain UNKNOWN elements");
  } else {
    std::vector<std::vector<AclStore::Deleted>> results;
    co_await ctx.run_blocking([&] { results = ctx.acls->Remove(filters); });
    for (const auto& deleted : results) {
      auto& r = out.filter_results.emplace_back();
      r.error_message = std::nullopt;
      for (const AclStore::Deleted& d : deleted) {
        auto& m = r.matching_acls.emplace_back();
        m.error_code = AclError(d.status);
        if (d.status.ok()) {
          m.error_message = std::nullopt;
        } else {
          m.error_message = d.status.message();
        }
        m.resource_type = ToCode(d.binding.pattern.type);
        m.resource_name = d.binding.pattern.name;
        m.pattern_type = ToCode(d.binding.pattern.pattern_type);
        m.principal = d.binding.entry.principal;
        m.host = d.binding.entry.host;
        m.operation = ToCode(d.binding.entry.operation);
        m.permission_type = ToCode(d.binding.entry.permission);
      }
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
