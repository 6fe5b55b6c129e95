#pragma once
// Partition: one topic-partition replica on this broker: its Log, and its
// role as the controller last described it (leader, leader epoch, ISR,
// replicas). Created and updated by the ReplicaManager on LeaderAndIsr;
// shared with request handlers and the replica fetcher through shared_ptr.
//
// As leader it tracks every follower's fetch position (Kafka's Replica
// state), grows and shrinks the ISR (replica.lag.time.max.ms) and advances
// the high watermark to the smallest log end offset of the ISR. ISR changes
// are proposed to an IsrWriter (ZooKeeper, conditional on the state znode's
// version, as Kafka's ZK mode does); at most one is in flight, and while it
// is, an added replica already counts for the high watermark ("maximal ISR").
// As follower it appends what the fetcher brings, caps the leader's high
// watermark at its own log end, and truncates by leader epoch.
//
// Threads: called from the I/O pool (produce, fetch, ListOffsets, LeaderAndIsr
// handlers), the replica fetcher threads, the ISR-write completions and the
// scheduler; never from a network thread, since appends, truncation and the
// leader-epoch checkpoint do file I/O (may block on the disk). Two guards:
// - leader_isr_update_lock_ (Kafka's leaderIsrUpdateLock, writer-preferring):
//   held shared across each role check and the file work it permits (a
//   leader's append, a follower's append or truncation), exclusive by
//   ApplyRole, so a role cannot change between the check and the act (a new
//   leader never takes a follower's truncation, a follower never a leader's
//   append). Outer to mu_.
// - mu_: the role and replica states; never held across file I/O except the
//   cheap high-watermark update.
// Appends serialize inside the Log. Errors are Status values: kNotLeader (this broker
// does not lead it), kStale (a fenced leader epoch from a client or
// follower), kNotFound (an unknown, newer leader epoch), kUnavailable (fewer
// in-sync replicas than min.insync.replicas), and the Log's own (corruption,
// too large, storage, out of range).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/base/ids.h"
#include "gregor/base/rw_lock.h"
#include "gregor/base/status.h"
#include "gregor/cluster/metadata_cache.h"
#include "gregor/cluster/partition_metrics.h"
#include "gregor/log/log.h"

namespace gregor::cluster {

struct PartitionRole {
  int32_t controller_epoch = 0;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  int32_t zk_version = 0;  // the state znode's version (LeaderAndIsr "PartitionEpoch")
  std::vector<int32_t> isr;
  std::vector<int32_t> replicas;
};

// A follower's fetch as the leader sees it (Fetch with replica_id >= 0).
struct FollowerFetch {
  int32_t replica_id = -1;
  int64_t fetch_offset = 0;
  int32_t last_fetched_epoch = -1;  // Fetch v12+; -1: no divergence check
  std::optional<int32_t> current_leader_epoch;
  int32_t max_bytes = 0;
  bool min_one_message = true;
};

struct FollowerReadResult {
  log::ReadResult read;  // up to the leader's log end offset, not the high watermark
  // Set when the follower's log diverges from ours (KIP-320 truncation on fetch): it must
  // truncate to this epoch's end before fetching again; `read` is empty then.
  std::optional<log::EpochEndOffset> diverging_epoch;
};

// What the leader asks to write for an ISR change; the writer returns the state znode's new
// version, or kStale when the znode moved on (a controller's newer state wins).
struct IsrChange {
  TopicPartition tp;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  int32_t controller_epoch = 0;
  int32_t zk_version = 0;  // expected current version
  std::vector<int32_t> isr;
};
using IsrWriter = std::function<void(IsrChange change, std::function<void(Result<int32_t>)> done)>;

// Where acks=all stands for an appended offset.
enum class ReplicationStatus { kPending, kDone, kNotLeader, kNotEnoughReplicasAfterAppend };

class Partition : public std::enable_shared_from_this<Partition> {
 public:
  Partition(TopicPartition tp, TopicId topic_id, int32_t local_broker_id,
            std::shared_ptr<log::Log> log, const Clock* clock = SystemClock::Get());

  const TopicPartition& topic_partition() const { return tp_; }
  const TopicId& topic_id() const { return topic_id_; }
  std::shared_ptr<log::Log> log() const { return log_; }

  PartitionRole role() const;
  bool IsLeader() const;
  int32_t leader_epoch() const;
  // KIP-207: true while this broker leads and its high watermark is still below the log end
  // offset at which its leader epoch began (a new leader's high watermark lags until the
  // followers fetch from it): "latest" would then understate what is committed, so ListOffsets
  // answers OFFSET_NOT_AVAILABLE and the client retries (Kafka's Partition
  // fetchOffsetForTimestamp).
  bool HighWatermarkBelowEpochStart() const;
  // Applies a LeaderAndIsr state with a newer leader epoch (or the same epoch with a newer
  // partition epoch); anything else is kStale. Becoming leader resets follower states and
  // records the epoch's start offset in the leader epoch cache.
  Status ApplyRole(const PartitionRole& role);

