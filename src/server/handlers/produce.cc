// Produce (0): append client record batches to partition leaders.
#include "gregor/protocol/messages/produce.h"

#include <glog/logging.h>

#include <charconv>

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

}  // namespace

asio::awaitable<bool> HandleProduce(ServerContext& ctx, Request& req, Response& resp) {
  protocol::ProduceRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ProduceResponse out;
  const bool acks_valid = in.acks == -1 || in.acks == 0 || in.acks == 1;
  auto* frame_base = reinterpret_cast<uint8_t*>(req.frame.data());

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
      // min.insync.replicas matters only to acks=all; looking it up copies
      // the topic's config map, so acks=0/1 requests skip it.
      if (in.acks == -1 && min_isr < 0) min_isr = MinInsyncReplicas(ctx, topic.name);
      // The batches are stamped in place inside the request frame: no copy.
      uint8_t* data = frame_base + (reinterpret_cast<const uint8_t*>(pd.records.bytes.data()) -
                                    reinterpret_cast<const uint8_t*>(req.frame.data()));
      auto result =
          partition->AppendRecordsToLeader(data, pd.records.bytes.size(), in.acks, min_isr);
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
    }
  }
  if (in.acks == 0) {
    resp.send = false;
    co_return true;
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
