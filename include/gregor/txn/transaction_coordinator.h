#pragma once
// TransactionCoordinator: Kafka's transaction coordinator (TransactionCoordinator +
// TransactionStateManager, ZooKeeper mode). A transactional id lives in partition
// TransactionPartitionFor(id, transaction.state.log.num.partitions) of __transaction_state and is
// served by that partition's leader, which loads the partition's records on election
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile) and drops them on resignation (NOT_COORDINATOR).
//
// Every state change is written to __transaction_state first (acks=all through the store) and
// applied in memory once replicated; EndTxn answers the client once PrepareCommit/PrepareAbort
// is written, then the markers go to the partition leaders (`send_markers`) and, once written,
// CompleteCommit/CompleteAbort is recorded. A coordinator that takes over finishes the
// transactions it finds prepared. Ongoing transactions older than their timeout are aborted by
// fencing the producer's epoch; idle transactional ids expire (transactional.id.expiration.ms).
//
// Threads: thread-safe; one mutex guards all state and is never held while appending, sending
// markers or running a callback. Callbacks run on the thread that completes the work (a store
// completion, a marker sender, or inside the call). InitProducerId may block on ZooKeeper (a new
// producer id block): call it off the network threads. Load runs on its own thread per election.
// Errors: Kafka error codes in the callbacks, as Kafka's coordinator answers.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/base/ids.h"
#include "gregor/base/status.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/txn/producer_id_manager.h"
#include "gregor/txn/transaction_marker_channel_manager.h"
#include "gregor/txn/transaction_metadata.h"

namespace gregor::txn {

inline constexpr char kTransactionStateTopicName[] = "__transaction_state";

struct TxnConfig {
  int32_t num_partitions = 50;                         // transaction.state.log.num.partitions
  int32_t max_timeout_ms = 900000;                     // transaction.max.timeout.ms
  int64_t transactional_id_expiration_ms = 604800000;  // transactional.id.expiration.ms
  // transaction.abort.timed.out.transaction.cleanup.interval.ms
  int32_t abort_timed_out_interval_ms = 10000;
  // transaction.remove.expired.transaction.cleanup.interval.ms
  int32_t remove_expired_interval_ms = 3600000;
};

// The coordinator's storage: the partitions of __transaction_state this broker leads. Append
// writes one batch with acks=all and calls `done` once replicated (kNotLeader, kUnavailable,
// kTimeout or the log's error otherwise); Load visits every record of a partition in order
// (blocking).
class TransactionLogStore {
 public:
  virtual ~TransactionLogStore() = default;
  virtual void Append(int32_t partition, std::string batch, std::function<void(Status)> done) = 0;
  virtual Status Load(int32_t partition,
                      const std::function<void(const protocol::Record&)>& visitor) = 0;
  virtual void Poll() {}
};

// Writes a transaction's COMMIT/ABORT markers to the leaders of its partitions
// (TransactionMarkerChannelManager::AddMarker); `done` once all are written (Ok) or the marker
// is void (kFenced, kUnavailable).
using MarkerSender = std::function<void(TxnMarker marker, std::function<void(Status)> done)>;

struct InitProducerIdResult {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

struct TransactionDescription {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  std::string transactional_id;
  std::string state;
  int32_t timeout_ms = 0;
  int64_t start_time_ms = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  std::set<TopicPartition> partitions;
};

struct TransactionListing {
  std::string transactional_id;
  int64_t producer_id = -1;
  std::string state;
};

class TransactionCoordinator {
 public:
  TransactionCoordinator(TxnConfig config, TransactionLogStore* store, ProducerIdManager* ids,
                         MarkerSender send_markers, const Clock* clock = SystemClock::Get());
  ~TransactionCoordinator();  // Shutdown()
  TransactionCoordinator(const TransactionCoordinator&) = delete;
  TransactionCoordinator& operator=(const TransactionCoordinator&) = delete;

  // Starts the timer thread (timed-out transactions, expired ids, store polling).
  void Start();
  // Stops the threads; pending callbacks complete with NOT_COORDINATOR.
  void Shutdown();

  int32_t PartitionFor(const std::string& transactional_id) const;

  // Leadership of __transaction_state partitions (the broker's ReplicaManager hook).
  // `coordinator_epoch` is the partition's leader epoch.
  void OnElection(int32_t partition, int32_t coordinator_epoch);
  void OnResignation(int32_t partition);

