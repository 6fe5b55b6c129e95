// Fetch (1): read partitions for consumers (up to the high watermark, or for
// isolation_level=1, READ_COMMITTED, up to the last stable offset with the
// aborted transactions of the range from the .txnindex files) and for follower
// replicas (replica_id >= 0: up to the log end, recording the follower's
// position, with KIP-320 divergence checks), with long polling on max.wait.ms /
// min.bytes (Kafka's DelayedFetch), in incremental fetch sessions (KIP-227,
// server/fetch_session_cache.h) from v7, naming topics by id from v13 (KIP-516). Records are
// sent as file regions (sendfile) without being copied. v15 (KIP-903) carries a follower's id
// in the tagged ReplicaState; v16 adds KIP-951 leader discovery to NOT_LEADER_OR_FOLLOWER and
// FENCED_LEADER_EPOCH answers; v17's replica directory ids (KRaft JBOD) are read and ignored.
#include "gregor/protocol/messages/fetch.h"

#include <glog/logging.h>

#include <algorithm>
#include <chrono>

#include "server/authorization.h"
#include "server/errors.h"
#include "server/fetch_session_cache.h"
#include "server/handlers/handlers.h"
#include "server/handlers/leader_discovery.h"
#include "server/request_dispatcher.h"
#include "server/request_metrics.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

struct Attempt {
  protocol::FetchResponse response;
  int64_t bytes = 0;
  bool has_error = false;  // or anything else that is answered at once (a preferred replica)
  // The partitions read and the bytes each gave, counted once the response is final.
  std::vector<std::pair<std::shared_ptr<cluster::Partition>, int64_t>> reads;
};

constexpr cluster::TopicId kZeroTopicId{};

// Fetch v13+ names topics by id. Each is resolved to its name from the metadata cache, as
// Kafka's KafkaApis does with metadataCache.topicIdsToNames; an id the cache does not know
// leaves the name empty, and its partitions answer UNKNOWN_TOPIC_ID.
void ResolveTopicIds(const cluster::MetadataCache& metadata, protocol::FetchRequest* in) {
  auto md = metadata.Get();
  for (auto& t : in->topics) {
    auto it = md->topic_names.find(t.topic_id);
    t.topic = it == md->topic_names.end() ? std::string() : it->second;
  }
}

bool LeaderThrottled(ServerContext& ctx, const cluster::Partition& partition, int32_t replica) {
  replication::ReplicationQuota* q = ctx.leader_replication_quota;
  if (q == nullptr || !q->IsThrottled(partition.topic_partition())) return false;
  const auto isr = partition.role().isr;
  if (std::find(isr.begin(), isr.end(), replica) != isr.end()) return false;
  return q->IsQuotaExceeded();
}

