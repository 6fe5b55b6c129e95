// JoinGroup (11): join (or rejoin) a group and wait for the rebalance to
// complete (Kafka's handleJoinGroupRequest). v4+ gets MEMBER_ID_REQUIRED on
// the first join (KIP-394); v5+ static membership (KIP-345); v9 SkipAssignment.
#include "gregor/protocol/messages/join_group.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleJoinGroup(group::GroupCoordinator& gc, ServerContext& ctx, Request& req,
                                      Response& resp) {
  protocol::JoinGroupRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();

  group::JoinGroupParams p;
  p.group_id = in.group_id;
  p.member_id = in.member_id;
  p.group_instance_id = v >= 5 ? in.group_instance_id : std::nullopt;
  p.require_known_member_id = v >= 4;
  p.support_skipping_assignment = v >= 9;
  p.client_id = req.header.client_id.value_or("");
  p.client_host = GroupClientHost(req);
  p.session_timeout_ms = in.session_timeout_ms;
  // v0 has no rebalance timeout: the session timeout serves for both.
  p.rebalance_timeout_ms = v >= 1 ? in.rebalance_timeout_ms : in.session_timeout_ms;
  p.protocol_type = in.protocol_type;
  for (const auto& proto : in.protocols) p.protocols.emplace_back(proto.name, proto.metadata);
  p.reason = in.reason.value_or("");
  p.topics = std::make_shared<SnapshotTopicView>(ctx.metadata->Get());

  group::JoinGroupResult r;
  if (!Authorized(ctx, req.conn, AclRuleId::kJoinGroup, in.group_id)) {
    r = group::JoinGroupResult::Error("", Denied(AclRuleId::kJoinGroup));
  } else {
    req.conn.ParkRequest();  // waits for the other members (rebalance): out of the request queue
    r = co_await AwaitCompletion<group::JoinGroupResult>(
        [&](std::function<void(group::JoinGroupResult)> done) {
          gc.JoinGroup(std::move(p), std::move(done));
        });
  }

  protocol::JoinGroupResponse out;
  out.error_code = r.error;
  out.generation_id = r.generation_id;
  out.protocol_type = r.protocol_type;
  out.protocol_name = r.protocol_name;
  out.leader = r.leader_id;
  out.skip_assignment = r.skip_assignment;
  out.member_id = r.member_id;
  for (auto& m : r.members) {
    auto& om = out.members.emplace_back();
    om.member_id = std::move(m.member_id);
    om.group_instance_id = std::move(m.group_instance_id);
    om.metadata = std::move(m.metadata);
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
