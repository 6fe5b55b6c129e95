#pragma once
// ReplicaFetcherManager: makes this broker's follower replicas copy their
// leaders' logs (Kafka's ReplicaFetcherManager + ReplicaFetcherThread, ZK mode).
//
// What: partitions to follow are spread over fetcher threads keyed by
// (source broker, fetcher index = hash(tp) % num.replica.fetchers). Each thread
// keeps one connection (a network::BrokerClient: PLAINTEXT or SSL, as the
// leader's endpoint of `Options::listener` in the MetadataCache says) to its
// leader and loops: one Fetch for all of its partitions (long-polled by the
// leader), then per partition append the record set, follow the high watermark,
// or truncate to the divergence point the leader reports (KIP-320, truncation on
// fetch, Fetch v12). The Fetch version is the highest the leader speaks up to the
// one inter.broker.protocol.version pins; below v12 (a protocol before 2.7-IV1, or
// a Kafka 2.x leader) a partition is first truncated with OffsetsForLeaderEpoch
// when it is added or its leader epoch changes (KIP-101/279), then fetched.
// Threads are created on demand and retired when they have no partitions left.
// Owner: the Broker, which wires Update() to ReplicaManager's follower listener
// and destroys the manager before the ReplicaManager and MetadataCache.
// Threads: Update() and Shutdown() may be called from any thread and never
// block on the network (a retired thread is stopped at once and joined later).
// Fetcher threads do blocking socket and log I/O on their own threads.
// Lifecycle: construct -> Update()* -> Shutdown() (also run by the destructor),
// after which Update() is ignored.
// Errors: nothing is reported to callers. Transport failures close the
// connection and back off replica.fetch.backoff.ms; a partition-level error
// delays that partition by the same backoff (it keeps its target until Update()
// changes it); a partition gone from the ReplicaManager, or led locally, is
// dropped. The Partition fences every write by leader epoch, so a response to a
// fetch made under an older target is never applied.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/cluster/replica_manager.h"
#include "gregor/config/kafka_version.h"
#include "gregor/network/asio.h"
#include "gregor/network/broker_client.h"
#include "gregor/replication/replication_quota.h"

namespace gregor::replication {

class ReplicaFetcherThread;

class ReplicaFetcherManager {
 public:
  struct Options {
    int32_t broker_id = -1;
    std::string listener;  // inter-broker listener name: dial the leader's endpoint of this name
    int32_t fetch_max_bytes = 1048576;            // replica.fetch.max.bytes (per partition)
    int32_t fetch_response_max_bytes = 10485760;  // replica.fetch.response.max.bytes
    int32_t fetch_min_bytes = 1;                  // replica.fetch.min.bytes
    int32_t fetch_wait_max_ms = 500;              // replica.fetch.wait.max.ms
    int32_t fetch_backoff_ms = 1000;              // replica.fetch.backoff.ms
    int32_t socket_timeout_ms = 30000;            // replica.socket.timeout.ms
    int32_t num_fetchers = 1;            // num.replica.fetchers: fetcher threads per source broker
    int32_t connect_timeout_ms = 10000;  // socket.connection.setup.timeout.ms
    int32_t connect_timeout_max_ms = 30000;  // socket.connection.setup.timeout.max.ms
    // TLS settings for leaders whose inter-broker listener speaks SSL
    // (network::MakeClientTlsContext); null: such leaders are not dialled (an ERROR, once).
    std::shared_ptr<network::TlsContextSlot> tls;
    bool verify_hostname = true;  // ssl.endpoint.identification.algorithm=https
    // SASL between brokers (sasl.mechanism.inter.broker.protocol):
    // BrokerClientOptions::authenticate.
    std::function<Status(network::BrokerClient&, int64_t deadline_ms)> authenticate;
    // follower.replication.throttled.* (KIP-73); null: nothing is throttled. Outlives the
    // manager.
    ReplicationQuota* quota = nullptr;
    // inter.broker.protocol.version: caps the Fetch and OffsetsForLeaderEpoch versions sent.
    config::MetadataVersion inter_broker_protocol = config::kLatestProductionVersion;
  };

  ReplicaFetcherManager(Options o, cluster::ReplicaManager* replicas,
                        cluster::MetadataCache* metadata);
  ~ReplicaFetcherManager();  // Shutdown()
  ReplicaFetcherManager(const ReplicaFetcherManager&) = delete;
  ReplicaFetcherManager& operator=(const ReplicaFetcherManager&) = delete;

  // Called from ReplicaManager's follower listener (any thread): start/restart following, stop.
  // A target whose leader is this broker or unknown (< 0) counts as unfollow.
  void Update(const std::vector<cluster::FollowTarget>& follow,
              const std::vector<TopicPartition>& unfollow);
  // Stops and joins all fetcher threads promptly (blocked reads are woken).
  void Shutdown();

  // Observability (tests, metrics): live fetcher threads, and the partitions
  // currently assigned to fetching.
  size_t NumFetchers() const;
  size_t NumPartitions() const;

 private:
  using FetcherKey = std::pair<int32_t, int32_t>;  // (source broker, fetcher index)
  FetcherKey KeyFor(const cluster::FollowTarget& t) const;
  // Joins retired threads that have finished; with `all`, every retired thread.
  void ReapRetired(bool all);

  const Options options_;
  cluster::ReplicaManager* const replicas_;
  cluster::MetadataCache* const metadata_;

  mutable std::mutex mu_;
  bool shutdown_ = false;
  std::map<FetcherKey, std::unique_ptr<ReplicaFetcherThread>> fetchers_;
  std::unordered_map<TopicPartition, FetcherKey> assignment_;
  std::vector<std::unique_ptr<ReplicaFetcherThread>> retired_;
};

}  // namespace gregor::replication
