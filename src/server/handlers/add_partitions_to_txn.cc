// AddPartitionsToTxn (24): a transactional producer names the partitions it is about to write
// (v0-3, one transaction), and partition leaders ask whether a transactional batch belongs to an
// ongoing transaction (v4 with verify_only, KIP-890 part 1; v4 also batches transactions).
// Answered by the transactional id's coordinator; per-partition error codes, all partitions of
// a transaction sharing its error as in Kafka. v5 (KIP-890) says that the sender handles
// TRANSACTION_ABORTABLE, what the coordinator answers for a partition outside the producer's
// transaction; a v4 sender (a Kafka 3.7 partition leader) gets INVALID_TXN_STATE, the code it
// knows. (Kafka 3.9 answers TRANSACTION_ABORTABLE at v4 too; v4 senders older than 3.8 then
// see an unknown code.)
#include "gregor/protocol/messages/add_partitions_to_txn.h"

#include <set>

#include "gregor/group/group_records.h"
#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
using Topic = protocol::AddPartitionsToTxnRequest::AddPartitionsToTxnTopic;
using TopicResult = protocol::AddPartitionsToTxnResponse::AddPartitionsToTxnTopicResult;

std::set<TopicPartition> PartitionsOf(const std::vector<Topic>& topics) {
  std::set<TopicPartition> out;
  for (const auto& t : topics) {
    for (int32_t p : t.partitions) out.insert({t.name, p});
  }
  return out;
}

std::vector<TopicResult> Results(const std::map<TopicPartition, ErrorCode>& errors,
                                 int16_t version) {
  std::vector<TopicResult> out;
  for (const auto& [tp, e] : errors) {
    if (out.empty() || out.back().name != tp.topic) out.emplace_back().name = tp.topic;
    auto& r = out.back().results_by_partition.emplace_back();
    r.partition_index = tp.partition;
    r.partition_error_code = ForTxnClient(e, version >= 5);
  }
  return out;
}

// Kafka's handleAddPartitionsToTxnRequest: unknown topics or partitions fail the request
// (UNKNOWN_TOPIC_OR_PARTITION for them, OPERATION_NOT_ATTEMPTED for the rest).
bool CheckKnown(ServerContext& ctx, const std::set<TopicPartition>& tps,
                std::map<TopicPartition, ErrorCode>* errors) {
  auto md = ctx.metadata->Get();
  bool all = true;
  for (const auto& tp : tps) {
    auto t = md->topics.find(tp.topic);
    if (t == md->topics.end() || !t->second.partitions.count(tp.partition)) {
      (*errors)[tp] = ErrorCode::kUnknownTopicOrPartition;
      all = false;
    }
  }
  if (!all) {
    for (const auto& tp : tps) errors->emplace(tp, ErrorCode::kOperationNotAttempted);
  }
  return all;
}

// WRITE on the transactional id (v0-3; v4+ comes from brokers, authorized as a whole), then
// WRITE on each topic but the internal ones: refused topics answer TOPIC_AUTHORIZATION_FAILED
// and the rest OPERATION_NOT_ATTEMPTED.
bool CheckAuthorized(ServerContext& ctx, const Request& req, const std::string& id,
                     const std::set<TopicPartition>& tps,
                     std::map<TopicPartition, ErrorCode>* errors) {
  if (req.version() <= 3 &&
      !Authorized(ctx, req.conn, AclRuleId::kAddPartitionsToTxnTransactional, id)) {
    for (const auto& tp : tps) (*errors)[tp] = Denied(AclRuleId::kAddPartitionsToTxnTransactional);
    return false;
  }
  bool all = true;
  for (const auto& tp : tps) {
    if (tp.topic == group::kOffsetsTopic || tp.topic == txn::kTransactionStateTopicName) continue;
    if (!Authorized(ctx, req.conn, AclRuleId::kAddPartitionsToTxnTopic, tp.topic)) {
      (*errors)[tp] = Denied(AclRuleId::kAddPartitionsToTxnTopic);
      all = false;
    }
  }
  if (!all) {
    for (const auto& tp : tps) errors->emplace(tp, ErrorCode::kOperationNotAttempted);
  }
  return all;
}

asio::awaitable<std::map<TopicPartition, ErrorCode>> AddOne(ServerContext& ctx, const Request& req,
                                                            const std::string& id, int64_t pid,
                                                            int16_t epoch, bool verify_only,
                                                            const std::set<TopicPartition>& tps) {
  std::map<TopicPartition, ErrorCode> errors;
  if (!CheckAuthorized(ctx, req, id, tps, &errors)) co_return errors;
  if (ctx.txns == nullptr) {
    for (const auto& tp : tps) errors[tp] = ErrorCode::kCoordinatorNotAvailable;
    co_return errors;
  }
  if (verify_only) co_return ctx.txns->VerifyPartitions(id, pid, epoch, tps);
  if (!CheckKnown(ctx, tps, &errors)) co_return errors;
  std::function<void(std::function<void(ErrorCode)>)> start =
      [&](std::function<void(ErrorCode)> done) {
        ctx.txns->AddPartitions(id, pid, epoch, tps, std::move(done));
      };
  std::optional<ErrorCode> e = co_await AwaitCallback<ErrorCode>(start);
  for (const auto& tp : tps) errors[tp] = e.value_or(ErrorCode::kCoordinatorNotAvailable);
  co_return errors;
}

}  // namespace

asio::awaitable<bool> HandleAddPartitionsToTxn(ServerContext& ctx, Request& req, Response& resp) {
  protocol::AddPartitionsToTxnRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::AddPartitionsToTxnResponse out;
  if (req.version() >= 4 && !Authorized(ctx, req.conn, AclRuleId::kAddPartitionsToTxnVerify)) {
    out.error_code = Denied(AclRuleId::kAddPartitionsToTxnVerify);
  } else if (req.version() <= 3) {
    auto errors = co_await AddOne(ctx, req, in.v3_and_below_transactional_id,
                                  in.v3_and_below_producer_id, in.v3_and_below_producer_epoch,
                                  false, PartitionsOf(in.v3_and_below_topics));
    out.results_by_topic_v3_and_below = Results(errors, req.version());
  } else {
    for (const auto& t : in.transactions) {
      auto errors = co_await AddOne(ctx, req, t.transactional_id, t.producer_id, t.producer_epoch,
                                    t.verify_only, PartitionsOf(t.topics));
      auto& r = out.results_by_transaction.emplace_back();
      r.transactional_id = t.transactional_id;
      r.topic_results = Results(errors, req.version());
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
