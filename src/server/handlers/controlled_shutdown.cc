// ControlledShutdown (7): a broker about to stop asks the controller (this broker, if it is the
// active one) to move its leaderships away first (Kafka's KafkaApis.handleControlledShutdown).
// The controller answers on its event thread; the connection's coroutine waits on a timer that
// the answer cancels, so no network thread blocks.
#include "gregor/protocol/messages/controlled_shutdown.h"

#include <chrono>
#include <memory>
#include <optional>

#include "server/authorization.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;

// A controller that never answers (it is stopping) must not hold the connection forever.
constexpr auto kControllerAnswerTimeout = std::chrono::seconds(30);

struct Answer {
  ErrorCode error;
  std::vector<TopicPartition> remaining;
};
}  // namespace

asio::awaitable<bool> HandleControlledShutdown(ServerContext& ctx, Request& req, Response& resp) {
  protocol::ControlledShutdownRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ControlledShutdownResponse out;
  if (!Authorized(ctx, req.conn, AclRuleId::kControlledShutdown)) {
    out.error_code = Denied(AclRuleId::kControlledShutdown);
    out.Encode(resp.out, req.version());
    co_return true;
  }
  if (ctx.controller == nullptr) {
    out.error_code = ErrorCode::kNotController;
    out.Encode(resp.out, req.version());
    co_return true;
  }
  // v0 and v1 carry no broker epoch: -1 (unknown) is accepted, as in Kafka.
  int64_t epoch = req.version() >= 2 ? in.broker_epoch : -1;
  std::optional<Answer> answer = co_await AwaitCallback<Answer>(
      [&](std::function<void(Answer)> done) {
        ctx.controller->ControlledShutdown(
            in.broker_id, epoch, [done](ErrorCode e, std::vector<TopicPartition> remaining) {
              done(Answer{e, std::move(remaining)});
            });
      },
      asio::steady_timer::clock_type::now() + kControllerAnswerTimeout);
  if (!answer) {
    out.error_code = ErrorCode::kRequestTimedOut;
  } else {
    out.error_code = answer->error;
    for (const TopicPartition& tp : answer->remaining) {
      auto& p = out.remaining_partitions.emplace_back();
      p.topic_name = tp.topic;
      p.partition_index = tp.partition;
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
