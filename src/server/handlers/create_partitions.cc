// CreatePartitions (37): extend a topic's assignment in ZooKeeper (the
// controller watches /brokers/topics/<t> and brings the new partitions
// online), then wait up to the timeout for them, as Kafka's
// ZkAdminManager.createPartitions.
#include "gregor/protocol/messages/create_partitions.h"

#include <set>

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/handlers/mutation_quota.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {
using protocol::ErrorCode;
using TopicResult = protocol::CreatePartitionsResponse::CreatePartitionsTopicResult;

void SetError(TopicResult& r, ErrorCode e, const std::string& message) {
  r.error_code = e;
  r.error_message = message.empty() ? std::nullopt : std::optional<std::string>(message);
}
}  // namespace

asio::awaitable<bool> HandleCreatePartitions(ServerContext& ctx, Request& req, Response& resp) {
  protocol::CreatePartitionsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  protocol::CreatePartitionsResponse out;

  std::map<std::string, int> occurrences;
  for (const auto& t : in.topics) ++occurrences[t.name];

  struct Work {
    size_t index;
    const protocol::CreatePartitionsRequest::CreatePartitionsTopic* topic;
    AdminResult result;
  };
  std::vector<Work> work;
  std::set<std::string> answered;
  MutationQuota mutations(ctx, req, resp, /*strict_since=*/3);
  for (const auto& t : in.topics) {
    if (!answered.insert(t.name).second) continue;
    auto& r = out.results.emplace_back();
    r.name = t.name;
    if (occurrences[t.name] > 1) {
      SetError(r, ErrorCode::kInvalidRequest, "Duplicate topic in request.");
      continue;
    }
    if (!Authorized(ctx, req.conn, AclRuleId::kCreatePartitions, t.name)) {
      SetError(r, Denied(AclRuleId::kCreatePartitions), "The topic authorization is failed.");
      continue;
    }
    if (!in.validate_only) {
      auto md = ctx.metadata->Get();
      auto topic = md->topics.find(t.name);
      const int32_t existing = topic == md->topics.end()
                                   ? t.count
                                   : static_cast<int32_t>(topic->second.partitions.size());
      if (!mutations.TryRecord(t.count - existing)) {
        SetError(r, ErrorCode::kThrottlingQuotaExceeded, kThrottlingQuotaExceededMessage);
        continue;
      }
    }
    work.push_back({out.results.size() - 1, &t, {}});
  }

  if (!work.empty()) {
    co_await ctx.run_blocking([&] {
      for (auto& w : work) {
        std::optional<std::vector<std::vector<int32_t>>> manual;
        if (w.topic->assignments) {
          manual.emplace();
          for (const auto& a : *w.topic->assignments) manual->push_back(a.broker_ids);
        }
        w.result = CreatePartitions(ctx, w.topic->name, w.topic->count, manual, in.validate_only);
      }
    });
  }

  std::map<std::string, int32_t> to_wait;
  for (auto& w : work) {
    auto& r = out.results[w.index];
    if (!w.result.ok()) {
      SetError(r, w.result.error, w.result.message);
    } else if (!in.validate_only) {
      to_wait[r.name] = w.result.num_partitions;
    }
  }
  if (!to_wait.empty()) {
    std::vector<std::string> late;
    if (in.timeout_ms > 0) {
      late = co_await WaitForPartitionsOnline(ctx, to_wait, in.timeout_ms);
    } else {
      for (const auto& [name, count] : to_wait) late.push_back(name);
    }
    std::set<std::string> late_set(late.begin(), late.end());
    for (auto& r : out.results) {
      if (late_set.count(r.name)) {
        SetError(r, ErrorCode::kRequestTimedOut,
                 "Timed out waiting for the new partitions of topic '" + r.name +
                     "' to come online; they are being created in the background.");
      }
    }
  }
  out.Encode(resp.out, req.version());
  co_return true;
}

}  // namespace gregor::server
