#include "server/broker_metrics.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include "gregor/log/log.h"
#include "gregor/protocol/api_key.h"
#include "server/fetch_session_cache.h"
#include "server/handlers/replication_wait.h"

namespace gregor::server {

namespace {

double D(uint64_t v) { return static_cast<double>(v); }

}  // namespace

void BrokerMetrics::set_sources(Sources sources) {
  std::lock_guard<std::mutex> lock(mu_);
  sources_ = std::move(sources);
}

std::string BrokerMetrics::Render() {
  std::lock_guard<std::mutex> lock(mu_);
  PrometheusText out;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  if (sources_.ctx != nullptr) {
    RenderTopics(out);
    RenderReplicas(out);
    RenderGroups(out);
  }
  RenderRequests(out, now_ms);
  RenderPurgatoryAndFlushes(out, now_ms);
  if (sources_.connections != nullptr) {
    // Kafka's connection-count attribute; Prometheus reserves _count for summaries.
    const char* name = "kafka_server_socket_server_metrics_connections";
    out.Family(name, "gauge", "Open client connections per listener.");
    for (const auto& l : sources_.listeners) {
      out.Sample(name, {{"listener", l}}, static_cast<double>(sources_.connections->count(l)));
    }
  }
  if (sources_.memory_pool != nullptr && sources_.memory_pool->bounded()) {
    const int64_t used = sources_.memory_pool->used();
    out.Family("kafka_network_socketserver_memorypoolused", "gauge",
               "Bytes of queued.max.request.bytes held by requests being read or handled.");
    out.Sample("kafka_network_socketserver_memorypoolused", {}, static_cast<double>(used));
    out.Family("kafka_network_socketserver_memorypoolavailable", "gauge",
               "Bytes of queued.max.request.bytes free.");
    out.Sample("kafka_network_socketserver_memorypoolavailable", {},
               static_cast<double>(std::max<int64_t>(0, sources_.memory_pool->capacity() - used)));
  }
  return out.Take();
}

void BrokerMetrics::RenderTopics(PrometheusText& out) {
  struct Meter {
    const char* name;
    const char* help;
    Counter cluster::TopicCounters::*field;
  };
  static constexpr Meter kMeters[] = {
      {"kafka_server_brokertopicmetrics_messagesin_total", "Records appended by producers.",
       &cluster::TopicCounters::messages_in},
      {"kafka_server_brokertopicmetrics_bytesin_total", "Record bytes appended by producers.",
       &cluster::TopicCounters::bytes_in},
      {"kafka_server_brokertopicmetrics_bytesout_total", "Record bytes sent to consumers.",
       &cluster::TopicCounters::bytes_out},
      {"kafka_server_brokertopicmetrics_replicationbytesin_total",
       "Record bytes appended as a follower.", &cluster::TopicCounters::replication_bytes_in},
      {"kafka_server_brokertopicmetrics_replicationbytesout_total",
       "Record bytes sent to followers.", &cluster::TopicCounters::replication_bytes_out},
      {"kafka_server_brokertopicmetrics_totalproducerequests_total",
       "Partitions of produce requests.", &cluster::TopicCounters::produce_requests},
      {"kafka_server_brokertopicmetrics_totalfetchrequests_total", "Partitions of fetch requests.",
       &cluster::TopicCounters::fetch_requests},
      {"kafka_server_brokertopicmetrics_failedproducerequests_total",
       "Partitions of produce requests that failed.",
       &cluster::TopicCounters::failed_produce_requests},
      {"kafka_server_brokertopicmetrics_failedfetchrequests_total",
       "Partitions of fetch requests that failed.", &cluster::TopicCounters::failed_fetch_requests},
  };
  const auto topics = sources_.ctx->replicas->TopicCountersByTopic();
  for (const Meter& m : kMeters) {
    out.Family(m.name, "counter", m.help);
    uint64_t all = 0;
    for (const auto& [topic, c] : topics) all += ((*c).*(m.field)).value();
    out.Sample(m.name, {}, D(all));  // the broker-wide meter has no topic label, as in Kafka
    for (const auto& [topic, c] : topics) {
      out.Sample(m.name, {{"topic", topic}}, D(((*c).*(m.field)).value()));
    }
  }
}

void BrokerMetrics::RenderRequests(PrometheusText& out, int64_t now_ms) {
  const char* requests = "kafka_network_requestmetrics_requests_total";
  out.Family(requests, "counter", "Requests answered, by API and version.");
  for (int key = 0; key < RequestMetrics::kMaxApiKey; ++key) {
    const auto& api = requests_.api(key);
    const std::string name = protocol::ApiKeyName(static_cast<protocol::ApiKey>(key));
    for (int v = 0; v < RequestMetrics::kMaxVersion; ++v) {
      const uint64_t n = api.requests_by_version[v].value();
      if (n > 0) out.Sample(requests, {{"request", name}, {"version", std::to_string(v)}}, D(n));
    }
  }
  struct Timer {
    const char* name;
    const char* help;
    LatencyHistogram RequestMetrics::Api::*field;
  };
  static constexpr Timer kTimers[] = {
      {"kafka_network_requestmetrics_totaltimems",
       "Milliseconds from taking a request to its response being ready.",
       &RequestMetrics::Api::total_time},
      {"kafka_network_requestmetrics_localtimems",
       "Milliseconds a request spent in its handler before waiting on anything.",
       &RequestMetrics::Api::local_time},
      {"kafka_network_requestmetrics_remotetimems",
       "Milliseconds a request waited for replication or new data (acks=all, long polls).",
       &RequestMetrics::Api::remote_time},
      {"kafka_network_requestmetrics_throttletimems",
       "The throttle_time_ms answered (client quotas).", &RequestMetrics::Api::throttle_time},
  };
  for (const Timer& t : kTimers) {
    out.Family(t.name, "summary", t.help);
    for (int key = 0; key < RequestMetrics::kMaxApiKey; ++key) {
      const LatencyHistogram& h = requests_.api(key).*(t.field);
      const auto total = h.Take();
      if (total.count == 0) continue;
      const std::string name = protocol::ApiKeyName(static_cast<protocol::ApiKey>(key));
      const auto recent = window_.Recent(std::string(t.name) + "/" + name, total, now_ms);
      out.Summary(t.name, {{"request", name}}, recent, total);
    }
  }
}

void BrokerMetrics::RenderPurgatoryAndFlushes(PrometheusText& out, int64_t now_ms) {
  const char* purgatory = "kafka_server_delayedoperationpurgatory_purgatorysize";
  out.Family(purgatory, "gauge", "Requests parked waiting: acks=all produces, long-poll fetches.");
  const auto& p = requests_.purgatory();
  out.Sample(purgatory, {{"delayedoperation", "Produce"}},
             static_cast<double>(p.produce.load(std::memory_order_relaxed)));
  out.Sample(purgatory, {{"delayedoperation", "Fetch"}},
             static_cast<double>(p.fetch.load(std::memory_order_relaxed)));
  const char* flush = "kafka_log_logflushstats_logflushrateandtimems";
  out.Family(flush, "summary", "Milliseconds per log flush (fsync of segments and indexes).");
  const auto total = log::LogFlushTimes().Take();
  out.Summary(flush, {}, window_.Recent(flush, total, now_ms), total);
}

void BrokerMetrics::RenderReplicas(PrometheusText& out) {
  ServerContext& ctx = *sources_.ctx;
  const auto partitions = ctx.replicas->AllPartitions();
  int64_t leaders = 0, under_replicated = 0, under_min_isr = 0, at_min_isr = 0;
  std::map<std::string, int32_t> min_isr;  // per topic, looked up once
  struct LogRow {
    std::string topic, partition;
    int64_t size, segments, start, end;
  };
  std::vector<LogRow> logs;
  logs.reserve(partitions.size());
  for (const auto& p : partitions) {
    const auto role = p->role();
    if (role.leader == ctx.broker_id) {
      ++leaders;
      const auto isr = static_cast<int64_t>(role.isr.size());
      if (isr < static_cast<int64_t>(role.replicas.size())) ++under_replicated;
      auto [it, fresh] = min_isr.try_emplace(p->topic_partition().topic, 0);
      if (fresh) it->second = MinInsyncReplicas(ctx, it->first);
      if (isr < it->second) ++under_min_isr;
      if (isr == it->second) ++at_min_isr;
    }
    if (auto log = p->log()) {
      logs.push_back({p->topic_partition().topic, std::to_string(p->topic_partition().partition),
                      log->Size(), log->NumberOfSegments(), log->LogStartOffset(),
                      log->LogEndOffset()});
    }
  }
  auto gauge = [&](const char* name, const char* help, double v) {
    out.Family(name, "gauge", help);
    out.Sample(name, {}, v);
  };
  gauge("kafka_server_replicamanager_partitioncount", "Partitions with a replica here.",
        static_cast<double>(partitions.size()));
  gauge("kafka_server_replicamanager_leadercount", "Partitions led here.",
        static_cast<double>(leaders));
  gauge("kafka_server_replicamanager_underreplicatedpartitions",
        "Partitions led here whose ISR is smaller than their replica set.",
        static_cast<double>(under_replicated));
  gauge("kafka_server_replicamanager_underminisrpartitioncount",
        "Partitions led here whose ISR is below min.insync.replicas.",
        static_cast<double>(under_min_isr));
  gauge("kafka_server_replicamanager_atminisrpartitioncount",
        "Partitions led here whose ISR is exactly min.insync.replicas.",
        static_cast<double>(at_min_isr));
  const auto& rc = ctx.replicas->replica_counters();
  out.Family("kafka_server_replicamanager_isrshrinks_total", "counter",
             "ISR shrinks recorded by partitions led here.");
  out.Sample("kafka_server_replicamanager_isrshrinks_total", {}, D(rc.isr_shrinks.value()));
  out.Family("kafka_server_replicamanager_isrexpands_total", "counter",
             "ISR expansions recorded by partitions led here.");
  out.Sample("kafka_server_replicamanager_isrexpands_total", {}, D(rc.isr_expands.value()));

  const bool active = ctx.controller != nullptr && ctx.controller->IsActive();
  gauge("kafka_controller_kafkacontroller_activecontrollercount",
        "1 on the active controller, else 0.", active ? 1 : 0);
  int64_t offline = 0;
  if (active && ctx.metadata != nullptr) {
    auto md = ctx.metadata->Get();
    for (const auto& [name, topic] : md->topics) {
      for (const auto& [index, part] : topic.partitions) {
        if (part.leader < 0) ++offline;
      }
    }
  }
  gauge("kafka_controller_kafkacontroller_offlinepartitionscount",
        "Partitions without a leader (reported by the active controller).",
        static_cast<double>(offline));
  if (ctx.fetch_sessions != nullptr) {
    gauge("kafka_server_fetchsessioncache_numincrementalfetchsessions",
          "Incremental fetch sessions (KIP-227) held.",
          static_cast<double>(ctx.fetch_sessions->sessions()));
    gauge("kafka_server_fetchsessioncache_numincrementalfetchpartitionscached",
          "Partitions in all fetch sessions.",
          static_cast<double>(ctx.fetch_sessions->cached_partitions()));
    const char* evictions = "kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total";
    out.Family(evictions, "counter", "Fetch sessions evicted to make room for new ones.");
    out.Sample(evictions, {}, D(ctx.fetch_sessions->evictions()));
  }
  // KIP-73 replication throttles, as Kafka's LeaderReplication / FollowerReplication byte-rate.
  for (const auto& [name, help, quota] :
       {std::tuple{"kafka_server_leaderreplication_byte_rate",
                   "Bytes/s this broker sent of throttled replicas as leader (KIP-73).",
                   ctx.leader_replication_quota},
        std::tuple{"kafka_server_followerreplication_byte_rate",
                   "Bytes/s this broker fetched of throttled replicas as follower (KIP-73).",
                   ctx.follower_replication_quota}}) {
    if (quota != nullptr) gauge(name, help, quota->MeasuredRate());
  }
  const char* unclean = "kafka_controller_controllerstats_uncleanleaderelections_total";
  out.Family(unclean, "counter", "Unclean leader elections this broker made as controller.");
  out.Sample(unclean, {},
             ctx.controller != nullptr ? D(ctx.controller->unclean_leader_elections()) : 0.0);

  struct LogGauge {
    const char* name;
    const char* help;
    int64_t LogRow::*field;
  };
  static constexpr LogGauge kLogGauges[] = {
      {"kafka_log_log_size", "Bytes of the partition's segments.", &LogRow::size},
      {"kafka_log_log_numlogsegments", "Segments of the partition.", &LogRow::segments},
      {"kafka_log_log_logstartoffset", "The partition's log start offset.", &LogRow::start},
      {"kafka_log_log_logendoffset", "The partition's log end offset.", &LogRow::end},
  };
  for (const LogGauge& g : kLogGauges) {
    out.Family(g.name, "gauge", g.help);
    for (const LogRow& r : logs) {
      out.Sample(g.name, {{"topic", r.topic}, {"partition", r.partition}},
                 static_cast<double>(r.*(g.field)));
    }
  }
}

void BrokerMetrics::RenderGroups(PrometheusText& out) {
  ServerContext& ctx = *sources_.ctx;
  if (ctx.groups == nullptr) return;
  const auto list = ctx.groups->ListGroups({});
  std::map<std::string, int64_t> by_state = {{"Stable", 0},
                                             {"PreparingRebalance", 0},
                                             {"CompletingRebalance", 0},
                                             {"Empty", 0},
                                             {"Dead", 0}};
  for (const auto& g : list.groups) ++by_state[g.state];
  const char* total = "kafka_coordinator_group_groupmetadatamanager_numgroups";
  out.Family(total, "gauge", "Consumer groups this broker coordinates.");
  out.Sample(total, {}, static_cast<double>(list.groups.size()));
  for (const auto& [state, n] : by_state) {
    std::string name = "kafka_coordinator_group_groupmetadatamanager_numgroups";
    for (char c : state) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.Family(name, "gauge", "Consumer groups this broker coordinates in state " + state + ".");
    out.Sample(name, {}, static_cast<double>(n));
  }
  // Committed offsets of the groups coordinated here and, where this broker holds a replica of
  // the partition, the lag behind its high watermark (kafka_exporter's names).
  const char* current = "kafka_consumergroup_current_offset";
  const char* lag = "kafka_consumergroup_lag";
  out.Family(current, "gauge", "A group's committed offset, from its coordinator.");
  std::vector<std::pair<MetricLabels, double>> lags;
  for (const auto& g : list.groups) {
    const auto offsets = ctx.groups->FetchOffsets(g.group_id, std::nullopt);
    for (const auto& [tp, fetched] : offsets.offsets) {
      if (fetched.error != protocol::ErrorCode::kNone || fetched.offset < 0) continue;
      MetricLabels labels = {{"consumergroup", g.group_id},
                             {"topic", tp.topic},
                             {"partition", std::to_string(tp.partition)}};
      out.Sample(current, labels, static_cast<double>(fetched.offset));
      if (auto p = ctx.replicas->GetPartition(tp)) {
        if (auto log = p->log()) {
          lags.emplace_back(std::move(labels), static_cast<double>(std::max<int64_t>(
                                                   0, log->HighWatermark() - fetched.offset)));
        }
      }
    }
  }
  out.Family(lag, "gauge",
             "High watermark minus committed offset, where the coordinator holds a replica.");
  for (const auto& [labels, v] : lags) out.Sample(lag, labels, v);
}

}  // namespace gregor::server
