// ConsumerGroupHeartbeat (68, KIP-848): join, heartbeat, reconcile and leave in one API; the
// coordinator assigns the partitions (Kafka's handleConsumerGroupHeartbeat). Topics travel as
// ids; the coordinator names them, so ids are mapped here with the metadata cache (an id the
// cache does not know, a topic deleted meanwhile, is left out of the owned partitions).
#include "gregor/protocol/messages/consumer_group_heartbeat.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleConsumerGroupHeartbeat(group::GroupCoordinator& gc, ServerContext& ctx,
                                                   Request& req, Response& resp) {
  protocol::ConsumerGroupHeartbeatRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ConsumerGroupHeartbeatResponse out;
  if (!Authorized(ctx, req.conn, AclRuleId::kConsumerGroupHeartbeat, in.group_id)) {
    out.error_code = Denied(AclRuleId::kConsumerGroupHeartbeat);
    out.Encode(resp.out, req.version());
    co_return true;
  }
  auto snap = ctx.metadata->Get();
  group::ConsumerHeartbeat hb;
  hb.member_id = in.member_id;
  hb.member_epoch = in.member_epoch;
  hb.instance_id = in.instance_id;
  hb.rack_id = in.rack_id;
  hb.rebalance_timeout_ms = in.rebalance_timeout_ms;
  hb.subscribed_topic_names = in.subscribed_topic_names;
  if (req.version() >= 1) hb.subscribed_topic_regex = in.subscribed_topic_regex;
  hb.server_assignor = in.server_assignor;
  if (in.topic_partitions) {
    hb.owned.emplace();
    for (const auto& tp : *in.topic_partitions) {
      auto name = snap->topic_names.find(tp.topic_id);
      if (name == snap->topic_names.end()) continue;
      (*hb.owned)[name->second].insert(tp.partitions.begin(), tp.partitions.end());
    }
  }
  hb.client_id = req.header.client_id.value_or("");
  hb.client_host = GroupClientHost(req);

  group::ConsumerHeartbeatResult r =
      gc.ConsumerGroupHeartbeat(in.group_id, hb, SnapshotTopicView(snap));
  out.error_code = r.error;
  if (!r.error_message.empty()) out.error_message = r.error_message;
  if (r.error == protocol::ErrorCode::kNone) {
    out.member_id = r.member_id;
    out.member_epoch = r.member_epoch;
    out.heartbeat_interval_ms = r.heartbeat_interval_ms;
    if (r.assignment) {
      auto& a = out.assignment.emplace();
      for (const auto& [topic, partitions] : *r.assignment) {
        auto t = snap->topics.find(topic);
        if (t == snap->topics.end()) continue;  // deleted since: the next epoch drops it
        auto& ot = a.topic_partitions.emplace_back();
        ot.topic_id = t->second.id;
        ot.partitions.assign(partitions.begin(), partitions.end());
      }
    }
  } else {
    out.member_epoch = -1;
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
