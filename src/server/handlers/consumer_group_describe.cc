// ConsumerGroupDescribe (69, KIP-848): epochs, assignor, and each member's subscription,
// current and target assignment (Kafka's handleConsumerGroupDescribe). Topics carry id and name.
#include "gregor/protocol/messages/consumer_group_describe.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

namespace {

// KIP-1099's member types (v1+): a member of the classic protocol in a consumer group (KIP-848
// online migration), and one of the consumer protocol.
constexpr int8_t kClassicMemberType = 0;
constexpr int8_t kConsumerMemberType = 1;

protocol::ConsumerGroupDescribeResponse::Assignment ToAssignment(
    const group::TopicPartitions& partitions, const cluster::MetadataCache::Snapshot& snap) {
  protocol::ConsumerGroupDescribeResponse::Assignment a;
  for (const auto& [topic, ps] : partitions) {
    auto& ot = a.topic_partitions.emplace_back();
    auto t = snap.topics.find(topic);
    if (t != snap.topics.end()) ot.topic_id = t->second.id;
    ot.topic_name = topic;
    ot.partitions.assign(ps.begin(), ps.end());
  }
  return a;
}

}  // namespace

asio::awaitable<bool> HandleConsumerGroupDescribe(group::GroupCoordinator& gc, ServerContext& ctx,
                                                  Request& req, Response& resp) {
  protocol::ConsumerGroupDescribeRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ConsumerGroupDescribeResponse out;
  auto snap = ctx.metadata->Get();
  for (const auto& id : in.group_ids) {
    auto& og = out.groups.emplace_back();
    og.group_id = id;
    if (!Authorized(ctx, req.conn, AclRuleId::kConsumerGroupDescribe, id)) {
      og.error_code = Denied(AclRuleId::kConsumerGroupDescribe);
      continue;
    }
    if (in.include_authorized_operations) {
      og.authorized_operations =
          AuthorizedOperations(ctx, req.conn, security::ResourceType::kGroup, id);
    }
    group::ConsumerGroupDescription d = gc.DescribeConsumerGroup(id);
    og.error_code = d.error;
    if (!d.error_message.empty()) og.error_message = d.error_message;
    if (d.error != protocol::ErrorCode::kNone) continue;
    og.group_state = d.state;
    og.group_epoch = d.group_epoch;
    og.assignment_epoch = d.assignment_epoch;
    og.assignor_name = d.assignor;
    for (const auto& m : d.members) {
      auto& om = og.members.emplace_back();
      om.member_id = m.member_id;
      om.instance_id = m.instance_id;
      om.rack_id = m.rack_id;
      om.member_epoch = m.member_epoch;
      om.client_id = m.client_id;
      om.client_host = m.client_host;
      om.subscribed_topic_names = m.subscribed_topic_names;
      om.subscribed_topic_regex = m.subscribed_topic_regex;
      om.assignment = ToAssignment(m.assigned, *snap);
      auto target = d.targets.find(m.member_id);
      if (target != d.targets.end()) om.target_assignment = ToAssignment(target->second, *snap);
      om.member_type = m.classic ? kClassicMemberType : kConsumerMemberType;
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