  // --- Leader ---
  // Appends a record set (a client's, or a coordinator's with `origin`). acks=-1 needs at
  // least min_insync_replicas (capped by the replica count) in the ISR before anything is
  // written.
  // `verification`, `record_errors`: see Log::AppendAsLeader (KIP-890 part 1; record errors).
  Result<log::AppendResult> AppendRecordsToLeader(
      uint8_t* data, size_t size, int16_t acks, int32_t min_insync_replicas,
      log::AppendOrigin origin = log::AppendOrigin::kClient,
      std::optional<log::VerificationGuard> verification = std::nullopt,
      log::RecordErrors* record_errors = nullptr);
  // WriteTxnMarkers: the transaction coordinator's COMMIT/ABORT marker for `producer_id`
  // (Log::AppendTxnMarkerAsLeader), with acks=all's rules (Kafka appends markers with
  // requiredAcks=-1): at least min_insync_replicas in the ISR before anything is written, then
  // the caller waits with CheckReplicated. Errors: kNotLeader, kUnavailable, kFenced
  // (INVALID_PRODUCER_EPOCH), kStale (TRANSACTION_COORDINATOR_FENCED), the Log's own.
  Result<log::AppendResult> AppendTxnMarker(int64_t producer_id, int16_t producer_epoch,
                                            int32_t coordinator_epoch, bool commit,
                                            int32_t min_insync_replicas);
  // acks=all: has every ISR member reached `required_offset` (last appended offset + 1)?
  // `append_leader_epoch` is the leader epoch the append ran under (kNotLeader if this broker
  // stopped leading since, even if it leads again).
  ReplicationStatus CheckReplicated(int64_t required_offset, int32_t min_insync_replicas,
                                    int32_t append_leader_epoch) const;
  // Reads for a consumer: up to the high watermark, or for read_committed (kTxnCommitted) up to
  // the last stable offset, with the aborted transactions of the range. `leader_only` false
  // (KIP-392: Fetch v11+ from a consumer) lets a follower serve the read, up to its own high
  // watermark, with the same leader-epoch fencing.
  Result<log::ReadResult> Read(int64_t offset, int32_t max_bytes, bool min_one_message,
                               std::optional<int32_t> current_leader_epoch,
                               log::FetchIsolation isolation = log::FetchIsolation::kHighWatermark,
                               bool leader_only = true) const;
  // KIP-392, Kafka's RackAwareReplicaSelector on the leader: the replica a consumer in rack
  // `client_rack` should fetch from, when it is not this leader: among the replicas in that rack
  // that hold `fetch_offset`, the leader if it is one of them, else the most caught-up follower.
  // nullopt: fetch from the leader. `rack_of(broker)` gives a broker's rack ("" if none).
  std::optional<int32_t> PreferredReadReplica(
      const std::string& client_rack, int64_t fetch_offset,
      const std::function<std::string(int32_t)>& rack_of) const;
  // The log's last stable offset: min(first unstable offset, high watermark). It moves when the
  // high watermark does (a marker replicated), so the high watermark's notification wakes
  // read_committed long polls too.
  int64_t LastStableOffset() const { return log_->LastStableOffset(); }
  // Reads for a follower and records its position (fetch_offset = its LEO): may grow the ISR
  // and advance the high watermark (read.high_watermark is the HW after that).
  // Errors: kNotLeader (also for a broker not among the replicas), kStale/kNotFound (epoch
  // fencing), kOutOfRange.
  Result<FollowerReadResult> ReadForFollower(const FollowerFetch& fetch);
  // OffsetsForLeaderEpoch: where `epoch` ends in this replica's log. With
  // `current_leader_epoch` set, fenced like a fetch. Only the leader answers when
  // `only_leader` (clients); followers answer too for replica_id >= 0 debugging tools.
  Result<log::EpochEndOffset> LastOffsetForLeaderEpoch(std::optional<int32_t> current_leader_epoch,
                                                       int32_t epoch, bool only_leader) const;
  // Drops followers from the ISR that have not caught up within max_lag_ms (leader only).
  void MaybeShrinkIsr(int64_t max_lag_ms);

