// DescribeLogDirs (35): per log directory (log.dirs), the partitions this broker holds there with
// their size and offset lag, and (v4+) the volume's total and usable bytes, as Kafka's
// ReplicaManager.describeLogDirs answers it. A replica being moved to another dir
// (AlterReplicaLogDirs) is listed there too, as the future replica (IsFutureKey, OffsetLag = the
// current log end - the copy's end). Needs DESCRIBE on the cluster: without it the
// answer is empty, with CLUSTER_AUTHORIZATION_FAILED from v3 on.
#include "gregor/protocol/messages/describe_log_dirs.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {

std::string Absolute(const std::string& dir) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(dir, ec), ec);
  return ec ? dir : p.lexically_normal().string();
}

}  // namespace

asio::awaitable<bool> HandleDescribeLogDirs(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DescribeLogDirsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  protocol::DescribeLogDirsResponse out;
  if (!Authorized(ctx, req.conn, AclRuleId::kDescribeLogDirs)) {
    out.error_code = Denied(AclRuleId::kDescribeLogDirs);
    out.Encode(resp.out, v);
    co_return true;
  }
  // The partitions asked about (null: all).
  std::optional<std::set<TopicPartition>> wanted;
  if (in.topics) {
    wanted.emplace();
    for (const auto& t : *in.topics) {
      for (int32_t p : t.partitions) wanted->insert({t.topic, p});
    }
  }
  struct Row {
    TopicPartition tp;
    int64_t size, lag;
    bool future;
  };
  std::map<std::string, std::vector<Row>> by_dir;  // absolute log dir -> partitions
  std::map<std::string, std::pair<int64_t, int64_t>> space;
  co_await ctx.run_blocking([&] {
    for (const auto& dir : ctx.config->log_dirs) by_dir[Absolute(dir)];
    for (const auto& p : ctx.replicas->AllPartitions()) {
      if (wanted && !wanted->count(p->topic_partition())) continue;
      auto log = p->log();
      if (!log) continue;
      const std::string dir = Absolute(std::filesystem::path(log->dir()).parent_path().string());
      by_dir[dir].push_back({p->topic_partition(), log->Size(),
                             std::max<int64_t>(0, log->HighWatermark() - log->LogEndOffset()),
                             false});
    }
    const auto futures =
        ctx.logs ? ctx.logs->FutureLogs() : std::vector<log::LogManager::FutureLog>{};
    for (const auto& f : futures) {
      if (wanted && !wanted->count(f.tp)) continue;
      auto log = ctx.logs->GetLog(f.tp);
      if (!log) continue;
      const int64_t end = std::max(f.end_offset, log->LogStartOffset());
      by_dir[Absolute(f.dir)].push_back(
          {f.tp, f.size, std::max<int64_t>(0, log->LogEndOffset() - end), true});
    }
    for (const auto& [dir, rows] : by_dir) {
      struct statvfs st {};
      if (::statvfs(dir.c_str(), &st) == 0) {
        space[dir] = {static_cast<int64_t>(st.f_blocks) * static_cast<int64_t>(st.f_frsize),
                      static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize)};
      }
    }
  });
  for (auto& [dir, rows] : by_dir) {
    auto& r = out.results.emplace_back();
    r.log_dir = dir;
    auto s = space.find(dir);
    if (s == space.end()) {
      r.error_code = protocol::ErrorCode::kKafkaStorageError;  // the directory is unreadable
      continue;
    }
    r.total_bytes = s->second.first;
    r.usable_bytes = s->second.second;
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.tp != b.tp ? a.tp < b.tp : a.future < b.future;
    });
    for (const Row& row : rows) {
      if (r.topics.empty() || r.topics.back().name != row.tp.topic) {
        r.topics.emplace_back().name = row.tp.topic;
      }
      auto& p = r.topics.back().partitions.emplace_back();
      p.partition_index = row.tp.partition;
      p.partition_size = row.size;
      p.offset_lag = row.lag;
      p.is_future_key = row.future;
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
