// OffsetFetch (9): a group's committed offsets (Kafka's
// handleOffsetFetchRequest): one group up to v7, a batch of groups from v8.
// A partition without a committed offset answers -1. v0-v1 have no top-level
// error: a group error is reported on every partition. With require_stable
// (v7+, KIP-447) a partition whose offset awaits a transaction's marker (or a
// commit in flight) answers UNSTABLE_OFFSET_COMMIT; the consumer retries.
#include "gregor/protocol/messages/offset_fetch.h"

#include <set>

#include "server/authorization.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

struct GroupOffsets {
  ErrorCode error = ErrorCode::kNone;
  // topic -> partitions in request order (or all committed when the request named none).
  std::vector<std::pair<std::string, std::vector<std::pair<int32_t, group::FetchedOffset>>>> topics;
};

// DESCRIBE on the group (refused: GROUP_AUTHORIZATION_FAILED), then on each topic: a named
// topic the principal may not describe answers TOPIC_AUTHORIZATION_FAILED, and a request for
// every committed offset leaves such topics out (Kafka's handleOffsetFetchRequest).
GroupOffsets Fetch(
    group::GroupCoordinator& gc, const ServerContext& ctx, const Request& req,
    const std::string& group_id,
    const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& requested,
    bool require_stable, const std::optional<std::string>& member_id = std::nullopt,
    int32_t member_epoch = -1) {
  GroupOffsets out;
  const bool group_ok = Authorized(ctx, req.conn, AclRuleId::kOffsetFetchGroup, group_id);
  std::set<std::string> refused;
  std::optional<std::vector<TopicPartition>> tps;
  if (requested) {
    tps.emplace();
    for (const auto& [topic, parts] : *requested) {
      if (!Authorized(ctx, req.conn, AclRuleId::kOffsetFetchTopic, topic)) {
        refused.insert(topic);
        continue;
      }
      for (int32_t p : parts) tps->push_back({topic, p});
    }
  }
  group::OffsetFetchResult r;
  if (group_ok) {
    r = gc.FetchOffsets(group_id, tps, require_stable, member_id, member_epoch);
  } else {
    r.error = Denied(AclRuleId::kOffsetFetchGroup);
  }
  out.error = r.error;
  if (requested) {
    for (const auto& [topic, parts] : *requested) {
      auto& t = out.topics.emplace_back();
      t.first = topic;
      for (int32_t p : parts) {
        group::FetchedOffset f;
        auto it = r.offsets.find({topic, p});
        if (it != r.offsets.end()) f = it->second;
        if (refused.count(topic)) f.error = Denied(AclRuleId::kOffsetFetchTopic);
        if (r.error != ErrorCode::kNone) f.error = r.error;
        t.second.emplace_back(p, f);
      }
    }
  } else {
    for (const auto& [tp, f] : r.offsets) {
      if (!Authorized(ctx, req.conn, AclRuleId::kOffsetFetchTopic, tp.topic, false)) continue;
      if (out.topics.empty() || out.topics.back().first != tp.topic) {
        out.topics.emplace_back(tp.topic, std::vector<std::pair<int32_t, group::FetchedOffset>>{});
      }
      out.topics.back().second.emplace_back(tp.partition, f);
    }
  }
  return out;
}

}  // namespace

asio::awaitable<bool> HandleOffsetFetch(group::GroupCoordinator& gc, ServerContext& ctx,
                                        Request& req, Response& resp) {
  protocol::OffsetFetchRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  protocol::OffsetFetchResponse out;

  if (v >= 8) {
    for (const auto& g : in.groups) {
      std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> requested;
      if (g.topics) {
        requested.emplace();
        for (const auto& t : *g.topics) requested->emplace_back(t.name, t.partition_indexes);
      }
      // v9 (KIP-848): a consumer-protocol member names itself and its epoch.
      GroupOffsets r = v >= 9 ? Fetch(gc, ctx, req, g.group_id, requested, in.require_stable,
                                      g.member_id, g.member_epoch)
                              : Fetch(gc, ctx, req, g.group_id, requested, in.require_stable);
      auto& og = out.groups.emplace_back();
      og.group_id = g.group_id;
      og.error_code = r.error;
      if (r.error == ErrorCode::kNone) {
        for (const auto& [topic, parts] : r.topics) {
          auto& ot = og.topics.emplace_back();
          ot.name = topic;
          for (const auto& [p, f] : parts) {
            auto& op = ot.partitions.emplace_back();
            op.partition_index = p;
            op.committed_offset = f.offset;
            op.committed_leader_epoch = f.leader_epoch;
            op.metadata = f.metadata;
            op.error_code = f.error;
          }
        }
      }
    }
    out.Encode(resp.out, v);
    co_return true;
  }

  std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> requested;
  // v0-v1 always name partitions; from v2 a null list means every committed offset.
  if (in.topics || v < 2) {
    requested.emplace();
    if (in.topics) {
      for (const auto& t : *in.topics) requested->emplace_back(t.name, t.partition_indexes);
    }
  }
  GroupOffsets r = Fetch(gc, ctx, req, in.group_id, requested, v >= 7 && in.require_stable);
  if (v >= 2) out.error_code = r.error;
  // From v2 a group error is top-level only.
  if (v < 2 || r.error == ErrorCode::kNone) {
    for (const auto& [topic, parts] : r.topics) {
      auto& ot = out.topics.emplace_back();
      ot.name = topic;
      for (const auto& [p, f] : parts) {
        auto& op = ot.partitions.emplace_back();
        op.partition_index = p;
        op.committed_offset = f.offset;
        op.committed_leader_epoch = f.leader_epoch;
        op.metadata = f.metadata;
        op.error_code = f.error;
      }
    }
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
