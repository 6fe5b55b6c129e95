// Produce (0): append client record batches to partition leaders; with
// acks=all, answer once every in-sync replica has the records (the high
// watermark passed them) or the request's timeout expired (Kafka's
// DelayedProduce). With transaction.partition.verification.enable (KIP-890 part 1), a
// transactional batch of a producer that has no ongoing transaction in the partition is first
// verified with the transaction coordinator (Kafka's ReplicaManager.appendRecords).
// v10 adds KIP-951 leader discovery to NOT_LEADER_OR_FOLLOWER answers; v11 lets the
// verification's TRANSACTION_ABORTABLE through (KIP-890 part 2).
#include "gregor/protocol/messages/produce.h"

#include <glog/logging.h>

#include <charconv>
#include <chrono>
#include <set>
#include <string_view>

#include "gregor/log/producer_state.h"
#include "gregor/protocol/record_batch.h"
#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/await_callback.h"
#include "server/handlers/handlers.h"
#include "server/handlers/leader_discovery.h"
#include "server/handlers/replication_wait.h"
#include "server/request_dispatcher.h"
#include "server/request_metrics.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

// The Produce response's record errors (v8+) and its error message: how many records were
// refused, and why for the first three.
void SetRecordErrors(const log::RecordErrors& e,
                     protocol::ProduceResponse::PartitionProduceResponse* pr) {
  pr->error_code = e.invalid_timestamp ? ErrorCode::kInvalidTimestamp : ErrorCode::kInvalidRecord;
  std::string m = std::to_string(e.errors.size()) + " record(s) refused";
  for (size_t i = 0; i < e.errors.size() && i < 3; ++i) {
    m += (i ? "; " : ": ") + std::string("record ") + std::to_string(e.errors[i].batch_index) +
         " (" + e.errors[i].message + ")";
  }
  pr->error_message = std::move(m);
  pr->record_errors.clear();
  for (const auto& r : e.errors) pr->record_errors.push_back({r.batch_index, r.message});
}

// A partition's record set, checked and ready to append.
struct Append {
  size_t topic_index;
  size_t partition_index;
  std::shared_ptr<cluster::Partition> partition;
  uint8_t* data;
  size_t size;
  int32_t min_isr;
  // KIP-890 part 1: the producer of the record set's transactional batches (-1: none, or
  // verification off), and the guard its append carries (see Log::AppendAsLeader).
  int64_t txn_producer_id = -1;
  int16_t txn_producer_epoch = -1;
  log::VerificationGuard guard = log::kNoVerificationGuard;
};

// The producer of the first transactional data batch of a record set, if any (Kafka looks at
// the transactional batches and verifies with the first batch's producer id and epoch).
bool TransactionalProducer(const uint8_t* p, size_t size, int64_t* producer_id,
                           int16_t* producer_epoch) {
  size_t pos = 0;
  while (pos < size) {
    protocol::RecordBatchHeader h;
    if (!protocol::ParseRecordBatchHeader(p + pos, size - pos, &h) || h.batch_length < 0 ||
        h.total_size() > size - pos) {
      return false;
    }
    if (h.producer_id >= 0 && h.is_transactional() && !h.is_control()) {
      *producer_id = h.producer_id;
      *producer_epoch = h.producer_epoch;
      return true;
    }
    pos += h.total_size();
  }
  return false;
}

}  // namespace

