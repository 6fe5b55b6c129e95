// Produce (0): append client record batches to partition leaders; with
// acks=all, answer once every in-sync replica has the records (the high
// watermark passed them) or the request's timeout expired (Kafka's
// DelayedProduce).
#include "gregor/protocol/messages/produce.h"

#include <glog/logging.h>

#include <charconv>
#include <chrono>
#include <string_view>

#include "gregor/protocol/record_batch.h"
#include "server/errors.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

int32_t MinInsyncReplicas(ServerContext& ctx, const std::string& topic) {
  auto overrides = ctx.topic_configs->Get(topic);
  auto it = overrides.find("min.insync.replicas");
  if (it != overrides.end()) {
    int32_t v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec == std::errc() && v > 0) return v;
  }
  return ctx.config->min_insync_replicas;
}

// Kafka's LogValidator.validateKey: a compacted topic keeps the latest record per key, so a
// record without one is refused. Returns the keyless records of the first batch that has any
// (Kafka fails the append at that batch), as Kafka's record errors. Only uncompressed batches
// can be read (gregor links no codecs): compressed ones are accepted unchecked. A batch that
// does not decode is skipped; the append's own validation reports it precisely.
std::vector<protocol::ProduceResponse::BatchIndexAndErrorMessage> KeylessRecords(
    std::string_view bytes, const TopicPartition& tp) {
  std::vector<protocol::ProduceResponse::BatchIndexAndErrorMessage> errors;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  std::vector<protocol::Record> records;
  size_t pos = 0;
  while (pos < bytes.size()) {
    protocol::RecordBatchHeader h;
    if (!protocol::ParseRecordBatchHeader(p + pos, bytes.size() - pos, &h) || h.batch_length < 0 ||
        h.total_size() > bytes.size() - pos) {
      break;
    }
    records.clear();
    if (h.compression() == 0 && !h.is_control() &&
        protocol::DecodeBatchRecords(p + pos, h.total_size(), &records)) {
      for (size_t i = 0; i < records.size(); ++i) {
        if (records[i].key) continue;
        errors.push_back({static_cast<int32_t>(i),
                          "Compacted topic cannot accept message without key in topic partition " +
                              tp.ToString()});
      }
      if (!errors.empty()) break;
    }
    pos += h.total_size();
  }
  return errors;
}

// Kafka's top-level message for record errors (RecordValidationException).
std::string RecordErrorsMessage(
    const std::vector<protocol::ProduceResponse::BatchIndexAndErrorMessage>& errors) {
  std::string m = "One or more records have been rejected due to " + std::to_string(errors.size()) +
                  " record errors in total, and only showing the first three errors at most: [";
  for (size_t i = 0; i < errors.size() && i < 3; ++i) {
    if (i) m += ", ";
    m += "RecordError(batchIndex=" + std::to_string(errors[i].batch_index) + ", message='" +
         errors[i].batch_index_error_message.value_or("") + "')";
  }
  return m + "]";
}

// A partition's record set, checked and ready to append.
struct Append {
  size_t topic_index;
  size_t partition_index;
  std::shared_ptr<cluster::Partition> partition;
  uint8_t* data;
  size_t size;
  int32_t min_isr;
};

// An acks=all append waiting for the ISR.
struct Pending {
  size_t topic_index;
  size_t partition_index;
  std::shared_ptr<cluster::Partition> partition;
  int64_t required_offset;
  int32_t leader_epoch;
  int32_t min_isr;
};

// True when every pending append is settled (its error code written).
bool Settle(std::vector<Pending>& pending, protocol::ProduceResponse& out, bool timed_out) {
  bool all = true;
  for (auto& p : pending) {
    if (!p.partition) continue;  // settled earlier
    auto& pr = out.responses[p.topic_index].partition_responses[p.partition_index];
    ErrorCode ec = ErrorCode::kNone;
    switch (p.partition->CheckReplicated(p.required_offset, p.min_isr, p.leader_epoch)) {
      case cluster::ReplicationStatus::kDone:
        break;
      case cluster::ReplicationStatus::kNotLeader:
        ec = ErrorCode::kNotLeaderOrFollower;
        break;
      case cluster::ReplicationStatus::kNotEnoughReplicasAfterAppend:
        ec = ErrorCode::kNotEnoughReplicasAfterAppend;
        break;
      case cluster::ReplicationStatus::kPending:
        if (!timed_out) {
          all = false;
          continue;
        }
        ec = ErrorCode::kRequestTimedOut;
        break;
    }
    pr.error_code = static_cast<int16_t>(ec);
    p.partition.reset();
  }
  return all;
}

