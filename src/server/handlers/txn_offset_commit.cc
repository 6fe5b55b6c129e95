// TxnOffsetCommit (28): a transactional producer's consumed positions
// (Kafka's handleTxnOffsetCommitRequest). The group coordinator writes them
// to __consumer_offsets as one transactional batch of the producer and keeps
// them pending until the transaction's marker; answers once replicated.
// Unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION.
// With transaction.partition.verification.enable (KIP-890 part 1, Kafka 3.7's
// handleTxnCommitOffsets), a producer without an open transaction in the group's
// __consumer_offsets partition is first verified with its transaction coordinator, so that
// offsets of an ended (or never begun) transaction cannot open one nobody will end.
// A verification the coordinator refuses answers TRANSACTION_ABORTABLE from v4 on (KIP-890;
// Kafka 3.9's GroupCoordinator passes genericError from v4) and INVALID_TXN_STATE below.
#include "gregor/protocol/messages/txn_offset_commit.h"

#include <glog/logging.h>

#include "gregor/log/producer_state.h"
#include "gregor/txn/add_partitions_to_txn_manager.h"
#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

// Kafka's GroupMetadataManager.maybeConvertOffsetCommitError for what a verification
// answers (the verifier has already turned the coordinator's retriable errors into
// NOT_ENOUGH_REPLICAS, as for a produce).
ErrorCode OffsetCommitErrorFor(ErrorCode e) {
  switch (e) {
    case ErrorCode::kNetworkException:
      return ErrorCode::kCoordinatorLoadInProgress;
    case ErrorCode::kUnknownTopicOrPartition:
    case ErrorCode::kNotEnoughReplicas:
    case ErrorCode::kNotEnoughReplicasAfterAppend:
      return ErrorCode::kCoordinatorNotAvailable;
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kKafkaStorageError:
      return ErrorCode::kNotCoordinator;
    default:
      return e;
  }
}

// Verifies (group, producer) with the transaction coordinator when the producer has no open
// transaction in the group's offsets partition here. Returns the error to answer for every
// partition, or nullopt to go on (with p->verification set when a guard was taken).
asio::awaitable<std::optional<ErrorCode>> MaybeVerify(group::GroupCoordinator& gc,
                                                      ServerContext& ctx,
                                                      group::TxnOffsetCommitParams* p) {
  if (ctx.txn_verifier == nullptr || !ctx.config->transaction_partition_verification_enable ||
      p->producer_id < 0 || p->transactional_id.empty()) {
    co_return std::nullopt;
  }
  // Invalid id, not the coordinator, loading: CommitTxnOffsets answers that, unverified.
  if (gc.ValidateTxnOffsetCommitGroup(p->group_id)) co_return std::nullopt;
  const TopicPartition offsets_tp{group::kOffsetsTopic, gc.PartitionFor(p->group_id)};
  auto partition = ctx.replicas->GetPartition(offsets_tp);
  std::shared_ptr<log::Log> log = partition ? partition->log() : nullptr;
  if (!log || !partition->IsLeader()) co_return std::nullopt;
  log::VerificationGuard guard = log::kNoVerificationGuard;
  co_await ctx.run_io([&] { guard = log->MaybeStartTransactionVerification(p->producer_id); });
  if (guard == log::kNoVerificationGuard) co_return std::nullopt;  // its transaction is open here
  std::function<void(std::function<void(std::map<TopicPartition, ErrorCode>)>)> start =
      [&](std::function<void(std::map<TopicPartition, ErrorCode>)> done) {
        ctx.txn_verifier->Verify(p->transactional_id, p->producer_id, p->producer_epoch,
                                 {offsets_tp}, std::move(done));
      };
  auto errors = co_await AwaitCallback<std::map<TopicPartition, ErrorCode>>(start);
  ErrorCode ec = ErrorCode::kNotEnoughReplicas;
  if (errors) {
    if (auto e = errors->find(offsets_tp); e != errors->end()) ec = e->second;
  }
  if (ec != ErrorCode::kNone) {
    VLOG(1) << "[TxnOffsetCommit] group " << p->group_id << ": verification of producer "
            << p->producer_id << " epoch " << p->producer_epoch << " (" << p->transactional_id
            << ") failed: " << protocol::ErrorCodeName(ec);
    co_return OffsetCommitErrorFor(ec);
  }
  p->verification = guard;
  co_return std::nullopt;
}

}  // namespace

