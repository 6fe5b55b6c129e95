// DescribeProducers (61, KIP-664): the active producers of partitions (id, epoch, last
// sequence and timestamp, coordinator epoch, first offset of the open transaction), from the
// replica's producer state (Kafka's KafkaApis.handleDescribeProducersRequest). As in Kafka any
// hosted replica answers, a follower with the state it replicated (kafka-transactions.sh
// describe-producers --broker-id asks a chosen replica; by default the admin client asks the
// leader). A topic name that is not valid gets INVALID_TOPIC_EXCEPTION, a topic unknown to the
// metadata UNKNOWN_TOPIC_OR_PARTITION; a partition not hosted here NOT_LEADER_OR_FOLLOWER when
// the metadata knows it, else UNKNOWN_TOPIC_OR_PARTITION.
#include "gregor/protocol/messages/describe_producers.h"

#include <algorithm>

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/topic_admin.h"

namespace gregor::server {

asio::awaitable<bool> HandleDescribeProducers(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::DescribeProducersRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::DescribeProducersResponse out;
  auto md = ctx.metadata->Get();
  for (const auto& topic : in.topics) {
    auto& tr = out.topics.emplace_back();
    tr.name = topic.name;
    std::optional<ErrorCode> topic_error;
    std::optional<std::string> topic_message;
    auto t = md->topics.find(topic.name);
    if (Status valid = ValidateTopicName(topic.name); !valid.ok()) {
      topic_error = ErrorCode::kInvalidTopicException;
      topic_message = valid.message();
    } else if (!Authorized(ctx, req.conn, AclRuleId::kDescribeProducers, topic.name)) {
      topic_error = Denied(AclRuleId::kDescribeProducers);
    } else if (t == md->topics.end()) {
      topic_error = ErrorCode::kUnknownTopicOrPartition;
    }
    for (int32_t index : topic.partition_indexes) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = index;
      if (topic_error) {
        pr.error_code = *topic_error;
        pr.error_message = topic_message;
        continue;
      }
      auto partition = ctx.replicas->GetPartition({topic.name, index});
      if (!partition) {
        pr.error_code = t->second.partitions.count(index) ? ErrorCode::kNotLeaderOrFollower
                                                          : ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      // A copy of the entries under the log's mutex: memory only, fine on the strand.
      std::vector<log::ProducerStateEntry> producers = partition->log()->ActiveProducers();
      std::sort(producers.begin(), producers.end(),
                [](const auto& a, const auto& b) { return a.producer_id < b.producer_id; });
      pr.active_producers.reserve(producers.size());
      for (const auto& e : producers) {
        auto& ps = pr.active_producers.emplace_back();
        ps.producer_id = e.producer_id;
        ps.producer_epoch = e.epoch;
        ps.last_sequence = e.last_seq();
        ps.last_timestamp = e.last_timestamp;
        ps.coordinator_epoch = e.coordinator_epoch;
        ps.current_txn_start_offset = e.current_txn_first_offset;
      }
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
