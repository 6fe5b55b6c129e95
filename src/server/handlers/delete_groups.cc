// DeleteGroups (42): removes empty groups and their offsets (tombstones in
// __consumer_offsets); NON_EMPTY_GROUP while members remain.
#include "gregor/protocol/messages/delete_groups.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleDeleteGroups(group::GroupCoordinator& gc, ServerContext& ctx,
                                         Request& req, Response& resp) {
  protocol::DeleteGroupsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  // DELETE on each group; refused groups are not touched.
  std::vector<std::string> allowed;
  for (const auto& id : in.groups_names) {
    if (Authorized(ctx, req.conn, AclRuleId::kDeleteGroups, id)) allowed.push_back(id);
  }
  auto results = gc.DeleteGroups(allowed);
  protocol::DeleteGroupsResponse out;
  for (const auto& id : in.groups_names) {
    auto& r = out.results.emplace_back();
    r.group_id = id;
    auto it = results.find(id);
    r.error_code = it != results.end() ? it->second : Denied(AclRuleId::kDeleteGroups);
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