asio::awaitable<bool> HandleTxnOffsetCommit(group::GroupCoordinator& gc, ServerContext& ctx,
                                            Request& req, Response& resp) {
  protocol::TxnOffsetCommitRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();

  group::TxnOffsetCommitParams p;
  p.group_id = in.group_id;
  p.transactional_id = in.transactional_id;
  p.producer_id = in.producer_id;
  p.producer_epoch = in.producer_epoch;
  // v3 (KIP-447) carries the consumer's generation and member; older versions decode defaults.
  p.generation_id = in.generation_id;
  p.member_id = in.member_id;
  p.group_instance_id = in.group_instance_id;

  std::map<TopicPartition, protocol::ErrorCode> results;
  auto md = ctx.metadata->Get();
  // WRITE on the transactional id, then READ on the group (either refused: every partition
  // gets that error), then READ on each topic.
  std::optional<AclRuleId> denied_by;
  if (!Authorized(ctx, req.conn, AclRuleId::kTxnOffsetCommitTransactional, in.transactional_id)) {
    denied_by = AclRuleId::kTxnOffsetCommitTransactional;
  } else if (!Authorized(ctx, req.conn, AclRuleId::kTxnOffsetCommitGroup, in.group_id)) {
    denied_by = AclRuleId::kTxnOffsetCommitGroup;
  }
  for (const auto& t : in.topics) {
    auto topic = md->topics.find(t.name);
    std::optional<AclRuleId> topic_refused = denied_by;
    if (!topic_refused && !Authorized(ctx, req.conn, AclRuleId::kTxnOffsetCommitTopic, t.name)) {
      topic_refused = AclRuleId::kTxnOffsetCommitTopic;
    }
    for (const auto& part : t.partitions) {
      TopicPartition tp{t.name, part.partition_index};
      if (topic_refused) {
        results[tp] = Denied(*topic_refused);
        continue;
      }
      if (topic == md->topics.end() || !topic->second.partitions.count(part.partition_index)) {
        results[tp] = protocol::ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      group::OffsetAndMetadata o;
      o.offset = part.committed_offset;
      o.leader_epoch = v >= 2 ? part.committed_leader_epoch : -1;
      o.metadata = part.committed_metadata.value_or("");
      p.offsets[tp] = std::move(o);
    }
  }
  if (!p.offsets.empty()) {
    if (auto refused = co_await MaybeVerify(gc, ctx, &p)) {
      for (const auto& [tp, o] : p.offsets) results[tp] = *refused;
      p.offsets.clear();
    }
  }
  if (!p.offsets.empty()) {
    req.conn.ParkRequest();  // waits for the batch to replicate: out of the request queue
    auto committed = co_await AwaitCompletion<std::map<TopicPartition, protocol::ErrorCode>>(
        [&](std::function<void(std::map<TopicPartition, protocol::ErrorCode>)> done) {
          gc.CommitTxnOffsets(std::move(p), std::move(done));
        });
    results.insert(committed.begin(), committed.end());
  }

  protocol::TxnOffsetCommitResponse out;
  for (const auto& t : in.topics) {
    auto& ot = out.topics.emplace_back();
    ot.name = t.name;
    for (const auto& part : t.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = part.partition_index;
      auto it = results.find({t.name, part.partition_index});
      protocol::ErrorCode e =
          it == results.end() ? protocol::ErrorCode::kUnknownServerError : it->second;
      // Producers before Kafka 2.0 (KAFKA-7296) do not retry COORDINATOR_LOAD_IN_PROGRESS;
      // versions 0-1 get the retriable COORDINATOR_NOT_AVAILABLE instead, as Kafka does.
      if (v < 2 && e == protocol::ErrorCode::kCoordinatorLoadInProgress) {
        e = protocol::ErrorCode::kCoordinatorNotAvailable;
      }
      op.error_code = ForTxnClient(e, v >= 4);
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