// One pass over the requested partitions: what can be answered right now. `denied[i]`: the
// principal may not read in.topics[i] (`denied` empty: it may read all).
Attempt ReadOnce(ServerContext& ctx, const protocol::FetchRequest& in, int16_t version,
                 const std::vector<bool>& denied) {
  Attempt a;
  int64_t budget = version >= 3 ? in.max_bytes : INT32_MAX;
  // Kafka's FetchIsolation: followers read to the log end whatever the request says.
  const bool read_committed = version >= 4 && in.isolation_level == 1 && in.replica_id < 0;
  const log::FetchIsolation isolation =
      read_committed ? log::FetchIsolation::kTxnCommitted : log::FetchIsolation::kHighWatermark;
  // replica.selector.class (KIP-392): brokers' racks from the metadata, looked up only when a
  // consumer names its rack.
  const bool rack_aware = !ctx.config->replica_selector_class.empty() && in.replica_id < 0;
  std::shared_ptr<const cluster::MetadataCache::Snapshot> md;
  auto rack_of = [&](int32_t broker) -> std::string {
    if (!md) md = ctx.metadata->Get();
    auto it = md->brokers.find(broker);
    return it == md->brokers.end() || !it->second.rack ? std::string() : *it->second.rack;
  };
  for (size_t ti = 0; ti < in.topics.size(); ++ti) {
    const auto& topic = in.topics[ti];
    auto& tr = a.response.responses.emplace_back();
    tr.topic = topic.topic;
    tr.topic_id = topic.topic_id;
    const bool unknown_id = version >= 13 && topic.topic.empty();
    for (const auto& fp : topic.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = fp.partition;
      pr.high_watermark = -1;
      pr.last_stable_offset = -1;
      pr.log_start_offset = -1;
      pr.aborted_transactions.reset();
      if (!denied.empty() && denied[ti]) {
        pr.error_code = ErrorCode::kTopicAuthorizationFailed;
        a.has_error = true;
        continue;
      }
      if (unknown_id) {
        pr.error_code = ErrorCode::kUnknownTopicId;
        a.has_error = true;
        continue;
      }
      TopicPartition tp{topic.topic, fp.partition};
      auto partition = ctx.replicas->GetPartition(tp);
      if (!partition) {
        auto md = ctx.metadata->Get();
        auto t = md->topics.find(topic.topic);
        bool known = t != md->topics.end() && t->second.partitions.count(fp.partition);
        pr.error_code =
            known ? ErrorCode::kNotLeaderOrFollower : ErrorCode::kUnknownTopicOrPartition;
        a.has_error = true;
        continue;
      }
      // Kafka's ReplicaManager.readFromLog: an id that is not the one of the partition's log (the
      // topic was deleted and created again under its name) answers INCONSISTENT_TOPIC_ID.
      if (version >= 13 && topic.topic_id != kZeroTopicId &&
          partition->topic_id() != kZeroTopicId && partition->topic_id() != topic.topic_id) {
        pr.error_code = ErrorCode::kInconsistentTopicId;
        a.has_error = true;
        continue;
      }
      auto log = partition->log();
      int32_t max_bytes = static_cast<int32_t>(std::min<int64_t>(fp.partition_max_bytes, budget));
      if (max_bytes < 0) max_bytes = 0;
      std::optional<int32_t> epoch;
      if (version >= 9) epoch = fp.current_leader_epoch;
      // KIP-74: the first partition with data returns at least one batch,
      // even one larger than the limits, so a consumer is never stuck.
      bool min_one = a.bytes == 0;
      Result<log::ReadResult> read = Status::Internal("unread");
      if (in.replica_id >= 0) {
        cluster::FollowerFetch ff;
        ff.replica_id = in.replica_id;
        ff.fetch_offset = fp.fetch_offset;
        if (version >= 12) ff.last_fetched_epoch = fp.last_fetched_epoch;
        ff.current_leader_epoch = epoch;
        ff.max_bytes = max_bytes;
        ff.min_one_message = min_one;
        auto fr = partition->ReadForFollower(ff);
        // KIP-73: a follower out of the ISR gets nothing of a throttled partition while the
        // leader's quota is exceeded; the read above still recorded its position.
        if (fr.ok() && !fr->diverging_epoch && LeaderThrottled(ctx, *partition, in.replica_id)) {
          fr->read.regions.clear();
        }
        if (fr.ok() && fr->diverging_epoch) {
          // The follower must truncate first: answer at once with where our history parts.
          pr.diverging_epoch.epoch = fr->diverging_epoch->leader_epoch;
          pr.diverging_epoch.end_offset = fr->diverging_epoch->end_offset;
          pr.high_watermark = fr->read.high_watermark;
          pr.last_stable_offset = log->LastStableOffset();
          pr.log_start_offset = fr->read.log_start_offset;
          a.has_error = true;
          continue;
        }
        if (fr.ok()) {
          read = std::move(fr->read);
        } else {
          read = fr.status();
        }
      } else {
        // KIP-392: from v11 a consumer may read from a follower (up to its high watermark), and
        // the leader may send it to a replica in its rack.
        const bool v11 = version >= 11;
        if (v11 && rack_aware && !in.rack_id.empty()) {
          if (auto preferred =
                  partition->PreferredReadReplica(in.rack_id, fp.fetch_offset, rack_of)) {
            pr.preferred_read_replica = *preferred;
            pr.high_watermark = log->HighWatermark();
            pr.last_stable_offset = log->LastStableOffset();
            pr.log_start_offset = log->LogStartOffset();
            if (read_committed) pr.aborted_transactions.emplace();
            a.has_error = true;  // answered at once, as Kafka does
            continue;
          }
        }
        read = partition->Read(fp.fetch_offset, max_bytes, min_one, epoch, isolation,
                               /*leader_only=*/!v11);
      }
      pr.high_watermark = log->HighWatermark();
      pr.last_stable_offset = log->LastStableOffset();
      pr.log_start_offset = log->LogStartOffset();
      if (!read.ok()) {
        pr.error_code = ReadError(read.status());
        a.has_error = true;
        a.reads.emplace_back(partition, -1);
        continue;
      }
      pr.high_watermark = read->high_watermark;
      pr.last_stable_offset = read->last_stable_offset;
      pr.log_start_offset = read->log_start_offset;
      // Kafka lists aborted transactions for READ_COMMITTED only (possibly none); otherwise null.
      if (read_committed) {
        auto& aborted = pr.aborted_transactions.emplace();
        aborted.reserve(read->aborted_txns.size());
        for (const log::AbortedTxn& t : read->aborted_txns) {
          aborted.push_back({t.producer_id, t.first_offset});
        }
      }
      size_t n = read->bytes();
      pr.records.files = std::move(read->regions);
      a.bytes += static_cast<int64_t>(n);
      a.reads.emplace_back(std::move(partition), static_cast<int64_t>(n));
      budget -= static_cast<int64_t>(n);
    }
  }
  return a;
}

