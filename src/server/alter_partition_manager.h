#pragma once
// AlterPartitionManager: how partition leaders report ISR changes at
// inter.broker.protocol.version 2.7-IV2 and later (KIP-497; Kafka's DefaultAlterPartitionManager).
// Below that version a leader writes the partition's state znode itself and announces it with an
// /isr_change_notification (the Broker's WriteIsr); from it on a Kafka broker sends AlterPartition
// to the controller instead, which writes the znode, answers with the new partition epoch (the
// znode's version) and sends UpdateMetadata. gregord does the same at those versions, so that
// in a mixed cluster a Kafka controller and a gregord controller each see the path they expect.
//
// Batching: changes wait keyed by partition (the Partition keeps at most one in flight); one
// request at a time carries every waiting change to the controller that the metadata cache names,
// on its endpoint of the inter-broker listener.
// Versions: negotiated with the controller up to 3; at most 1 (topics by name) below IBP 2.8-IV0
// or while a topic's id is unknown (Kafka's canUseTopicIds). LeaderRecoveryState is RECOVERED
// (0); v3's NewIsrWithEpochs carries broker epoch -1, as Kafka's ZooKeeper-mode leaders send it.
// Outcomes, per partition (Kafka's AlterPartitionManager and Partition.handleAlterPartitionError):
// - no error, with the ISR asked for: `done` gets the new partition epoch;
// - no error with another ISR, or FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION,
//   UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID, NEW_LEADER_ELECTED, INELIGIBLE_REPLICA,
//   OPERATION_NOT_ATTEMPTED or INVALID_REQUEST: kStale (the controller's state moved on; its
//   LeaderAndIsr will tell the leader what it is);
// - any other partition error: kUnavailable (the Partition proposes again after its backoff);
// - no controller known yet, a failed exchange, a top-level error (NOT_CONTROLLER,
//   STALE_BROKER_EPOCH, ...) or a partition missing from the answer: the change stays queued and
//   goes again after retry_backoff_ms. As in Kafka there is no deadline: a newer LeaderAndIsr
//   makes the Partition ignore a late answer.
// Threads: Submit from any thread; one sender thread does the blocking exchanges and calls
// `done` (never from inside Submit). Shutdown() (also the destructor) stops it and fails what is
// still queued with kUnavailable.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/cluster/partition.h"
#include "gregor/config/kafka_version.h"
#include "gregor/network/broker_client.h"

namespace gregor::server {

class AlterPartitionManager {
 public:
  struct Options {
    int32_t broker_id = -1;
    std::string listener;  // the inter-broker listener: the controller's endpoint on it
    config::MetadataVersion inter_broker_protocol = config::kLatestProductionVersion;
    int32_t request_timeout_ms = 30000;      // controller.socket.timeout.ms
    int32_t connect_timeout_ms = 10000;      // socket.connection.setup.timeout.ms
    int32_t connect_timeout_max_ms = 30000;  // socket.connection.setup.timeout.max.ms
    int64_t retry_backoff_ms = 50;           // Kafka retries a failed request 50 ms later
    // TLS and SASL of the inter-broker listener, as network::BrokerClientOptions has them.
    std::shared_ptr<network::TlsContextSlot> tls;
    bool verify_hostname = true;
    std::function<Status(network::BrokerClient&, int64_t deadline_ms)> authenticate;
  };
  using Done = std::function<void(Result<int32_t>)>;

  // `broker_epoch`: this broker's registration epoch (-1 before it registered), read per request.
  AlterPartitionManager(Options options, const cluster::MetadataCache* metadata,
                        const std::atomic<int64_t>* broker_epoch);
  ~AlterPartitionManager();
  AlterPartitionManager(const AlterPartitionManager&) = delete;
  AlterPartitionManager& operator=(const AlterPartitionManager&) = delete;

  // Queues `change` for the controller. A change for a partition that already has one waiting
  // fails (kUnavailable, from the sender thread), as Kafka's OperationNotAttemptedException.
  // After Shutdown() a change is dropped: its partition is going away with the broker.
  void Submit(cluster::IsrChange change, Done done);
  void Shutdown();

 private:
  struct Item {
    cluster::IsrChange change;
    Done done;
  };
  void Run();
  // One request with `batch`; the items to send again (their `done` not called) are returned.
  std::vector<Item> Exchange(std::vector<Item> batch);

  const Options options_;
  const std::string prefix_;
  const cluster::MetadataCache* const metadata_;
  const std::atomic<int64_t>* const broker_epoch_;
  network::BrokerClient client_;  // sender thread only; Interrupt() from Shutdown

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<TopicPartition, Item> queue_;
  std::vector<Item> refused_;  // failed by the sender thread
  bool stop_ = false;
  int64_t last_warning_ms_ = 0;  // sender thread only: top-level failures logged every 10 s
  std::thread thread_;
};

}  // namespace gregor::server
