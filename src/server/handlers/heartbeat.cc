// Heartbeat (12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells
// it to rejoin (Kafka's handleHeartbeatRequest).
#include "gregor/protocol/messages/heartbeat.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleHeartbeat(group::GroupCoordinator& gc, ServerContext& ctx, Request& req,
                                      Response& resp) {
  protocol::HeartbeatRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::HeartbeatResponse out;
  out.error_code =
      Authorized(ctx, req.conn, AclRuleId::kHeartbeat, in.group_id)
          ? gc.Heartbeat(in.group_id, in.member_id,
                         req.version() >= 3 ? in.group_instance_id : std::nullopt, in.generation_id)
          : Denied(AclRuleId::kHeartbeat);
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
