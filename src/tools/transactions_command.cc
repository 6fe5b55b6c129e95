// gregorctl transactions list|describe|describe-producers|abort|find-hanging
// over the raw protocol client (librdkafka 2.0 has no admin API for
// ListTransactions, DescribeTransactions, DescribeProducers or
// WriteTxnMarkers).
//
// Every command runs under one deadline, socket.timeout.ms from now (default
// 30 s). Errors a Kafka admin client retries (a coordinator loading or moved,
// a leader moved or not elected yet, a connection lost) are retried with a
// short backoff until then; the last one is reported if time runs out.

#include "tools/transactions_command.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
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

// "NAME" or "NAME: message" when the broker sent one.
std::string ErrorText(ErrorCode code, const std::optional<std::string>& message = std::nullopt) {
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

// Metadata, retried while no broker answers.
Result<const protocol::MetadataResponse*> MetadataWithRetry(Cluster& cluster,
                                                            const std::string& what,
                                                            int timeout_ms) {
  Result<const protocol::MetadataResponse*> md = cluster.Metadata();
  for (int attempt = 0; !md.ok(); ++attempt) {
    if (TransportOutcome(md.status()) == Outcome::kFail) return md.status();
    if (!Backoff(cluster, attempt)) return GaveUp(what, timeout_ms, md.status());
    md = cluster.Metadata(true);
  }
  return md;
}

// ListTransactions on broker `id`, retried until the deadline; its rows are
// appended to `rows`. The error names the broker.
Status ListTransactionsOn(Cluster& cluster, int32_t id,
                          const protocol::ListTransactionsRequest& req,
                          std::vector<TransactionListing>* rows) {
  Status last = Status::Ok();
  for (int attempt = 0;; ++attempt) {
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
      } else if (resp->error_code == ErrorCode::kCoordinatorLoadInProgress) {
        last = Status::Unavailable(ErrorText(resp->error_code));
        outcome = Outcome::kRetry;
      } else if (resp->error_code != ErrorCode::kNone) {
        last = Status::Unavailable(ErrorText(resp->error_code));
      } else {
        for (const auto& unknown : resp->unknown_state_filters) {
          std::fprintf(stderr, "Warning: broker %d does not know the state '%s'\n", id,
                       unknown.c_str());
        }
        for (const auto& t : resp->transaction_states) {
          rows->push_back({t.transactional_id, id, t.producer_id, t.transaction_state});
        }
        return Status::Ok();
      }
    }
    if (outcome == Outcome::kFail || !Backoff(cluster, attempt)) {
      return Status::Unavailable("ListTransactions on broker " + std::to_string(id) + ": " +
                                 last.message());
    }
  }
}

