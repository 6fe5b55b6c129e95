#pragma once
// TransactionMarkerChannelManager: the transaction coordinator's sender of WriteTxnMarkers to
// partition leaders (Kafka's TransactionMarkerChannelManager + its
// TransactionMarkerRequestCompletionHandler). The coordinator hands it one TxnMarker per ending
// transaction (a commit or abort for a producer id and epoch over a set of partitions); it
// writes the marker into every partition through that partition's leader, found in the
// MetadataCache, and reports once, when every partition is written, or when the marker cannot
// be written any more (fenced by a newer coordinator or producer epoch).
//
// Structure (the model is controller::ControllerChannelManager): one queue and one sender thread
// per destination broker (this broker included: it writes to itself over the inter-broker
// listener like to any other), each with a network::BrokerClient on that broker's inter-broker
// endpoint. A sender drains its queue into one WriteTxnMarkers request (markers of different
// producers batched, Kafka's generateRequests), encoded at the highest version both sides speak
// (ApiVersions, v0-1). One router thread looks leaders up in the MetadataCache: for new markers,
// for partitions to retry (after a per-marker exponential backoff, reconnect.backoff.ms/.max.ms,
// so that a leader that moved is found again), and for partitions that have no leader yet (they
// wait, re-checked after the backoff: nothing spins).
//
// Per partition, a WriteTxnMarkers answer or a lookup means:
//   NONE, UNSUPPORTED_FOR_MESSAGE_FORMAT, UNSUPPORTED_VERSION  written (Kafka drops the last two:
//                                     the producer cannot have written there)
//   NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS(_AFTER_
//   APPEND), KAFKA_STORAGE_ERROR, UNKNOWN_TOPIC_OR_PARTITION, a failed or timed-out request,
//   an unreadable answer                 retried: leader looked up again after the backoff
//   not in the MetadataCache (topic deleted, Kafka's "likely deleted already")  dropped
//   no leader, or the leader has no endpoint on `listener`  waits, looked up again later
//   TRANSACTION_COORDINATOR_FENCED, INVALID_PRODUCER_EPOCH, PRODUCER_FENCED  the whole marker
//                                     stops (its other partitions too) and reports kFenced
//   anything else (Kafka throws IllegalStateException)  logged as an ERROR and retried: the
//                                     transaction cannot complete without the marker
//
// Owner: the Broker, which builds it with the inter-broker listener, TLS context and timeouts
// of the ControllerChannelManager and shuts it down before the TransactionCoordinator that
// sends through it; `metadata` outlives it. Unlike Kafka's completion handler, it does not read
// the coordinator's state: whether the coordinator epoch still holds when `done` reports is
// the coordinator's check.
// Threads: AddMarker() and RemoveMarkersForTxnTopicPartition() come from any thread and never
// block on the network (they only queue and wake the router). All state is guarded by one
// mutex, never held across a network call or a callback. `done` runs on one of this channel's
// threads (a sender or the router), never on the caller's, without any lock held, so it may
// call AddMarker(); it must not call Shutdown(). Only once Shutdown() has begun does it run on
// the thread calling Shutdown() or AddMarker().
// Deadlines: a request gets `request_timeout_ms` once written, a connection `connect_timeout_ms`
// to be ready. A leader that accepts and never answers (SIGSTOP) costs its own markers a
// timeout per attempt and never holds up markers for other brokers: those have their own
// sender thread (a marker spanning both completes when both are written).
// Memory: at most `max_pending_markers` markers are held (AddMarker refuses more, kUnavailable),
// and at most `max_queued_per_broker` of them are queued for one broker; partitions that find
// their broker's queue full wait with the backoff rather than being dropped.
// Errors (the Status given to `done`, exactly once per marker): Ok when every partition is
// written or dropped; kFenced as above; kUnavailable after Shutdown(), after
// RemoveMarkersForTxnTopicPartition(), or when the channel already holds max_pending_markers.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/config/kafka_version.h"
#include "gregor/network/asio.h"
#include "gregor/network/broker_client.h"

