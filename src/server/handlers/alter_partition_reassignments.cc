// AlterPartitionReassignments (45, KIP-455): start, replace or cancel (null replicas) partition
// reassignments. Only the active controller serves it (NOT_CONTROLLER elsewhere; clients send it
// to the controller named in Metadata). The answer comes once the reassignments are started;
// they complete in the background (ListPartitionReassignments shows the progress).
#include "gregor/protocol/messages/alter_partition_reassignments.h"

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
  std::map<TopicPartition, controller::Controller::PartitionResult> results;
};

std::optional<std::string> Message(ErrorCode e, const std::string& m) {
  if (e == ErrorCode::kNone) return std::nullopt;
  return m;
}
}  // namespace

asio::awaitable<bool> HandleAlterPartitionReassignments(ServerContext& ctx, Request& req,
                                                        Response& resp) {
  protocol::AlterPartitionReassignmentsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::AlterPartitionReassignmentsResponse out;
  out.error_message = std::nullopt;
  if (!Authorized(ctx, req.conn, AclRuleId::kAlterPartitionReassignments)) {
    out.error_code = Denied(AclRuleId::kAlterPartitionReassignments);
    out.Encode(resp.out, req.version());
    co_return true;
  }
  if (ctx.controller == nullptr) {
    out.error_code = ErrorCode::kNotController;
    out.Encode(resp.out, req.version());
    co_return true;
  }
  std::map<TopicPartition, std::optional<std::vector<int32_t>>> reassignments;
  for (const auto& t : in.topics) {
    for (const auto& p : t.partitions) reassignments[{t.name, p.partition_index}] = p.replicas;
  }

  std::optional<Answer> answer = co_await AwaitCallback<Answer>(
      [&](std::function<void(Answer)> done) {
        ctx.controller->AlterPartitionReassignments(
            std::move(reassignments),
            [done](ErrorCode e,
                   std::map<TopicPartition, controller::Controller::PartitionResult> r) {
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
    for (const auto& [tp, result] : answer->results) {
      auto it = index.find(tp.topic);
      if (it == index.end()) {
        it = index.emplace(tp.topic, out.responses.size()).first;
        out.responses.emplace_back().name = tp.topic;
      }
      auto& p = out.responses[it->second].partitions.emplace_back();
      p.partition_index = tp.partition;
      p.error_code = result.error;
      p.error_message = Message(result.error, result.message);
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