  // ---- the client APIs ----
  // InitProducerId with a transactional id (a null id is the broker's plain path).
  void InitProducerId(const std::string& transactional_id, int32_t timeout_ms,
                      std::optional<std::pair<int64_t, int16_t>> expected,
                      std::function<void(InitProducerIdResult)> done);
  void AddPartitions(const std::string& transactional_id, int64_t producer_id,
                     int16_t producer_epoch, const std::set<TopicPartition>& partitions,
                     std::function<void(protocol::ErrorCode)> done);
  // KIP-890 part 1 (AddPartitionsToTxn v4 verify_only): whether each partition is in the
  // producer's ongoing transaction, without changing anything.
  std::map<TopicPartition, protocol::ErrorCode> VerifyPartitions(
      const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
      const std::set<TopicPartition>& partitions);
  void EndTxn(const std::string& transactional_id, int64_t producer_id, int16_t producer_epoch,
              bool commit, std::function<void(protocol::ErrorCode)> done);

  // ---- admin ----
  TransactionDescription Describe(const std::string& transactional_id);
  // The transactional ids of the partitions this broker coordinates (filters empty = all);
  // COORDINATOR_LOAD_IN_PROGRESS while one is loading. With min_duration_ms >= 0 (ListTransactions
  // v1, KIP-994) only those whose transaction started more than min_duration_ms ago.
  protocol::ErrorCode List(const std::set<int64_t>& producer_ids,
                           const std::set<std::string>& states,
                           std::vector<TransactionListing>* out, int64_t min_duration_ms = -1);
  // For gregorctl/tests: abort an ongoing transaction as if it had timed out.
  protocol::ErrorCode AbortTransaction(const std::string& transactional_id);

  // Runs one round of the timer work now (tests).
  void AbortTimedOutTransactions();
  void RemoveExpiredTransactionalIds();
  // Re-writes the CompleteCommit/CompleteAbort records whose write failed with
  // COORDINATOR_NOT_AVAILABLE (the partition below min.insync.replicas, a timeout); Kafka's
  // marker channel manager retries them the same way (txnLogAppendRetryQueue). Meanwhile the
  // transaction keeps its pending state: its producer is answered CONCURRENT_TRANSACTIONS and
  // retries. Dropped when this broker stops coordinating the partition (the next coordinator
  // completes the transaction from the Prepare state it loads).
  void RetryCompletions();
  bool IsLoading(int32_t partition) const;
  bool Owns(int32_t partition) const;

 private:
  struct Entry {
    std::unique_ptr<TransactionMetadata> metadata;
  };
  struct PartitionState {
    int32_t coordinator_epoch = -1;
    bool loading = true;
    std::map<std::string, Entry> txns;
  };
  // Looks a transactional id up: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, or the partition
  // (txn may be null: unknown id).
  protocol::ErrorCode LookupLocked(const std::string& transactional_id, PartitionState** ps,
                                   TransactionMetadata** txn);
  // Writes `transit` for `transactional_id` and applies it once replicated (if this broker still
  // coordinates the partition at `coordinator_epoch`); `done` gets the Kafka error. A failed
  // write clears the transaction's pending state, except a COORDINATOR_NOT_AVAILABLE one when
  // `retry_when_unavailable` (the caller writes the same transit again).
  void AppendTransit(const std::string& transactional_id, int32_t coordinator_epoch,
                     const TxnTransitMetadata& transit,
                     std::function<void(protocol::ErrorCode)> done,
                     bool retry_when_unavailable = false);
  void EndTxnInternal(const std::string& transactional_id, int64_t producer_id,
                      int16_t producer_epoch, bool commit, bool from_client,
                      std::function<void(protocol::ErrorCode)> done);
  // After PrepareCommit/PrepareAbort is written: markers, then the Complete state.
  void SendMarkers(const std::string& transactional_id, int32_t coordinator_epoch,
                   const TxnTransitMetadata& prepared);
  // `attempt`: earlier writes of `complete` that failed (RetryCompletions).
  void CompleteAfterMarkers(const std::string& transactional_id, int32_t coordinator_epoch,
                            const TxnTransitMetadata& complete, int attempt = 0);
  void Load(int32_t partition, int32_t coordinator_epoch);
  void RunTimer();

  const TxnConfig config_;
  TransactionLogStore* const store_;
  ProducerIdManager* const ids_;
  const MarkerSender send_markers_;
  const Clock* const clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<int32_t, PartitionState> partitions_;
  std::vector<std::pair<int32_t, int32_t>> loads_;  // (partition, coordinator epoch) to load
  struct CompleteRetry {
    std::string transactional_id;
    int32_t coordinator_epoch;
    TxnTransitMetadata complete;
    int attempt;
  };
  std::vector<CompleteRetry> complete_retries_;  // RetryCompletions() on the next tick
  std::thread timer_;
};

}  // namespace gregor::txn
