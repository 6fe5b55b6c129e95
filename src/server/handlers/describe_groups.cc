// DescribeGroups (15): state, protocol and members of groups; member
// metadata and assignments only for Stable groups (Kafka's GroupSummary).
#include "gregor/protocol/messages/describe_groups.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleDescribeGroups(group::GroupCoordinator& gc, ServerContext& ctx,
                                           Request& req, Response& resp) {
  protocol::DescribeGroupsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::DescribeGroupsResponse out;
  for (const auto& id : in.groups) {
    auto& og = out.groups.emplace_back();
    og.group_id = id;
    if (!Authorized(ctx, req.conn, AclRuleId::kDescribeGroups, id)) {
      og.error_code = Denied(AclRuleId::kDescribeGroups);  // state, protocol: empty (unknown)
      continue;
    }
    if (req.version() >= 3 && in.include_authorized_operations) {
      og.authorized_operations =
          AuthorizedOperations(ctx, req.conn, security::ResourceType::kGroup, id);
    }
    group::GroupSummary s = gc.DescribeGroup(id);
    og.error_code = s.error;
    og.group_state = s.state;
    og.protocol_type = s.protocol_type;
    og.protocol_data = s.protocol;
    for (auto& m : s.members) {
      auto& om = og.members.emplace_back();
      om.member_id = std::move(m.member_id);
      om.group_instance_id = std::move(m.group_instance_id);
      om.client_id = std::move(m.client_id);
      om.client_host = std::move(m.client_host);
      om.member_metadata = std::move(m.metadata);
      om.member_assignment = std::move(m.assignment);
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
