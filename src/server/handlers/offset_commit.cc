// OffsetCommit (8): store a group's consumed positions in __consumer_offsets
// (Kafka's handleOffsetCommitRequest); answers once the records are
// replicated. Unknown partitions get UNKNOWN_TOPIC_OR_PARTITION.
#include "gregor/protocol/messages/offset_commit.h"

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleOffsetCommit(group::GroupCoordinator& gc, ServerContext& ctx,
                                         Request& req, Response& resp) {
  protocol::OffsetCommitRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();

  group::OffsetCommitParams p;
  p.group_id = in.group_id;
  p.generation_id = v >= 1 ? in.generation_id_or_member_epoch : -1;
  p.member_id = v >= 1 ? in.member_id : "";
  p.group_instance_id = v >= 7 ? in.group_instance_id : std::nullopt;
  // v2-v4 may set a retention per request; later versions use the broker's.
  p.retention_time_ms = v >= 2 && v <= 4 ? in.retention_time_ms : -1;
  p.api_version = v;

  std::map<TopicPartition, protocol::ErrorCode> results;
  auto md = ctx.metadata->Get();
  // READ on the group (every partition refused without it), then READ on each topic.
  const bool group_ok = Authorized(ctx, req.conn, AclRuleId::kOffsetCommitGroup, in.group_id);
  for (const auto& t : in.topics) {
    auto topic = md->topics.find(t.name);
    const bool topic_ok =
        group_ok && Authorized(ctx, req.conn, AclRuleId::kOffsetCommitTopic, t.name);
    for (const auto& part : t.partitions) {
      TopicPartition tp{t.name, part.partition_index};
      if (!topic_ok) {
        results[tp] =
            Denied(group_ok ? AclRuleId::kOffsetCommitTopic : AclRuleId::kOffsetCommitGroup);
        continue;
      }
      if (topic == md->topics.end() || !topic->second.partitions.count(part.partition_index)) {
        results[tp] = protocol::ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      group::OffsetAndMetadata o;
      o.offset = part.committed_offset;
      o.leader_epoch = v >= 6 ? part.committed_leader_epoch : -1;
      o.metadata = part.committed_metadata.value_or("");
      // Only v1 carries a client commit timestamp.
      o.commit_timestamp = v == 1 ? part.commit_timestamp : -1;
      p.offsets[tp] = std::move(o);
    }
  }
  if (!p.offsets.empty()) {
    req.conn.ParkRequest();  // waits for the commit to replicate: out of the request queue
    auto committed = co_await AwaitCompletion<std::map<TopicPartition, protocol::ErrorCode>>(
        [&](std::function<void(std::map<TopicPartition, protocol::ErrorCode>)> done) {
          gc.CommitOffsets(std::move(p), std::move(done));
        });
    results.insert(committed.begin(), committed.end());
  }

  protocol::OffsetCommitResponse out;
  for (const auto& t : in.topics) {
    auto& ot = out.topics.emplace_back();
    ot.name = t.name;
    for (const auto& part : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = part.partition_index;
      auto it = results.find({t.name, part.partition_index});
      op.error_code = it == results.end() ? protocol::ErrorCode::kUnknownServerError : it->second;
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
