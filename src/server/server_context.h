#pragma once
// ServerContext: what request handlers reach. Built by the Broker, which
// owns every service named here and outlives all connections. Handlers run
// on connection strands; every service here is thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gregor/base/clock.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/cluster/replica_manager.h"
#include "gregor/config/broker_config.h"
#include "gregor/config/dynamic_broker_config.h"
#include "gregor/controller/controller.h"
#include "gregor/group/group_coordinator.h"
#include "gregor/log/log_manager.h"
#include "gregor/network/asio.h"
#include "gregor/network/request_handler.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/header.h"
#include "gregor/protocol/reader.h"
#include "gregor/protocol/writer.h"
#include "gregor/replication/replication_quota.h"
#include "gregor/security/audit_log.h"
#include "gregor/security/authorizer.h"
#include "gregor/txn/add_partitions_to_txn_manager.h"
#include "gregor/txn/producer_id_manager.h"
#include "gregor/txn/transaction_coordinator.h"
#include "gregor/zk/kafka_zk_client.h"
#include "server/client_quotas.h"

namespace gregor::server {

class RequestMetrics;

class AclStore;
class FetchSessionCache;
class RuntimeLoggers;
class SaslAuthenticator;

// Topic-level config overrides, as stored in /config/topics/<t>; kept
// current by the config-change watcher. Thread-safe.
class TopicConfigStore {
 public:
  std::map<std::string, std::string> Get(const std::string& topic) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = overrides_.find(topic);
    return it == overrides_.end() ? std::map<std::string, std::string>{} : it->second;
  }
  void Set(const std::string& topic, std::map<std::string, std::string> overrides) {
    std::lock_guard<std::mutex> lock(mu_);
    overrides_[topic] = std::move(overrides);
  }
  void Erase(const std::string& topic) {
    std::lock_guard<std::mutex> lock(mu_);
    overrides_.erase(topic);
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, std::string>> overrides_;
};

struct ServerContext {
  // The static configuration (server.properties and flags).
  const config::BrokerConfig* config = nullptr;
  // The configuration as it is now, dynamic broker configs applied (KIP-226); null in unit
  // tests, where `config` is all there is. Read the keys that can change through
  // CurrentConfig().
  config::DynamicBrokerConfig* dynamic_config = nullptr;
  std::shared_ptr<const config::BrokerConfig> CurrentConfig() const {
    if (dynamic_config) return dynamic_config->Current();
    return std::shared_ptr<const config::BrokerConfig>(std::shared_ptr<const void>(), config);
  }
  int32_t broker_id = -1;
  // This broker's epoch: the czxid of its /brokers/ids znode, replaced at every registration
  // (after a ZooKeeper session expiry); -1 before the first. Null in unit tests without one.
  const std::atomic<int64_t>* broker_epoch = nullptr;
  std::string cluster_id;
  const Clock* clock = nullptr;
  asio::io_context* io = nullptr;
  cluster::MetadataCache* metadata = nullptr;
  cluster::ReplicaManager* replicas = nullptr;
  log::LogManager* logs = nullptr;
  zk::KafkaZkClient* zk = nullptr;
  TopicConfigStore* topic_configs = nullptr;
  // This broker's controller (active or not); requests only the active controller answers
  // (ControlledShutdown, partition reassignments) go through it.
  controller::Controller* controller = nullptr;
  // The group coordinator (consumer groups, committed offsets in __consumer_offsets).
  group::GroupCoordinator* groups = nullptr;
  // Producer ids for InitProducerId, in blocks from /latest_producer_id_block.
  txn::ProducerIdManager* producer_ids = nullptr;
  // The transaction coordinator (transactional ids in __transaction_state).
  txn::TransactionCoordinator* txns = nullptr;
  // KIP-890 part 1: partition leaders verify transactional batches with the coordinator (null
  // when transaction.partition.verification.enable is false).
  txn::AddPartitionsToTxnManager* txn_verifier = nullptr;
  // Replicas per partition this broker can serve correctly. Followers do not
  // fetch yet, so the Broker sets 1: a topic with more replicas would accept
  // acks=all writes that no follower holds. Unlimited where tests build a
  // context for the assignment logic alone.
  int32_t max_replication_factor = INT32_MAX;
  // Runs blocking work (ZooKeeper calls) off the network threads, on background.threads.
  std::function<asio::awaitable<void>(std::function<void()>)> run_blocking;
  // Queues work on background.threads without waiting for it (work that completes through a
  // callback, e.g. the transaction coordinator's InitProducerId).
  std::function<void(std::function<void()>)> post_blocking;
  // Runs a request's disk work (appends, reads, index lookups) on num.io.threads; the
  // coroutine resumes on its connection's strand when it is done.
  std::function<asio::awaitable<void>(std::function<void()>)> run_io;
  // SASL on SASL_PLAINTEXT / SASL_SSL listeners (null when there are none).
  const SaslAuthenticator* sasl = nullptr;
  // ACLs in ZooKeeper and their cache (CreateAcls / DescribeAcls / DeleteAcls).
  AclStore* acls = nullptr;
  // The ACL authorizer over that cache when authorizer.class.name names one (null: every
  // request is authorized); handlers ask it through server/authorization.h.
  const security::AclAuthorizer* authorizer = nullptr;
  // audit.log.file: authentications and authorization decisions (null: none).
  security::AuditLog* audit = nullptr;
  // Client quotas from /config/users and /config/clients (null: none, in tests).
  ClientQuotas* quotas = nullptr;
  // Kafka's RequestMetrics, recorded by the dispatcher (null: not counted, in tests).
  RequestMetrics* request_metrics = nullptr;
  // Re-reads a topic's overrides from ZooKeeper and applies them.
  std::function<void(const std::string& topic)> reload_topic_config;
  // Re-reads /config/brokers/<id> and /config/brokers/<default> and applies them (blocking).
  std::function<void()> reload_broker_config;
  // Incremental fetch sessions (KIP-227; null: every fetch is sessionless).
  FetchSessionCache* fetch_sessions = nullptr;
  // BROKER_LOGGER: log levels changed at run time (null: not served, in tests).
  RuntimeLoggers* loggers = nullptr;
  // leader.replication.throttled.* (KIP-73): what this leader sends to followers out of the
  // ISR (null: nothing is throttled, in tests).
  replication::ReplicationQuota* leader_replication_quota = nullptr;
  // follower.replication.throttled.* (the replica fetchers hold it; here for metrics).
  replication::ReplicationQuota* follower_replication_quota = nullptr;
};

// One request as handlers see it. The body reader is positioned after the
// request header; the response header is already written to `out`.
struct Request {
  network::ConnectionContext& conn;
  const protocol::RequestHeader& header;
  protocol::Reader& body;
  std::string& frame;
  // ApiVersions asked at a version we do not know: answered as v0 with
  // UNSUPPORTED_VERSION (KIP-511).
  bool unsupported_version = false;
  // When the dispatcher took the request (client request quotas count from here).
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  int16_t version() const { return header.api_version; }
};

struct Response {
  protocol::Writer& out;
  bool send = true;    // false: no response at all (Produce acks=0)
  bool close = false;  // close the connection once the response is sent (failed SASL)
  // Client quotas (KIP-219): the handler's byte-rate throttle (Produce, Fetch); not counted
  // against the request quota (a follower's fetch); the throttle already settled and written
  // by the handler (Produce, whose ThrottleTimeMs is its last field).
  int32_t throttle_ms = 0;
  bool quota_exempt = false;
  bool quotas_done = false;
};

}  // namespace gregor::server
