#pragma once
// ReplicaFetcherThread: one thread fetching a set of partitions from one
// source broker (their leader), Kafka's ReplicaFetcherThread without fetch
// sessions.
//
// Owner: the ReplicaFetcherManager, which adds and removes partitions and
// stops it. Threads: Add/Remove/Stop/PartitionCount from any thread (a mutex
// guards the partition map; never held across I/O); the loop runs on its own
// thread and alone touches the connection (a BrokerClient: Stop() only
// interrupts it).
// Lifecycle: Start() -> Add/Remove* -> Stop() (returns at once; blocked socket
// calls are interrupted) -> Join(). finished() turns true when the loop has
// exited, so a retired thread can be joined without waiting.
// Errors: handled inside the loop (see the manager's header); never crashes,
// never spins (every failure backs off replica.fetch.backoff.ms).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gregor/cluster/metadata_cache.h"
#include "gregor/cluster/replica_manager.h"
#include "gregor/network/broker_client.h"
#include "gregor/protocol/messages/fetch.h"
#include "gregor/protocol/messages/offset_for_leader_epoch.h"
#include "gregor/replication/replica_fetcher_manager.h"

namespace gregor::replication {

class ReplicaFetcherThread {
 public:
  ReplicaFetcherThread(const ReplicaFetcherManager::Options& options, int32_t source_broker,
                       int32_t fetcher_id, cluster::ReplicaManager* replicas,
                       cluster::MetadataCache* metadata);
  ~ReplicaFetcherThread();  // Stop() + Join()

  void Start();
  // Starts or restarts fetching: a new target replaces the old one and clears any delay.
  void Add(const cluster::FollowTarget& target);
  void Remove(const TopicPartition& tp);
  size_t PartitionCount() const;
  void Stop();
  void Join();
  bool finished() const { return finished_.load(); }

 private:
  struct FetchState {
    int32_t leader_epoch = -1;
    int64_t delayed_until_ms = 0;  // steady clock; 0 = fetchable
    // Below Fetch v12 (no truncation on fetch): the log has yet to be truncated with
    // OffsetsForLeaderEpoch under this leader epoch (KIP-101/279). Set by Add(); the v12 path
    // ignores it.
    bool truncating = true;
  };
  // A partition ready for the next request, with what it is followed under.
  struct Fetchable {
    TopicPartition tp;
    int32_t leader_epoch = -1;
    bool truncating = false;
  };
  // A partition in the request being made, with what it was sent under.
  struct InFlight {
    std::shared_ptr<cluster::Partition> partition;
    int32_t leader_epoch = -1;
    int64_t fetch_offset = 0;
  };
  void Run();
  // Waits until some partition can be fetched; false when stopping.
  bool WaitForFetchable(std::vector<Fetchable>* out);
  // Resolves the leader's endpoint and (re)connects when needed.
  Status EnsureConnected();
  // Builds the Fetch request into request_; fills in_flight_.
  bool BuildRequest(const std::vector<Fetchable>& fetchable);
  void HandleResponse(uint8_t* body, size_t size, int16_t version);
  void HandlePartition(const TopicPartition& tp, const InFlight& f,
                       const protocol::FetchResponse::PartitionData& pd, uint8_t* body, size_t size,
                       int16_t version);
  // Below Fetch v12: asks the leader where the latest epoch of each partition's log ends
  // (OffsetsForLeaderEpoch) and truncates there, as Kafka's follower does before fetching
  // when the inter-broker protocol has no truncation on fetch (KIP-101, KIP-279).
  void TruncateByLeaderEpoch(const std::vector<Fetchable>& truncating);
  // Applies the leader's answer for one partition; clears `truncating` once done.
  void HandleEpochEndOffset(const TopicPartition& tp, const InFlight& f,
                            const protocol::OffsetForLeaderEpochResponse::EpochEndOffset& r);
  // Sets or clears `truncating`, only if the partition is still fetched under `leader_epoch`.
  void SetTruncating(const TopicPartition& tp, int32_t leader_epoch, bool truncating);
  // Sleeps replica.fetch.backoff.ms unless stopped first.
  void Backoff();
  // Applies only if the partition is still fetched under `leader_epoch`.
  void Delay(const TopicPartition& tp, int32_t leader_epoch);
  void Drop(const TopicPartition& tp, int32_t leader_epoch, const char* why);
  // The partition this thread still follows, or nullptr after dropping it (no longer hosted
  // here, or led by this broker now).
  std::shared_ptr<cluster::Partition> FollowedPartition(const TopicPartition& tp,
                                                        int32_t leader_epoch);
  bool StillFetching(const TopicPartition& tp, int32_t leader_epoch) const;
  // KIP-73: a follower out of sync skips its throttled partitions while the follower quota is
  // exceeded. In sync means its log end reached the leader's high watermark in the last answer.
  bool ShouldThrottle(const TopicPartition& tp);
  // Rate limit for per-partition warnings (one per partition per 10 s).
  bool ShouldWarn(const TopicPartition& tp);
  bool stopping() const;

  const ReplicaFetcherManager::Options options_;
  const int32_t source_broker_;
  const int32_t fetcher_id_;
  // The versions offered to the leader (inter.broker.protocol.version caps the top): Fetch v4
  // to v12 (v13+ name topics by id, which this fetcher does not), and OffsetsForLeaderEpoch.
  const network::VersionRange fetch_versions_;
  const network::VersionRange epoch_versions_;
  cluster::ReplicaManager* const replicas_;
  cluster::MetadataCache* const metadata_;
  const std::string prefix_;  // log context

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::unordered_map<TopicPartition, FetchState> partitions_;

  std::atomic<bool> finished_{false};
  std::thread thread_;

  // Loop-thread state (client_ is also interrupted by Stop()).
  network::BrokerClient client_;
  protocol::FetchRequest request_;
  std::unordered_map<TopicPartition, InFlight> in_flight_;
  // The incremental fetch session with the leader (KIP-227): its id (0: none; the next
  // request is a full one that asks for a session), the epoch the next request carries, and
  // what the leader holds of each partition, as last sent. A request lists only the
  // partitions that changed and forgets those no longer fetched; an error of any kind starts
  // over with a full fetch.
  struct Sent {
    int32_t leader_epoch = -1;
    int64_t fetch_offset = 0;
    int32_t last_fetched_epoch = -1;
    int64_t log_start_offset = -1;
    bool operator==(const Sent&) const = default;
  };
  int32_t session_id_ = 0;
  int32_t session_epoch_ = 0;
  int32_t closing_session_id_ = 0;  // sent with the next full fetch, which closes it
  std::unordered_map<TopicPartition, Sent> session_;
  std::unordered_map<TopicPartition, Sent> session_next_;  // what the request in flight sets
  void ResetSession();
  std::unordered_map<TopicPartition, int64_t> last_warn_ms_;
  // Loop thread only: partitions whose log end reached the leader's high watermark in the
  // last answer (KIP-73's "in sync" for the follower throttle).
  std::unordered_map<TopicPartition, bool> caught_up_;
  bool throttled_all_ = false;  // the last BuildRequest left out every partition (throttle)
  int64_t last_transport_warn_ms_ = 0;
  bool logged_tls_gap_ = false;
  int16_t last_fetch_version_ = -1;  // logged when it changes
};

}  // namespace gregor::replication
