// ElectLeaders (43, KIP-183/KIP-460): preferred or unclean leader election on request
// (kafka-leader-election.sh, Admin.electLeaders). The active controller does the election; any
// other broker answers NOT_CONTROLLER per partition, as Kafka's ZooKeeper-mode broker does.
#include "gregor/protocol/messages/elect_leaders.h"

#include <chrono>
#include <memory>
#include <optional>

#include "server/authorization.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;
using Results = std::map<TopicPartition, controller::Controller::PartitionResult>;

struct Answer {
  ErrorCode error;
  Results results;
};
}  // namespace

asio::awaitable<bool> HandleElectLeaders(ServerContext& ctx, Request& req, Response& resp) {
  protocol::ElectLeadersRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ElectLeadersResponse out;
  // v0 knows only preferred elections (ElectionType 0 = PREFERRED, 1 = UNCLEAN).
  const bool unclean = req.version() >= 1 && in.election_type == 1;
  if (req.version() >= 1 && in.election_type != 0 && in.election_type != 1) {
    out.error_code = ErrorCode::kInvalidRequest;
    out.Encode(resp.out, req.version());
    co_return true;
  }
  std::optional<std::vector<TopicPartition>> partitions;
  if (in.topic_partitions) {
    partitions.emplace();
    for (const auto& t : *in.topic_partitions) {
      for (int32_t p : t.partitions) partitions->push_back({t.topic, p});
    }
  }

  Answer answer{ErrorCode::kNotController, {}};
  if (!Authorized(ctx, req.conn, AclRuleId::kElectLeaders)) {
    answer.error = Denied(AclRuleId::kElectLeaders);
    out.error_code = answer.error;
  } else if (ctx.controller != nullptr) {
    std::optional<Answer> got = co_await AwaitCallback<Answer>(
        [&](std::function<void(Answer)> done) {
          ctx.controller->ElectLeaders(unclean, partitions, [done](ErrorCode e, Results r) {
            done(Answer{e, std::move(r)});
          });
        },
        RequestDeadline(in.timeout_ms));
    answer = got ? std::move(*got) : Answer{ErrorCode::kRequestTimedOut, {}};
  }
  Results results;
  if (answer.error != ErrorCode::kNone) {
    // Every requested partition carries the failure (none are listed for "all partitions").
    if (partitions) {
      for (const TopicPartition& tp : *partitions) results[tp] = {answer.error, ""};
    }
  } else {
    for (auto& [tp, r] : answer.results) {
      // For "all partitions", only those elected or failed are reported, as Kafka does.
      if (!partitions && r.error == ErrorCode::kElectionNotNeeded) continue;
      results[tp] = std::move(r);
    }
  }
  std::map<std::string, size_t> index;
  for (const auto& [tp, r] : results) {
    auto it = index.find(tp.topic);
    if (it == index.end()) {
      it = index.emplace(tp.topic, out.replica_election_results.size()).first;
      out.replica_election_results.emplace_back().topic = tp.topic;
    }
    auto& p = out.replica_election_results[it->second].partition_result.emplace_back();
    p.partition_id = tp.partition;
    p.error_code = r.error;
    p.error_message = r.message.empty() ? std::nullopt : std::optional<std::string>(r.message);
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
