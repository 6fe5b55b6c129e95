#pragma once
// AddPartitionsToTxnManager: a partition leader's check with the transaction coordinator that a
// transactional batch belongs to an ongoing transaction before it is appended (KIP-890 part 1,
// Kafka 3.6+'s AddPartitionsToTxnManager; transaction.partition.verification.enable).
//
// Verify() finds the coordinator of the transactional id, the leader of partition
// TransactionPartitionFor(id, transaction.state.log.num.partitions) of __transaction_state in
// the MetadataCache. When that is this broker, the local TransactionCoordinator answers
// (VerifyPartitions); otherwise an AddPartitionsToTxn v4-5 request with verify_only=true goes to
// the coordinator's inter-broker endpoint. Verifications for one coordinator are batched: its
// sender drains its queue into one request (one transaction per transactional id per request;
// a second verification of the same id waits for the next request).
//
// Structure (the model is TransactionMarkerChannelManager): one queue and one sender thread per
// coordinator broker, each with a network::BrokerClient on that broker's inter-broker
// endpoint, plus one local thread that answers the verifications this broker coordinates and
// completes those that fail before any request (no coordinator, queue full, shut down).
//
// The answer given to `done`, per partition, is what the produce response should carry (Kafka's
// AddPartitionsToTxnManager and ReplicaManager.appendEntries mappings):
//   NONE                                   verified: append
//   INVALID_TXN_STATE                      the partition is not in the producer's ongoing
//                                          transaction (also for CLUSTER_AUTHORIZATION_FAILED)
//   TRANSACTION_ABORTABLE                  the same from a Kafka 3.8+ coordinator (ours, or a
//                                          remote one asked with v5): the caller answers
//                                          INVALID_TXN_STATE to clients older than Produce
//                                          v11 / TxnOffsetCommit v4
//   NOT_ENOUGH_REPLICAS                    unable to verify now, the client retries:
//                                          COORDINATOR_NOT_AVAILABLE (no coordinator known,
//                                          no endpoint, __transaction_state missing),
//                                          NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS,
//                                          CONCURRENT_TRANSACTIONS (the transaction is ending),
//                                          a full queue, and NETWORK_EXCEPTION: the request
//                                          failed or timed out, or the answer was unreadable
//                                          or incomplete (Kafka 3.8's mapping)
//   INVALID_PRODUCER_EPOCH                 the coordinator answered PRODUCER_FENCED (clients
//                                          expect INVALID_PRODUCER_EPOCH from a produce)
//   anything else the coordinator answers  as is (INVALID_PRODUCER_ID_MAPPING, ...)
// A coordinator that does not speak AddPartitionsToTxn v4 verifies nothing: every partition is
// NONE (Kafka skips the verification on a version mismatch).
//
// Owner: the Broker, which builds it with the inter-broker listener, TLS context and timeouts
// of the TransactionMarkerChannelManager and shuts it down before the TransactionCoordinator it
// calls; `metadata` and `local` outlive it.
// Threads: Verify() comes from any thread (network threads included): it reads a MetadataCache
// snapshot and queues, and never blocks on the network or the coordinator. All state is guarded
// by one mutex, never held across a network call, the local coordinator or a callback. `done`
// runs exactly once, on one of this manager's threads, never on the caller's, with no lock
// held; it must not call Shutdown(). After Shutdown() has begun, `done` may run on the thread
// calling Shutdown() or Verify().
// Deadlines: a request gets `request_timeout_ms` once written and a connection
// `connect_timeout_ms`; a coordinator that accepts and never answers costs its own
// verifications that timeout and never holds up other coordinators (own sender threads).
// Memory: at most `max_queued_per_broker` verifications wait for one broker; more are refused
// with NOT_ENOUGH_REPLICAS.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/network/asio.h"
#include "gregor/network/broker_client.h"
#include "gregor/protocol/error_code.h"

namespace gregor::txn {

class TransactionCoordinator;

class AddPartitionsToTxnManager {
 public:
  using Callback = std::function<void(std::map<gregor::TopicPartition, protocol::ErrorCode>)>;

  struct Options {
    int32_t broker_id = -1;       // this broker: log prefix, client id, the local coordinator
    std::string listener;         // the inter-broker listener name whose endpoints are dialled
    int32_t num_partitions = 50;  // transaction.state.log.num.partitions
    int32_t request_timeout_ms = 30000;      // request.timeout.ms
    int32_t connect_timeout_ms = 10000;      // socket.connection.setup.timeout.ms
    int32_t connect_timeout_max_ms = 30000;  // socket.connection.setup.timeout.max.ms
    int32_t reconnect_backoff_ms = 50;       // reconnect.backoff.ms
    int32_t reconnect_backoff_max_ms = 1000;
    size_t max_queued_per_broker = 1000;  // verifications waiting for one coordinator
    // TLS settings for brokers whose inter-broker listener speaks SSL.
    std::shared_ptr<network::TlsContextSlot> tls;
    bool verify_hostname = true;  // ssl.endpoint.identification.algorithm=https
    // SASL between brokers (sasl.mechanism.inter.broker.protocol):
    // BrokerClientOptions::authenticate.
    std::function<Status(network::BrokerClient&, int64_t deadline_ms)> authenticate;
  };

  // `local`: this broker's coordinator (null: every coordinator is reached over the network).
  AddPartitionsToTxnManager(Options options, const cluster::MetadataCache* metadata,
                            TransactionCoordinator* local);
  ~AddPartitionsToTxnManager();  // Shutdown()
  AddPartitionsToTxnManager(const AddPartitionsToTxnManager&) = delete;
  AddPartitionsToTxnManager& operator=(const AddPartitionsToTxnManager&) = delete;

  // Asks the coordinator of `transactional_id` whether each of `partitions` is in the ongoing
  // transaction of (`producer_id`, `producer_epoch`); `done` gets one entry per partition (see
  // the class comment). Never blocks.
  void Verify(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
              std::set<gregor::TopicPartition> partitions, Callback done);

  // Stops every thread (blocked connects and reads are interrupted), joins them and completes
  // every pending verification with NOT_ENOUGH_REPLICAS. Later Verify() calls complete at once
  // the same way. Idempotent.
  void Shutdown();

  // Observability (tests): sender threads, and requests sent to other brokers so far.
  size_t NumSenders() const;
  uint64_t RequestsSent() const;

  struct Pending;  // one verification (internal)
  struct Sender;   // one coordinator's queue and thread (internal)

 private:
  void LocalLoop();
  void SenderLoop(Sender* s);
  // Queues `p` for the local thread to complete with `error` on every partition (mu_ held).
  void FailLocked(std::unique_ptr<Pending> p, protocol::ErrorCode error);

  const Options options_;
  const cluster::MetadataCache* const metadata_;
  TransactionCoordinator* const local_;
  const std::string prefix_;

  mutable std::mutex mu_;
  bool shutdown_ = false;
  // Verifications the local coordinator answers, and completions of refused ones.
  std::deque<std::unique_ptr<Pending>> local_queue_;
  std::condition_variable local_cv_;
  std::map<int32_t, std::unique_ptr<Sender>> senders_;
  uint64_t requests_sent_ = 0;
  int64_t last_warn_ms_ = 0;
  std::thread local_thread_;
  std::mutex shutdown_mu_;  // serializes Shutdown()
};

}  // namespace gregor::txn
