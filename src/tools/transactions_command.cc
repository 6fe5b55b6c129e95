// gregorctl transactions list|describe|describe-producers|abort over the raw
// protocol client (librdkafka 2.0 has no admin API for ListTransactions,
// DescribeTransactions, DescribeProducers or WriteTxnMarkers).
//
// Every command runs under one deadline, socket.timeout.ms from now (default
// 30 s). Errors a Kafka admin client retries (a coordinator loading or moved,
// a leader moved or not elected yet, a connection lost) are retried with a
// short backoff until then; the last one is reported if time runs out.

#include "tools/transactions_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/describe_producers.h"
#include "gregor/protocol/messages/describe_transactions.h"
#include "gregor/protocol/messages/find_coordinator.h"
#include "gregor/protocol/messages/list_transactions.h"
#include "gregor/protocol/messages/write_txn_markers.h"
#include "tools/protocol_client.h"

namespace gregor::tools {

namespace {

using protocol::ErrorCode;

int Fail(const std::string& message) {
  std::fprintf(stderr, "Error: %s\n", message.c_str());
  return 1;
}

bool Is(int16_t code, ErrorCode e) { return code == protocol::ToInt16(e); }

// "NAME" or "NAME: message" when the broker sent one.
std::string ErrorText(int16_t code, const std::optional<std::string>& message = std::nullopt) {
  std::string text = protocol::ErrorCodeName(code);
  if (message && !message->empty() && *message != text) text += ": " + *message;
  return text;
}

// One attempt's outcome: done, worth another try, or final.
enum class Outcome { kDone, kRetry, kFail };

// Sleeps before attempt `attempt` + 1 (50 ms doubling, at most 1 s); false
// when that would pass the deadline.
bool Backoff(const Cluster& cluster, int attempt) {
  const auto pause = std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 5)));
  if (Clock::now() + pause >= cluster.deadline()) return false;
  std::this_thread::sleep_for(pause);
  return true;
}

Status GaveUp(const std::string& what, int timeout_ms, const Status& last) {
  return Status::Timeout(what + ": no success within " + std::to_string(timeout_ms) +
                         " ms (socket.timeout.ms); last error: " + last.message());
}

// A transport failure (connection refused, lost, timed out) is worth retrying;
// an unsupported API or a malformed response is not.
Outcome TransportOutcome(const Status& s) {
  return s.code() == Status::Code::kUnavailable ? Outcome::kRetry : Outcome::kFail;
}

// ---------------------------------------------------------------------------
// list