// True when every read of the request falls in a partition's active segment (the tail that
// producers append to and followers and caught-up consumers read): its index and pages are
// resident, so the read is a few lookups in memory and is done inline on the connection's
// strand. Older segments may be cold and are read on the I/O pool. Measured with make bench:
// a pool hop for every follower fetch (two context switches, each waiting for a core when
// three brokers and the client share two) cut replicated acks=all throughput from 2.18M to
// 0.34M records/s.
bool ReadsTouchOnlyActiveSegments(ServerContext& ctx, const protocol::FetchRequest& in) {
  for (const auto& topic : in.topics) {
    for (const auto& fp : topic.partitions) {
      auto partition = ctx.replicas->GetPartition({topic.topic, fp.partition});
      if (!partition) continue;  // answered from metadata alone
      if (fp.fetch_offset < partition->log()->ActiveSegmentBaseOffset()) return false;
    }
  }
  return true;
}

// ReadOnce on the strand when the reads are hot, else on the I/O pool.
asio::awaitable<void> Read(ServerContext& ctx, const protocol::FetchRequest& in, int16_t version,
                           const std::vector<bool>& denied, bool inline_reads, Attempt& out) {
  if (inline_reads) {
    out = ReadOnce(ctx, in, version, denied);
  } else {
    co_await ctx.run_io([&] { out = ReadOnce(ctx, in, version, denied); });
  }
}

}  // namespace

