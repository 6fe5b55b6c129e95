#pragma once
// Broker::Impl: what a running broker is made of (its components, in construction order, and
// the state its background work shares), private to the server module. broker.cc starts and
// stops it; broker_listeners.cc has the listeners, TLS reloads and the broker's registration;
// broker_background.cc the scheduler, dynamic config reloads and the ISR change path.

#include <glog/logging.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <set>
#include <thread>

#include "gregor/base/clock.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/cluster/replica_manager.h"
#include "gregor/config/inter_broker_protocol.h"
#include "gregor/config/topic_config.h"
#include "gregor/controller/controller.h"
#include "gregor/controller/controller_channel_manager.h"
#include "gregor/group/group_coordinator.h"
#include "gregor/group/group_records.h"
#include "gregor/group/offsets_log.h"
#include "gregor/log/log_manager.h"
#include "gregor/network/listener.h"
#include "gregor/network/metrics_server.h"
#include "gregor/network/tls.h"
#include "gregor/replication/replica_fetcher_manager.h"
#include "gregor/security/principal_mapping.h"
#include "gregor/server/broker.h"
#include "gregor/txn/add_partitions_to_txn_manager.h"
#include "gregor/txn/producer_id_manager.h"
#include "gregor/txn/transaction_coordinator.h"
#include "gregor/txn/transaction_marker_channel_manager.h"
#include "gregor/zk/kafka_zk_client.h"
#include "gregor/zk/zk_client.h"
#include "server/acl_store.h"
#include "server/alter_partition_manager.h"
#include "server/broker_metrics.h"
#include "server/controlled_shutdown_client.h"
#include "server/fetch_session_cache.h"
#include "server/quota_store.h"
#include "server/request_dispatcher.h"
#include "server/runtime_loggers.h"
#include "server/sasl_authenticator.h"
#include "server/sasl_client.h"
#include "server/server_context.h"

namespace gregor::server {

struct Broker::Impl {
  explicit Impl(config::BrokerConfig c)
      : config(std::move(c)),
        io_pool(std::max(1, config.num_io_threads)),
        blocking_pool(std::max(1, config.background_threads)) {}

  config::BrokerConfig config;
  // The keys that can change at run time (KIP-226), from /config/brokers once the broker id
  // is known (start-up step 1).
  std::unique_ptr<config::DynamicBrokerConfig> dynamic;
  const Clock* clock = SystemClock::Get();
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> network_threads;
  // The disk work of requests (num.io.threads): network threads never wait on the disk.
  asio::thread_pool io_pool;
  // ZooKeeper calls and other blocking work (background.threads), apart from io_pool so that a
  // ZooKeeper outage does not hold up appends and reads.
  asio::thread_pool blocking_pool;

  std::unique_ptr<zk::ZkClient> zk_client;
  std::unique_ptr<zk::KafkaZkClient> zk;
  // ACLs in ZooKeeper, cached; managed through the ACL APIs even with no authorizer. The
  // authorizer owns the cache the store fills; handlers consult it only when
  // authorizer.class.name is set.
  std::unique_ptr<security::AclAuthorizer> authorizer;
  // KIP-371: SSL clients' principals from their certificates.
  std::shared_ptr<const security::SslPrincipalMapper> ssl_principal_mapper;
  std::string tls_stamp;  // TlsFilesStamp of the stores the SSL listeners use (scheduler)
  std::atomic<bool> reload_requested{false};  // SIGHUP, served by the scheduler
  // audit.log.file. Declared before the SASL authenticator and the listeners, which write to
  // it, so that it outlives them.
  std::unique_ptr<security::AuditLog> audit;
  std::unique_ptr<AclStore> acls;
  std::unique_ptr<ClientQuotas> quotas;
  std::unique_ptr<log::LogManager> logs;
  cluster::MetadataCache metadata;
  std::unique_ptr<cluster::ReplicaManager> replicas;
  std::unique_ptr<replication::ReplicaFetcherManager> fetchers;
  std::unique_ptr<group::PartitionOffsetsLog> offsets_log;
  std::unique_ptr<group::GroupCoordinator> groups;
  std::unique_ptr<txn::ProducerIdManager> producer_ids;
  // Transactions: the coordinator writes through txn_log (acks=all on __transaction_state) and
  // sends markers through txn_markers. Both call back into the coordinator (also when they fail
  // what is pending as they go), so it is declared first and destroyed last.
  std::unique_ptr<txn::TransactionCoordinator> txns;
  std::unique_ptr<txn::TransactionMarkerChannelManager> txn_markers;
  std::unique_ptr<group::PartitionOffsetsLog> txn_log;
  std::unique_ptr<txn::TransactionLogStore> txn_store;
  // KIP-890 part 1: partition leaders verify transactional batches with the coordinator
  // (calls txns for the ids this broker coordinates, so it is shut down before it).
  std::unique_ptr<txn::AddPartitionsToTxnManager> txn_verifier;
  TopicConfigStore topic_configs;
  ServerContext ctx;
  ScramCredentialCache scram_credentials;   // /config/users, for SCRAM
  std::unique_ptr<SaslAuthenticator> sasl;  // when a listener speaks SASL
  std::unique_ptr<RequestDispatcher> dispatcher;
  std::vector<std::unique_ptr<network::Listener>> listeners;
  std::shared_ptr<network::ConnectionQuotas> connection_quotas;  // shared by the listeners
  std::shared_ptr<network::MemoryPool> memory_pool;              // queued.max.request.bytes
  BrokerMetrics metrics;
  std::unique_ptr<network::MetricsServer> metrics_server;  // metrics.listeners
  std::unique_ptr<controller::ControllerChannelManager> channel;
  // Client side of the ssl.* settings when the inter-broker listener speaks SSL; replaced
  // when the key or trust stores are reloaded (MaybeReloadTls).
  std::shared_ptr<network::TlsContextSlot> inter_broker_tls;
  InterBrokerAuthenticate inter_broker_authenticate;  // null unless inter-broker SASL
  std::unique_ptr<controller::Controller> controller;
  std::atomic<int64_t> broker_epoch{-1};  // read by the control-request handlers
  // Partitions whose ISR this broker changed, for the next /isr_change_notification (Kafka's
  // ZkAlterPartitionManager batches them the same way, with longer delays).
  std::mutex isr_mu;
  std::set<TopicPartition> isr_changed;
  int64_t isr_first_change_ms = 0;
  int64_t isr_last_change_ms = 0;
  // From IBP 2.7-IV2 ISR changes go to the controller instead (KIP-497).
  std::unique_ptr<AlterPartitionManager> alter_partition;

