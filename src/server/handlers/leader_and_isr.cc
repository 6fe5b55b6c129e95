// LeaderAndIsr (4), UpdateMetadata (6), StopReplica (5): the controller's
// requests to this broker, as in Kafka's ZooKeeper mode.
//
// LeaderAndIsr v7, UpdateMetadata v8 and StopReplica v4 (KIP-866) add IsKRaftController: a
// Kafka 3.4+ ZooKeeper controller sends these versions with false (IBP 3.4+), and they are
// served as the older ones. True comes from a KRaft controller driving a ZooKeeper-to-KRaft
// migration, which gregord does not take part in (its registration never says it is ready for
// one): that controller's id and epochs are not the ZooKeeper controller's, and acting on them
// would mix two authorities over the same replicas. Such a request is refused whole with
// UNKNOWN_SERVER_ERROR, what a Kafka 3.9 ZooKeeper broker without
// zookeeper.metadata.migration.enable answers (its broker-epoch check throws), and a warning is
// logged at most once a minute.
#include "gregor/protocol/messages/leader_and_isr.h"

#include <glog/logging.h>

#include <atomic>
#include <chrono>
#include <set>

#include "gregor/protocol/messages/stop_replica.h"
#include "gregor/protocol/messages/update_metadata.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;

cluster::PartitionRole RoleOf(const protocol::LeaderAndIsrRequest::LeaderAndIsrPartitionState& s) {
  cluster::PartitionRole r;
  r.controller_epoch = s.controller_epoch;
  r.leader = s.leader;
  r.leader_epoch = s.leader_epoch;
  r.zk_version = s.partition_epoch;
  r.isr = s.isr;
  r.replicas = s.replicas;
  return r;
}

std::atomic<int64_t> g_last_kraft_warning_ms{0};

// True (and a rate-limited warning) when a KRaft controller sent the request.
bool FromKRaftController(bool is_kraft_controller, const char* api, int32_t controller_id,
                         int32_t controller_epoch) {
  if (!is_kraft_controller) return false;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  int64_t prev = g_last_kraft_warning_ms.load();
  if (now - prev >= 60000 && g_last_kraft_warning_ms.compare_exchange_strong(prev, now)) {
    LOG(WARNING) << "Refusing " << api << " from KRaft controller " << controller_id << " (epoch "
                 << controller_epoch
                 << "): this broker runs in ZooKeeper mode and takes no part in a migration "
                    "to KRaft";
  }
  return true;
}

// Kafka's isBrokerEpochStale (KIP-380): a request the controller addressed to an earlier
// registration of this broker (before a ZooKeeper session expiry re-registered it) is refused
// with STALE_BROKER_EPOCH, because its view of the broker's replicas predates the restart of
// its state. -1 (versions without the field, and a controller older than KIP-380) is never
// stale. A larger epoch than ours is taken: the controller can see the new registration
// before RegisterBroker() has stored its epoch here.
bool StaleBrokerEpoch(const ServerContext& ctx, const char* api, int64_t in_request) {
  if (in_request == -1 || ctx.broker_epoch == nullptr) return false;
  const int64_t ours = ctx.broker_epoch->load();
  if (in_request >= ours) return false;
  LOG(INFO) << "[Broker " << ctx.broker_id << "] refusing " << api << " for broker epoch "
            << in_request << ", older than the current broker epoch " << ours;
  return true;
}
}  // namespace

