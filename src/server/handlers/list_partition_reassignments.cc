// ListPartitionReassignments (46, KIP-455): the ongoing reassignments (all, or among the given
// partitions) with their replica, adding and removing sets. Served by the active controller;
// NOT_CONTROLLER elsewhere.
#include "gregor/protocol/messages/list_partition_reassignments.h"

#include <chrono>
#include <memory>
#include <optional>

#include "server/authorization.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;

struct Answer {
  ErrorCode error;
  std::map<TopicPartition, controller::Controller::OngoingReassignment> ongoing;
};
}  // namespace

asio::awaitable<bool> HandleListPartitionReassignments(ServerContext& ctx, Request& req,
                                                       Response& resp) {
  protocol::ListPartitionReassignmentsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ListPartitionReassignmentsResponse out;
  out.error_message = std::nullopt;
  if (!Authorized(ctx, req.conn, AclRuleId::kListPartitionReassignments)) {
    out.error_code = Denied(AclRuleId::kListPartitionReassignments);
    out.Encode(resp.out, req.version());
    co_return true;
  }
  if (ctx.controller == nullptr) {
    out.error_code = ErrorCode::kNotController;
    out.Encode(resp.out, req.version());
    co_return true;
  }
  std::optional<std::vector<TopicPartition>> partitions;
  if (in.topics) {
    partitions.emplace();
    for (const auto& t : *in.topics) {
      for (int32_t p : t.partition_indexes) partitions->push_back({t.name, p});
    }
  }

  std::optional<Answer> answer = co_await AwaitCallback<Answer>(
      [&](std::function<void(Answer)> done) {
        ctx.controller->ListPartitionReassignments(
            std::move(partitions),
            [done](ErrorCode e,
                   std::map<TopicPartition, controller::Controller::OngoingReassignment> r) {
              done(Answer{e, std::move(r)});
            });
      },
      RequestDeadline(in.timeout_ms));
  if (!answer) {
    out.error_code = ErrorCode::kRequestTimedOut;
    out.error_message = "Timed out waiting for the controller.";
  } else if (answer->error != ErrorCode::kNone) {
    out.error_code = answer->error;
    out.error_message = "This broker is not the controller.";
  } else {
    std::map<std::string, size_t> index;
    for (const auto& [tp, o] : answer->ongoing) {
      auto it = index.find(tp.topic);
      if (it == index.end()) {
        it = index.emplace(tp.topic, out.topics.size()).first;
        out.topics.emplace_back().name = tp.topic;
      }
      auto& p = out.topics[it->second].partitions.emplace_back();
      p.partition_index = tp.partition;
      p.replicas = o.replicas;
      p.adding_replicas = o.adding;
      p.removing_replicas = o.removing;
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
