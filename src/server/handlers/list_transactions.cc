// ListTransactions (66, KIP-664): the transactional ids this broker coordinates, filtered by
// state and producer id, and (v1, KIP-994) by how long the transaction has been running;
// unknown state names are reported back, as Kafka does.
#include "gregor/protocol/messages/list_transactions.h"

#include <set>

#include "gregor/txn/transaction_metadata.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleListTransactions(ServerContext& ctx, Request& req, Response& resp) {
  using protocol::ErrorCode;
  protocol::ListTransactionsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ListTransactionsResponse out;
  std::set<std::string> states;
  for (const auto& s : in.state_filters) {
    if (txn::ParseTransactionState(s).has_value()) {
      states.insert(s);
    } else {
      out.unknown_state_filters.push_back(s);
    }
  }
  std::set<int64_t> pids(in.producer_id_filters.begin(), in.producer_id_filters.end());
  ErrorCode error = ErrorCode::kCoordinatorNotAvailable;
  std::vector<txn::TransactionListing> listed;
  // Only unknown states asked for: nothing can match.
  if (ctx.txns != nullptr && (in.state_filters.empty() || !states.empty())) {
    // v0 decodes DurationFilter as its default, -1: no filter.
    error = ctx.txns->List(pids, states, &listed, in.duration_filter);
  } else if (ctx.txns != nullptr) {
    error = ErrorCode::kNone;
  }
  out.error_code = error;
  for (const auto& l : listed) {
    // Only the transactional ids the principal may DESCRIBE.
    if (!Authorized(ctx, req.conn, AclRuleId::kListTransactions, l.transactional_id, false)) {
      continue;
    }
    auto& s = out.transaction_states.emplace_back();
    s.transactional_id = l.transactional_id;
    s.producer_id = l.producer_id;
    s.transaction_state = l.state;
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
