// InitProducerId (22): a producer id and epoch. Without a transactional id any broker answers,
// with an id from its block of /latest_producer_id_block (Kafka's handleInitProducerId for a
// null id: always a new id, epoch 0, whatever id and epoch a v3+ request names). With one, the
// transaction coordinator of that id answers (a bumped epoch, fencing older producers; KIP-360
// recovery with the id and epoch of v3+). v5 (KIP-890) only says that the client handles
// TRANSACTION_ABORTABLE, which no InitProducerId path answers in Kafka 3.9 or here; an older
// client would get INVALID_TXN_STATE instead.
#include "gregor/protocol/messages/init_producer_id.h"

#include <glog/logging.h>

#include "gregor/txn/producer_id_manager.h"
#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/await_callback.h"
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
  } else if (in.transactional_id &&
             !Authorized(ctx, req.conn, AclRuleId::kInitProducerIdTransactional,
                         *in.transactional_id)) {
    error = Denied(AclRuleId::kInitProducerIdTransactional);
  } else if (!in.transactional_id && !AuthorizedIdempotentWrite(ctx, req.conn)) {
    error = Denied(AclRuleId::kInitProducerIdIdempotent);
  } else if (in.transactional_id) {
    if (ctx.txns == nullptr) {
      error = ErrorCode::kCoordinatorNotAvailable;
    } else {
      std::optional<std::pair<int64_t, int16_t>> expected;
      if (in.producer_id >= 0) expected = std::make_pair(in.producer_id, in.producer_epoch);
      // A new transactional id may claim a producer id block (ZooKeeper): off the strand.
      std::function<void(std::function<void(txn::InitProducerIdResult)>)> start =
          [&ctx, id = *in.transactional_id, timeout = in.transaction_timeout_ms,
           expected](std::function<void(txn::InitProducerIdResult)> done) {
            ctx.post_blocking([&ctx, id, timeout, expected, done = std::move(done)]() mutable {
              ctx.txns->InitProducerId(id, timeout, expected, std::move(done));
            });
          };
      std::optional<txn::InitProducerIdResult> r =
          co_await AwaitCallback<txn::InitProducerIdResult>(start);
      error = r ? r->error : ErrorCode::kCoordinatorNotAvailable;
      if (r && error == ErrorCode::kNone) {
        out.producer_id = r->producer_id;
        out.producer_epoch = r->producer_epoch;
      }
    }
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
  out.error_code = ForTxnClient(error, req.version() >= 5);
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
