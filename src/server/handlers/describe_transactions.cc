// DescribeTransactions (65, KIP-664): the coordinator's view of transactional ids (state,
// producer id and epoch, timeout, start time, partitions), for kafka-transactions.sh and
// gregorctl.
#include "gregor/protocol/messages/describe_transactions.h"

#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleDescribeTransactions(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::DescribeTransactionsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::DescribeTransactionsResponse out;
  for (const auto& id : in.transactional_ids) {
    auto& s = out.transaction_states.emplace_back();
    s.transactional_id = id;
    s.producer_id = -1;
    s.producer_epoch = -1;
    s.transaction_start_time_ms = -1;
    if (!Authorized(ctx, req.conn, AclRuleId::kDescribeTransactions, id)) {
      s.error_code = Denied(AclRuleId::kDescribeTransactions);
      continue;
    }
    if (ctx.txns == nullptr) {
      s.error_code = ErrorCode::kCoordinatorNotAvailable;
      continue;
    }
    txn::TransactionDescription d = ctx.txns->Describe(id);
    s.error_code = d.error;
    if (d.error != ErrorCode::kNone) continue;
    s.transaction_state = d.state;
    s.transaction_timeout_ms = d.timeout_ms;
    s.transaction_start_time_ms = d.start_time_ms;
    s.producer_id = d.producer_id;
    s.producer_epoch = d.producer_epoch;
    for (const auto& tp : d.partitions) {
      if (!Authorized(ctx, req.conn, AclRuleId::kDescribeTransactionsTopic, tp.topic, false)) {
        continue;
      }
      if (s.topics.empty() || s.topics.back().topic != tp.topic)
        s.topics.emplace_back().topic = tp.topic;
      s.topics.back().partitions.push_back(tp.partition);
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