asio::awaitable<bool> HandleLeaderAndIsr(ServerContext& ctx, Request& req, Response& resp) {
  protocol::LeaderAndIsrRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  std::vector<cluster::LeaderAndIsrPartition> parts;
  std::set<std::string> topics;
  auto add = [&](const std::string& topic, const cluster::TopicId& id,
                 const protocol::LeaderAndIsrRequest::LeaderAndIsrPartitionState& s) {
    cluster::LeaderAndIsrPartition p;
    p.tp = {topic, s.partition_index};
    p.topic_id = id;
    p.role = RoleOf(s);
    p.is_new = s.is_new;
    parts.push_back(std::move(p));
    topics.insert(topic);
  };
  if (v < 2) {
    for (const auto& s : in.ungrouped_partition_states) add(s.topic_name, {}, s);
  } else {
    for (const auto& t : in.topic_states) {
      for (const auto& s : t.partition_states) add(t.topic_name, t.topic_id, s);
    }
  }
  std::vector<std::pair<TopicPartition, ErrorCode>> results;
  ErrorCode top = ErrorCode::kNone;
  if (!Authorized(ctx, req.conn, AclRuleId::kLeaderAndIsr)) {
    top = Denied(AclRuleId::kLeaderAndIsr);
  } else if (FromKRaftController(in.is_k_raft_controller, "LeaderAndIsr", in.controller_id,
                                 in.controller_epoch)) {
    top = ErrorCode::kUnknownServerError;
  } else if (StaleBrokerEpoch(ctx, "LeaderAndIsr", in.broker_epoch)) {
    top = ErrorCode::kStaleBrokerEpoch;
  }
  if (top != ErrorCode::kNone) {
    // Kafka's error response: the error at the top and on every partition.
    for (const auto& p : parts) results.emplace_back(p.tp, top);
    parts.clear();
    topics.clear();
  }
  // A topic's overrides must be known before its logs are created.
  std::vector<std::string> unknown;
  for (const auto& t : topics) {
    bool have = false;
    for (const auto& p : ctx.replicas->AllPartitions()) {
      if (p->topic_partition().topic == t) {
        have = true;
        break;
      }
    }
    if (!have) unknown.push_back(t);
  }
  if (!unknown.empty()) {
    co_await ctx.run_blocking([&] {
      for (const auto& t : unknown) ctx.reload_topic_config(t);
    });
  }
  if (top == ErrorCode::kNone) {
    co_await ctx.run_blocking([&] {
      top = ctx.replicas->BecomeLeaderOrFollower(in.controller_id, in.controller_epoch, parts,
                                                 &results);
    });
  }
  protocol::LeaderAndIsrResponse out;
  out.error_code = top;
  if (v < 5) {
    for (const auto& [tp, ec] : results) {
      auto& e = out.partition_errors.emplace_back();
      e.topic_name = tp.topic;
      e.partition_index = tp.partition;
      e.error_code = ec;
    }
  } else {
    std::map<std::string, size_t> index;
    for (const auto& t : in.topic_states) {
      index[t.topic_name] = out.topics.size();
      auto& te = out.topics.emplace_back();
      te.topic_id = t.topic_id;
    }
    for (const auto& [tp, ec] : results) {
      auto& e = out.topics[index[tp.topic]].partition_errors.emplace_back();
      e.partition_index = tp.partition;
      e.error_code = ec;
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

asio::awaitable<bool> HandleUpdateMetadata(ServerContext& ctx, Request& req, Response& resp) {
  protocol::UpdateMetadataRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  std::vector<cluster::CachedBroker> brokers;
  for (const auto& b : in.live_brokers) {
    cluster::CachedBroker cb;
    cb.id = b.id;
    if (b.rack) cb.rack = *b.rack;
    if (v == 0) {
      cb.endpoints.push_back({"PLAINTEXT", b.v0_host, b.v0_port, "PLAINTEXT"});
    }
    for (const auto& e : b.endpoints) {
      std::string proto = e.security_protocol == 1   ? "SSL"
                          : e.security_protocol == 2 ? "SASL_PLAINTEXT"
                          : e.security_protocol == 3 ? "SASL_SSL"
                                                     : "PLAINTEXT";
      cb.endpoints.push_back({v >= 3 ? e.listener : proto, e.host, e.port, proto});
    }
    brokers.push_back(std::move(cb));
  }
  std::vector<cluster::PartitionUpdate> parts;
  auto add = [&](const std::string& topic, const cluster::TopicId& id,
                 const protocol::UpdateMetadataRequest::UpdateMetadataPartitionState& s) {
    cluster::PartitionUpdate u;
    u.topic = topic;
    u.partition = s.partition_index;
    u.topic_id = id;
    u.state.leader = s.leader;
    u.state.leader_epoch = s.leader_epoch;
    u.state.zk_version = s.zk_version;
    u.state.replicas = s.replicas;
    u.state.isr = s.isr;
    u.state.offline_replicas = s.offline_replicas;
    parts.push_back(std::move(u));
  };
  if (v < 5) {
    for (const auto& s : in.ungrouped_partition_states) add(s.topic_name, {}, s);
  } else {
    for (const auto& t : in.topic_states) {
      for (const auto& s : t.partition_states) add(t.topic_name, t.topic_id, s);
    }
  }
  protocol::UpdateMetadataResponse out;
  if (!Authorized(ctx, req.conn, AclRuleId::kUpdateMetadata)) {
    out.error_code = Denied(AclRuleId::kUpdateMetadata);
  } else if (FromKRaftController(in.is_k_raft_controller, "UpdateMetadata", in.controller_id,
                                 in.controller_epoch)) {
    out.error_code = ErrorCode::kUnknownServerError;
  } else if (StaleBrokerEpoch(ctx, "UpdateMetadata", in.broker_epoch)) {
    out.error_code = ErrorCode::kStaleBrokerEpoch;
  } else if (in.controller_epoch < ctx.replicas->controller_epoch()) {
    out.error_code = ErrorCode::kStaleControllerEpoch;
  } else {
    ctx.metadata->Update(in.controller_id, std::move(brokers), parts);
    VLOG(1) << "[Broker " << ctx.broker_id << "] metadata from controller " << in.controller_id
            << " epoch " << in.controller_epoch << ": " << parts.size() << " partition states";
  }
  out.Encode(resp.out, v);
  co_return true;
}

asio::awaitable<bool> HandleStopReplica(ServerContext& ctx, Request& req, Response& resp) {
  protocol::StopReplicaRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  std::vector<TopicPartition> keep, remove;
  if (v == 0) {
    for (const auto& p : in.ungrouped_partitions) {
      (in.delete_partitions ? remove : keep).push_back({p.topic_name, p.partition_index});
    }
  } else if (v <= 2) {
    for (const auto& t : in.topics) {
      for (int32_t p : t.partition_indexes) {
        (in.delete_partitions ? remove : keep).push_back({t.name, p});
      }
    }
  } else {
    for (const auto& t : in.topic_states) {
      for (const auto& p : t.partition_states) {
        (p.delete_partition ? remove : keep).push_back({t.topic_name, p.partition_index});
      }
    }
  }
  std::vector<std::pair<TopicPartition, ErrorCode>> results;
  ErrorCode top = ErrorCode::kNone;
  if (!Authorized(ctx, req.conn, AclRuleId::kStopReplica)) {
    top = Denied(AclRuleId::kStopReplica);
  } else if (FromKRaftController(in.is_k_raft_controller, "StopReplica", in.controller_id,
                                 in.controller_epoch)) {
    top = ErrorCode::kUnknownServerError;
  } else if (StaleBrokerEpoch(ctx, "StopReplica", in.broker_epoch)) {
    top = ErrorCode::kStaleBrokerEpoch;
  }
  if (top != ErrorCode::kNone) {
    for (const auto* list : {&keep, &remove}) {
      for (const auto& tp : *list) results.emplace_back(tp, top);
    }
  } else {
    co_await ctx.run_blocking([&] {
      top = ctx.replicas->StopReplicas(in.controller_epoch, keep, false, &results);
      if (top == ErrorCode::kNone) {
        top = ctx.replicas->StopReplicas(in.controller_epoch, remove, true, &results);
      }
    });
  }
  protocol::StopReplicaResponse out;
  out.error_code = top;
  for (const auto& [tp, ec] : results) {
    auto& e = out.partition_errors.emplace_back();
    e.topic_name = tp.topic;
    e.partition_index = tp.partition;
    e.error_code = ec;
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