namespace gregor::txn {

// One transaction's end, to be written to each of its partitions (Kafka's TxnMarkerEntry).
struct TxnMarker {
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t coordinator_epoch = 0;
  bool commit = false;  // TransactionResult: COMMIT (true) or ABORT
  std::set<gregor::TopicPartition> partitions;
  // For logs only.
  std::string transactional_id;
  // The __transaction_state partition of the transactional id, for
  // RemoveMarkersForTxnTopicPartition (-1: none).
  int32_t txn_topic_partition = -1;
};

class TransactionMarkerChannelManager {
 public:
  struct Options {
    int32_t broker_id = -1;  // this broker: log prefix and client id
    std::string listener;    // the inter-broker listener name whose endpoints are dialled
    int32_t request_timeout_ms = 30000;      // request.timeout.ms
    int32_t connect_timeout_ms = 10000;      // socket.connection.setup.timeout.ms
    int32_t connect_timeout_max_ms = 30000;  // socket.connection.setup.timeout.max.ms
    // Backoff of a partition's retry (and of a leaderless partition's next lookup), per marker:
    // doubles per attempt up to the max, with 20% jitter; also the BrokerClient's reconnect
    // backoff.
    int32_t reconnect_backoff_ms = 50;
    int32_t reconnect_backoff_max_ms = 1000;
    size_t max_queued_per_broker = 1000;  // markers waiting for one broker's sender
    size_t max_pending_markers = 100000;  // markers held in all
    // TLS settings for brokers whose inter-broker listener speaks SSL.
    std::shared_ptr<network::TlsContextSlot> tls;
    bool verify_hostname = true;  // ssl.endpoint.identification.algorithm=https
    // SASL between brokers (sasl.mechanism.inter.broker.protocol):
    // BrokerClientOptions::authenticate.
    std::function<Status(network::BrokerClient&, int64_t deadline_ms)> authenticate;
    // inter.broker.protocol.version: WriteTxnMarkers v1 (flexible) from 2.8-IV0, v0 below.
    config::MetadataVersion inter_broker_protocol = config::kLatestProductionVersion;
  };

  TransactionMarkerChannelManager(Options options, const cluster::MetadataCache* metadata);
  ~TransactionMarkerChannelManager();  // Shutdown()
  TransactionMarkerChannelManager(const TransactionMarkerChannelManager&) = delete;
  TransactionMarkerChannelManager& operator=(const TransactionMarkerChannelManager&) = delete;

  // Writes `marker` to the leader of each of its partitions; `done` reports the outcome, exactly
  // once (see the class comment). Never blocks on the network.
  void AddMarker(TxnMarker marker, std::function<void(Status)> done);

  // Kafka's removeMarkersForTxnTopicPartition: this broker is no longer the coordinator of
  // __transaction_state-`txn_topic_partition`, so its markers are abandoned (the new
  // coordinator sends them again when it loads the partition): they are no longer sent, and
  // their `done` runs with kUnavailable, on the router thread. A request already in flight is
  // not recalled; its answer is ignored.
  void RemoveMarkersForTxnTopicPartition(int32_t txn_topic_partition);

  // Stops every thread (blocked connects and reads are interrupted), joins them and completes
  // every pending marker with kUnavailable. Later AddMarker() calls complete at once with
  // kUnavailable. Idempotent.
  void Shutdown();

  // Observability (tests): markers not yet completed; markers queued for or in flight to
  // `broker`; sender threads.
  size_t PendingMarkers() const;
  size_t QueuedMarkers(int32_t broker) const;
  size_t NumSenders() const;

  struct Marker;  // one pending marker (internal)
  struct Sender;  // one broker's queue and thread (internal)

 private:
  using Batch = std::map<uint64_t, std::set<gregor::TopicPartition>>;  // marker id -> partitions

  void RouterLoop();
  // Looks up the leaders of what is due in `waiting_` and queues it for their senders; drops
  // partitions of deleted topics (not before the first UpdateMetadata: `initialized`). Completions
  // are appended to `done`. Called with mu_ held.
  void RouteDue(const cluster::MetadataCache::Snapshot& snapshot, bool initialized, int64_t now_ms,
                std::vector<std::function<void()>>* done);
  void SenderLoop(Sender* s);
  // Handles one answered or failed request of `s`; mu_ held.
  void OnResponse(Sender* s, const Batch& batch, const Status& st, const uint8_t* body, size_t size,
                  int16_t version, std::vector<std::function<void()>>* done);
  // Puts `partitions` of `m` back to wait for the backoff, then a new lookup (mu_ held).
  void Retry(Marker& m, const std::set<gregor::TopicPartition>& partitions, int64_t now_ms);
  // Removes marker `id` everywhere and returns its completion (mu_ held).
  std::function<void()> Complete(uint64_t id, Status st);
  // Completes `m` with Ok when no partition is left to write (mu_ held).
  void MaybeFinish(Marker& m, std::vector<std::function<void()>>* done);

  const Options options_;
  const cluster::MetadataCache* const metadata_;
  const std::string prefix_;

  mutable std::mutex mu_;
  std::condition_variable router_cv_;
  bool wake_router_ = false;
  // Completions of refused and removed markers, run by the router (not by the caller).
  std::vector<std::function<void()>> deferred_;
  bool shutdown_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Marker>> markers_;
  // Partitions waiting to be routed, per marker: due time (steady ms) and partitions.
  std::map<uint64_t, std::pair<int64_t, std::set<gregor::TopicPartition>>> waiting_;
  std::map<int32_t, std::unique_ptr<Sender>> senders_;
  std::mt19937_64 rng_;
  int64_t last_warn_ms_ = 0;
  std::thread router_;
  std::mutex shutdown_mu_;  // serializes Shutdown()
};

}  // namespace gregor::txn
