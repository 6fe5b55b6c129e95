// OffsetForLeaderEpoch (23): where a leader epoch ends in this broker's log
// (KIP-101), fenced by the caller's current leader epoch (KIP-320). Clients
// (replica_id -1/-2) and followers alike must ask the leader; a debugging
// replica id (-3) may read any replica, as in Kafka.
#include "gregor/protocol/messages/offset_for_leader_epoch.h"

#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleOffsetForLeaderEpoch(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::OffsetForLeaderEpochRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  const bool only_leader = in.replica_id != -3;  // Kafka's DebuggingConsumerId
  protocol::OffsetForLeaderEpochResponse out;
  // CLUSTER_ACTION (followers) lets every partition through; otherwise DESCRIBE on each topic
  // (consumers checking for truncation, KIP-320).
  const bool cluster_action = Authorized(ctx, req.conn, AclRuleId::kOffsetForLeaderEpochFollower,
                                         kClusterResourceName, /*log_denial=*/false);
  for (const auto& topic : in.topics) {
    auto& tr = out.topics.emplace_back();
    tr.topic = topic.topic;
    const bool allowed =
        cluster_action ||
        Authorized(ctx, req.conn, AclRuleId::kOffsetForLeaderEpochTopic, topic.topic);
    for (const auto& p : topic.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition = p.partition;
      if (!allowed) {
        pr.error_code = Denied(AclRuleId::kOffsetForLeaderEpochTopic);
        continue;
      }
      auto partition = ctx.replicas->GetPartition({topic.topic, p.partition});
      if (!partition) {
        auto md = ctx.metadata->Get();
        auto t = md->topics.find(topic.topic);
        bool known = t != md->topics.end() && t->second.partitions.count(p.partition);
        pr.error_code =
            known ? ErrorCode::kNotLeaderOrFollower : ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      std::optional<int32_t> current;
      if (v >= 2) current = p.current_leader_epoch;
      auto end = partition->LastOffsetForLeaderEpoch(current, p.leader_epoch, only_leader);
      if (!end.ok()) {
        pr.error_code = ReadError(end.status());
        continue;
      }
      pr.leader_epoch = end->leader_epoch;
      pr.end_offset = end->end_offset;
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
