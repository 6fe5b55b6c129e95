// InitProducerId (22): a producer id and epoch for an idempotent producer (no transactional
// id). Any broker answers, with an id from its block of /latest_producer_id_block (Kafka's
// TransactionCoordinator.handleInitProducerId for a null transactional id: always a new id,
// epoch 0, whatever id and epoch a v3+ request names). Transactional ids need the transaction
// coordinator, which this broker does not run yet: COORDINATOR_NOT_AVAILABLE, as FindCoordinator
// answers for them.
#include "gregor/protocol/messages/init_producer_id.h"

#include <glog/logging.h>

#include "gregor/txn/producer_id_manager.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleInitProducerId(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::InitProducerIdRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::InitProducerIdResponse out;
  out.producer_id = -1;
  out.producer_epoch = -1;
  ErrorCode error = ErrorCode::kNone;
  if (in.transactional_id && in.transactional_id->empty()) {
    error = ErrorCode::kInvalidRequest;
  } else if (in.transactional_id) {
    error = ErrorCode::kCoordinatorNotAvailable;
  } else {
    // Claiming a new block writes to ZooKeeper: off the network thread.
    Result<int64_t> id = Status::Unavailable("no producer id manager");
    co_await ctx.run_blocking([&] {
      if (ctx.producer_ids != nullptr) id = ctx.producer_ids->GenerateProducerId();
    });
    if (id.ok()) {
      out.producer_id = *id;
      out.producer_epoch = 0;
      VLOG(1) << "[InitProducerId] producer id " << *id << " for client "
              << req.header.client_id.value_or("");
    } else {
      error = ErrorCode::kCoordinatorNotAvailable;
    }
  }
  out.error_code = static_cast<int16_t>(error);
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
