// AlterReplicaLogDirs (34, KIP-113): move replicas of this broker to another of its log.dirs,
// as Kafka's ReplicaManager.alterReplicaLogDirs answers it. The move runs in the background
// (LogManager's mover thread): NONE means it started (or the replica is there already), and
// DescribeLogDirs shows the future replica until it completes. Needs ALTER on the cluster:
// without it every partition gets CLUSTER_AUTHORIZATION_FAILED.
#include "gregor/protocol/messages/alter_replica_log_dirs.h"

#include <map>

#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

// Kafka's error for each outcome of LogManager::AlterLogDir.
ErrorCode ErrorOf(log::LogManager::MoveResult r) {
  switch (r) {
    case log::LogManager::MoveResult::kStarted:
    case log::LogManager::MoveResult::kAlreadyThere:
      return ErrorCode::kNone;
    case log::LogManager::MoveResult::kNoLog:
      // Kafka answers NotLeaderOrFollower as REPLICA_NOT_AVAILABLE here, for compatibility.
      return ErrorCode::kReplicaNotAvailable;
    case log::LogManager::MoveResult::kUnknownDir:
      return ErrorCode::kLogDirNotFound;
    case log::LogManager::MoveResult::kOfflineDir:
      return ErrorCode::kKafkaStorageError;
  }
  return ErrorCode::kUnknownServerError;
}

// Kafka refuses topics whose future dir name, `<topic>-<p>.<32 hex>-future`, is longer than a
// file name may be (KAFKA-4893).
bool NameTooLong(const TopicPartition& tp) { return tp.ToString().size() + 1 + 32 + 7 > 255; }

}  // namespace

asio::awaitable<bool> HandleAlterReplicaLogDirs(ServerContext& ctx, Request& req, Response& resp) {
  protocol::AlterReplicaLogDirsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  // Kafka collects the request into a map: a partition named twice goes to the last dir.
  std::map<TopicPartition, std::string> wanted;
  for (const auto& d : in.dirs) {
    for (const auto& t : d.topics) {
      for (int32_t p : t.partitions) wanted[{t.name, p}] = d.path;
    }
  }
  std::map<TopicPartition, ErrorCode> errors;
  if (!Authorized(ctx, req.conn, AclRuleId::kAlterReplicaLogDirs)) {
    for (const auto& [tp, dir] : wanted) errors[tp] = Denied(AclRuleId::kAlterReplicaLogDirs);
  } else {
    // Path resolution stats the dirs: not on a network thread.
    co_await ctx.run_blocking([&] {
      for (const auto& [tp, dir] : wanted) {
        errors[tp] = NameTooLong(tp) ? ErrorCode::kInvalidTopicException
                                     : ErrorOf(ctx.logs->AlterLogDir(tp, dir));
      }
    });
  }
  protocol::AlterReplicaLogDirsResponse out;
  for (const auto& [tp, error] : errors) {
    if (out.results.empty() || out.results.back().topic_name != tp.topic) {
      out.results.emplace_back().topic_name = tp.topic;
    }
    auto& p = out.results.back().partitions.emplace_back();
    p.partition_index = tp.partition;
    p.error_code = error;
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
