// AddOffsetsToTxn (25): a transactional producer is about to commit a group's offsets
// (sendOffsetsToTransaction): the group's __consumer_offsets partition joins the transaction,
// so that its COMMIT/ABORT marker reaches the group coordinator (Kafka's
// handleAddOffsetsToTxnRequest). v4 (KIP-890) only says that the client handles
// TRANSACTION_ABORTABLE, which no AddOffsetsToTxn path answers in Kafka 3.9 or here; an older
// client would get INVALID_TXN_STATE instead.
#include "gregor/protocol/messages/add_offsets_to_txn.h"

#include "gregor/group/group_coordinator.h"
#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleAddOffsetsToTxn(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::AddOffsetsToTxnRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::AddOffsetsToTxnResponse out;
  ErrorCode error = ErrorCode::kCoordinatorNotAvailable;
  if (!Authorized(ctx, req.conn, AclRuleId::kAddOffsetsToTxnTransactional, in.transactional_id)) {
    error = Denied(AclRuleId::kAddOffsetsToTxnTransactional);
  } else if (!Authorized(ctx, req.conn, AclRuleId::kAddOffsetsToTxnGroup, in.group_id)) {
    error = Denied(AclRuleId::kAddOffsetsToTxnGroup);
  } else if (in.group_id.empty()) {
    error = ErrorCode::kInvalidGroupId;
  } else if (ctx.txns != nullptr && ctx.groups != nullptr) {
    std::set<TopicPartition> tps{{group::kOffsetsTopic, ctx.groups->PartitionFor(in.group_id)}};
    std::function<void(std::function<void(ErrorCode)>)> start =
        [&](std::function<void(ErrorCode)> done) {
          ctx.txns->AddPartitions(in.transactional_id, in.producer_id, in.producer_epoch, tps,
                                  std::move(done));
        };
    error = (co_await AwaitCallback<ErrorCode>(start)).value_or(error);
  }
  out.error_code = ForTxnClient(error, req.version() >= 4);
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
