// WriteTxnMarkers (27): a transaction coordinator, on another broker or this one, has decided
// transactions and asks the leaders of their partitions to write the COMMIT or ABORT markers
// (Kafka's KafkaApis.handleWriteTxnMarkersRequest). Per marker and partition: the control batch
// is appended as leader with the coordinator's checks (producer epoch, coordinator epoch) and
// acks=all's rules, and the answer waits until the ISR has it (Kafka appends with
// requiredAcks=-1 and a DelayedProduce), each partition with its own error code. Once markers
// of a producer are replicated in __consumer_offsets partitions, the group coordinator
// materializes (COMMIT) or drops (ABORT) the producer's pending transactional offset commits.
#include "gregor/protocol/messages/write_txn_markers.h"

#include <glog/logging.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <memory>
#include <vector>

#include "gregor/group/group_records.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/handlers/replication_wait.h"

namespace gregor::server {

namespace {

// One answer per producer id, all its partitions in it, as Kafka's handler builds it (its
// updateErrors). A coordinator may put two markers of one producer in one request (after a
// leadership move sends both partitions to the same broker), and Kafka's sender reads the
// answer as a map by producer id: a second entry for the same id would hide the first one's
// partitions, and that transaction would never complete.
void MergeMarkersByProducer(protocol::WriteTxnMarkersResponse* out) {
  std::vector<protocol::WriteTxnMarkersResponse::WritableTxnMarkerResult> merged;
  for (auto& m : out->markers) {
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&](const auto& x) { return x.producer_id == m.producer_id; });
    if (same == merged.end()) {
      merged.push_back(std::move(m));
      continue;
    }
    for (auto& t : m.topics) {
      auto topic = std::find_if(same->topics.begin(), same->topics.end(),
                                [&](const auto& x) { return x.name == t.name; });
      if (topic == same->topics.end()) {
        same->topics.push_back(std::move(t));
      } else {
        for (auto& part : t.partitions) topic->partitions.push_back(std::move(part));
      }
    }
  }
  out->markers = std::move(merged);
}

using protocol::ErrorCode;
using MarkersResponse = protocol::WriteTxnMarkersResponse;

// How long the markers may wait for the ISR: Kafka's request.timeout.ms (the broker's own,
// default 30 s; gregor has no such key yet). The coordinator's request to us has its own
// deadline and retries markers that time out.
constexpr int32_t kReplicationTimeoutMs = 30000;

// Kafka's errors for a marker append (ReplicaManager.appendRecords with origin COORDINATOR).
ErrorCode MarkerError(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kNotLeader:
      return ErrorCode::kNotLeaderOrFollower;
    case Status::Code::kUnavailable:
      return ErrorCode::kNotEnoughReplicas;
    case Status::Code::kFenced:
      return ErrorCode::kInvalidProducerEpoch;
    case Status::Code::kStale:
      return ErrorCode::kTransactionCoordinatorFenced;
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
      return ErrorCode::kKafkaStorageError;
    case Status::Code::kCorruption:
      return ErrorCode::kCorruptMessage;
    case Status::Code::kTooLarge:
      return ErrorCode::kMessageTooLarge;
    case Status::Code::kInvalidArgument:
      return ErrorCode::kInvalidRecord;
    case Status::Code::kTimeout:
      return ErrorCode::kRequestTimedOut;
    case Status::Code::kNotFound:
      return ErrorCode::kUnknownTopicOrPartition;
    case Status::Code::kOutOfOrder:
      return ErrorCode::kOutOfOrderSequenceNumber;
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kInvalidTxnState;
    case Status::Code::kOutOfRange:
    case Status::Code::kAlreadyExists:
    case Status::Code::kInternal:
      return ErrorCode::kUnknownServerError;
  }
  return ErrorCode::kUnknownServerError;
}

// One partition of one marker: where its answer goes, and its append while it waits.
struct MarkerAppend {
  size_t marker;
  size_t topic;
  size_t partition_index;
  std::shared_ptr<cluster::Partition> partition;
  int32_t min_isr = 1;
  int64_t required_offset = -1;
  int32_t leader_epoch = -1;
  bool waiting = false;
};

ErrorCode& ErrorOf(MarkersResponse& out, const MarkerAppend& a) {
  return out.markers[a.marker].topics[a.topic].partitions[a.partition_index].error_code;
}

}  // namespace

