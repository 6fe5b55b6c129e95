// LeaveGroup (13): members leave without waiting for their session timeout;
// v3+ removes a batch, possibly by group.instance.id alone (KIP-345).
#include "gregor/protocol/messages/leave_group.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleLeaveGroup(group::GroupCoordinator& gc, ServerContext& ctx,
                                       Request& req, Response& resp) {
  protocol::LeaveGroupRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  std::vector<group::LeaveMember> members;
  if (v >= 3) {
    for (const auto& m : in.members) {
      members.push_back({m.member_id, m.group_instance_id, m.reason});
    }
  } else {
    members.push_back({in.member_id, std::nullopt, std::nullopt});
  }
  group::LeaveGroupResult r;
  if (Authorized(ctx, req.conn, AclRuleId::kLeaveGroup, in.group_id)) {
    r = gc.LeaveGroup(in.group_id, members);
  } else {
    r.error = Denied(AclRuleId::kLeaveGroup);
  }

  protocol::LeaveGroupResponse out;
  out.error_code = r.error;
  if (v >= 3) {
    for (const auto& m : r.members) {
      auto& om = out.members.emplace_back();
      om.member_id = m.member_id;
      om.group_instance_id = m.group_instance_id;
      om.error_code = m.error;
    }
  } else if (r.error == protocol::ErrorCode::kNone && !r.members.empty()) {
    // Before batches the single member's outcome is the response's error.
    out.error_code = r.members.front().error;
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