  std::thread scheduler;
  std::mutex mu;
  std::mutex dynamic_mu;                              // serializes ReloadBrokerConfig
  RuntimeLoggers loggers;                             // BROKER_LOGGER
  std::unique_ptr<FetchSessionCache> fetch_sessions;  // KIP-227
  // KIP-73 replication throttles; rates from the (dynamic) config, replicas from topic configs.
  std::unique_ptr<replication::ReplicationQuota> leader_quota;
  std::unique_ptr<replication::ReplicationQuota> follower_quota;
  std::condition_variable cv;
  bool stopping = false;
  bool stopped = false;
  std::atomic<bool> shutdown_started{false};

  std::string Prefix() const { return "[Broker id=" + std::to_string(config.broker_id) + "] "; }

  log::LogConfig LogConfigFor(const std::string& topic);

  // Re-reads /config/brokers/<id> and /config/brokers/<default> and applies what changed
  // (blocking ZooKeeper calls). Serialized: notifications and AlterConfigs may race.
  void ReloadBrokerConfig();

  void ApplyReplicationRates(const config::BrokerConfig& c) {
    if (leader_quota) leader_quota->SetRate(c.leader_replication_throttled_rate);
    if (follower_quota) follower_quota->SetRate(c.follower_replication_throttled_rate);
  }

  // The topic's throttled replicas lists, as this broker reads them (KIP-73).
  void ApplyThrottledReplicas(const std::string& topic,
                              const std::map<std::string, std::string>& overrides) {
    if (leader_quota) leader_quota->ApplyTopicConfig(topic, overrides, config.broker_id);
    if (follower_quota) follower_quota->ApplyTopicConfig(topic, overrides, config.broker_id);
  }

  static network::ConnectionQuotaOptions ConnectionQuotaOptionsOf(const config::BrokerConfig& c);

  // Reads /config/topics/<t> into the store (blocking ZooKeeper call).
  void ReloadTopicConfig(const std::string& topic);

  // Re-reads one user's SCRAM credentials (`sanitized`: the znode name under /config/users).
  void ReloadUser(const std::string& sanitized);

  std::vector<zk::Endpoint> AdvertisedEndpoints();

  Status RegisterBroker();

  // The ssl.* settings, for SSL listeners (MakeServerTlsContext) and for connections to other
  // brokers (MakeClientTlsContext); each reads the fields of its side.
  network::TlsOptions TlsOptionsOfConfig() const;

  // ssl.reload.check.interval.ms: when the key or trust store files changed, SSL listeners
  // and inter-broker clients take contexts built from them for new connections; open
  // connections keep theirs. A context that cannot be built (a half-written file) is retried
  // at the next check.
  void MaybeReloadTls();

  Status StartListeners();

  // Leaders record ISR changes in the partition's state znode, conditional on its version
  // (Kafka's ZooKeeper-mode path below IBP 2.7-IV2); the controller learns of them from the
  // notification. From IBP 2.7-IV2 on they go to the controller in AlterPartition.
  void WriteIsr(cluster::IsrChange c, std::function<void(Result<int32_t>)> done);

  // Sends the ISR change notification once changes have settled for 500 ms, or 5 s after the
  // first (Kafka: 5 s / 60 s; shorter here so metadata converges quickly).
  void MaybePropagateIsrChanges(int64_t now);

  // Background work off the network threads: retention, flushes, checkpoints, ISR checks,
  // reloads (Kafka's kafka-scheduler).
  void RunScheduler();
};

}  // namespace gregor::server
