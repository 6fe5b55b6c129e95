// DeleteRecords (21): advance the log start offset of partitions led here
// (Kafka's Partition.deleteRecordsOnLeader). gregor answers once the leader
// moved; it does not wait for followers' low watermarks.
#include "gregor/protocol/messages/delete_records.h"

#include "gregor/config/topic_config.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
constexpr int64_t kHighWatermark = -1;

// Failures of Log::DeleteRecordsBefore, as a client sees them.
ErrorCode DeleteRecordsError(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk:
      return ErrorCode::kNone;
    case Status::Code::kOutOfRange:
      return ErrorCode::kOffsetOutOfRange;
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
      return ErrorCode::kKafkaStorageError;
    case Status::Code::kNotLeader:
      return ErrorCode::kNotLeaderOrFollower;
    case Status::Code::kNotFound:
    case Status::Code::kCorruption:
    case Status::Code::kInvalidArgument:
    case Status::Code::kTimeout:
    case Status::Code::kUnavailable:
    case Status::Code::kAlreadyExists:
    case Status::Code::kTooLarge:
    case Status::Code::kStale:
    case Status::Code::kInternal:
    case Status::Code::kOutOfOrder:
    case Status::Code::kFenced:
    case Status::Code::kFailedPrecondition:
      return ErrorCode::kUnknownServerError;
  }
  return ErrorCode::kUnknownServerError;
}

}  // namespace

asio::awaitable<bool> HandleDeleteRecords(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DeleteRecordsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::DeleteRecordsResponse out;
  auto md = ctx.metadata->Get();

  struct Work {
    protocol::DeleteRecordsResponse::DeleteRecordsPartitionResult* result;
    std::shared_ptr<log::Log> log;
    int64_t offset;
  };
  std::vector<Work> work;
  // Reserve first: `work` keeps pointers into these vectors.
  out.topics.reserve(in.topics.size());
  for (const auto& topic : in.topics) {
    auto& tr = out.topics.emplace_back();
    tr.name = topic.name;
    tr.partitions.reserve(topic.partitions.size());
    bool deletable = config::ToLogConfig(*ctx.CurrentConfig(), ctx.topic_configs->Get(topic.name))
                         .delete_enabled;
    const bool allowed = Authorized(ctx, req.conn, AclRuleId::kDeleteRecords, topic.name);
    for (const auto& p : topic.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      pr.low_watermark = -1;
      if (!allowed) {
        pr.error_code = Denied(AclRuleId::kDeleteRecords);
        continue;
      }
      auto partition = ctx.replicas->GetPartition({topic.name, p.partition_index});
      if (!partition || !partition->IsLeader()) {
        auto t = md->topics.find(topic.name);
        bool known = t != md->topics.end() && t->second.partitions.count(p.partition_index);
        pr.error_code =
            known ? ErrorCode::kNotLeaderOrFollower : ErrorCode::kUnknownTopicOrPartition;
        continue;
      }
      // Kafka: records of a compacted-only topic cannot be deleted.
      if (!deletable) {
        pr.error_code = ErrorCode::kPolicyViolation;
        continue;
      }
      auto log = partition->log();
      int64_t hw = log->HighWatermark();
      int64_t offset = p.offset == kHighWatermark ? hw : p.offset;
      if (offset < 0 || offset > hw) {
        pr.error_code = ErrorCode::kOffsetOutOfRange;
        continue;
      }
      work.push_back({&pr, std::move(log), offset});
    }
  }

  if (!work.empty()) {
    // Deleting segments is file I/O: off the network thread.
    co_await ctx.run_blocking([&] {
      for (auto& w : work) {
        Status st = w.offset > w.log->LogStartOffset() ? w.log->DeleteRecordsBefore(w.offset)
                                                       : Status::Ok();
        w.result->error_code = DeleteRecordsError(st);
        w.result->low_watermark = st.ok() ? w.log->LogStartOffset() : -1;
      }
    });
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