asio::awaitable<void> AwaitReplication(ServerContext& ctx, int32_t timeout_ms,
                                       std::vector<Pending>& pending,
                                       protocol::ProduceResponse& out) {
  if (Settle(pending, out, false)) co_return;
  std::vector<TopicPartition> tps;
  for (const auto& p : pending) tps.push_back(p.partition->topic_partition());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  while (std::chrono::steady_clock::now() < deadline) {
    timer->expires_at(deadline);
    // Registered before the re-check, so a high-watermark move in between is never missed.
    uint64_t handle = ctx.replicas->listeners().Add(
        tps, [timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
    if (Settle(pending, out, false)) {
      ctx.replicas->listeners().Remove(handle);
      co_return;
    }
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    ctx.replicas->listeners().Remove(handle);
  }
  Settle(pending, out, true);
}

}  // namespace

asio::awaitable<bool> HandleProduce(ServerContext& ctx, Request& req, Response& resp) {
  protocol::ProduceRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ProduceResponse out;
  const bool acks_valid = in.acks == -1 || in.acks == 0 || in.acks == 1;
  auto* frame_base = reinterpret_cast<uint8_t*>(req.frame.data());
  std::vector<Append> appends;
  std::vector<Pending> pending;

  for (auto& topic : in.topic_data) {
    auto& tr = out.responses.emplace_back();
    tr.name = topic.name;
    int32_t min_isr = -1;
    for (auto& pd : topic.partition_data) {
      auto& pr = tr.partition_responses.emplace_back();
      pr.index = pd.index;
      pr.base_offset = -1;
      if (!acks_valid) {
        pr.error_code = static_cast<int16_t>(ErrorCode::kInvalidRequiredAcks);
        continue;
      }
      TopicPartition tp{topic.name, pd.index};
      auto partition = ctx.replicas->GetPartition(tp);
      if (!partition) {
        auto md = ctx.metadata->Get();
        auto t = md->topics.find(topic.name);
        bool known = t != md->topics.end() && t->second.partitions.count(pd.index);
        pr.error_code = static_cast<int16_t>(known ? ErrorCode::kNotLeaderOrFollower
                                                   : ErrorCode::kUnknownTopicOrPartition);
        continue;
      }
      if (pd.records.is_null || pd.records.bytes.empty()) {
        pr.error_code = static_cast<int16_t>(ErrorCode::kInvalidRecord);
        pr.error_message = "a produce request must carry at least one record batch";
        continue;
      }
      // Message format v2 only (KIP-896): the magic byte sits at offset 16.
      if (pd.records.bytes.size() > 16 && pd.records.bytes[16] != 2) {
        pr.error_code = static_cast<int16_t>(ErrorCode::kUnsupportedForMessageFormat);
        pr.error_message = "only message format v2 (magic 2) is accepted";
        continue;
      }
      if (auto log = partition->log(); log && log->config().compact && partition->IsLeader()) {
        auto keyless = KeylessRecords(pd.records.bytes, tp);
        if (!keyless.empty()) {
          pr.error_code = static_cast<int16_t>(ErrorCode::kInvalidRecord);
          pr.error_message = RecordErrorsMessage(keyless);
          pr.record_errors = std::move(keyless);
          VLOG(1) << "[Produce " << tp.ToString() << "] " << *pr.error_message;
          continue;
        }
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
  // The appends write files (and may roll a segment, write indexes, fsync for
  // flush.messages): on the I/O pool, all of the request's partitions in one hop.
  if (!appends.empty()) {
    co_await ctx.run_io([&] {
      for (auto& a : appends) {
        auto& pr = out.responses[a.topic_index].partition_responses[a.partition_index];
        const TopicPartition& tp = a.partition->topic_partition();
        auto result = a.partition->AppendRecordsToLeader(a.data, a.size, in.acks, a.min_isr);
        if (!result.ok()) {
          ErrorCode ec = ProduceError(result.status());
          pr.error_code = static_cast<int16_t>(ec);
          if (req.version() >= 8) pr.error_message = result.status().message();
          VLOG(1) << "[Produce " << tp.ToString() << "] " << protocol::ErrorCodeName(ec) << ": "
                  << result.status().ToString();
          continue;
        }
        pr.base_offset = result->first_offset;
        pr.log_append_time_ms = result->log_append_time;
        pr.log_start_offset = result->log_start_offset;
        ctx.replicas->listeners().Notify(tp);
        if (in.acks == -1) {
          pending.push_back({a.topic_index, a.partition_index, a.partition, result->last_offset + 1,
                             result->leader_epoch, a.min_isr});
        }
      }
    });
  }
  if (in.acks == 0) {
    resp.send = false;
    co_return true;
  }
  if (!pending.empty()) {
    req.conn.ParkRequest();  // waiting on followers: out of the request queue (purgatory)
    co_await AwaitReplication(ctx, in.timeout_ms, pending, out);
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
