// DescribeAcls (29): Kafka's AclApis.handleDescribeAcls: the bindings that match the filter,
// grouped by resource pattern, from this broker's ACL cache (kept current from ZooKeeper by
// AclStore; no ZooKeeper call here). A filter with an UNKNOWN element is INVALID_REQUEST.
// v0 carries no pattern type: LITERAL.
#include "gregor/protocol/messages/describe_acls.h"

#include <vector>

#include "gregor/security/acl.h"
#include "server/acl_store.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleDescribeAcls(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DescribeAclsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  security::AclBindingFilter filter;
  filter.pattern.type = security::ResourceTypeFromCode(in.resource_type_filter);
  filter.pattern.name = in.resource_name_filter;
  filter.pattern.pattern_type = security::PatternTypeFromCode(in.pattern_type_filter);
  filter.entry.principal = in.principal_filter;
  filter.entry.host = in.host_filter;
  filter.entry.operation = security::AclOperationFromCode(in.operation);
  filter.entry.permission = security::AclPermissionTypeFromCode(in.permission_type);

  protocol::DescribeAclsResponse out;
  out.error_message = std::nullopt;
  if (ctx.acls == nullptr) {
    out.error_code = protocol::ErrorCode::kSecurityDisabled;
    out.error_message = "No Authorizer is configured on the broker";
  } else if (!Authorized(ctx, req.conn, AclRuleId::kDescribeAcls)) {
    out.error_code = Denied(AclRuleId::kDescribeAcls);
    out.error_message = "Cluster authorization failed.";
  } else if (filter.IsUnknown()) {
    out.error_code = protocol::ErrorCode::kInvalidRequest;
    out.error_message = "DescribeAclsRequest contains UNKNOWN elements";
  } else {
    // Acls() is ordered by resource pattern: one resource per run of equal patterns.
    for (const security::AclBinding& b : ctx.acls->cache().Acls(filter)) {
      if (out.resources.empty() || out.resources.back().resource_type != ToCode(b.pattern.type) ||
          out.resources.back().resource_name != b.pattern.name ||
          out.resources.back().pattern_type != ToCode(b.pattern.pattern_type)) {
        auto& r = out.resources.emplace_back();
        r.resource_type = ToCode(b.pattern.type);
        r.resource_name = b.pattern.name;
        r.pattern_type = ToCode(b.pattern.pattern_type);
      }
      auto& acl = out.resources.back().acls.emplace_back();
      acl.principal = b.entry.principal;
      acl.host = b.entry.host;
      acl.operation = ToCode(b.entry.operation);
      acl.permission_type = ToCode(b.entry.permission);
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
