// FindCoordinator (10): which broker coordinates a group or a transactional id (Kafka's
// handleFindCoordinatorRequest). A group's coordinator is the leader of its
// __consumer_offsets partition, a transactional id's the leader of its __transaction_state
// partition; each topic is created on first use (offsets.topic.* / transaction.state.log.*,
// the replication factor capped by the live brokers), answering COORDINATOR_NOT_AVAILABLE until
// it is online. Share groups (KIP-932, key type 2) have no coordinator in ZooKeeper mode: from
// v6 a key of that type answers COORDINATOR_NOT_AVAILABLE to a principal allowed CLUSTER_ACTION
// (CLUSTER_AUTHORIZATION_FAILED otherwise), below v6 INVALID_REQUEST, as Kafka 3.9 does.
#include "gregor/protocol/messages/find_coordinator.h"

#include <glog/logging.h>

#include <map>

#include "gregor/txn/transaction_coordinator.h"
#include "server/authorization.h"
#include "server/handlers/group_handlers.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

constexpr int8_t kGroupKeyType = 0;
constexpr int8_t kTransactionKeyType = 1;
constexpr int8_t kShareKeyType = 2;

struct Found {
  ErrorCode error = ErrorCode::kNone;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

// An internal topic with Kafka's settings for it. Blocking (ZooKeeper).
struct InternalTopic {
  std::string name;
  int32_t partitions;
  int64_t replication_factor;
  std::map<std::string, std::string> configs;
};

InternalTopic OffsetsTopic(const config::BrokerConfig& c) {
  return {group::kOffsetsTopic,
          c.offsets_topic_num_partitions,
          c.offsets_topic_replication_factor,
          {{"cleanup.policy", "compact"},
           {"segment.bytes", std::to_string(c.offsets_topic_segment_bytes)}}};
}

// Kafka's TransactionStateManager.transactionTopicConfigs.
InternalTopic TransactionStateTopic(const config::BrokerConfig& c) {
  return {txn::kTransactionStateTopicName,
          c.transaction_state_log_num_partitions,
          c.transaction_state_log_replication_factor,
          {{"cleanup.policy", "compact"},
           {"min.insync.replicas", std::to_string(c.transaction_state_log_min_isr)},
           {"segment.bytes", std::to_string(c.transaction_state_log_segment_bytes)},
           {"unclean.leader.election.enable", "false"}}};
}

void CreateInternalTopic(ServerContext& ctx, const InternalTopic& t) {
  TopicCreation tc;
  tc.name = t.name;
  tc.num_partitions = t.partitions;
  int64_t live = static_cast<int64_t>(ctx.metadata->Get()->brokers.size());
  int64_t rf = std::min<int64_t>(t.replication_factor, std::max<int64_t>(live, 1));
  rf = std::min<int64_t>(rf, ctx.max_replication_factor);
  if (rf < t.replication_factor) {
    // Kafka caps it the same way (with a warning) so a small cluster can still have groups.
    LOG(WARNING) << "[FindCoordinator] the replication factor of " << t.name << " is "
                 << t.replication_factor << " but only " << live
                 << " broker(s) are alive: creating it with replication factor " << rf;
  }
  tc.replication_factor = static_cast<int16_t>(rf);
  tc.configs = t.configs;
  AdminResult r = CreateTopic(ctx, tc, false);
  if (r.ok()) {
    LOG(INFO) << "[FindCoordinator] created " << t.name << " with " << tc.num_partitions
              << " partitions, replication factor " << rf;
  } else if (r.error != ErrorCode::kTopicAlreadyExists) {
    LOG(WARNING) << "[FindCoordinator] cannot create " << t.name << ": " << r.message;
  }
}

// The leader of `partition` of `topic`, on the listener the request came in on.
Found Lookup(ServerContext& ctx, const std::string& topic, int32_t partition,
             const std::string& listener) {
  Found f;
  auto md = ctx.metadata->Get();
  auto t = md->topics.find(topic);
  if (t == md->topics.end()) {
    f.error = ErrorCode::kCoordinatorNotAvailable;
    return f;
  }
  auto p = t->second.partitions.find(partition);
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
  const bool txn_keys = in.key_type == kTransactionKeyType && ctx.txns != nullptr;
  // DESCRIBE on the group or transactional id; a refused key is answered without a coordinator
  // (and creates no internal topic).
  const AclRuleId rule =
      group_keys ? AclRuleId::kFindCoordinatorGroup : AclRuleId::kFindCoordinatorTransaction;
  std::vector<bool> denied;
  bool any_allowed = false;
  for (const auto& key : keys) {
    denied.push_back((group_keys || txn_keys) && !Authorized(ctx, req.conn, rule, key));
    any_allowed = any_allowed || !denied.back();
  }
  if ((group_keys || txn_keys) && any_allowed) {
    InternalTopic topic =
        group_keys ? OffsetsTopic(*ctx.config) : TransactionStateTopic(*ctx.config);
    if (!ctx.metadata->Get()->topics.count(topic.name)) {
      co_await ctx.run_blocking([&] { CreateInternalTopic(ctx, topic); });
    }
  }

  ErrorCode share_error = ErrorCode::kInvalidRequest;
  if (in.key_type == kShareKeyType && v >= 6) {
    share_error = Authorized(ctx, req.conn, AclRuleId::kFindCoordinatorShare)
                      ? ErrorCode::kCoordinatorNotAvailable
                      : Denied(AclRuleId::kFindCoordinatorShare);
  }

  std::vector<Found> found;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& key = keys[i];
    Found f;
    if (denied[i]) {
      f.error = Denied(rule);
    } else if (in.key_type == kShareKeyType) {
      f.error = share_error;
    } else if (group_keys) {
      f = Lookup(ctx, group::kOffsetsTopic, gc.PartitionFor(key), req.conn.listener_name);
    } else if (txn_keys) {
      if (key.empty()) {
        f.error = ErrorCode::kInvalidRequest;
      } else {
        f = Lookup(ctx, txn::kTransactionStateTopicName, ctx.txns->PartitionFor(key),
                   req.conn.listener_name);
      }
    } else {
      f.error = in.key_type == kTransactionKeyType ? ErrorCode::kCoordinatorNotAvailable
                                                   : ErrorCode::kInvalidRequest;
    }
    found.push_back(f);
  }

  protocol::FindCoordinatorResponse out;
  auto message = [](ErrorCode e) -> std::optional<std::string> {
    if (e == ErrorCode::kNone) return std::nullopt;
    return std::string(protocol::ErrorCodeName(e));
  };
  if (v >= 4) {
    // Per key, Kafka sets no ErrorMessage at v4+: its default, "", goes out.
    for (size_t i = 0; i < keys.size(); ++i) {
      auto& c = out.coordinators.emplace_back();
      c.key = keys[i];
      c.node_id = found[i].node_id;
      c.host = found[i].host;
      c.port = found[i].port;
      c.error_code = found[i].error;
    }
  } else {
    const Found& f = found.front();
    out.error_code = f.error;
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