int RunList(Cluster& cluster, const TxnListOptions& o, int timeout_ms) {
  Result<const protocol::MetadataResponse*> md = MetadataWithRetry(cluster, "list", timeout_ms);
  if (!md.ok()) return Fail(md.status().message());
  std::vector<int32_t> ids;
  for (const auto& b : (*md)->brokers) ids.push_back(b.node_id);
  std::sort(ids.begin(), ids.end());

  protocol::ListTransactionsRequest req;
  req.state_filters = o.states;
  req.producer_id_filters = o.producer_ids;
  std::vector<TransactionListing> rows;
  int failures = 0, answered = 0;
  for (int32_t id : ids) {
    Status s = ListTransactionsOn(cluster, id, req, &rows);
    if (s.ok()) {
      ++answered;
    } else {
      std::fprintf(stderr, "Error: %s\n", s.message().c_str());
      ++failures;
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
  ErrorCode code = resp->error_code;
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
  if (code != ErrorCode::kNone) {
    *error = Status::Unavailable("FindCoordinator for transactional id '" + transactional_id +
                                 "': " + ErrorText(code, message));
    const bool retriable = code == ErrorCode::kCoordinatorNotAvailable ||
                           code == ErrorCode::kCoordinatorLoadInProgress ||
                           code == ErrorCode::kNotCoordinator;
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
  if (state->error_code != ErrorCode::kNone) {
    const ErrorCode code = state->error_code;
    if (code == ErrorCode::kTransactionalIdNotFound) {
      *error =
          Status::NotFound("transactional id '" + tid + "' not found (" + ErrorText(code) + ")");
      return Outcome::kFail;
    }
    *error = Status::Unavailable("DescribeTransactions of '" + tid + "' on coordinator " +
                                 std::to_string(coordinator.node_id) + ": " + ErrorText(code));
    const bool retriable = code == ErrorCode::kCoordinatorNotAvailable ||
                           code == ErrorCode::kCoordinatorLoadInProgress ||
                           code == ErrorCode::kNotCoordinator;
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

// DescribeOnce retried until the deadline; NotFound when the coordinator does
// not know the id (TRANSACTIONAL_ID_NOT_FOUND).
Result<TransactionDescription> Describe(Cluster& cluster, const std::string& tid, int timeout_ms) {
  TransactionDescription d;
  Status last = Status::Ok();
  for (int attempt = 0;; ++attempt) {
    Outcome outcome = DescribeOnce(cluster, tid, &d, &last);
    if (outcome == Outcome::kDone) return d;
    if (outcome == Outcome::kFail) return last;
    if (!Backoff(cluster, attempt)) return GaveUp("describe of '" + tid + "'", timeout_ms, last);
  }
}

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int RunDescribe(Cluster& cluster, const TxnDescribeOptions& o, int timeout_ms) {
  Result<TransactionDescription> d = Describe(cluster, o.transactional_id, timeout_ms);
  if (!d.ok()) return Fail(d.status().message());
  std::fputs(FormatTransactionDescription(*d, WallClockMs()).c_str(), stdout);
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
    if (t.error_code == ErrorCode::kUnknownTopicOrPartition) break;
    if (t.error_code != ErrorCode::kNone) {
      *error = Status::Unavailable("topic '" + tp.topic + "': " + ErrorText(t.error_code));
      return t.error_code == ErrorCode::kLeaderNotAvailable ? Outcome::kRetry : Outcome::kFail;
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

// Worth another DescribeProducers: a moved leader (unless the user chose the
// broker), or a partition the broker does not have yet.
bool RetriableDescribeProducersError(ErrorCode code, bool broker_chosen) {
  return (!broker_chosen && code == ErrorCode::kNotLeaderOrFollower) ||
         code == ErrorCode::kUnknownTopicOrPartition || code == ErrorCode::kLeaderNotAvailable;
}

std::vector<ProducerStateRow> ProducerRows(
    const protocol::DescribeProducersResponse::PartitionResponse& part) {
  std::vector<ProducerStateRow> rows;
  for (const auto& p : part.active_producers) {
    rows.push_back({p.producer_id, p.producer_epoch, p.coordinator_epoch, p.last_sequence,
                    p.last_timestamp, p.current_txn_start_offset});
  }
  return rows;
}

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
  if (part->error_code != ErrorCode::kNone) {
    const ErrorCode code = part->error_code;
    *error =
        Status::Unavailable("DescribeProducers of " + tp.ToString() + " on broker " +
                            std::to_string(target) + ": " + ErrorText(code, part->error_message));
    return RetriableDescribeProducersError(code, broker_id.has_value()) ? Outcome::kRetry
                                                                        : Outcome::kFail;
  }
  out->broker = target;
  out->producers = ProducerRows(*part);
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
  const ErrorCode code = markers[0].topics[0].partitions[0].error_code;
  if (code == ErrorCode::kNone) return Outcome::kDone;
  *error = Status::Unavailable(
      "WriteTxnMarkers (ABORT) for producer " + std::to_string(spec.producer_id) + " (epoch " +
      std::to_string(spec.producer_epoch) + ", coordinator epoch " +
      std::to_string(spec.coordinator_epoch) + ") on " + spec.tp.ToString() + " at broker " +
      std::to_string(leader) + ": " + ErrorText(code));
  const bool retriable =
      code == ErrorCode::kNotLeaderOrFollower || code == ErrorCode::kReplicaNotAvailable ||
      code == ErrorCode::kBrokerNotAvailable || code == ErrorCode::kUnknownTopicOrPartition ||
      code == ErrorCode::kLeaderNotAvailable;
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

// ---------------------------------------------------------------------------
// find-hanging (Kafka's FindHangingTransactionsCommand): DescribeProducers of
// every partition searched, then, for the producers whose open transaction
// is older than the longest transaction timeout, ListTransactions (filtered
// by producer id) on every broker for their transactional ids and
// DescribeTransactions of those on their coordinators.

// Partitions per DescribeProducers request, as Kafka's tool batches them.
constexpr size_t kMaxDescribeProducersBatch = 500;

// The partitions find-hanging searches (TxnFindHangingOptions), sorted.
// Internal topics are searched too: __consumer_offsets takes transactional
// offset commits.
Result<std::vector<TopicPartition>> PartitionsToSearch(const protocol::MetadataResponse& md,
                                                       const TxnFindHangingOptions& o) {
  if (o.broker_id) {
    bool known = false;
    for (const auto& b : md.brokers) known = known || b.node_id == *o.broker_id;
    if (!known) {
      return Status::NotFound("broker " + std::to_string(*o.broker_id) +
                              " is not in the cluster's metadata (not registered or not alive)");
    }
  }
  std::vector<TopicPartition> out;
  bool topic_found = false;
  for (const auto& t : md.topics) {
    if (!t.name || (!o.topic.empty() && *t.name != o.topic)) continue;
    if (t.error_code == ErrorCode::kUnknownTopicOrPartition) continue;
    topic_found = true;
    for (const auto& p : t.partitions) {
      if (!o.partitions.empty()) {
        // Named partitions are searched wherever their replicas are, as Kafka does.
        if (std::binary_search(o.partitions.begin(), o.partitions.end(), p.partition_index)) {
          out.push_back(TopicPartition{*t.name, p.partition_index});
        }
        continue;
      }
      const auto& r = p.replica_nodes;
      if (o.broker_id && std::find(r.begin(), r.end(), *o.broker_id) == r.end()) continue;
      out.push_back(TopicPartition{*t.name, p.partition_index});
    }
  }
  if (!o.topic.empty() && !topic_found) {
    return Status::NotFound("topic '" + o.topic + "' does not exist (UNKNOWN_TOPIC_OR_PARTITION)");
  }
  std::sort(out.begin(), out.end());
  for (int32_t p : o.partitions) {
    if (!std::binary_search(out.begin(), out.end(), TopicPartition{o.topic, p})) {
      return Status::NotFound("topic '" + o.topic + "' has no partition " + std::to_string(p) +
                              " (UNKNOWN_TOPIC_OR_PARTITION)");
    }
  }
  return out;
}

// One DescribeProducers of `tps` to broker `broker`. Partitions that answer
// add their suspect open transactions to `candidates`; those worth another try
// (and all of them on a transport error) go to `retry`, with the reason in
// `last`. An error no retry can fix is returned.
Status DescribeProducersBatch(Cluster& cluster, int32_t broker, bool broker_chosen,
                              const std::vector<TopicPartition>& tps, int64_t max_timeout_ms,
                              std::vector<OpenTransaction>* candidates,
                              std::vector<TopicPartition>* retry, Status* last) {
  auto retry_all = [&](const Status& s) {
    if (TransportOutcome(s) == Outcome::kFail) return s;
    *last = s;
    retry->insert(retry->end(), tps.begin(), tps.end());
    return Status::Ok();
  };
  Result<BrokerConnection*> conn = cluster.Broker(broker);
  if (!conn.ok()) return retry_all(conn.status());
  protocol::DescribeProducersRequest req;
  for (const auto& tp : tps) {  // sorted: one entry per topic
    if (req.topics.empty() || req.topics.back().name != tp.topic) {
      req.topics.push_back({tp.topic, {}});
    }
    req.topics.back().partition_indexes.push_back(tp.partition);
  }
  Result<protocol::DescribeProducersResponse> resp =
      (*conn)->Call<protocol::DescribeProducersResponse>(req, cluster.deadline());
  if (!resp.ok()) return retry_all(resp.status());
  const int64_t now_ms = WallClockMs();
  std::map<TopicPartition, const protocol::DescribeProducersResponse::PartitionResponse*> parts;
  for (const auto& t : resp->topics) {
    for (const auto& p : t.partitions) parts[TopicPartition{t.name, p.partition_index}] = &p;
  }
  for (const auto& tp : tps) {
    auto it = parts.find(tp);
    if (it == parts.end()) {
      return Status::Corruption("DescribeProducers from broker " + std::to_string(broker) +
                                " lacks " + tp.ToString());
    }
    const auto& part = *it->second;
    if (part.error_code != ErrorCode::kNone) {
      Status error = Status::Unavailable("DescribeProducers of " + tp.ToString() + " on broker " +
                                         std::to_string(broker) + ": " +
                                         ErrorText(part.error_code, part.error_message));
      if (!RetriableDescribeProducersError(part.error_code, broker_chosen)) return error;
      *last = error;
      retry->push_back(tp);
      continue;
    }
    for (auto& c : CandidateOpenTransactions(tp, ProducerRows(part), now_ms, max_timeout_ms)) {
      candidates->push_back(std::move(c));
    }
  }
  return Status::Ok();
}

// DescribeProducers of every partition in `tps` (to --broker-id, else to each
// leader), retrying moved leaders and lost connections until the deadline.
Result<std::vector<OpenTransaction>> CollectCandidates(Cluster& cluster,
                                                       const TxnFindHangingOptions& o,
                                                       std::vector<TopicPartition> pending,
                                                       int timeout_ms) {
  const int64_t max_timeout_ms = int64_t{o.max_transaction_timeout_minutes} * 60'000;
  std::vector<OpenTransaction> candidates;
  Status last = Status::Ok();
  for (int attempt = 0; !pending.empty(); ++attempt) {
    if (attempt > 0) {
      if (!Backoff(cluster, attempt - 1)) {
        return GaveUp("find-hanging: DescribeProducers of " + std::to_string(pending.size()) +
                          " partition(s)",
                      timeout_ms, last);
      }
      Result<const protocol::MetadataResponse*> md = cluster.Metadata(true);
      if (!md.ok()) {
        if (TransportOutcome(md.status()) == Outcome::kFail) return md.status();
        last = md.status();
        continue;
      }
    }
    std::sort(pending.begin(), pending.end());  // so each request names a topic once
    std::vector<TopicPartition> retry;
    std::map<int32_t, std::vector<TopicPartition>> by_broker;
    if (o.broker_id) {
      by_broker[*o.broker_id] = std::move(pending);
    } else {
      for (auto& tp : pending) {
        int32_t leader = -1;
        Status error = Status::Ok();
        switch (FindLeader(cluster, tp, false, &leader, &error)) {
          case Outcome::kDone:
            by_broker[leader].push_back(std::move(tp));
            break;
          case Outcome::kRetry:
            last = error;
            retry.push_back(std::move(tp));
            break;
          case Outcome::kFail:
            return error;
        }
      }
    }
    for (const auto& [broker, tps] : by_broker) {
      for (size_t i = 0; i < tps.size(); i += kMaxDescribeProducersBatch) {
        const auto end = tps.begin() + static_cast<std::ptrdiff_t>(
                                           std::min(tps.size(), i + kMaxDescribeProducersBatch));
        std::vector<TopicPartition> batch(tps.begin() + static_cast<std::ptrdiff_t>(i), end);
        GREGOR_RETURN_IF_ERROR(DescribeProducersBatch(cluster, broker, o.broker_id.has_value(),
                                                      batch, max_timeout_ms, &candidates, &retry,
                                                      &last));
      }
    }
    pending = std::move(retry);
  }
  return candidates;
}

// Producer id -> transactional id, from ListTransactions filtered by those
// producer ids (KIP-664, v0 on) on every broker: each coordinator lists only
// its own ids. Rows of other producer ids (a broker that ignores the filter)
// are dropped.
Result<std::map<int64_t, std::string>> LookUpTransactionalIds(Cluster& cluster,
                                                              const std::set<int64_t>& producer_ids,
                                                              int timeout_ms) {
  Result<const protocol::MetadataResponse*> md =
      MetadataWithRetry(cluster, "find-hanging", timeout_ms);
  if (!md.ok()) return md.status();
  std::vector<int32_t> ids;
  for (const auto& b : (*md)->brokers) ids.push_back(b.node_id);
  std::sort(ids.begin(), ids.end());
  protocol::ListTransactionsRequest req;
  req.producer_id_filters.assign(producer_ids.begin(), producer_ids.end());
  std::vector<TransactionListing> rows;
  for (int32_t id : ids) GREGOR_RETURN_IF_ERROR(ListTransactionsOn(cluster, id, req, &rows));
  std::map<int64_t, std::string> out;
  for (const auto& r : rows) {
    if (producer_ids.count(r.producer_id) > 0) out[r.producer_id] = r.transactional_id;
  }
  return out;
}

int RunFindHanging(Cluster& cluster, const TxnFindHangingOptions& o, int timeout_ms) {
  Result<const protocol::MetadataResponse*> md =
      MetadataWithRetry(cluster, "find-hanging", timeout_ms);
  if (!md.ok()) return Fail(md.status().message());
  Result<std::vector<TopicPartition>> tps = PartitionsToSearch(**md, o);
  if (!tps.ok()) return Fail(tps.status().message());
  Result<std::vector<OpenTransaction>> candidates =
      CollectCandidates(cluster, o, std::move(*tps), timeout_ms);
  if (!candidates.ok()) return Fail(candidates.status().message());

  std::vector<OpenTransaction> hanging;
  if (!candidates->empty()) {
    std::set<int64_t> producer_ids;
    for (const auto& c : *candidates) producer_ids.insert(c.producer.producer_id);
    Result<std::map<int64_t, std::string>> tids =
        LookUpTransactionalIds(cluster, producer_ids, timeout_ms);
    if (!tids.ok()) {
      return Fail("cannot look up the transactional ids of " + std::to_string(producer_ids.size()) +
                  " producer(s): " + tids.status().message());
    }
    std::map<std::string, std::optional<TransactionDescription>> descriptions;
    for (const auto& [pid, tid] : *tids) {
      if (descriptions.count(tid) > 0) continue;
      Result<TransactionDescription> d = Describe(cluster, tid, timeout_ms);
      if (d.ok()) {
        descriptions[tid] = std::move(*d);
      } else if (d.status().code() == Status::Code::kNotFound) {
        descriptions[tid] = std::nullopt;  // expired since ListTransactions: nobody will end it
      } else {
        return Fail("cannot describe transactional id '" + tid + "': " + d.status().message());
      }
    }
    hanging = FindHangingTransactions(*candidates, *tids, descriptions);
  }
  std::fputs(FormatHangingTransactions(std::move(hanging), WallClockMs()).c_str(), stdout);
  return 0;
}

}  // namespace

int RunTransactionsCommand(const ParsedTransactionsCommand& command) {
  Result<std::vector<HostPort>> bootstrap = ParseBootstrapList(command.global.bootstrap);
  if (!bootstrap.ok()) return Fail(bootstrap.status().message());
  const int timeout_ms = command.global.request_timeout_ms;
  Cluster cluster(std::move(*bootstrap), command.client_id,
                  Clock::now() + std::chrono::milliseconds(timeout_ms), command.security);
  struct Visitor {
    Cluster& cluster;
    int timeout_ms;
    int operator()(const TxnListOptions& o) { return RunList(cluster, o, timeout_ms); }
    int operator()(const TxnDescribeOptions& o) { return RunDescribe(cluster, o, timeout_ms); }
    int operator()(const TxnDescribeProducersOptions& o) {
      return RunDescribeProducers(cluster, o, timeout_ms);
    }
    int operator()(const TxnAbortOptions& o) { return RunAbort(cluster, o, timeout_ms); }
    int operator()(const TxnFindHangingOptions& o) {
      return RunFindHanging(cluster, o, timeout_ms);
    }
  };
  return std::visit(Visitor{cluster, timeout_ms}, *command.options);
}

}  // namespace gregor::tools
