// ElectLeaders (43, KIP-183/KIP-460): preferred or unclean leader election on request
// (kafka-leader-election.sh, Admin.electLeaders). The active controller does the election; any
// other broker answers NOT_CONTROLLER per partition, as Kafka's ZooKeeper-mode broker does.
#include "gregor/protocol/messages/elect_leaders.h"

#include <chrono>
#include <memory>
#include <optional>

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
    out.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequest);
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
  if (ctx.controller != nullptr) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    timer->expires_after(std::chrono::milliseconds(in.timeout_ms > 0 ? in.timeout_ms : 60000));
    auto got = std::make_shared<std::optional<Answer>>();
    ctx.controller->ElectLeaders(unclean, partitions, [timer, got](ErrorCode e, Results r) {
      asio::post(timer->get_executor(), [timer, got, e, r = std::move(r)]() mutable {
        *got = Answer{e, std::move(r)};
        timer->cancel();
      });
    });
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    answer = got->has_value() ? std::move(**got) : Answer{ErrorCode::kRequestTimedOut, {}};
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
    p.error_code = static_cast<int16_t>(r.error);
    p.error_message = r.message.empty() ? std::nullopt : std::optional<std::string>(r.message);
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