asio::awaitable<bool> HandleFetch(ServerContext& ctx, Request& req, Response& resp) {
  protocol::FetchRequest in;
  const int16_t version = req.version();
  if (!in.Decode(req.body, version)) co_return false;
  // KIP-903: from v15 the follower names itself in ReplicaState (the top-level ReplicaId is
  // gone); Kafka's FetchRequest.replicaId() reads one or the other by version. The replica's
  // broker epoch only matters to KRaft's ISR eligibility checks, which ZooKeeper mode lacks.
  if (version >= 15) in.replica_id = in.replica_state.replica_id;
  // KIP-227: an incremental fetch reads every partition of its session (`in` is rewritten to
  // list them); the response is trimmed to what changed when it is final.
  const bool sessions = ctx.fetch_sessions != nullptr && version >= 7;
  FetchSessionCache::Context session;
  if (sessions) {
    session = ctx.fetch_sessions->NewContext(&in, in.replica_id >= 0, version >= 13);
    if (session.kind == FetchSessionCache::Kind::kError) {
      protocol::FetchResponse out;
      ctx.fetch_sessions->Finish(session, in, &out);
      out.Encode(resp.out, version);
      co_return true;
    }
  }
  // After the session's rewrite, which lists its partitions by id only.
  if (version >= 13) ResolveTopicIds(*ctx.metadata, &in);

  // Followers need CLUSTER_ACTION (every partition refused without it), consumers READ on
  // each topic; refused partitions answer TOPIC_AUTHORIZATION_FAILED.
  std::vector<bool> denied;  // empty: everything allowed (no authorizer, no allocation)
  if (ctx.authorizer != nullptr) {
    denied.resize(in.topics.size());
    const bool follower = in.replica_id >= 0;
    const bool cluster_ok = follower && Authorized(ctx, req.conn, AclRuleId::kFetchFromFollower);
    for (size_t i = 0; i < in.topics.size(); ++i) {
      const std::string& topic = in.topics[i].topic;
      if (follower) {
        denied[i] = !cluster_ok;
      } else if (version < 13 || !topic.empty()) {
        // Kafka authorizes a consumer's topics once their ids are resolved: an unknown id
        // answers UNKNOWN_TOPIC_ID, never TOPIC_AUTHORIZATION_FAILED.
        denied[i] = !Authorized(ctx, req.conn, AclRuleId::kFetchTopic, topic);
      }
    }
  }
  // Client quotas: followers are exempt; a consumer with a consumer_byte_rate gets at most
  // what one quota window allows per fetch (Kafka's getMaxValueInQuotaWindow), so that a
  // response is never bigger than any wait could make acceptable.
  const bool consumer_quota =
      in.replica_id < 0 && ctx.quotas != nullptr && ctx.quotas->Enabled(QuotaType::kFetch);
  if (in.replica_id >= 0) resp.quota_exempt = true;
  if (consumer_quota) {
    const double cap =
        ctx.quotas->MaxValueInWindow(QuotaType::kFetch, QuotaUser(req.conn), req.conn.client_id);
    if (cap < static_cast<double>(in.max_bytes)) in.max_bytes = static_cast<int32_t>(cap);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(0, in.max_wait_ms));
  std::vector<TopicPartition> tps;
  for (const auto& t : in.topics) {
    if (t.topic.empty()) continue;  // an unknown topic id: answered at once
    for (const auto& p : t.partitions) tps.push_back({t.topic, p.partition});
  }

  // Reads look up indexes and segments: cold pages may fault in from disk.
  const bool inline_reads = ReadsTouchOnlyActiveSegments(ctx, in);
  Attempt attempt;
  co_await Read(ctx, in, version, denied, inline_reads, attempt);
  while (!attempt.has_error && attempt.bytes < in.min_bytes && !tps.empty() &&
         std::chrono::steady_clock::now() < deadline) {
    // Wait for an append on any requested partition, or the deadline, out of the request
    // queue (Kafka's fetch purgatory).
    req.conn.ParkRequest();
    RequestMetrics::Parked parked(ctx.request_metrics ? &ctx.request_metrics->purgatory().fetch
                                                      : nullptr);
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    timer->expires_at(deadline);
    uint64_t handle = ctx.replicas->listeners().Add(
        tps, [timer] { asio::post(timer->get_executor(), [timer] { timer->cancel(); }); });
    // Data may have arrived between the read and registering: look again
    // before sleeping so a wake-up is never missed.
    Attempt again;
    co_await Read(ctx, in, version, denied, inline_reads, again);
    if (again.has_error || again.bytes >= in.min_bytes) {
      ctx.replicas->listeners().Remove(handle);
      attempt = std::move(again);
      break;
    }
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    ctx.replicas->listeners().Remove(handle);
    co_await Read(ctx, in, version, denied, inline_reads, attempt);
  }
  if (consumer_quota) {
    const std::string user = QuotaUser(req.conn);
    const int64_t now = ctx.clock->NowMs();
    const double bytes = static_cast<double>(attempt.bytes);
    resp.throttle_ms = ctx.quotas->Record(QuotaType::kFetch, user, req.conn.client_id, bytes, now);
    if (resp.throttle_ms > 0) {
      // Kafka answers a throttled fetch empty, and its bytes do not count.
      ctx.quotas->Unrecord(QuotaType::kFetch, user, req.conn.client_id, bytes, now);
      attempt.response.responses.clear();
      attempt.response.throttle_time_ms = resp.throttle_ms;
    }
  }
  // BrokerTopicMetrics: per partition read (-1: the read failed), bytes as sent.
  const bool follower = in.replica_id >= 0;
  const bool sent_records = resp.throttle_ms <= 0;
  for (const auto& [partition, n] : attempt.reads) {
    cluster::TopicCounters& c = partition->topic_counters();
    c.fetch_requests.Add();
    if (n < 0) {
      c.failed_fetch_requests.Add();
    } else if (sent_records) {
      (follower ? c.replication_bytes_out : c.bytes_out).Add(static_cast<uint64_t>(n));
    }
  }
  // KIP-73: the bytes sent of throttled partitions count against the leader's quota.
  if (follower && ctx.leader_replication_quota != nullptr) {
    int64_t throttled = 0;
    for (const auto& [partition, n] : attempt.reads) {
      if (n > 0 && ctx.leader_replication_quota->IsThrottled(partition->topic_partition())) {
        throttled += n;
      }
    }
    ctx.leader_replication_quota->Record(throttled);
  }
  if (sessions) ctx.fetch_sessions->Finish(session, in, &attempt.response);
  // KIP-951 (v16+): the leader a client should go to instead, as Kafka's handleFetchRequest.
  if (version >= 16) {
    LeaderDiscovery leaders(ctx, req.conn.listener_name);
    for (auto& tr : attempt.response.responses) {
      for (auto& pr : tr.partitions) {
        if (pr.error_code != ErrorCode::kNotLeaderOrFollower &&
            pr.error_code != ErrorCode::kFencedLeaderEpoch) {
          continue;
        }
        LeaderDiscovery::Leader l = leaders.Lookup(TopicPartition{tr.topic, pr.partition_index});
        pr.current_leader.leader_id = l.leader_id;
        pr.current_leader.leader_epoch = l.leader_epoch;
      }
    }
    leaders.FillNodeEndpoints(&attempt.response.node_endpoints);
  }
  attempt.response.Encode(resp.out, version);
  co_return true;
}

}  // namespace gregor::server