asio::awaitable<bool> HandleProduce(ServerContext& ctx, Request& req, Response& resp) {
  protocol::ProduceRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ProduceResponse out;
  const bool acks_valid = in.acks == -1 || in.acks == 0 || in.acks == 1;
  auto* frame_base = reinterpret_cast<uint8_t*>(req.frame.data());
  std::vector<Append> appends;
  std::vector<ReplicationWait> pending;

  // Transactional batches need a transactional id that the principal may WRITE, checked
  // before any topic (Kafka's handleProduceRequest: otherwise TRANSACTIONAL_ID_AUTHORIZATION_FAILED
  // for every partition and nothing appended).
  const bool has_txn_records = [&] {
    for (const auto& topic : in.topic_data) {
      for (const auto& pd : topic.partition_data) {
        int64_t pid = -1;
        int16_t epoch = -1;
        if (!pd.records.is_null &&
            TransactionalProducer(reinterpret_cast<const uint8_t*>(pd.records.bytes.data()),
                                  pd.records.bytes.size(), &pid, &epoch)) {
          return true;
        }
      }
    }
    return false;
  }();
  const bool txn_denied =
      has_txn_records &&
      (!in.transactional_id || in.transactional_id->empty() ||
       !Authorized(ctx, req.conn, AclRuleId::kProduceTransactionalId, *in.transactional_id));
  if (txn_denied) VLOG(1) << "[Produce] transactional records not authorized";

  for (auto& topic : in.topic_data) {
    auto& tr = out.responses.emplace_back();
    tr.name = topic.name;
    int32_t min_isr = -1;
    const bool may_write =
        txn_denied || Authorized(ctx, req.conn, AclRuleId::kProduceTopic, topic.name);
    for (auto& pd : topic.partition_data) {
      auto& pr = tr.partition_responses.emplace_back();
      pr.index = pd.index;
      pr.base_offset = -1;
      if (!acks_valid) {
        pr.error_code = ErrorCode::kInvalidRequiredAcks;
        continue;
      }
      if (txn_denied) {
        pr.error_code = ErrorCode::kTransactionalIdAuthorizationFailed;
        continue;
      }
      if (!may_write) {
        pr.error_code = Denied(AclRuleId::kProduceTopic);
        continue;
      }
      TopicPartition tp{topic.name, pd.index};
      auto partition = ctx.replicas->GetPartition(tp);
      if (!partition) {
        auto md = ctx.metadata->Get();
        auto t = md->topics.find(topic.name);
        bool known = t != md->topics.end() && t->second.partitions.count(pd.index);
        pr.error_code =
            known ? ErrorCode::kNotLeaderOrFollower : ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      if (pd.records.is_null || pd.records.bytes.empty()) {
        pr.error_code = ErrorCode::kInvalidRecord;
        pr.error_message = "a produce request must carry at least one record batch";
        continue;
      }
      // Message format v2 only (KIP-896): the magic byte sits at offset 16.
      if (pd.records.bytes.size() > 16 && pd.records.bytes[16] != 2) {
        pr.error_code = ErrorCode::kUnsupportedForMessageFormat;
        pr.error_message = "only message format v2 (magic 2) is accepted";
        continue;
      }
      // min.insync.replicas matters only to acks=all; looking it up copies
      // the topic's config map, so acks=0/1 requests skip it.
      if (in.acks == -1 && min_isr < 0) min_isr = MinInsyncReplicas(ctx, topic.name);
      // The batches are stamped in place inside the request frame: no copy.
      uint8_t* data = frame_base + (reinterpret_cast<const uint8_t*>(pd.records.bytes.data()) -
                                    reinterpret_cast<const uint8_t*>(req.frame.data()));
      appends.push_back({out.responses.size() - 1, tr.partition_responses.size() - 1,
                         std::move(partition), data, pd.records.bytes.size(), min_isr});
    }
  }
  // KIP-890 part 1: which record sets need the coordinator's word first. Only requests with a
  // transactional id (Kafka: none means no verification) and transactional batches.
  const bool verify = ctx.txn_verifier != nullptr &&
                      ctx.config->transaction_partition_verification_enable &&
                      in.transactional_id && !in.transactional_id->empty();
  if (verify) {
    std::set<int64_t> producers;
    for (auto& a : appends) {
      if (TransactionalProducer(a.data, a.size, &a.txn_producer_id, &a.txn_producer_epoch)) {
        producers.insert(a.txn_producer_id);
      }
    }
    if (producers.size() > 1) {
      // Kafka: "Transactional records contained more than one producer ID".
      for (auto& a : appends) {
        if (a.txn_producer_id < 0) continue;
        auto& pr = out.responses[a.topic_index].partition_responses[a.partition_index];
        pr.error_code = ErrorCode::kInvalidProducerIdMapping;
        a.partition.reset();
      }
      std::erase_if(appends, [](const Append& a) { return !a.partition; });
    }
  }
  auto append_one = [&](Append& a) {
    auto& pr = out.responses[a.topic_index].partition_responses[a.partition_index];
    const TopicPartition& tp = a.partition->topic_partition();
    log::RecordErrors record_errors;
    auto result = a.partition->AppendRecordsToLeader(
        a.data, a.size, in.acks, a.min_isr, log::AppendOrigin::kClient,
        a.txn_producer_id >= 0 ? std::optional<log::VerificationGuard>(a.guard) : std::nullopt,
        &record_errors);
    cluster::TopicCounters& counters = a.partition->topic_counters();
    counters.produce_requests.Add();
    if (!result.ok() && !record_errors.errors.empty()) {
      counters.failed_produce_requests.Add();
      SetRecordErrors(record_errors, &pr);
      VLOG(1) << "[Produce " << tp.ToString() << "] " << pr.error_message.value_or("");
      return;
    }
    if (!result.ok()) {
      counters.failed_produce_requests.Add();
      ErrorCode ec = ProduceError(result.status());
      pr.error_code = ec;
      if (req.version() >= 8) pr.error_message = result.status().message();
      VLOG(1) << "[Produce " << tp.ToString() << "] " << protocol::ErrorCodeName(ec) << ": "
              << result.status().ToString();
      return;
    }
    if (!result->duplicate) {
      counters.bytes_in.Add(a.size);
      counters.messages_in.Add(static_cast<uint64_t>(result->record_count));
    }
    pr.base_offset = result->first_offset;
    pr.log_append_time_ms = result->log_append_time;
    pr.log_start_offset = result->log_start_offset;
    ctx.replicas->listeners().Notify(tp);
    if (in.acks == -1) {
      pending.push_back(
          {a.partition, result->last_offset + 1, result->leader_epoch, a.min_isr, &pr.error_code});
    }
  };
  // The appends write files (and may roll a segment, write indexes, fsync for
  // flush.messages): on the I/O pool, all of the request's partitions in one hop. Record sets
  // whose producer has no ongoing transaction in the partition wait for the verification
  // (Kafka's maybeStartTransactionVerification); the rest go now.
  std::vector<Append*> unverified;
  if (!appends.empty()) {
    co_await ctx.run_io([&] {
      for (auto& a : appends) {
        if (a.txn_producer_id >= 0) {
          if (auto log = a.partition->log()) {
            a.guard = log->MaybeStartTransactionVerification(a.txn_producer_id);
            if (a.guard != log::kNoVerificationGuard) {
              unverified.push_back(&a);
              continue;
            }
          }
        }
        append_one(a);
      }
    });
  }
  if (!unverified.empty()) {
    std::set<TopicPartition> tps;
    for (Append* a : unverified) tps.insert(a->partition->topic_partition());
    const int64_t pid = unverified.front()->txn_producer_id;
    const int16_t epoch = unverified.front()->txn_producer_epoch;
    std::function<void(std::function<void(std::map<TopicPartition, ErrorCode>)>)> start =
        [&](std::function<void(std::map<TopicPartition, ErrorCode>)> done) {
          ctx.txn_verifier->Verify(*in.transactional_id, pid, epoch, tps, std::move(done));
        };
    auto errors = co_await AwaitCallback<std::map<TopicPartition, ErrorCode>>(start);
    std::vector<Append*> verified;
    for (Append* a : unverified) {
      const TopicPartition& tp = a->partition->topic_partition();
      ErrorCode ec = ErrorCode::kNotEnoughReplicas;  // no answer: unable to verify, retriable
      if (errors) {
        auto e = errors->find(tp);
        if (e != errors->end()) ec = e->second;
      }
      if (ec == ErrorCode::kNone) {
        verified.push_back(a);
        continue;
      }
      // KIP-890: only v11+ clients know TRANSACTION_ABORTABLE (Kafka's KafkaApis: genericError
      // above v10).
      ec = ForTxnClient(ec, req.version() >= 11);
      auto& pr = out.responses[a->topic_index].partition_responses[a->partition_index];
      pr.error_code = ec;
      if (req.version() >= 8) {
        // Kafka's messages for the errors it rewrites.
        if (ec == ErrorCode::kInvalidTxnState) {
          pr.error_message = "Partition was not added to the transaction";
        } else if (ec == ErrorCode::kNotEnoughReplicas) {
          pr.error_message = "Unable to verify the partition has been added to the transaction";
        }
      }
      VLOG(1) << "[Produce " << tp.ToString() << "] verification of producer " << pid << " epoch "
              << epoch << " failed: " << protocol::ErrorCodeName(ec);
    }
    if (!verified.empty()) {
      co_await ctx.run_io([&] {
        for (Append* a : verified) append_one(*a);
      });
    }
  }
  // producer_byte_rate counts the whole request, as Kafka's request.sizeInBytes.
  if (ctx.quotas != nullptr && ctx.quotas->Enabled(QuotaType::kProduce)) {
    resp.throttle_ms =
        ctx.quotas->Record(QuotaType::kProduce, QuotaUser(req.conn), req.conn.client_id,
                           static_cast<double>(req.frame.size() + 4), ctx.clock->NowMs());
  }
  if (in.acks == 0) {
    resp.send = false;
    FinishRequestQuotas(ctx, req, resp);  // no response, but the connection is muted
    co_return true;
  }
  if (!pending.empty()) {
    req.conn.ParkRequest();  // waiting on followers: out of the request queue (purgatory)
    RequestMetrics::Parked parked(ctx.request_metrics ? &ctx.request_metrics->purgatory().produce
                                                      : nullptr);
    co_await AwaitReplication(ctx, in.timeout_ms, pending);
  }
  // KIP-951 (v10+): where a partition's leader is, for every NOT_LEADER_OR_FOLLOWER (Kafka 3.9's
  // handleProduceRequest looks at that error only; Produce carries no leader epoch to fence).
  if (req.version() >= 10) {
    LeaderDiscovery leaders(ctx, req.conn.listener_name);
    for (auto& tr : out.responses) {
      for (auto& pr : tr.partition_responses) {
        if (pr.error_code != ErrorCode::kNotLeaderOrFollower) continue;
        LeaderDiscovery::Leader l = leaders.Lookup(TopicPartition{tr.name, pr.index});
        pr.current_leader.leader_id = l.leader_id;
        pr.current_leader.leader_epoch = l.leader_epoch;
      }
    }
    leaders.FillNodeEndpoints(&out.node_endpoints);
  }
  // ThrottleTimeMs is Produce's last field: settled here rather than patched by the dispatcher.
  out.throttle_time_ms = FinishRequestQuotas(ctx, req, resp);
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
