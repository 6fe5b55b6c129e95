// ListOffsets (2): earliest (-2), latest (-1) and by-timestamp lookups. Consumers see the log
// up to the high watermark, read_committed ones (isolation_level=1, v2+) up to the last stable
// offset: that is "latest" for them, and a timestamp lookup finds nothing past it (Kafka's
// lastFetchableOffset). v7 adds -3 (KIP-734, the largest timestamp), v8 -4 (KIP-405, the local
// log start) and v9 -5 (KIP-1005, the last tiered offset), answered as Kafka 3.9 answers them
// without remote storage.
#include "gregor/protocol/messages/list_offsets.h"

#include "server/authorization.h"
#include "server/errors.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;
constexpr int64_t kLatest = -1;
constexpr int64_t kEarliest = -2;
constexpr int64_t kMaxTimestamp = -3;
constexpr int64_t kEarliestLocal = -4;
constexpr int64_t kLatestTiered = -5;

// Kafka's timestampMinSupportedVersion: a special timestamp the request's version does not
// know (or an unknown negative one) answers UNSUPPORTED_VERSION.
bool TimestampSupported(int64_t timestamp, int16_t version) {
  switch (timestamp) {
    case kLatest:
    case kEarliest:
      return true;
    case kMaxTimestamp:
      return version >= 7;
    case kEarliestLocal:
      return version >= 8;
    case kLatestTiered:
      return version >= 9;
    default:
      return timestamp >= 0;
  }
}
}  // namespace

asio::awaitable<bool> HandleListOffsets(ServerContext& ctx, Request& req, Response& resp) {
  protocol::ListOffsetsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::ListOffsetsResponse out;
  const int16_t v = req.version();
  const bool read_committed = v >= 2 && in.isolation_level == 1;
  std::vector<bool> denied;
  for (const auto& topic : in.topics) {
    denied.push_back(!Authorized(ctx, req.conn, AclRuleId::kListOffsetsTopic, topic.name));
  }
  // Timestamp lookups read time and offset indexes (cold pages may fault in from disk): on
  // the I/O pool.
  co_await ctx.run_io([&] {
    for (size_t ti = 0; ti < in.topics.size(); ++ti) {
      const auto& topic = in.topics[ti];
      auto& tr = out.topics.emplace_back();
      tr.name = topic.name;
      for (const auto& p : topic.partitions) {
        auto& pr = tr.partitions.emplace_back();
        pr.partition_index = p.partition_index;
        pr.timestamp = -1;
        pr.offset = -1;
        if (denied[ti]) {
          pr.error_code = Denied(AclRuleId::kListOffsetsTopic);
          continue;
        }
        // Checked before leadership, as Kafka's handleListOffsetRequestV1AndAbove does (v0,
        // Kafka's separate legacy path, keeps its INVALID_REQUEST).
        if (!TimestampSupported(p.timestamp, v)) {
          pr.error_code = v >= 1 ? ErrorCode::kUnsupportedVersion : ErrorCode::kInvalidRequest;
          continue;
        }
        TopicPartition tp{topic.name, p.partition_index};
        auto partition = ctx.replicas->GetPartition(tp);
        if (!partition || !partition->IsLeader()) {
          auto md = ctx.metadata->Get();
          auto t = md->topics.find(topic.name);
          bool known = t != md->topics.end() && t->second.partitions.count(p.partition_index);
          pr.error_code =
              known ? ErrorCode::kNotLeaderOrFollower : ErrorCode::kUnknownTopicOrPartition;
          continue;
        }
        if (v >= 4 && p.current_leader_epoch >= 0 &&
            p.current_leader_epoch != partition->leader_epoch()) {
          pr.error_code = p.current_leader_epoch < partition->leader_epoch()
                              ? ErrorCode::kFencedLeaderEpoch
                              : ErrorCode::kUnknownLeaderEpoch;
          continue;
        }
        // KIP-207: a new leader whose high watermark has not reached its epoch's start offset
        // cannot say where the log ends yet (v5+: OFFSET_NOT_AVAILABLE; before:
        // LEADER_NOT_AVAILABLE); the earliest offset and lookups it can answer are served.
        const ErrorCode not_available =
            v >= 5 ? ErrorCode::kOffsetNotAvailable : ErrorCode::kLeaderNotAvailable;
        const bool hw_pending = partition->HighWatermarkBelowEpochStart();
        auto log = partition->log();
        const int64_t fetchable = read_committed ? log->LastStableOffset() : log->HighWatermark();
        int64_t offset = -1;
        int64_t timestamp = -1;
        int32_t epoch = -1;
        if (p.timestamp == kLatest) {
          if (hw_pending) {
            pr.error_code = not_available;
            continue;
          }
          offset = fetchable;
          epoch = partition->leader_epoch();
        } else if (p.timestamp == kEarliest || p.timestamp == kEarliestLocal) {
          // Without remote storage the local log is the whole log: -4 is -2 (UnifiedLog).
          offset = log->LogStartOffset();
          auto e = log->FetchOffsetByTimestamp(kEarliest);
          if (e.ok()) epoch = e->leader_epoch;
        } else if (p.timestamp == kLatestTiered) {
          // Nothing is tiered: Kafka answers offset -1 with leader epoch -1, no error.
        } else if (p.timestamp == kMaxTimestamp) {
          // KIP-734: the record with the largest timestamp.
          auto found = log->FetchOffsetByTimestamp(kMaxTimestamp);
          if (found.ok() && found->offset < fetchable) {
            offset = found->offset;
            timestamp = found->timestamp;
            epoch = found->leader_epoch;
          } else if (hw_pending) {
            pr.error_code = not_available;
            continue;
          }
        } else {
          auto found = log->FetchOffsetByTimestamp(p.timestamp);
          if (found.ok() && found->offset < fetchable) {
            offset = found->offset;
            timestamp = found->timestamp;
            epoch = found->leader_epoch;
          } else if (hw_pending) {
            pr.error_code = not_available;
            continue;
          } else if (!found.ok() && found.status().code() != Status::Code::kNotFound) {
            pr.error_code = ReadError(found.status());
            continue;
          }
        }
        pr.offset = offset;
        pr.timestamp = timestamp;
        pr.leader_epoch = epoch;
        if (v == 0) {
          // v0 answers a list of offsets; MaxNumOffsets > 0 gets the one we have.
          if (p.max_num_offsets > 0 && offset >= 0) pr.old_style_offsets.push_back(offset);
        }
      }
    }
  });
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
