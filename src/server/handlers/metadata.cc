// Metadata (3): brokers, controller and partition leaders from the metadata
// cache (fed by the controller), with topic auto-creation.
#include "gregor/protocol/messages/metadata.h"

#include <glog/logging.h>

#include <optional>
#include <set>

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;
}  // namespace

asio::awaitable<bool> HandleMetadata(ServerContext& ctx, Request& req, Response& resp) {
  protocol::MetadataRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  auto md = ctx.metadata->Get();

  // v0: an empty list means all topics; v1+: null means all, empty none.
  bool all_topics = !in.topics.has_value() || (v == 0 && in.topics->empty());
  // Topics the principal may not DESCRIBE: left out of an all-topics answer, answered
  // TOPIC_AUTHORIZATION_FAILED (without saying whether they exist) when named.
  std::vector<std::string> names;
  std::set<std::string> refused;
  // v10+ may name a topic by id alone (KIP-516; librdkafka does for the topic ids a
  // ConsumerGroupHeartbeat assignment gives it): resolved here; an unknown id answers
  // UNKNOWN_TOPIC_ID with the id.
  std::vector<cluster::TopicId> unknown_ids;
  std::set<std::string> by_id;
  if (all_topics) {
    for (const auto& [name, t] : md->topics) {
      if (Authorized(ctx, req.conn, AclRuleId::kMetadataTopic, name, /*log_denial=*/false)) {
        names.push_back(name);
      }
    }
  } else {
    for (const auto& t : *in.topics) {
      if (v >= 10 && (!t.name || t.name->empty()) && t.topic_id != cluster::TopicId{}) {
        auto id = md->topic_names.find(t.topic_id);
        if (id == md->topic_names.end()) {
          unknown_ids.push_back(t.topic_id);
          continue;
        }
        by_id.insert(id->second);
        names.push_back(id->second);
      } else {
        names.push_back(t.name.value_or(""));
      }
      if (!Authorized(ctx, req.conn, AclRuleId::kMetadataTopic, names.back())) {
        refused.insert(names.back());
      }
    }
  }

  // Auto-create unknown topics (Kafka: only when both the broker and, from
  // v4, the request allow it). New topics answer LEADER_NOT_AVAILABLE.
  std::map<std::string, AdminResult> created;
  // Until the first UpdateMetadata from a controller (a broker just started, perhaps while no
  // controller is elected) this broker knows no topic: absence from the cache then says
  // nothing. Such topics answer LEADER_NOT_AVAILABLE, which clients retry, never
  // UNKNOWN_TOPIC_OR_PARTITION, on which librdkafka drops the topic's partitions (count 0) and
  // fails the records queued for it.
  const bool cache_ready = ctx.metadata->initialized();
  bool may_create = cache_ready && !all_topics && ctx.config->auto_create_topics_enable &&
                    (v < 4 || in.allow_auto_topic_creation);
  if (may_create) {
    // Creation needs CREATE on the cluster or on the topic.
    std::optional<bool> cluster_create;  // asked once, when a topic is missing
    std::vector<std::string> missing;
    for (const auto& n : names) {
      if (md->topics.count(n) || refused.count(n) || by_id.count(n) || !ValidateTopicName(n).ok()) {
        continue;
      }
      if (!cluster_create.has_value()) {
        cluster_create = Authorized(ctx, req.conn, AclRuleId::kMetadataAutoCreateCluster,
                                    kClusterResourceName, /*log_denial=*/false);
      }
      if (!*cluster_create && !Authorized(ctx, req.conn, AclRuleId::kMetadataAutoCreateTopic, n)) {
        refused.insert(n);
        continue;
      }
      missing.push_back(n);
    }
    if (!missing.empty()) {
      co_await ctx.run_blocking([&] {
        for (const auto& n : missing) {
          TopicCreation tc;
          tc.name = n;
          created[n] = CreateTopic(ctx, tc, false);
        }
      });
      md = ctx.metadata->Get();
    }
  }

  protocol::MetadataResponse out;
  for (const auto& [id, b] : md->brokers) {
    for (const auto& ep : b.endpoints) {
      if (ep.listener != req.conn.listener_name) continue;
      auto& ob = out.brokers.emplace_back();
      ob.node_id = id;
      ob.host = ep.host;
      ob.port = ep.port;
      if (b.rack) ob.rack = *b.rack;
    }
  }
  out.cluster_id = ctx.cluster_id;
  out.controller_id = md->controller_id;
  if (v >= 8 && in.include_cluster_authorized_operations) {
    out.cluster_authorized_operations = AuthorizedOperations(
        ctx, req.conn, security::ResourceType::kCluster, std::string(kClusterResourceName));
  }

  for (const auto& id : unknown_ids) {
    auto& ot = out.topics.emplace_back();
    ot.topic_id = id;
    ot.error_code = ErrorCode::kUnknownTopicId;
  }
  for (const auto& name : names) {
    auto& ot = out.topics.emplace_back();
    ot.name = name;
    ot.is_internal = name == "__consumer_offsets" || name == "__transaction_state";
    if (v >= 8 && in.include_topic_authorized_operations) {
      ot.topic_authorized_operations =
          AuthorizedOperations(ctx, req.conn, security::ResourceType::kTopic, name);
    }
    if (refused.count(name)) {
      ot.error_code = ErrorCode::kTopicAuthorizationFailed;
      continue;
    }
    auto it = md->topics.find(name);
    if (it == md->topics.end()) {
      if (!ValidateTopicName(name).ok()) {
        ot.error_code = ErrorCode::kInvalidTopicException;
      } else {
        auto c = created.find(name);
        bool creating = !cache_ready ||
                        (c != created.end() && (c->second.error == ErrorCode::kNone ||
                                                c->second.error == ErrorCode::kTopicAlreadyExists));
        ot.error_code =
            creating ? ErrorCode::kLeaderNotAvailable : ErrorCode::kUnknownTopicOrPartition;
      }
      continue;
    }
    ot.topic_id = it->second.id;
    for (const auto& [index, p] : it->second.partitions) {
      auto& op = ot.partitions.emplace_back();
      op.partition_index = index;
      op.leader_id = p.leader;
      op.leader_epoch = p.leader_epoch;
      op.replica_nodes = p.replicas;
      op.isr_nodes = p.isr;
      op.offline_replicas = p.offline_replicas;
      bool leader_live = p.leader >= 0 && md->brokers.count(p.leader);
      if (leader_live && p.leader == ctx.broker_id && ctx.replicas != nullptr) {
        // After a controller election (e.g. at every restart) UpdateMetadata names this broker
        // leader before the LeaderAndIsr that makes it one arrives; until then Produce, Fetch
        // and ListOffsets would answer NOT_LEADER_OR_FOLLOWER. Report the election as still
        // in progress instead, so clients wait for a leader that can serve them.
        auto local = ctx.replicas->GetPartition(TopicPartition{name, index});
        leader_live = local != nullptr && local->IsLeader();
      }
      if (!leader_live) {
        op.leader_id = -1;
        op.error_code = ErrorCode::kLeaderNotAvailable;
      }
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
