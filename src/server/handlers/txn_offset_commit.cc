// TxnOffsetCommit (28): a transactional producer's consumed positions
// (Kafka's handleTxnOffsetCommitRequest). The group coordinator writes them
// to __consumer_offsets as one transactional batch of the producer and keeps
// them pending until the transaction's marker; answers once replicated.
// Unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION.
#include "gregor/protocol/messages/txn_offset_commit.h"

#include "server/handlers/group_handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleTxnOffsetCommit(group::GroupCoordinator& gc, ServerContext& ctx,
                                            Request& req, Response& resp) {
  protocol::TxnOffsetCommitRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();

  group::TxnOffsetCommitParams p;
  p.group_id = in.group_id;
  p.transactional_id = in.transactional_id;
  p.producer_id = in.producer_id;
  p.producer_epoch = in.producer_epoch;
  // v3 (KIP-447) carries the consumer's generation and member; older versions decode defaults.
  p.generation_id = in.generation_id;
  p.member_id = in.member_id;
  p.group_instance_id = in.group_instance_id;

  std::map<TopicPartition, protocol::ErrorCode> results;
  auto md = ctx.metadata->Get();
  for (const auto& t : in.topics) {
    auto topic = md->topics.find(t.name);
    for (const auto& part : t.partitions) {
      TopicPartition tp{t.name, part.partition_index};
      if (topic == md->topics.end() || !topic->second.partitions.count(part.partition_index)) {
        results[tp] = protocol::ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      group::OffsetAndMetadata o;
      o.offset = part.committed_offset;
      o.leader_epoch = v >= 2 ? part.committed_leader_epoch : -1;
      o.metadata = part.committed_metadata.value_or("");
      p.offsets[tp] = std::move(o);
    }
  }
  if (!p.offsets.empty()) {
    req.conn.ParkRequest();  // waits for the batch to replicate: out of the request queue
    auto committed = co_await AwaitCompletion<std::map<TopicPartition, protocol::ErrorCode>>(
        [&](std::function<void(std::map<TopicPartition, protocol::ErrorCode>)> done) {
          gc.CommitTxnOffsets(std::move(p), std::move(done));
        });
    results.insert(committed.begin(), committed.end());
  }

  protocol::TxnOffsetCommitResponse out;
  for (const auto& t : in.topics) {
    auto& ot = out.topics.emplace_back();
    ot.name = t.name;
    for (const auto& part : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = part.partition_index;
      auto it = results.find({t.name, part.partition_index});
      protocol::ErrorCode e =
          it == results.end() ? protocol::ErrorCode::kUnknownServerError : it->second;
      // Producers before Kafka 2.0 (KAFKA-7296) do not retry COORDINATOR_LOAD_IN_PROGRESS;
      // versions 0-1 get the retriable COORDINATOR_NOT_AVAILABLE instead, as Kafka does.
      if (v < 2 && e == protocol::ErrorCode::kCoordinatorLoadInProgress) {
        e = protocol::ErrorCode::kCoordinatorNotAvailable;
      }
      op.error_code = static_cast<int16_t>(e);
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