int RunList(Cluster& cluster, const TxnListOptions& o, int timeout_ms) {
  Result<const protocol::MetadataResponse*> md = cluster.Metadata();
  for (int attempt = 0; !md.ok(); ++attempt) {
    if (TransportOutcome(md.status()) == Outcome::kFail) return Fail(md.status().message());
    if (!Backoff(cluster, attempt)) {
      return Fail(GaveUp("list", timeout_ms, md.status()).message());
    }
    md = cluster.Metadata(true);
  }
  std::vector<int32_t> ids;
  for (const auto& b : (*md)->brokers) ids.push_back(b.node_id);
  std::sort(ids.begin(), ids.end());

  protocol::ListTransactionsRequest req;
  req.state_filters = o.states;
  req.producer_id_filters = o.producer_ids;
  std::vector<TransactionListing> rows;
  int failures = 0, answered = 0;
  for (int32_t id : ids) {
    const std::string where = "ListTransactions on broker " + std::to_string(id);
    Status last = Status::Ok();
    bool done = false;
    for (int attempt = 0; !done; ++attempt) {
      Outcome outcome = Outcome::kFail;
      Result<BrokerConnection*> conn = cluster.Broker(id);
      if (!conn.ok()) {
        last = conn.status();
        outcome = TransportOutcome(last);
      } else {
        Result<protocol::ListTransactionsResponse> resp =
            (*conn)->Call<protocol::ListTransactionsResponse>(req, cluster.deadline());
        if (!resp.ok()) {
          last = resp.status();
          outcome = TransportOutcome(last);
        } else if (Is(resp->error_code, ErrorCode::kCoordinatorLoadInProgress)) {
          last = Status::Unavailable(ErrorText(resp->error_code));
          outcome = Outcome::kRetry;
        } else if (resp->error_code != 0) {
          last = Status::Unavailable(ErrorText(resp->error_code));
        } else {
          for (const auto& unknown : resp->unknown_state_filters) {
            std::fprintf(stderr, "Warning: broker %d does not know the state '%s'\n", id,
                         unknown.c_str());
          }
          for (const auto& t : resp->transaction_states) {
            rows.push_back({t.transactional_id, id, t.producer_id, t.transaction_state});
          }
          outcome = Outcome::kDone;
        }
      }
      if (outcome == Outcome::kDone) {
        ++answered;
        done = true;
      } else if (outcome == Outcome::kFail || !Backoff(cluster, attempt)) {
        std::fprintf(stderr, "Error: %s: %s\n", where.c_str(), last.message().c_str());
        ++failures;
        done = true;
      }
    }
  }
  if (answered > 0) std::fputs(FormatTransactionList(std::move(rows)).c_str(), stdout);
  return failures == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------
// describe

struct Coordinator {
  int32_t node_id = -1;
  HostPort address;
};

// FindCoordinator with key type 1 (transactional id) on any broker.
Outcome FindTxnCoordinator(Cluster& cluster, const std::string& transactional_id, Coordinator* out,
                           Status* error) {
  Result<BrokerConnection*> conn = cluster.AnyBroker();
  if (!conn.ok()) {
    *error = conn.status();
    return TransportOutcome(*error);
  }
  // Key type 1 needs v1; v4 batches the keys.
  Result<int16_t> v = (*conn)->PickVersion(protocol::ApiKey::kFindCoordinator, 1,
                                           protocol::FindCoordinatorRequest::kMaxVersion);
  if (!v.ok()) {
    *error = v.status();
    return Outcome::kFail;
  }
  protocol::FindCoordinatorRequest req;
  req.key_type = 1;
  if (*v >= 4) {
    req.coordinator_keys = {transactional_id};
  } else {
    req.key = transactional_id;
  }
  Result<protocol::FindCoordinatorResponse> resp =
      (*conn)->Call<protocol::FindCoordinatorResponse>(req, *v, cluster.deadline());
  if (!resp.ok()) {
    *error = resp.status();
    return TransportOutcome(*error);
  }
  int16_t code = resp->error_code;
  std::optional<std::string> message = resp->error_message;
  Coordinator c{resp->node_id, HostPort{resp->host, resp->port}};
  if (*v >= 4) {
    if (resp->coordinators.size() != 1) {
      *error = Status::Corruption("FindCoordinator answered " +
                                  std::to_string(resp->coordinators.size()) +
                                  " coordinators for one key");
      return Outcome::kFail;
    }
    const auto& k = resp->coordinators[0];
    code = k.error_code;
    message = k.error_message;
    c = Coordinator{k.node_id, HostPort{k.host, k.port}};
  }
  if (code != 0) {
    *error = Status::Unavailable("FindCoordinator for transactional id '" + transactional_id +
                                 "': " + ErrorText(code, message));
    const bool retriable = Is(code, ErrorCode::kCoordinatorNotAvailable) ||
                           Is(code, ErrorCode::kCoordinatorLoadInProgress) ||
                           Is(code, ErrorCode::kNotCoordinator);
    return retriable ? Outcome::kRetry : Outcome::kFail;
  }
  *out = std::move(c);
  return Outcome::kDone;
}

Outcome DescribeOnce(Cluster& cluster, const std::string& tid, TransactionDescription* out,
                     Status* error) {
  Coordinator coordinator;
  Outcome found = FindTxnCoordinator(cluster, tid, &coordinator, error);
  if (found != Outcome::kDone) return found;
  Result<BrokerConnection*> conn = cluster.Connect(coordinator.address);
  if (!conn.ok()) {
    *error = conn.status();
    return TransportOutcome(*error);
  }
  protocol::DescribeTransactionsRequest req;
  req.transactional_ids = {tid};
  Result<protocol::DescribeTransactionsResponse> resp =
      (*conn)->Call<protocol::DescribeTransactionsResponse>(req, cluster.deadline());
  if (!resp.ok()) {
    *error = resp.status();
    return TransportOutcome(*error);
  }
  const protocol::DescribeTransactionsResponse::TransactionState* state = nullptr;
  for (const auto& s : resp->transaction_states) {
    if (s.transactional_id == tid) state = &s;
  }
  if (state == nullptr) {
    *error = Status::Corruption("DescribeTransactions from coordinator " +
                                std::to_string(coordinator.node_id) + " lacks '" + tid + "'");
    return Outcome::kFail;
  }
  if (state->error_code != 0) {
    const int16_t code = state->error_code;
    if (Is(code, ErrorCode::kTransactionalIdNotFound)) {
      *error =
          Status::NotFound("transactional id '" + tid + "' not found (" + ErrorText(code) + ")");
      return Outcome::kFail;
    }
    *error = Status::Unavailable("DescribeTransactions of '" + tid + "' on coordinator " +
                                 std::to_string(coordinator.node_id) + ": " + ErrorText(code));
    const bool retriable = Is(code, ErrorCode::kCoordinatorNotAvailable) ||
                           Is(code, ErrorCode::kCoordinatorLoadInProgress) ||
                           Is(code, ErrorCode::kNotCoordinator);
    return retriable ? Outcome::kRetry : Outcome::kFail;
  }
  out->coordinator = coordinator.node_id;
  out->transactional_id = tid;
  out->producer_id = state->producer_id;
  out->producer_epoch = state->producer_epoch;
  out->state = state->transaction_state;
  out->timeout_ms = state->transaction_timeout_ms;
  out->start_time_ms = state->transaction_start_time_ms;
  out->partitions.clear();
  for (const auto& t : state->topics) {
    for (int32_t p : t.partitions) out->partitions.push_back(TopicPartition{t.topic, p});
  }
  return Outcome::kDone;
}

int RunDescribe(Cluster& cluster, const TxnDescribeOptions& o, int timeout_ms) {
  TransactionDescription d;
  Status last = Status::Ok();
  for (int attempt = 0;; ++attempt) {
    Outcome outcome = DescribeOnce(cluster, o.transactional_id, &d, &last);
    if (outcome == Outcome::kDone) break;
    if (outcome == Outcome::kFail) return Fail(last.message());
    if (!Backoff(cluster, attempt)) {
      return Fail(GaveUp("describe of '" + o.transactional_id + "'", timeout_ms, last).message());
    }
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::fputs(FormatTransactionDescription(d, now_ms).c_str(), stdout);
  return 0;
}

// ---------------------------------------------------------------------------
// Partitions: leaders, DescribeProducers, WriteTxnMarkers.

// The leader of `tp` from Metadata (refreshed when `refresh`).
Outcome FindLeader(Cluster& cluster, const TopicPartition& tp, bool refresh, int32_t* leader,
                   Status* error) {
  Result<const protocol::MetadataResponse*> md = cluster.Metadata(refresh);
  if (!md.ok()) {
    *error = md.status();
    return TransportOutcome(*error);
  }
  for (const auto& t : (*md)->topics) {
    if (!t.name || *t.name != tp.topic) continue;
    if (Is(t.error_code, ErrorCode::kUnknownTopicOrPartition)) break;
    if (t.error_code != 0) {
      *error = Status::Unavailable("topic '" + tp.topic + "': " + ErrorText(t.error_code));
      return Is(t.error_code, ErrorCode::kLeaderNotAvailable) ? Outcome::kRetry : Outcome::kFail;
    }
    for (const auto& p : t.partitions) {
      if (p.partition_index != tp.partition) continue;
      if (p.leader_id < 0) {
        *error = Status::Unavailable(tp.ToString() + " has no leader (LEADER_NOT_AVAILABLE)");
        return Outcome::kRetry;
      }
      *leader = p.leader_id;
      return Outcome::kDone;
    }
    *error = Status::NotFound("topic '" + tp.topic + "' has no partition " +
                              std::to_string(tp.partition) + " (UNKNOWN_TOPIC_OR_PARTITION)");
    return Outcome::kFail;
  }
  *error = Status::NotFound("topic '" + tp.topic + "' does not exist (UNKNOWN_TOPIC_OR_PARTITION)");
  return Outcome::kFail;
}

struct PartitionProducers {
  int32_t broker = -1;
  std::vector<ProducerStateRow> producers;
};

Outcome DescribeProducersOnce(Cluster& cluster, const TopicPartition& tp,
                              std::optional<int32_t> broker_id, bool refresh,
                              PartitionProducers* out, Status* error) {
  int32_t target = -1;
  Outcome leader = FindLeader(cluster, tp, refresh, &target, error);
  if (leader != Outcome::kDone) return leader;
  if (broker_id) target = *broker_id;
  Result<BrokerConnection*> conn = cluster.Broker(target);
  if (!conn.ok()) {
    *error = conn.status();
    return TransportOutcome(*error);
  }
  protocol::DescribeProducersRequest req;
  req.topics.push_back({tp.topic, {tp.partition}});
  Result<protocol::DescribeProducersResponse> resp =
      (*conn)->Call<protocol::DescribeProducersResponse>(req, cluster.deadline());
  if (!resp.ok()) {
    *error = resp.status();
    return TransportOutcome(*error);
  }
  const protocol::DescribeProducersResponse::PartitionResponse* part = nullptr;
  for (const auto& t : resp->topics) {
    if (t.name != tp.topic) continue;
    for (const auto& p : t.partitions) {
      if (p.partition_index == tp.partition) part = &p;
    }
  }
  if (part == nullptr) {
    *error = Status::Corruption("DescribeProducers from broker " + std::to_string(target) +
                                " lacks " + tp.ToString());
    return Outcome::kFail;
  }
  if (part->error_code != 0) {
    const int16_t code = part->error_code;
    *error =
        Status::Unavailable("DescribeProducers of " + tp.ToString() + " on broker " +
                            std::to_string(target) + ": " + ErrorText(code, part->error_message));
    // A moved leader is worth another look, unless the user chose the broker.
    const bool retriable = (!broker_id && Is(code, ErrorCode::kNotLeaderOrFollower)) ||
                           Is(code, ErrorCode::kUnknownTopicOrPartition) ||
                           Is(code, ErrorCode::kLeaderNotAvailable);
    return retriable ? Outcome::kRetry : Outcome::kFail;
  }
  out->broker = target;
  out->producers.clear();
  for (const auto& p : part->active_producers) {
    out->producers.push_back({p.producer_id, p.producer_epoch, p.coordinator_epoch, p.last_sequence,
                              p.last_timestamp, p.current_txn_start_offset});
  }
  return Outcome::kDone;
}

Result<PartitionProducers> DescribeProducers(Cluster& cluster, const TopicPartition& tp,
                                             std::optional<int32_t> broker_id, int timeout_ms) {
  PartitionProducers out;
  Status last = Status::Ok();
  for (int attempt = 0;; ++attempt) {
    Outcome outcome = DescribeProducersOnce(cluster, tp, broker_id, attempt > 0, &out, &last);
    if (outcome == Outcome::kDone) return out;
    if (outcome == Outcome::kFail) return last;
    if (!Backoff(cluster, attempt)) {
      return GaveUp("describe-producers of " + tp.ToString(), timeout_ms, last);
    }
  }
}

int RunDescribeProducers(Cluster& cluster, const TxnDescribeProducersOptions& o, int timeout_ms) {
  Result<PartitionProducers> r =
      DescribeProducers(cluster, TopicPartition{o.topic, o.partition}, o.broker_id, timeout_ms);
  if (!r.ok()) return Fail(r.status().message());
  std::fputs(FormatProducerStates(std::move(r->producers)).c_str(), stdout);
  return 0;
}

Outcome WriteAbortMarkerOnce(Cluster& cluster, const AbortSpec& spec, bool refresh, Status* error) {
  int32_t leader = -1;
  Outcome found = FindLeader(cluster, spec.tp, refresh, &leader, error);
  if (found != Outcome::kDone) return found;
  Result<BrokerConnection*> conn = cluster.Broker(leader);
  if (!conn.ok()) {
    *error = conn.status();
    return TransportOutcome(*error);
  }
  protocol::WriteTxnMarkersRequest req;
  protocol::WriteTxnMarkersRequest::WritableTxnMarker marker;
  marker.producer_id = spec.producer_id;
  marker.producer_epoch = spec.producer_epoch;
  marker.transaction_result = false;  // ABORT
  marker.coordinator_epoch = spec.coordinator_epoch;
  marker.topics.push_back({spec.tp.topic, {spec.tp.partition}});
  req.markers.push_back(std::move(marker));
  Result<protocol::WriteTxnMarkersResponse> resp =
      (*conn)->Call<protocol::WriteTxnMarkersResponse>(req, cluster.deadline());
  if (!resp.ok()) {
    *error = resp.status();
    return TransportOutcome(*error);
  }
  // Exactly our producer, topic and partition, as Kafka's admin client checks.
  const auto& markers = resp->markers;
  if (markers.size() != 1 || markers[0].producer_id != spec.producer_id ||
      markers[0].topics.size() != 1 || markers[0].topics[0].name != spec.tp.topic ||
      markers[0].topics[0].partitions.size() != 1 ||
      markers[0].topics[0].partitions[0].partition_index != spec.tp.partition) {
    *error =
        Status::Corruption("WriteTxnMarkers response from broker " + std::to_string(leader) +
                           " does not answer for producer " + std::to_string(spec.producer_id) +
                           " on " + spec.tp.ToString() + " alone");
    return Outcome::kFail;
  }
  const int16_t code = markers[0].topics[0].partitions[0].error_code;
  if (code == 0) return Outcome::kDone;
  *error = Status::Unavailable(
      "WriteTxnMarkers (ABORT) for producer " + std::to_string(spec.producer_id) + " (epoch " +
      std::to_string(spec.producer_epoch) + ", coordinator epoch " +
      std::to_string(spec.coordinator_epoch) + ") on " + spec.tp.ToString() + " at broker " +
      std::to_string(leader) + ": " + ErrorText(code));
  const bool retriable =
      Is(code, ErrorCode::kNotLeaderOrFollower) || Is(code, ErrorCode::kReplicaNotAvailable) ||
      Is(code, ErrorCode::kBrokerNotAvailable) || Is(code, ErrorCode::kUnknownTopicOrPartition) ||
      Is(code, ErrorCode::kLeaderNotAvailable);
  return retriable ? Outcome::kRetry : Outcome::kFail;
}

int RunAbort(Cluster& cluster, const TxnAbortOptions& o, int timeout_ms) {
  const TopicPartition tp{o.topic, o.partition};
  AbortSpec spec{tp, o.producer_id, o.producer_epoch, o.coordinator_epoch, std::nullopt};
  if (o.start_offset) {
    Result<PartitionProducers> producers = DescribeProducers(cluster, tp, std::nullopt, timeout_ms);
    if (!producers.ok()) {
      return Fail("cannot read the producers of " + tp.ToString() + ": " +
                  producers.status().message());
    }
    Result<AbortSpec> found = FindTransactionToAbort(tp, producers->producers, *o.start_offset);
    if (!found.ok()) return Fail(found.status().message());
    spec = *found;
  }
  Status last = Status::Ok();
  for (int attempt = 0;; ++attempt) {
    Outcome outcome = WriteAbortMarkerOnce(cluster, spec, attempt > 0, &last);
    if (outcome == Outcome::kDone) break;
    if (outcome == Outcome::kFail) return Fail(last.message());
    if (!Backoff(cluster, attempt)) {
      return Fail(GaveUp("abort on " + tp.ToString(), timeout_ms, last).message());
    }
  }
  std::fputs(FormatAbortResult(spec).c_str(), stdout);
  return 0;
}

}  // namespace

int RunTransactionsCommand(const ParsedTransactionsCommand& command) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(command.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  const int timeout_ms = command.global.request_timeout_ms;
  Cluster cluster(std::move(*bootstrap), command.client_id,
                  Clock::now() + std::chrono::milliseconds(timeout_ms));
  struct Visitor {
    Cluster& cluster;
    int timeout_ms;
    int operator()(const TxnListOptions& o) { return RunList(cluster, o, timeout_ms); }
    int operator()(const TxnDescribeOptions& o) { return RunDescribe(cluster, o, timeout_ms); }
    int operator()(const TxnDescribeProducersOptions& o) {
      return RunDescribeProducers(cluster, o, timeout_ms);
    }
    int operator()(const TxnAbortOptions& o) { return RunAbort(cluster, o, timeout_ms); }
  };
  return std::visit(Visitor{cluster, timeout_ms}, *command.options);
}

}  // namespace gregor::tools
