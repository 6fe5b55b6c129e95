// DeleteGroups (42): removes empty groups and their offsets (tombstones in
// __consumer_offsets); NON_EMPTY_GROUP while members remain.
#include "gregor/protocol/messages/delete_groups.h"

#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleDeleteGroups(group::GroupCoordinator& gc, ServerContext&, Request& req,
                                         Response& resp) {
  protocol::DeleteGroupsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  auto results = gc.DeleteGroups(in.groups_names);
  protocol::DeleteGroupsResponse out;
  for (const auto& id : in.groups_names) {
    auto& r = out.results.emplace_back();
    r.group_id = id;
    r.error_code = results[id];
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
