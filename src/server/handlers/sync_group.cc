// SyncGroup (14): members fetch their assignment; the leader brings it
// (Kafka's handleSyncGroupRequest). Waits until the leader's assignment is
// written to __consumer_offsets.
#include "gregor/protocol/messages/sync_group.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleSyncGroup(group::GroupCoordinator& gc, ServerContext& ctx, Request& req,
                                      Response& resp) {
  protocol::SyncGroupRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();

  group::SyncGroupParams p;
  p.group_id = in.group_id;
  p.generation_id = in.generation_id;
  p.member_id = in.member_id;
  p.group_instance_id = v >= 3 ? in.group_instance_id : std::nullopt;
  if (v >= 5) {
    p.protocol_type = in.protocol_type;
    p.protocol_name = in.protocol_name;
  }
  for (const auto& a : in.assignments) p.assignments[a.member_id] = a.assignment;

  group::SyncGroupResult r;
  if (!Authorized(ctx, req.conn, AclRuleId::kSyncGroup, in.group_id)) {
    r = group::SyncGroupResult::Error(Denied(AclRuleId::kSyncGroup));
  } else {
    req.conn.ParkRequest();  // waits for the leader's assignment: out of the request queue
    r = co_await AwaitCompletion<group::SyncGroupResult>(
        [&](std::function<void(group::SyncGroupResult)> done) {
          gc.SyncGroup(std::move(p), std::move(done));
        });
  }

  protocol::SyncGroupResponse out;
  out.error_code = r.error;
  out.protocol_type = r.protocol_type;
  out.protocol_name = r.protocol_name;
  out.assignment = std::move(r.assignment);
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
