#include "gregor/server/broker.h"

#include <glog/logging.h>

#include <future>

#include "server/broker_impl.h"
#include "server/handlers/group_handlers.h"

namespace gregor::server {

namespace {

// The transaction coordinator's storage: the __transaction_state partitions this broker leads,
// written and read like the group coordinator's __consumer_offsets.
class PartitionTransactionLogStore final : public txn::TransactionLogStore {
 public:
  explicit PartitionTransactionLogStore(group::PartitionOffsetsLog* log) : log_(log) {}
  void Append(int32_t partition, std::string batch, std::function<void(Status)> done) override {
    log_->Append(partition, std::move(batch), std::nullopt,
                 [done = std::move(done)](Status st, int64_t /*offset*/) { done(st); });
  }
  Status Load(int32_t partition,
              const std::function<void(const protocol::Record&)>& visitor) override {
    return log_->Load(partition, [&visitor](const protocol::RecordBatchHeader& /*batch*/,
                                            const protocol::Record& r) { visitor(r); });
  }
  void Poll() override { log_->Poll(); }

 private:
  group::PartitionOffsetsLog* const log_;
};

log::LogConfig ToLog(const config::TopicLogSettings& s) {
  log::LogConfig c;
  c.segment_bytes = s.segment_bytes;
  // Kafka's LogConfig.maxSegmentMs: the active segment is never cleaned, so a compacted log
  // rolls by max.compaction.lag.ms at the latest to honour it.
  c.segment_ms = s.compact ? std::min(s.segment_ms, s.max_compaction_lag_ms) : s.segment_ms;
  c.segment_index_bytes = s.segment_index_bytes;
  c.index_interval_bytes = s.index_interval_bytes;
  c.retention_ms = s.retention_ms;
  c.retention_bytes = s.retention_bytes;
  c.max_message_bytes = s.max_message_bytes;
  c.flush_interval_messages = s.flush_interval_messages;
  c.flush_interval_ms = s.flush_interval_ms;
  c.file_delete_delay_ms = s.file_delete_delay_ms;
  c.log_append_time = s.log_append_time;
  c.compact = s.compact;
  c.delete_enabled = s.delete_enabled;
  c.delete_retention_ms = s.delete_retention_ms;
  c.min_cleanable_dirty_ratio = s.min_cleanable_dirty_ratio;
  c.min_compaction_lag_ms = s.min_compaction_lag_ms;
  c.max_compaction_lag_ms = s.max_compaction_lag_ms;
  c.producer_id_expiration_ms = s.producer_id_expiration_ms;
  c.compression_type = s.compression_type;
  c.compression_level = s.compression_level;
  c.timestamp_before_max_ms = s.message_timestamp_before_max_ms;
  c.timestamp_after_max_ms = s.message_timestamp_after_max_ms;
  return c;
}

// A ServerContext runner: `fn` on `pool`, the caller's coroutine resuming on its own executor.
// Not itself a coroutine: g++ 12 destroys a by-value parameter of a coroutine lambda twice when
// it is moved into an inner capture.
std::function<asio::awaitable<void>(std::function<void()>)> RunOn(asio::thread_pool& pool) {
  return [&pool](std::function<void()> fn) -> asio::awaitable<void> {
    return asio::co_spawn(
        pool,
        [fn = std::move(fn)]() -> asio::awaitable<void> {
          fn();
          co_return;
        },
        asio::use_awaitable);
  };
}

}  // namespace

log::LogConfig Broker::Impl::LogConfigFor(const std::string& topic) {
  auto now = dynamic ? dynamic->Current() : nullptr;
  return ToLog(config::ToLogConfig(now ? *now : config, topic_configs.Get(topic)));
}

Broker::Broker(config::BrokerConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Broker::~Broker() { Shutdown(); }

Status Broker::Start() {
  Impl& d = *impl_;
  auto& cfg = d.config;
  // 1. ZooKeeper: connect (retried until zookeeper.connection.timeout.ms).
  zk::ZkClientOptions zo;
  zo.connect = cfg.zookeeper_connect;
  zo.session_timeout_ms = cfg.zookeeper_session_timeout_ms;
  zo.connection_timeout_ms = cfg.zookeeper_connection_timeout_ms;
  d.zk_client = std::make_unique<zk::ZkClient>(zo);
  GREGOR_RETURN_IF_ERROR(d.zk_client->Connect());
  d.zk = std::make_unique<zk::KafkaZkClient>(d.zk_client.get());
  GREGOR_RETURN_IF_ERROR(d.zk->EnsurePersistentPaths());
  auto cluster_id = d.zk->GetOrCreateClusterId();
  if (!cluster_id.ok()) return cluster_id.status();
  if (cfg.broker_id < 0) {
    // A broker that generated its id before keeps it (meta.properties).
    auto stored = log::LogManager::StoredBrokerId(cfg.log_dirs);
    if (stored.ok() && stored->has_value()) cfg.broker_id = **stored;
  }
  if (cfg.broker_id < 0) {
    // Kafka's broker id generation: the version of /brokers/seqid after an
    // unconditional write is a cluster-wide sequence; ids start above
    // reserved.broker.max.id.
    auto stat = d.zk_client->Set(zk::paths::kBrokerSeqId, "", -1);
    if (!stat.ok()) return stat.status();
    cfg.broker_id = stat->version + cfg.reserved_broker_max_id;
  }
  LOG(INFO) << d.Prefix() << "cluster id " << *cluster_id;
  // Dynamic broker configs apply from the start, before the logs open (as in Kafka).
  d.dynamic = std::make_unique<config::DynamicBrokerConfig>(cfg);
  d.ReloadBrokerConfig();

  // 2. Logs: recovery happens here, before anything is served.
  log::LogManager::Options lo;
  lo.log_dirs = cfg.log_dirs;
  lo.default_config = d.LogConfigFor("");
  lo.broker_id = cfg.broker_id;
  lo.cluster_id = *cluster_id;
  lo.clock = d.clock;
  // Kafka runs no cleaner thread with log.cleaner.threads=0.
  lo.cleaner.enable = cfg.log_cleaner_enable && cfg.log_cleaner_threads > 0;
  lo.cleaner.threads = cfg.log_cleaner_threads;
  lo.cleaner.dedupe_buffer_size = cfg.log_cleaner_dedupe_buffer_size;
  lo.cleaner.io_buffer_load_factor = cfg.log_cleaner_io_buffer_load_factor;
  lo.cleaner.io_buffer_size = cfg.log_cleaner_io_buffer_size;
  lo.cleaner.io_max_bytes_per_second = cfg.log_cleaner_io_max_bytes_per_second;
  lo.cleaner.backoff_ms = cfg.log_cleaner_backoff_ms;
  lo.alter_log_dirs_io_max_bytes_per_second =
      d.dynamic->Current()->replica_alter_log_dirs_io_max_bytes_per_second;
  auto logs = log::LogManager::Open(lo);
  if (!logs.ok()) return logs.status();
  d.logs = std::move(*logs);
  d.logs->StartCleaner();

  // 3. Replica manager and request handling.
  d.replicas = std::make_unique<cluster::ReplicaManager>(
      cfg.broker_id, d.logs.get(), [&d](const std::string& topic) { return d.LogConfigFor(topic); },
      d.clock);
  d.replicas->set_isr_writer([&d](cluster::IsrChange c, std::function<void(Result<int32_t>)> done) {
    d.WriteIsr(std::move(c), std::move(done));
  });
  std::string ib_listener = cfg.inter_broker_listener_name.empty() ? cfg.listeners.front().name
                                                                   : cfg.inter_broker_listener_name;
  if (cfg.security_inter_broker_protocol == "SSL" ||
      cfg.security_inter_broker_protocol == "SASL_SSL") {
    auto tls = network::MakeClientTlsContext(d.TlsOptionsOfConfig());
    if (!tls.ok()) return tls.status();
    d.inter_broker_tls = std::make_shared<network::TlsContextSlot>(*tls);
  }
  const bool ib_verify_hostname =
      network::VerifiesHostname(cfg.ssl_endpoint_identification_algorithm);
  // SASL between brokers: every inter-broker client authenticates each new connection.
  auto ib_authenticate = MakeInterBrokerSaslAuthenticator(cfg);
  if (!ib_authenticate.ok()) return ib_authenticate.status();
  d.inter_broker_authenticate = *ib_authenticate;
  const QuotaWindow replication_window{cfg.replication_quota_window_num,
                                       cfg.replication_quota_window_size_seconds * int64_t{1000}};
  using Side = replication::ReplicationQuota::Side;
  d.leader_quota =
      std::make_unique<replication::ReplicationQuota>(Side::kLeader, replication_window, d.clock);
  d.follower_quota =
      std::make_unique<replication::ReplicationQuota>(Side::kFollower, replication_window, d.clock);
  d.ApplyReplicationRates(d.dynamic ? *d.dynamic->Current() : cfg);
  replication::ReplicaFetcherManager::Options fo;
  fo.quota = d.follower_quota.get();
  fo.broker_id = cfg.broker_id;
  fo.listener = ib_listener;
  fo.fetch_max_bytes = cfg.replica_fetch_max_bytes;
  fo.fetch_response_max_bytes = cfg.replica_fetch_response_max_bytes;
  fo.fetch_min_bytes = cfg.replica_fetch_min_bytes;
  fo.fetch_wait_max_ms = cfg.replica_fetch_wait_max_ms;
  fo.fetch_backoff_ms = cfg.replica_fetch_backoff_ms;
  fo.socket_timeout_ms = cfg.replica_socket_timeout_ms;
  fo.num_fetchers = std::max(1, cfg.num_replica_fetchers);
  fo.connect_timeout_ms = static_cast<int32_t>(cfg.socket_connection_setup_timeout_ms);
  fo.connect_timeout_max_ms = static_cast<int32_t>(cfg.socket_connection_setup_timeout_max_ms);
  fo.tls = d.inter_broker_tls;
  fo.verify_hostname = ib_verify_hostname;
  fo.authenticate = d.inter_broker_authenticate;
  fo.inter_broker_protocol = cfg.inter_broker_protocol;
  d.fetchers =
      std::make_unique<replication::ReplicaFetcherManager>(fo, d.replicas.get(), &d.metadata);
  // Consumer groups: each group lives with the leader of its __consumer_offsets partition.
  d.offsets_log = std::make_unique<group::PartitionOffsetsLog>(
      [&d](const TopicPartition& tp) { return d.replicas->GetPartition(tp); },
      &d.replicas->listeners(), cfg.min_insync_replicas, cfg.offsets_commit_timeout_ms, d.clock);
  d.groups = std::make_unique<group::GroupCoordinator>(
      group::GroupConfig::FromBroker(cfg), d.offsets_log.get(), d.clock,
      [&d]() -> std::shared_ptr<const group::TopicView> {
        return std::make_shared<SnapshotTopicView>(d.metadata.Get());
      });
  d.groups->Start();
  d.ctx.groups = d.groups.get();
  d.producer_ids = std::make_unique<txn::ProducerIdManager>(
      [&d] { return d.zk->AllocateProducerIdBlock(d.ctx.broker_id); });
  d.ctx.producer_ids = d.producer_ids.get();
  // The request senders between brokers (controller, markers, verification) dial the same
  // listener with the same TLS and deadlines.
  auto inter_broker = [&](auto& o) {
    o.broker_id = cfg.broker_id;
    o.listener = ib_listener;
    o.request_timeout_ms = cfg.controller_socket_timeout_ms;
    o.connect_timeout_ms = static_cast<int32_t>(cfg.socket_connection_setup_timeout_ms);
    o.connect_timeout_max_ms = static_cast<int32_t>(cfg.socket_connection_setup_timeout_max_ms);
    o.tls = d.inter_broker_tls;
    o.verify_hostname = ib_verify_hostname;
    o.authenticate = d.inter_broker_authenticate;
  };
  if (config::IsAlterPartitionSupported(cfg.inter_broker_protocol)) {
    AlterPartitionManager::Options ao;
    inter_broker(ao);
    ao.inter_broker_protocol = cfg.inter_broker_protocol;
    d.alter_partition = std::make_unique<AlterPartitionManager>(ao, &d.metadata, &d.broker_epoch);
  }
  txn::TransactionMarkerChannelManager::Options mo;
  inter_broker(mo);
  mo.inter_broker_protocol = cfg.inter_broker_protocol;
  d.txn_markers = std::make_unique<txn::TransactionMarkerChannelManager>(mo, &d.metadata);
  d.txn_log = std::make_unique<group::PartitionOffsetsLog>(
      [&d](const TopicPartition& tp) { return d.replicas->GetPartition(tp); },
      &d.replicas->listeners(), cfg.transaction_state_log_min_isr, cfg.controller_socket_timeout_ms,
      d.clock, txn::kTransactionStateTopicName);
  d.txn_store = std::make_unique<PartitionTransactionLogStore>(d.txn_log.get());
  txn::TxnConfig tco;
  tco.num_partitions = cfg.transaction_state_log_num_partitions;
  tco.max_timeout_ms = cfg.transaction_max_timeout_ms;
  tco.transactional_id_expiration_ms = cfg.transactional_id_expiration_ms;
  tco.abort_timed_out_interval_ms = cfg.transaction_abort_timed_out_transaction_cleanup_interval_ms;
  tco.remove_expired_interval_ms = cfg.transaction_remove_expired_transaction_cleanup_interval_ms;
  d.txns = std::make_unique<txn::TransactionCoordinator>(
      tco, d.txn_store.get(), d.producer_ids.get(),
      [&d](txn::TxnMarker m, std::function<void(Status)> done) {
        d.txn_markers->AddMarker(std::move(m), std::move(done));
      },
      d.clock);
  d.txns->Start();
  d.ctx.txns = d.txns.get();
  if (cfg.transaction_partition_verification_enable) {
    txn::AddPartitionsToTxnManager::Options vo;
    inter_broker(vo);
    vo.num_partitions = cfg.transaction_state_log_num_partitions;
    d.txn_verifier =
        std::make_unique<txn::AddPartitionsToTxnManager>(vo, &d.metadata, d.txns.get());
    d.ctx.txn_verifier = d.txn_verifier.get();
  }
  d.replicas->set_follower_listener([&d](const std::vector<cluster::FollowTarget>& follow,
                                         const std::vector<TopicPartition>& unfollow) {
    d.fetchers->Update(follow, unfollow);
    // Every role change of an offsets partition loads or unloads its groups.
    auto changed = [&d](const TopicPartition& tp) {
      if (tp.topic == txn::kTransactionStateTopicName) {
        // The coordinator epoch is the partition's leader epoch, as in Kafka.
        auto part = d.replicas->GetPartition(tp);
        if (part && part->IsLeader()) {
          d.txns->OnElection(tp.partition, part->leader_epoch());
        } else {
          d.txns->OnResignation(tp.partition);
          d.txn_markers->RemoveMarkersForTxnTopicPartition(tp.partition);
        }
        return;
      }
      if (tp.topic != group::kOffsetsTopic) return;
      auto part = d.replicas->GetPartition(tp);
      d.groups->OnLeadershipChange(tp.partition, part && part->IsLeader());
    };
    for (const auto& t : follow) changed(t.tp);
    for (const auto& tp : unfollow) changed(tp);
  });
  d.ctx.config = &d.config;
  d.ctx.broker_id = cfg.broker_id;
  d.ctx.broker_epoch = &d.broker_epoch;
  d.ctx.cluster_id = *cluster_id;
  d.ctx.clock = d.clock;
  d.ctx.io = &d.io;
  d.ctx.metadata = &d.metadata;
  d.ctx.replicas = d.replicas.get();
  d.ctx.logs = d.logs.get();
  d.ctx.zk = d.zk.get();
  d.ctx.topic_configs = &d.topic_configs;
  d.ctx.run_blocking = RunOn(d.blocking_pool);
  d.ctx.post_blocking = [&d](std::function<void()> fn) {
    asio::post(d.blocking_pool, std::move(fn));
  };
  d.ctx.run_io = RunOn(d.io_pool);
  d.ctx.reload_topic_config = [&d](const std::string& topic) { d.ReloadTopicConfig(topic); };
  d.ctx.dynamic_config = d.dynamic.get();
  d.ctx.reload_broker_config = [&d] { d.ReloadBrokerConfig(); };
  d.ctx.loggers = &d.loggers;
  d.ctx.leader_replication_quota = d.leader_quota.get();
  d.ctx.follower_replication_quota = d.follower_quota.get();
  if (cfg.max_incremental_fetch_session_cache_slots > 0) {
    d.fetch_sessions = std::make_unique<FetchSessionCache>(
        FetchSessionCache::Options{cfg.max_incremental_fetch_session_cache_slots,
                                   cfg.min_incremental_fetch_session_eviction_ms},
        d.clock);
    d.ctx.fetch_sessions = d.fetch_sessions.get();
  }
  // The controller exists before requests are served (handlers reach it); it runs for
  // election once this broker is registered (step 6).
  controller::ControllerChannelManager::Options cho;
  inter_broker(cho);
  cho.inter_broker_protocol = cfg.inter_broker_protocol;
  d.channel = std::make_unique<controller::ControllerChannelManager>(cho);
  controller::Controller::Options co;
  co.broker_id = cfg.broker_id;
  co.delete_topic_enable = cfg.delete_topic_enable;
  co.unclean_leader_election_enable = [&d] {
    return d.dynamic->Current()->unclean_leader_election_enable;
  };
  co.auto_leader_rebalance_enable = cfg.auto_leader_rebalance_enable;
  co.leader_imbalance_per_broker_percentage = cfg.leader_imbalance_per_broker_percentage;
  co.leader_imbalance_check_interval_seconds = cfg.leader_imbalance_check_interval_seconds;
  d.controller = std::make_unique<controller::Controller>(co, d.zk.get(), d.channel.get(), d.clock);
  d.ctx.controller = d.controller.get();
  if (!cfg.audit_log_file.empty()) {
    security::AuditLogOptions ao;
    ao.path = cfg.audit_log_file;
    ao.max_bytes = cfg.audit_log_max_bytes;
    ao.max_files = cfg.audit_log_max_files;
    ao.log_allowed = cfg.audit_log_authorization_allowed;
    auto audit = security::AuditLog::Open(ao);
    if (!audit.ok()) return audit.status();
    d.audit = std::move(*audit);
    d.ctx.audit = d.audit.get();
    LOG(INFO) << d.Prefix() << "audit log: " << cfg.audit_log_file;
  }
  if (!cfg.listener_sasl.empty()) {
    auto sasl = SaslAuthenticator::Create(cfg, &d.scram_credentials, d.clock);
    if (!sasl.ok()) return sasl.status();
    d.sasl = std::move(*sasl);
    d.sasl->SetAuditLog(d.audit.get());
    d.ctx.sasl = d.sasl.get();
    // Every user's SCRAM credentials now; changes follow through /config/changes (step 5).
    auto users = d.zk->GetEntityNames("users");
    if (!users.ok()) return users.status();
    for (const auto& u : *users) d.ReloadUser(u);
    LOG(INFO) << d.Prefix() << "SASL: " << d.scram_credentials.size()
              << " users with SCRAM credentials";
  }
  // Every ACL now; changes follow through /kafka-acl*-changes (step 5).
  d.authorizer = std::make_unique<security::AclAuthorizer>(
      security::AuthorizerOptions{cfg.super_users, cfg.allow_everyone_if_no_acl_found});
  d.acls = std::make_unique<AclStore>(d.zk_client.get(), &d.authorizer->cache());
  GREGOR_RETURN_IF_ERROR(d.acls->Load());
  d.ctx.acls = d.acls.get();
  if (!cfg.authorizer_class_name.empty()) {
    d.ctx.authorizer = d.authorizer.get();
    LOG(INFO) << d.Prefix() << "ACL authorizer on (" << cfg.authorizer_class_name
              << "): " << d.authorizer->cache().size() << " resource patterns with ACLs, "
              << cfg.super_users.size() << " super users, allow.everyone.if.no.acl.found="
              << (cfg.allow_everyone_if_no_acl_found ? "true" : "false");
  }
  // Client quotas now; changes follow through /config/changes (step 5).
  d.quotas = std::make_unique<ClientQuotas>(
      QuotaWindow{cfg.quota_window_num, cfg.quota_window_size_seconds * int64_t{1000}},
      QuotaWindow{cfg.controller_quota_window_num,
                  cfg.controller_quota_window_size_seconds * int64_t{1000}});
  GREGOR_RETURN_IF_ERROR(LoadClientQuotas(*d.zk, d.quotas.get()));
  if (auto n = d.quotas->Entities().size(); n > 0) {
    LOG(INFO) << d.Prefix() << "client quotas: " << n << " entities";
  }
  d.ctx.quotas = d.quotas.get();
  d.ctx.request_metrics = &d.metrics.requests();
  d.dispatcher = std::make_unique<RequestDispatcher>(&d.ctx);

  // 4. Listeners, then the network threads.
  GREGOR_RETURN_IF_ERROR(d.StartListeners());
  {
    // IP connection-rate quotas (KIP-612); changes follow through /config/changes (step 5).
    d.connection_quotas->SetIpConnectionRateWindow(
        QuotaWindow{cfg.quota_window_num, cfg.quota_window_size_seconds * int64_t{1000}});
    auto ips = ReadAllIpQuotas(*d.zk);
    if (!ips.ok()) return ips.status();
    for (const auto& [ip, rate] : *ips) ApplyIpQuota(*d.connection_quotas, ip, rate);
  }
  if (!cfg.metrics_listeners.empty()) {
    BrokerMetrics::Sources sources;
    sources.ctx = &d.ctx;
    sources.connections = d.connection_quotas.get();
    for (const auto& l : cfg.listeners) sources.listeners.push_back(l.name);
    sources.memory_pool = d.memory_pool.get();
    d.metrics.set_sources(std::move(sources));
    d.metrics_server =
        std::make_unique<network::MetricsServer>([&d] { return d.metrics.Render(); });
    GREGOR_RETURN_IF_ERROR(d.metrics_server->Start(cfg.metrics_listeners));
  }
  d.work.emplace(d.io.get_executor());
  for (int i = 0; i < std::max(1, cfg.num_network_threads); ++i) {
    d.network_threads.emplace_back([&d] { d.io.run(); });
  }

  // 5. Register in ZooKeeper (and again after every session expiry), watch
  //    topic config changes and ACL changes.
  GREGOR_RETURN_IF_ERROR(d.RegisterBroker());
  d.zk_client->AddSessionReestablishedCallback([&d] {
    Status st = d.RegisterBroker();
    if (!st.ok()) LOG(ERROR) << d.Prefix() << "re-registration failed: " << st.ToString();
  });
  d.zk->WatchConfigChanges([&d](const std::string& type, const std::string& name) {
    // KIP-612 IP quotas: the acceptors' connection_creation_rate.
    if (type == "ips") {
      if (auto ip = IpEntityOfZnode(name)) {
        asio::post(d.blocking_pool, [&d, ip = *ip] {
          if (d.connection_quotas) ReloadIpQuota(*d.zk, *d.connection_quotas, ip);
        });
      }
      return;
    }
    if (type == "users" || type == "clients") {
      if (auto entity = QuotaEntity::FromEntityPath(type + "/" + name)) {
        asio::post(d.blocking_pool, [&d, e = *entity] {
          auto values = ReadQuotaEntity(*d.zk, e);
          if (!values.ok()) {
            LOG(WARNING) << d.Prefix() << "cannot read the quotas of " << e.EntityPath() << ": "
                         << values.status().ToString();
            return;
          }
          LOG(INFO) << d.Prefix() << "quotas of " << e.EntityPath() << " changed ("
                    << values->size() << " set)";
          d.quotas->Set(e, *values);
        });
      }
    }
    if (type == "users" && d.sasl && name.find('/') == std::string::npos) {
      asio::post(d.blocking_pool, [&d, name] { d.ReloadUser(name); });
      return;
    }
    if (type == "brokers" &&
        (name == zk::paths::kDefaultEntity || name == std::to_string(d.config.broker_id))) {
      asio::post(d.blocking_pool, [&d] { d.ReloadBrokerConfig(); });
      return;
    }
    if (type != "topics") return;
    asio::post(d.blocking_pool, [&d, topic = name] {
      LOG(INFO) << d.Prefix() << "config of topic " << topic << " changed";
      d.ReloadTopicConfig(topic);
    });
  });

  GREGOR_RETURN_IF_ERROR(d.acls->Watch());

  // 6. The controller: every broker runs for election.
  d.controller->Start();

  d.scheduler = std::thread([&d] { d.RunScheduler(); });
  LOG(INFO) << d.Prefix() << "started";
  return Status::Ok();
}

void Broker::Shutdown() {
  Impl& d = *impl_;
  if (d.shutdown_started.exchange(true)) {
    Wait();
    return;
  }
  LOG(INFO) << d.Prefix() << "shutting down";
  if (d.metrics_server) d.metrics_server->Stop();  // no scrape reads what is being torn down
  // Controlled shutdown (SIGTERM): the controller moves this broker's leaderships first, so
  // clients see a retriable NOT_LEADER_OR_FOLLOWER rather than a session-timeout outage. The
  // listeners and the controller channel still run: this broker may be the controller.
  if (d.config.controlled_shutdown_enable && d.broker_epoch >= 0 && d.zk_client) {
    std::string ib = d.config.inter_broker_listener_name.empty()
                         ? d.config.listeners.front().name
                         : d.config.inter_broker_listener_name;
    network::BrokerClientOptions co;
    co.request_timeout_ms = d.config.controller_socket_timeout_ms;
    co.connect_timeout_ms = static_cast<int32_t>(d.config.socket_connection_setup_timeout_ms);
    co.connect_timeout_max_ms =
        static_cast<int32_t>(d.config.socket_connection_setup_timeout_max_ms);
    co.tls = d.inter_broker_tls;
    co.verify_hostname = network::VerifiesHostname(d.config.ssl_endpoint_identification_algorithm);
    co.authenticate = d.inter_broker_authenticate;
    Status st = ControlledShutdownClient::Run(d.metadata, d.config.broker_id, d.broker_epoch, ib,
                                              d.config.controlled_shutdown_max_retries,
                                              d.config.controlled_shutdown_retry_backoff_ms, co);
    if (st.ok()) {
      LOG(INFO) << d.Prefix() << "controlled shutdown complete";
    } else {
      LOG(WARNING) << d.Prefix() << "controlled shutdown: " << st.ToString()
                   << "; shutting down anyway";
    }
  }
  // ZooKeeper work done while stopping (resigning, deleting /controller, handlers still running)
  // must not wait for a session that may not come back: closing the session removes our
  // ephemeral znodes anyway.
  if (d.zk_client) d.zk_client->FailFast();
  if (d.controller) d.controller->Stop();
  if (d.channel) d.channel->Shutdown();
  if (d.alter_partition) d.alter_partition->Shutdown();
  // Waiting JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) before the listeners
  // stop; followers stop fetching before the logs close.
  if (d.groups) d.groups->Shutdown();
  // Markers first (their callbacks reach the coordinator), then the coordinator, then its
  // storage (pending writes fail into the coordinator, which ignores them once shut down).
  if (d.txn_verifier) d.txn_verifier->Shutdown();
  if (d.txn_markers) d.txn_markers->Shutdown();
  if (d.txns) d.txns->Shutdown();
  if (d.fetchers) d.fetchers->Shutdown();
  for (auto& l : d.listeners) l->Stop();
  {
    std::lock_guard<std::mutex> lock(d.mu);
    d.stopping = true;
  }
  d.cv.notify_all();
  if (d.scheduler.joinable()) d.scheduler.join();
  d.work.reset();
  d.io.stop();
  for (auto& t : d.network_threads) t.join();
  d.network_threads.clear();
  d.io_pool.join();
  d.blocking_pool.join();
  if (d.logs) {
    Status st = d.logs->Shutdown();
    if (!st.ok()) LOG(ERROR) << d.Prefix() << "log shutdown: " << st.ToString();
  }
  if (d.zk_client) d.zk_client->Close();
  LOG(INFO) << d.Prefix() << "shut down cleanly";
  {
    std::lock_guard<std::mutex> lock(d.mu);
    d.stopped = true;
  }
  d.cv.notify_all();
}

void Broker::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return impl_->stopped; });
}

bool Broker::Responsive(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  auto io_done = std::make_shared<std::promise<void>>();
  auto pool_done = std::make_shared<std::promise<void>>();
  auto io_future = io_done->get_future();
  auto pool_future = pool_done->get_future();
  asio::post(d.io, [io_done] { io_done->set_value(); });
  asio::post(d.blocking_pool, [pool_done] { pool_done->set_value(); });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  return io_future.wait_until(deadline) == std::future_status::ready &&
         pool_future.wait_until(deadline) == std::future_status::ready;
}

void Broker::RequestReload() {
  impl_->reload_requested = true;
  impl_->cv.notify_all();
}

int Broker::BoundPort(const std::string& listener_name) const {
  for (const auto& l : impl_->listeners) {
    if (l->options().name == listener_name) return l->port();
  }
  return -1;
}

}  // namespace gregor::server
