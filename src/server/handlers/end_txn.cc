// EndTxn (26): a transactional producer commits or aborts (Kafka's handleEndTxnRequest). The
// coordinator answers once PrepareCommit/PrepareAbort is in __transaction_state; the markers
// follow. v4 (KIP-890) only says that the client handles TRANSACTION_ABORTABLE; Kafka 3.9's
// coordinator answers it on no EndTxn path, nor does ours, and an older client would get
// INVALID_TXN_STATE instead.
#include "gregor/protocol/messages/end_txn.h"

#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleEndTxn(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::EndTxnRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::EndTxnResponse out;
  ErrorCode error = ErrorCode::kCoordinatorNotAvailable;
  if (!Authorized(ctx, req.conn, AclRuleId::kEndTxn, in.transactional_id)) {
    error = Denied(AclRuleId::kEndTxn);
  } else if (ctx.txns != nullptr) {
    std::function<void(std::function<void(ErrorCode)>)> start =
        [&](std::function<void(ErrorCode)> done) {
          ctx.txns->EndTxn(in.transactional_id, in.producer_id, in.producer_epoch, in.committed,
                           std::move(done));
        };
    error = (co_await AwaitCallback<ErrorCode>(start)).value_or(error);
  }
  // Kafka 2.7+ (KIP-588): clients older than EndTxn v2 do not know PRODUCER_FENCED.
  if (error == ErrorCode::kProducerFenced && req.version() < 2) {
    error = ErrorCode::kInvalidProducerEpoch;
  }
  out.error_code = ForTxnClient(error, req.version() >= 4);
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
