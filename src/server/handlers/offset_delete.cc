// OffsetDelete (47): deletes a group's offsets of some partitions (KIP-496);
// an active consumer group keeps those of topics it subscribes to
// (GROUP_SUBSCRIBED_TO_TOPIC).
#include "gregor/protocol/messages/offset_delete.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleOffsetDelete(group::GroupCoordinator& gc, ServerContext& ctx,
                                         Request& req, Response& resp) {
  protocol::OffsetDeleteRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  std::map<TopicPartition, protocol::ErrorCode> errors;
  std::vector<TopicPartition> known;
  auto md = ctx.metadata->Get();
  // DELETE on the group (refused: the whole request), then READ on each topic.
  if (!Authorized(ctx, req.conn, AclRuleId::kOffsetDeleteGroup, in.group_id)) {
    protocol::OffsetDeleteResponse out;
    out.error_code = Denied(AclRuleId::kOffsetDeleteGroup);
    out.Encode(resp.out, req.version());
    co_return true;
  }
  for (const auto& t : in.topics) {
    auto topic = md->topics.find(t.name);
    const bool readable = Authorized(ctx, req.conn, AclRuleId::kOffsetDeleteTopic, t.name);
    for (const auto& p : t.partitions) {
      TopicPartition tp{t.name, p.partition_index};
      if (!readable) {
        errors[tp] = Denied(AclRuleId::kOffsetDeleteTopic);
      } else if (topic == md->topics.end() || !topic->second.partitions.count(p.partition_index)) {
        errors[tp] = protocol::ErrorCode::kUnknownTopicOrPartition;
      } else {
        known.push_back(tp);
      }
    }
  }
  group::OffsetDeleteResult r = gc.DeleteOffsets(in.group_id, known);
  protocol::OffsetDeleteResponse out;
  out.error_code = r.error;
  if (r.error == protocol::ErrorCode::kNone) {
    errors.insert(r.partitions.begin(), r.partitions.end());
    for (const auto& t : in.topics) {
      auto& ot = out.topics.emplace_back();
      ot.name = t.name;
      for (const auto& p : t.partitions) {
        auto& op = ot.partitions.emplace_back();
        op.partition_index = p.partition_index;
        auto it = errors.find({t.name, p.partition_index});
        op.error_code = it == errors.end() ? protocol::ErrorCode::kNone : it->second;
      }
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