  // --- Follower ---
  // Appends batches fetched from the leader of `leader_epoch`; kStale when the role changed
  // since the fetch was sent (the data is dropped, the fetcher re-syncs).
  Result<log::AppendResult> AppendRecordsAsFollower(uint8_t* data, size_t size,
                                                    int32_t leader_epoch);
  // Follower HW = min(leader's HW, own LEO).
  void UpdateFollowerHighWatermark(int64_t leader_high_watermark);
  // Truncation by leader epoch: after the leader reported `diverging` for our last fetched
  // epoch, cut the log where the histories part (Kafka's truncate-on-fetch rule). Returns the
  // new log end offset.
  Result<int64_t> TruncateToDivergence(const log::EpochEndOffset& diverging, int32_t leader_epoch);
  // The leader's log starts after our log end (OFFSET_OUT_OF_RANGE): drop everything and start
  // at the leader's log start offset.
  Status TruncateFullyAndStartAt(int64_t offset, int32_t leader_epoch);

  // Set once, before the partition is shared. The writer may complete on any thread, but
  // must not call `done` from inside the call.
  void set_isr_writer(IsrWriter writer) { isr_writer_ = std::move(writer); }
  // The counters this partition adds to (set by ReplicaManager before the partition is
  // shared; a fresh pair otherwise).
  void set_metrics(std::shared_ptr<TopicCounters> topic, std::shared_ptr<ReplicaCounters> replica) {
    topic_counters_ = std::move(topic);
    replica_counters_ = std::move(replica);
  }
  TopicCounters& topic_counters() const { return *topic_counters_; }
  // Called (outside the lock) when the high watermark moved: wakes long polls and acks=all.
  void set_on_high_watermark(std::function<void(const TopicPartition&)> fn) {
    on_high_watermark_ = std::move(fn);
  }

 private:
  struct ReplicaState {
    int64_t log_end_offset = -1;  // -1: not fetched yet under this leadership
    int64_t last_caught_up_ms = 0;
    int64_t last_fetch_leader_log_end_offset = -1;
    int64_t last_fetch_ms = 0;
  };

  std::string Prefix() const;
  // A leader append under the leadership check (shared leaderIsrUpdateLock, role checked, the
  // min ISR for acks=-1), then the high watermark update. `append(leader_epoch)` does the Log
  // call (a template, defined in partition.cc: no std::function on the produce path).
  template <typename AppendFn>
  Result<log::AppendResult> AppendAsLeaderChecked(int16_t acks, int32_t min_insync_replicas,
                                                  const AppendFn& append);
  Status CheckLeaderEpochLocked(std::optional<int32_t> current_leader_epoch) const;
  Status CheckFollowerEpochLocked(int32_t leader_epoch) const;
  // Recomputes the HW from the (maximal) ISR; true when it moved.
  bool MaybeIncrementHighWatermarkLocked();
  std::vector<int32_t> MaximalIsrLocked() const;
  void MaybeExpandIsrLocked(int32_t replica, const ReplicaState& st);
  // Queues an ISR change (at most one in flight); SendPendingIsrChange sends it unlocked.
  void ProposeIsrLocked(std::vector<int32_t> isr, const char* why);
  void SendPendingIsrChange();
  void OnIsrWritten(uint64_t seq, int32_t leader_epoch, int32_t expected_zk_version,
                    std::vector<int32_t> isr, Result<int32_t> result);
  void NotifyHighWatermark();
  bool IsLeaderLocked() const { return role_.leader == local_broker_id_; }

  const TopicPartition tp_;
  std::shared_ptr<TopicCounters> topic_counters_ = std::make_shared<TopicCounters>();
  std::shared_ptr<ReplicaCounters> replica_counters_ = std::make_shared<ReplicaCounters>();
  const TopicId topic_id_;
  const int32_t local_broker_id_;
  const std::shared_ptr<log::Log> log_;
  const Clock* const clock_;
  IsrWriter isr_writer_;
  std::function<void(const TopicPartition&)> on_high_watermark_;

  RwLock leader_isr_update_lock_;  // see the header comment
  mutable std::mutex mu_;
  PartitionRole role_;
  std::map<int32_t, ReplicaState> followers_;  // leader only: every replica but us
  int64_t leader_epoch_start_offset_ = 0;      // LEO when this leader epoch began
  // The leader epoch at which this broker's current, unbroken leadership began. Epoch bumps
  // that keep the leader (the controller shrinking the ISR) do not move it: a leader never
  // truncates, so records appended since then are still there.
  int32_t leadership_start_epoch_ = -1;
  uint64_t isr_seq_ = 0;  // bumped by every role change
  bool isr_in_flight_ = false;
  std::vector<int32_t> pending_isr_;  // the ISR being written while in flight
  int64_t isr_retry_after_ms_ = 0;
  std::optional<std::pair<IsrChange, uint64_t>> outbox_;
};

}  // namespace gregor::cluster
