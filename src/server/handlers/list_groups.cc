// ListGroups (16): the groups this broker coordinates, optionally filtered by
// state (v4, KIP-518) and by group type (v5, KIP-848; every gregor group is "classic").
#include "gregor/protocol/messages/list_groups.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleListGroups(group::GroupCoordinator& gc, ServerContext& ctx,
                                       Request& req, Response& resp) {
  protocol::ListGroupsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  // The decoder leaves fields absent at this version empty.
  group::ListGroupsResult r = gc.ListGroups(in.states_filter, in.types_filter);
  protocol::ListGroupsResponse out;
  out.error_code = r.error;
  // DESCRIBE on the cluster lists every group, otherwise those the principal may DESCRIBE.
  const bool all = Authorized(ctx, req.conn, AclRuleId::kListGroupsCluster, kClusterResourceName,
                              /*log_denial=*/false);
  for (const auto& g : r.groups) {
    if (!all && !Authorized(ctx, req.conn, AclRuleId::kListGroupsGroup, g.group_id, false)) {
      continue;
    }
    auto& og = out.groups.emplace_back();
    og.group_id = g.group_id;
    og.protocol_type = g.protocol_type;
    og.group_state = g.state;
    og.group_type = g.group_type;
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
