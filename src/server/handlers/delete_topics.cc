// DeleteTopics (20): mark topics for deletion in ZooKeeper, then wait (up to
// the request's timeout) until the controller has removed them from the
// metadata, as Kafka's ZkAdminManager.deleteTopics and DelayedDeleteTopics.
#include "gregor/protocol/messages/delete_topics.h"

#include <set>

#include "server/authorization.h"
#include "server/handlers/handlers.h"
#include "server/handlers/mutation_quota.h"
#include "server/topic_admin.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;
using TopicResult = protocol::DeleteTopicsResponse::DeletableTopicResult;

bool IsZero(const std::array<uint8_t, 16>& id) {
  for (uint8_t b : id) {
    if (b) return false;
  }
  return true;
}

void SetError(TopicResult& r, ErrorCode e, std::string message) {
  r.error_code = e;
  r.error_message = message.empty() ? std::nullopt : std::optional<std::string>(message);
}

}  // namespace

asio::awaitable<bool> HandleDeleteTopics(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DeleteTopicsRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  protocol::DeleteTopicsResponse out;
  auto md = ctx.metadata->Get();

  // v6 names topics by name or by id; older versions by name only.
  std::vector<protocol::DeleteTopicsRequest::DeleteTopicState> wanted;
  if (v >= 6) {
    wanted = in.topics;
  } else {
    for (const auto& n : in.topic_names) wanted.push_back({n, {}});
  }

  MutationQuota mutations(ctx, req, resp, /*strict_since=*/5);
  std::vector<size_t> to_delete;  // indexes into out.responses
  std::set<std::string> seen;
  for (const auto& t : wanted) {
    TopicResult r;
    r.name = t.name;
    r.topic_id = t.topic_id;
    if (!ctx.config->delete_topic_enable) {
      // Kafka: INVALID_REQUEST before v3, which has no dedicated code.
      SetError(r, v < 3 ? ErrorCode::kInvalidRequest : ErrorCode::kTopicDeletionDisabled,
               "Topic deletion is disabled.");
      out.responses.push_back(std::move(r));
      continue;
    }
    if (t.name && !IsZero(t.topic_id)) {
      SetError(r, ErrorCode::kInvalidRequest, "Topic name and topic ID can not both be specified.");
      out.responses.push_back(std::move(r));
      continue;
    }
    if (!IsZero(t.topic_id)) {
      r.name = std::nullopt;
      for (const auto& [name, topic] : md->topics) {
        if (topic.id == t.topic_id) r.name = name;
      }
      if (!r.name) {
        SetError(r, ErrorCode::kUnknownTopicId, "");
        out.responses.push_back(std::move(r));
        continue;
      }
    }
    const std::string name = r.name.value_or("");
    if (!seen.insert(name).second) continue;  // named twice: one answer
    if (!Authorized(ctx, req.conn, AclRuleId::kDeleteTopics, name)) {
      // By id without DESCRIBE: the name stays secret (the id is not).
      if (!IsZero(t.topic_id) && !Authorized(ctx, req.conn, AclRuleId::kMetadataTopic, name)) {
        r.name = std::nullopt;
      }
      SetError(r, Denied(AclRuleId::kDeleteTopics), "");
    } else if (!md->topics.count(name)) {
      SetError(r, ErrorCode::kUnknownTopicOrPartition, "");
    } else if (!mutations.TryRecord(static_cast<int32_t>(md->topics.at(name).partitions.size()))) {
      SetError(r, ErrorCode::kThrottlingQuotaExceeded, kThrottlingQuotaExceededMessage);
    } else {
      r.topic_id = md->topics.at(name).id;
      to_delete.push_back(out.responses.size());
    }
    out.responses.push_back(std::move(r));
  }

  if (!to_delete.empty()) {
    co_await ctx.run_blocking([&] {
      for (size_t i : to_delete) {
        auto& r = out.responses[i];
        AdminResult a = DeleteTopic(ctx, r.name.value_or(""));
        if (!a.ok()) SetError(r, a.error, a.message);
      }
    });
    std::vector<std::string> waiting;
    for (size_t i : to_delete) {
      if (out.responses[i].error_code == ErrorCode::kNone)
        waiting.push_back(out.responses[i].name.value_or(""));
    }
    std::vector<std::string> late = waiting;
    if (in.timeout_ms > 0 && !waiting.empty()) {
      late = co_await WaitForTopicsGone(ctx, waiting, in.timeout_ms);
    }
    std::set<std::string> late_set(late.begin(), late.end());
    for (size_t i : to_delete) {
      auto& r = out.responses[i];
      if (r.error_code == ErrorCode::kNone && late_set.count(r.name.value_or(""))) {
        SetError(r, ErrorCode::kRequestTimedOut,
                 "Timed out waiting for the deletion of topic '" + r.name.value_or("") +
                     "'; it goes on in the background.");
      }
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
