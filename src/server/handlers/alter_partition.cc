// AlterPartition (56): a partition leader's ISR change, for the controller (Kafka's
// KafkaApis.handleAlterPartitionRequest in ZooKeeper mode). Kafka brokers at IBP 2.7-IV2 and
// later send it instead of writing the state znode, so a gregord controller serves it for them;
// gregord leaders still write ZooKeeper themselves. CLUSTER_ACTION is required; a broker that
// is not the active controller answers NOT_CONTROLLER, and the leader looks for the controller
// again. The controller answers on its event thread; the connection's coroutine waits on a
// timer that the answer cancels.
#include "gregor/protocol/messages/alter_partition.h"

#include <chrono>
#include <optional>

#include "gregor/controller/controller.h"
#include "server/authorization.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {
// A controller that never answers (it is stopping) must not hold the connection forever; the
// leader retries a top-level error 50 ms later (Kafka's AlterPartitionManager).
constexpr auto kControllerAnswerTimeout = std::chrono::seconds(30);
}  // namespace

asio::awaitable<bool> HandleAlterPartition(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::AlterPartitionRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::AlterPartitionResponse out;
  if (!Authorized(ctx, req.conn, AclRuleId::kAlterPartition)) {
    out.error_code = Denied(AclRuleId::kAlterPartition);
  } else if (ctx.controller == nullptr || !ctx.controller->IsActive()) {
    out.error_code = ErrorCode::kNotController;
  } else {
    const int16_t version = req.version();
    std::optional<protocol::AlterPartitionResponse> answer =
        co_await AwaitCallback<protocol::AlterPartitionResponse>(
            [&](std::function<void(protocol::AlterPartitionResponse)> done) {
              ctx.controller->AlterPartition(std::move(in), version, std::move(done));
            },
            asio::steady_timer::clock_type::now() + kControllerAnswerTimeout);
    if (answer) {
      out = std::move(*answer);
    } else {
      out.error_code = ErrorCode::kRequestTimedOut;
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