asio::awaitable<bool> HandleWriteTxnMarkers(ServerContext& ctx, Request& req, Response& resp) {
  protocol::WriteTxnMarkersRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  MarkersResponse out;
  std::vector<MarkerAppend> appends;
  const bool allowed = Authorized(ctx, req.conn, AclRuleId::kWriteTxnMarkers);
  for (size_t m = 0; m < in.markers.size(); ++m) {
    const auto& marker = in.markers[m];
    auto& mr = out.markers.emplace_back();
    mr.producer_id = marker.producer_id;
    for (size_t t = 0; t < marker.topics.size(); ++t) {
      const auto& topic = marker.topics[t];
      auto& tr = mr.topics.emplace_back();
      tr.name = topic.name;
      int32_t min_isr = -1;
      for (size_t p = 0; p < topic.partition_indexes.size(); ++p) {
        auto& pr = tr.partitions.emplace_back();
        pr.partition_index = topic.partition_indexes[p];
        if (!allowed) {
          pr.error_code = Denied(AclRuleId::kWriteTxnMarkers);
          continue;
        }
        auto partition = ctx.replicas->GetPartition({topic.name, pr.partition_index});
        if (!partition) {
          // Kafka answers from the local log alone (getMagic): no replica here, unknown.
          pr.error_code = ErrorCode::kUnknownTopicOrPartition;
          continue;
        }
        if (min_isr < 0) min_isr = MinInsyncReplicas(ctx, topic.name);
        appends.push_back({m, t, p, std::move(partition), min_isr});
      }
    }
  }
  // The appends write files: on the I/O pool, all of the request's markers in one hop.
  if (!appends.empty()) {
    co_await ctx.run_io([&] {
      for (auto& a : appends) {
        const auto& marker = in.markers[a.marker];
        const TopicPartition& tp = a.partition->topic_partition();
        auto result = a.partition->AppendTxnMarker(marker.producer_id, marker.producer_epoch,
                                                   marker.coordinator_epoch,
                                                   marker.transaction_result, a.min_isr);
        if (!result.ok()) {
          ErrorCode ec = MarkerError(result.status());
          ErrorOf(out, a) = ec;
          VLOG(1) << "[WriteTxnMarkers " << tp.ToString() << "] producer " << marker.producer_id
                  << ": " << protocol::ErrorCodeName(ec) << ": " << result.status().ToString();
          continue;
        }
        VLOG(1) << "[WriteTxnMarkers " << tp.ToString() << "] "
                << (marker.transaction_result ? "COMMIT" : "ABORT") << " of producer "
                << marker.producer_id << " at offset " << result->first_offset;
        // Followers and read_committed consumers long-polling this partition.
        ctx.replicas->listeners().Notify(tp);
        a.required_offset = result->last_offset + 1;
        a.leader_epoch = result->leader_epoch;
        a.waiting = true;
      }
    });
    // The response is complete: pointers to its error codes stay valid while waiting.
    std::vector<ReplicationWait> waits;
    for (const auto& a : appends) {
      if (a.waiting) {
        waits.push_back(
            {a.partition, a.required_offset, a.leader_epoch, a.min_isr, &ErrorOf(out, a)});
      }
    }
    if (!waits.empty()) {
      req.conn.ParkRequest();  // waiting on followers: out of the request queue (purgatory)
      co_await AwaitReplication(ctx, kReplicationTimeoutMs, waits);
    }
  }
  // Kafka's onTransactionCompleted: the offsets a transaction committed through
  // TxnOffsetCommit become visible (or are dropped) once its markers are replicated.
  if (ctx.groups != nullptr) {
    for (size_t m = 0; m < in.markers.size(); ++m) {
      std::vector<int32_t> offsets_partitions;
      for (const auto& tr : out.markers[m].topics) {
        if (tr.name != group::kOffsetsTopic) continue;
        for (const auto& pr : tr.partitions) {
          if (pr.error_code == ErrorCode::kNone) {
            offsets_partitions.push_back(pr.partition_index);
          }
        }
      }
      if (!offsets_partitions.empty()) {
        ctx.groups->HandleTxnCompletion(in.markers[m].producer_id, offsets_partitions,
                                        in.markers[m].transaction_result);
      }
    }
  }
  MergeMarkersByProducer(&out);
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
