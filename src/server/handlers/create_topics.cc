// CreateTopics (19): validate, write the topics to ZooKeeper, then wait (up
// to the request's timeout) until the controller has brought every partition
// online, as Kafka's ZkAdminManager.createTopics and DelayedCreatePartitions.
#include "gregor/protocol/messages/create_topics.h"

#include <set>

#include "gregor/config/topic_config.h"
#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/handlers/mutation_quota.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
using TopicResult = protocol::CreateTopicsResponse::CreatableTopicResult;

void SetError(TopicResult& r, const AdminResult& a) {
  r.error_code = a.error;
  r.error_message = a.message.empty() ? std::nullopt : std::optional<std::string>(a.message);
}

// Converts one request topic; AdminResult carries a per-topic error found
// while decoding it (null config values, a partition assigned twice).
AdminResult ToCreation(const protocol::CreateTopicsRequest::CreatableTopic& t, TopicCreation* tc) {
  tc->name = t.name;
  tc->num_partitions = t.num_partitions;
  tc->replication_factor = t.replication_factor;
  std::string null_configs;
  for (const auto& c : t.configs) {
    if (!c.value) {
      null_configs += (null_configs.empty() ? "" : ",") + c.name;
      continue;
    }
    tc->configs[c.name] = *c.value;
  }
  if (!null_configs.empty()) {
    return AdminResult::Error(ErrorCode::kInvalidConfig,
                              "Null value not supported for topic configs: " + null_configs);
  }
  for (const auto& a : t.assignments) {
    if (!tc->assignment.emplace(a.partition_index, a.broker_ids).second) {
      return AdminResult::Error(
          ErrorCode::kInvalidReplicaAssignment,
          "Partition " + std::to_string(a.partition_index) + " is assigned more than once.");
    }
  }
  return AdminResult();
}

}  // namespace

namespace {

// The partitions a creation makes (controller mutations, KIP-599).
int32_t PartitionsOf(const config::BrokerConfig& config,
                     const protocol::CreateTopicsRequest::CreatableTopic& t) {
  if (!t.assignments.empty()) return static_cast<int32_t>(t.assignments.size());
  return t.num_partitions > 0 ? t.num_partitions : config.num_partitions;
}

}  // namespace

asio::awaitable<bool> HandleCreateTopics(ServerContext& ctx, Request& req, Response& resp) {
  protocol::CreateTopicsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  protocol::CreateTopicsResponse out;

  // Kafka answers a topic named twice with INVALID_REQUEST, once.
  std::map<std::string, int> occurrences;
  for (const auto& t : in.topics) ++occurrences[t.name];

  struct Pending {
    size_t index;  // into out.topics
    TopicCreation creation;
    AdminResult result;
  };
  std::vector<Pending> work;
  std::set<std::string> answered;
  // CREATE on the cluster, or on each topic.
  MutationQuota mutations(ctx, req, resp, /*strict_since=*/6);
  const bool cluster_create = Authorized(ctx, req.conn, AclRuleId::kCreateTopicsCluster,
                                         kClusterResourceName, /*log_denial=*/false);
  for (const auto& t : in.topics) {
    if (!answered.insert(t.name).second) continue;
    auto& r = out.topics.emplace_back();
    r.name = t.name;
    r.error_message = std::nullopt;
    if (occurrences[t.name] > 1) {
      SetError(r, AdminResult::Error(
                      ErrorCode::kInvalidRequest,
                      "Create topics request from client `" + req.conn.client_id +
                          "` contains multiple entries for the following topics: " + t.name));
      continue;
    }
    if (!cluster_create && !Authorized(ctx, req.conn, AclRuleId::kCreateTopicsTopic, t.name)) {
      SetError(r,
               AdminResult::Error(Denied(AclRuleId::kCreateTopicsTopic), "Authorization failed."));
      continue;
    }
    Pending p{out.topics.size() - 1, {}, {}};
    AdminResult decoded = ToCreation(t, &p.creation);
    if (!decoded.ok()) {
      SetError(r, decoded);
      continue;
    }
    if (!in.validate_only && !mutations.TryRecord(PartitionsOf(*ctx.config, t))) {
      SetError(r, AdminResult::Error(ErrorCode::kThrottlingQuotaExceeded,
                                     kThrottlingQuotaExceededMessage));
      continue;
    }
    work.push_back(std::move(p));
  }

  if (!work.empty()) {
    co_await ctx.run_blocking([&] {
      for (auto& p : work) p.result = CreateTopic(ctx, p.creation, in.validate_only);
    });
  }

  std::map<std::string, int32_t> to_wait;
  for (auto& p : work) {
    auto& r = out.topics[p.index];
    if (!p.result.ok()) {
      SetError(r, p.result);
      continue;
    }
    r.topic_id = p.result.topic_id;
    if (v >= 5 && !Authorized(ctx, req.conn, AclRuleId::kCreateTopicsDescribeConfigs, r.name)) {
      r.topic_config_error_code = Denied(AclRuleId::kCreateTopicsDescribeConfigs);
    } else if (v >= 5) {
      r.num_partitions = p.result.num_partitions;
      r.replication_factor = p.result.replication_factor;
      auto& list = r.configs.emplace();
      for (const auto& c : config::ResolveTopicConfigs(*ctx.CurrentConfig(), p.creation.configs)) {
        auto& e = list.emplace_back();
        e.name = c.name;
        e.value = c.sensitive ? std::nullopt : std::optional<std::string>(c.value);
        e.read_only = c.read_only;
        e.config_source = static_cast<int8_t>(c.source);
        e.is_sensitive = c.sensitive;
      }
    }
    if (!in.validate_only) to_wait[r.name] = p.result.num_partitions;
  }

  if (!to_wait.empty()) {
    // Kafka: with no time to wait, a topic that is being created answers
    // REQUEST_TIMED_OUT (clients know creation is nonetheless under way).
    std::vector<std::string> late;
    if (in.timeout_ms > 0) {
      late = co_await WaitForPartitionsOnline(ctx, to_wait, in.timeout_ms);
    } else {
      for (const auto& [name, count] : to_wait) late.push_back(name);
    }
    std::set<std::string> late_set(late.begin(), late.end());
    for (auto& r : out.topics) {
      if (late_set.count(r.name)) {
        r.error_code = ErrorCode::kRequestTimedOut;
        r.error_message = "Timed out waiting for the partitions of topic '" + r.name +
                          "' to come online; the creation goes on in the background.";
      }
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
