#include "server/handlers/replication_wait.h"

#include <charconv>
#include <chrono>

#include "gregor/protocol/error_code.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

// True when every wait is settled (its error code written).
bool Settle(std::vector<ReplicationWait>& waits, bool timed_out) {
  bool all = true;
  for (auto& w : waits) {
    if (!w.partition) continue;  // settled earlier
    ErrorCode ec = ErrorCode::kNone;
    switch (w.partition->CheckReplicated(w.required_offset, w.min_isr, w.leader_epoch)) {
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
    *w.error_code = ec;
    w.partition.reset();
  }
  return all;
}

}  // namespace

int32_t MinInsyncReplicas(ServerContext& ctx, const std::string& topic) {
  auto overrides = ctx.topic_configs->Get(topic);
  auto it = overrides.find("min.insync.replicas");
  if (it != overrides.end()) {
    int32_t v = 0;
    auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec == std::errc() && v > 0) return v;
  }
  return ctx.CurrentConfig()->min_insync_replicas;
}

asio::awaitable<void> AwaitReplication(ServerContext& ctx, int32_t timeout_ms,
                                       std::vector<ReplicationWait>& waits) {
  if (Settle(waits, false)) co_return;
  std::vector<TopicPartition> tps;
  for (const auto& w : waits) {
    if (w.partition) tps.push_back(w.partition->topic_partition());
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, timeout_ms));
  auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  while (std::chrono::steady_clock::now() < deadline) {
    timer->expires_at(deadline);
    // Registered before the re-check, so a high-watermark move in between is never missed.
    uint64_t handle = ctx.replicas->listeners().Add(
        tps, [timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
    if (Settle(waits, false)) {
      ctx.replicas->listeners().Remove(handle);
      co_return;
    }
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    ctx.replicas->listeners().Remove(handle);
  }
  Settle(waits, true);
}

}  // namespace gregor::server
