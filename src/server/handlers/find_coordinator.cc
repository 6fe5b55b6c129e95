// FindCoordinator (10): which broker coordinates a group (Kafka's
// handleFindCoordinatorRequest). The group's coordinator is the leader of its
// __consumer_offsets partition; the topic is created on first use
// (offsets.topic.num.partitions, offsets.topic.replication.factor capped by
// the live brokers), answering COORDINATOR_NOT_AVAILABLE until it is online.
#include "gregor/protocol/messages/find_coordinator.h"

#include <glog/logging.h>

#include "server/handlers/group_handlers.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

constexpr int8_t kGroupKeyType = 0;

struct Found {
  ErrorCode error = ErrorCode::kNone;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

// Creates __consumer_offsets with Kafka's internal-topic settings. Blocking (ZooKeeper).
void CreateOffsetsTopic(ServerContext& ctx) {
  TopicCreation tc;
  tc.name = group::kOffsetsTopic;
  tc.num_partitions = ctx.config->offsets_topic_num_partitions;
  int64_t live = static_cast<int64_t>(ctx.metadata->Get()->brokers.size());
  int64_t rf =
      std::min<int64_t>(ctx.config->offsets_topic_replication_factor, std::max<int64_t>(live, 1));
  rf = std::min<int64_t>(rf, ctx.max_replication_factor);
  if (rf < ctx.config->offsets_topic_replication_factor) {
    // Kafka caps it the same way (with a warning) so a small cluster can still have groups.
    LOG(WARNING) << "[FindCoordinator] offsets.topic.replication.factor is "
                 << ctx.config->offsets_topic_replication_factor << " but only " << live
                 << " broker(s) are alive: creating " << group::kOffsetsTopic
                 << " with replication factor " << rf;
  }
  tc.replication_factor = static_cast<int16_t>(rf);
  tc.configs["cleanup.policy"] = "compact";
  tc.configs["segment.bytes"] = std::to_string(ctx.config->offsets_topic_segment_bytes);
  AdminResult r = CreateTopic(ctx, tc, false);
  if (r.ok()) {
    LOG(INFO) << "[FindCoordinator] created " << group::kOffsetsTopic << " with "
              << tc.num_partitions << " partitions, replication factor " << rf;
  } else if (r.error != ErrorCode::kTopicAlreadyExists) {
    LOG(WARNING) << "[FindCoordinator] cannot create " << group::kOffsetsTopic << ": " << r.message;
  }
}

Found Lookup(group::GroupCoordinator& gc, ServerContext& ctx, const std::string& key,
             const std::string& listener) {
  Found f;
  auto md = ctx.metadata->Get();
  auto t = md->topics.find(group::kOffsetsTopic);
  if (t == md->topics.end()) {
    f.error = ErrorCode::kCoordinatorNotAvailable;
    return f;
  }
  auto p = t->second.partitions.find(gc.PartitionFor(key));
  if (p == t->second.partitions.end() || p->second.leader < 0) {
    f.error = ErrorCode::kCoordinatorNotAvailable;
    return f;
  }
  auto b = md->brokers.find(p->second.leader);
  if (b != md->brokers.end()) {
    for (const auto& ep : b->second.endpoints) {
      if (ep.listener != listener) continue;
      f.node_id = b->first;
      f.host = ep.host;
      f.port = ep.port;
      return f;
    }
  }
  f.error = ErrorCode::kCoordinatorNotAvailable;
  return f;
}

}  // namespace

asio::awaitable<bool> HandleFindCoordinator(group::GroupCoordinator& gc, ServerContext& ctx,
                                            Request& req, Response& resp) {
  protocol::FindCoordinatorRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  std::vector<std::string> keys;
  if (v >= 4) {
    keys = in.coordinator_keys;
  } else {
    keys.push_back(in.key);
  }

  const bool group_keys = in.key_type == kGroupKeyType;
  if (group_keys && !ctx.metadata->Get()->topics.count(group::kOffsetsTopic)) {
    co_await ctx.run_blocking([&] { CreateOffsetsTopic(ctx); });
  }

  std::vector<Found> found;
  for (const auto& key : keys) {
    Found f;
    if (!group_keys) {
      // No transaction coordinator yet; unknown key types are invalid.
      f.error = in.key_type == 1 ? ErrorCode::kCoordinatorNotAvailable : ErrorCode::kInvalidRequest;
    } else {
      f = Lookup(gc, ctx, key, req.conn.listener_name);
    }
    found.push_back(f);
  }

  protocol::FindCoordinatorResponse out;
  auto message = [](ErrorCode e) -> std::optional<std::string> {
    if (e == ErrorCode::kNone) return std::nullopt;
    return std::string(protocol::ErrorCodeName(e));
  };
  if (v >= 4) {
    for (size_t i = 0; i < keys.size(); ++i) {
      auto& c = out.coordinators.emplace_back();
      c.key = keys[i];
      c.node_id = found[i].node_id;
      c.host = found[i].host;
      c.port = found[i].port;
      c.error_code = static_cast<int16_t>(found[i].error);
      c.error_message = message(found[i].error);
    }
  } else {
    const Found& f = found.front();
    out.error_code = static_cast<int16_t>(f.error);
    out.error_message = message(f.error);
    out.node_id = f.node_id;
    out.host = f.host;
    out.port = f.port;
  }
  out.Encode(resp.out, v);
  co_return true;
}

std::string GroupClientHost(const Request& req) {
  const std::string& a = req.conn.client_address;
  auto colon = a.rfind(':');
  std::string host = colon == std::string::npos ? a : a.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return "/" + host;
}

}  // namespace gregor::server
