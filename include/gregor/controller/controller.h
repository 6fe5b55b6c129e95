#pragma once
// Controller: the classic ZooKeeper-mode Kafka controller (KafkaController.scala).
//
// Every broker runs one; the one that wins the /controller election manages partition leadership
// for the cluster: it watches /brokers/ids, /brokers/topics (and each topic's znode for partition
// additions), /admin/delete_topics, /admin/reassign_partitions and /isr_change_notification;
// elects leaders for new and offline partitions; moves leadership off brokers that shut down
// (ControlledShutdown) and back to preferred replicas (auto leader rebalance); reassigns
// partitions (KIP-455); takes ISR changes from partition leaders (the state znode and an ISR
// change notification from ZooKeeper-mode leaders such as gregord, AlterPartition from Kafka
// leaders at IBP 2.7+); writes partition state znodes fenced by its controller epoch's znode
// version; and tells brokers through the ControllerChannel (LeaderAndIsr, UpdateMetadata,
// StopReplica).
//
// Owned by the Broker, with the KafkaZkClient and ControllerChannel it uses (both must outlive it).
// Threading: one event thread (Kafka's ControllerEventManager). Every ZooKeeper watch, channel
// completion, session re-creation and timer becomes an event processed in order on that thread,
// so controller state needs no locks. Public methods are thread-safe.
//
// Lifecycle: Start() launches the event thread and runs an election; the controller re-elects
// whenever /controller disappears or the ZooKeeper session is re-created. Stop() resigns
// (deleting /controller if this broker holds it) and joins the thread. Not restartable.
//
// Errors: ZooKeeper failures are logged and retried on a timer; a fenced write (another
// controller has a newer epoch) makes this controller resign at once. Broker failures to answer
// requests are logged; topic deletion retries until every replica acknowledged StopReplica.
// Requests from brokers and clients (ControlledShutdown, reassignments) complete through their
// callback exactly once, on the event thread (or on the caller's thread when the controller is
// stopped), with a Kafka error code: NOT_CONTROLLER when this controller is not (or stops being)
// the active one.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
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
#include "gregor/base/metrics.h"
#include "gregor/controller/controller_channel.h"
#include "gregor/protocol/error_code.h"
#include "gregor/protocol/messages/alter_partition.h"
#include "gregor/zk/kafka_zk_client.h"

namespace gregor::controller {

class Controller {
 public:
  struct Options {
    int32_t broker_id = -1;
    bool delete_topic_enable = true;  // delete.topic.enable
    // unclean.leader.election.enable, the broker default (dynamic: read when electing); a
    // topic's config overrides it.
    std::function<bool()> unclean_leader_election_enable = [] { return false; };
    int32_t retry_backoff_ms = 1000;           // after ZooKeeper errors / failed deletions
    bool auto_leader_rebalance_enable = true;  // auto.leader.rebalance.enable
    int32_t leader_imbalance_per_broker_percentage = 10;  // leader.imbalance.per.broker.percentage
    int64_t leader_imbalance_check_interval_seconds =
        300;  // leader.imbalance.check.interval.seconds
  };

  // A partition's replicas while it is reassigned (ListPartitionReassignments).
  struct OngoingReassignment {
    std::vector<int32_t> replicas;  // every replica: origin plus target
    std::vector<int32_t> adding;
    std::vector<int32_t> removing;
  };
  struct PartitionResult {
    protocol::ErrorCode error = protocol::ErrorCode::kNone;
    std::string message;
  };
  using ControlledShutdownCallback =
      std::function<void(protocol::ErrorCode, std::vector<gregor::TopicPartition> remaining)>;
  using AlterReassignmentsCallback = std::function<void(
      protocol::ErrorCode, std::map<gregor::TopicPartition, PartitionResult> results)>;
  using ElectLeadersCallback = AlterReassignmentsCallback;
  using ListReassignmentsCallback = std::function<void(
      protocol::ErrorCode, std::map<gregor::TopicPartition, OngoingReassignment> ongoing)>;
  using AlterPartitionCallback = std::function<void(protocol::AlterPartitionResponse)>;

  Controller(Options options, zk::KafkaZkClient* zk, ControllerChannel* channel,
             const gregor::Clock* clock);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void Start();
  void Stop();

  bool IsActive() const { return active_flag_.load(); }
  // Unclean leader elections this broker made as controller (UncleanLeaderElectionsPerSec).
  uint64_t unclean_leader_elections() const { return unclean_elections_.value(); }
  // This controller's epoch while active (0 otherwise).
  int32_t epoch() const { return epoch_flag_.load(); }
  // The cluster's controller as last seen in /controller (-1 if none).
  int32_t active_controller_id() const { return controller_id_flag_.load(); }

  // Kafka's ControlledShutdown (KafkaController.doControlledShutdown): marks the broker shutting
  // down (never elected leader again until it re-registers or dies), moves leadership of the
  // partitions it leads to another live in-sync replica, takes it out of the ISR of the
  // partitions it follows (and stops those replicas), then answers with the partitions it still
  // leads: those with more than one replica and no eligible new leader. Errors: NOT_CONTROLLER,
  // BROKER_NOT_AVAILABLE (not registered), STALE_BROKER_EPOCH (broker_epoch != -1 and older
  // than the registration's czxid). Thread-safe; `done` runs on the event thread.
  void ControlledShutdown(int32_t broker_id, int64_t broker_epoch, ControlledShutdownCallback done);

  // AlterPartitionReassignments (KIP-455): for each partition, the target replicas, or nullopt
  // to cancel an ongoing reassignment (back to the original replicas). Per-partition errors:
  // UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty, duplicate or negative ids, or
  // new replicas on brokers that are not alive), NO_REASSIGNMENT_IN_PROGRESS (cancel of nothing).
  // The top-level code is NOT_CONTROLLER when not active. The reassignment itself completes in
  // the background once every target replica has joined the ISR.
  void AlterPartitionReassignments(
      std::map<gregor::TopicPartition, std::optional<std::vector<int32_t>>> reassignments,
      AlterReassignmentsCallback done);
  // ElectLeaders (API 43): preferred (unclean = false) or unclean leader election for the given
  // partitions (all when nullopt). Per partition: NONE (a new leader was elected),
  // ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE or ELIGIBLE_LEADERS_NOT_AVAILABLE,
  // UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION (topic being deleted). Top level
  // NOT_CONTROLLER when not active.
  void ElectLeaders(bool unclean, std::optional<std::vector<gregor::TopicPartition>> partitions,
                    ElectLeadersCallback done);

  // ListPartitionReassignments: the ongoing reassignments among `partitions` (all when nullopt).
  void ListPartitionReassignments(std::optional<std::vector<gregor::TopicPartition>> partitions,
                                  ListReassignmentsCallback done);

  // AlterPartition (API 56) at `version` (0-3): a partition leader's new ISR, written to the
  // partition's state znode as Kafka 3.9's ZooKeeper controller does (processAlterPartition),
  // then UpdateMetadata for the request's partitions to every live broker, and a reassignment
  // completed if its targets are now in sync. The response's top-level error is NOT_CONTROLLER
  // (not active) or STALE_BROKER_EPOCH (the sender is not registered with exactly that broker
  // epoch); per partition: NONE with the leader, leader epoch, ISR, recovery state and
  // partition epoch (the state znode's version) now recorded, or UNKNOWN_TOPIC_OR_PARTITION,
  // UNKNOWN_TOPIC_ID (v2+), NOT_CONTROLLER (the sender has newer epochs than ZooKeeper),
  // FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION (stale partition epoch, or a concurrent
  // write), INVALID_REQUEST (sender not the leader, ISR not a subset of the replicas or without
  // the leader, a recovering leader with others in its ISR, RECOVERED back to RECOVERING),
  // INELIGIBLE_REPLICA (v2+; OPERATION_NOT_ATTEMPTED before) for an ISR member that is not
  // live, is shutting down, or (v3) names another broker epoch than its registration's.
  void AlterPartition(protocol::AlterPartitionRequest request, int16_t version,
                      AlterPartitionCallback done);

 private:
  struct Inbox;
  // KIP-455 replica sets of a partition being reassigned; `assignment` holds all replicas.
  struct Reassignment {
    std::vector<int32_t> adding;
    std::vector<int32_t> removing;
    bool operator==(const Reassignment&) const = default;
  };
  struct TopicInfo {
    zk::TopicId id{};
    bool has_id = false;
    std::map<int32_t, std::vector<int32_t>> assignment;  // partition -> all replicas
    std::map<int32_t, Reassignment> reassigning;         // partitions being reassigned
  };
  struct Deletion {
    std::set<int32_t> awaiting;  // brokers whose StopReplica answer is pending
    bool started = false;
  };
  // Requests accumulated while handling one event, sent together at its end.
  struct Batch {
    // broker -> partitions (and whether each is new); states are built at send time.
    std::map<int32_t, std::map<gregor::TopicPartition, bool>> leader_and_isr;
    std::set<gregor::TopicPartition> update_metadata;
    bool update_metadata_all = false;  // send UpdateMetadata even with no partition change
    // StopReplica, sent after the LeaderAndIsr and UpdateMetadata requests: without deletion
    // (a follower in controlled shutdown) and with deletion (replicas removed by reassignment).
    std::map<int32_t, std::vector<gregor::TopicPartition>> stop_replica;
    std::map<int32_t, std::vector<gregor::TopicPartition>> stop_replica_delete;
  };

  // Event plumbing.
  void Post(std::function<void()> fn, int64_t delay_ms = 0);
  // Wraps a handler so that it runs on the event thread only if still in this generation.
  std::function<void()> InGeneration(std::function<void()> fn);
  // From any thread: queues `fn` on the event thread, unless the controller is gone.
  static void PostFromAnyThread(const std::weak_ptr<Inbox>& inbox, std::function<void()> fn);
  zk::WatchCallback WatchPoster(std::function<void()> handler);
  // A watch that posts `on_appear_or_vanish` for created/deleted events, `on_other` otherwise.
  zk::WatchCallback NodeWatchPoster(std::function<void()> on_appear_or_vanish,
                                    std::function<void()> on_other);
  void RunLoop();

  // Election and failover.
  void Elect();
  void OnControllerFailover();
  void Resign();
  void ControllerMoved(const Status& st);
  bool Failed(const Status& st, const char* what);

  // Event handlers.
  void HandleBrokerChange();
  void HandleTopicChange();
  void HandlePartitionModification(const std::string& topic);
  void HandleTopicDeletion();
  void HandleIsrChangeNotification();
  void HandleStopReplicaResponse(const std::string& topic, int32_t broker, const Status& st,
                                 const PartitionErrors& errors);

  // Controlled shutdown (controlled_shutdown.cc).
  void DoControlledShutdown(int32_t broker_id, int64_t broker_epoch,
                            const ControlledShutdownCallback& done);
  // Preferred leaders (preferred_leader.cc).
  void ScheduleLeaderRebalance(int64_t delay_ms, bool periodic);
  void CheckLeaderRebalance();
  void ElectPreferredLeaders(const std::vector<gregor::TopicPartition>& tps, Batch* batch);
  void DoElectLeaders(bool unclean, const std::optional<std::vector<gregor::TopicPartition>>& tps,
                      const ElectLeadersCallback& done);

  // AlterPartition (alter_partition.cc).
  void DoAlterPartition(const protocol::AlterPartitionRequest& request, int16_t version,
                        const AlterPartitionCallback& done);
  // Validates and writes one partition's new state; kNone when `tp`'s state (states_) is now
  // what the leader asked for.
  protocol::ErrorCode AlterOnePartition(
      int32_t broker_id, const gregor::TopicPartition& tp,
      const protocol::AlterPartitionRequest::PartitionData& request, int16_t version);

  // Reassignment (reassignment.cc).
  void DoAlterReassignments(
      const std::map<gregor::TopicPartition, std::optional<std::vector<int32_t>>>& reassignments,
      const AlterReassignmentsCallback& done);
  void DoListReassignments(const std::optional<std::vector<gregor::TopicPartition>>& partitions,
                           const ListReassignmentsCallback& done);
  PartitionResult ValidateTarget(const gregor::TopicPartition& tp,
                                 const std::vector<int32_t>& target) const;
  // Kafka's maybeBuildReassignment: the full replica set for `target` (nullopt = cancel);
  // nullopt result when cancelling a partition that is not being reassigned.
  std::optional<std::pair<std::vector<int32_t>, Reassignment>> BuildReassignment(
      const gregor::TopicPartition& tp, const std::optional<std::vector<int32_t>>& target) const;
  PartitionResult TriggerReassignment(const gregor::TopicPartition& tp,
                                      const std::vector<int32_t>& replicas, const Reassignment& r);
  void OnPartitionReassignment(const gregor::TopicPartition& tp);
  void MaybeCompleteReassignment(const gregor::TopicPartition& tp);
  // Kafka's PartitionReassignmentIsrChangeHandler: a data watch on the state znode of a
  // partition being reassigned (one at a time), re-armed while the reassignment lasts.
  void WatchReassigningState(const gregor::TopicPartition& tp);
  void HandleReassigningStateChange(const gregor::TopicPartition& tp);
  bool WriteTopicAssignment(const std::string& topic);
  void StopRemovedReplicas(const gregor::TopicPartition& tp, const std::vector<int32_t>& removed,
                           Batch* batch);
  void HandleZkReassignment(bool process);
  // /admin/preferred_replica_election (kafka-preferred-replica-election.sh --zookeeper): when
  // the znode appears (or is pending at failover), elects the preferred leaders of the
  // partitions it lists, then deletes it, as Kafka's controller does.
  void HandleZkPreferredElection(bool process);
  void RemoveFromZkReassignment(const std::set<gregor::TopicPartition>& tps, bool only_completed);
  void ResumeReassignments();
  bool IsReassigning(const gregor::TopicPartition& tp) const;
  bool TopicReassigning(const std::string& topic) const;
  std::vector<int32_t> TargetReplicas(const gregor::TopicPartition& tp) const;

  // State machine steps.
  bool LoadTopic(const std::string& topic);
  void OnNewPartitions(const std::vector<gregor::TopicPartition>& tps, Batch* batch);
  void ElectOfflinePartitions(const std::set<int32_t>& excluded, Batch* batch);
  void OnBrokerFailure(const std::set<int32_t>& dead);
  // Writes each partition state whose ISR holds one of `dead` (leader alive) without them.
  void RemoveFromIsrs(const std::set<int32_t>& dead, Batch* batch);
  void OnBrokerStartup(const std::set<int32_t>& started);
  bool WriteState(const gregor::TopicPartition& tp, zk::LeaderIsrAndControllerEpoch next);
  void AddLeaderAndIsr(const gregor::TopicPartition& tp, bool is_new, Batch* batch);
  // LeaderAndIsr for tp to the given live brokers only.
  void AddLeaderAndIsrTo(const gregor::TopicPartition& tp, const std::vector<int32_t>& brokers,
                         bool is_new, Batch* batch);
  void ResumeDeletions();
  void CompleteDeletion(const std::string& topic);
  void SendBatch(Batch* batch);
  void SendUpdateMetadataToAll(const std::set<gregor::TopicPartition>& tps, bool deleting);

  PartitionState MakePartitionState(const gregor::TopicPartition& tp) const;
  std::vector<BrokerInfo> LiveBrokerList() const;
  // Registered in /brokers/ids (shutting-down brokers included).
  bool IsLive(int32_t id) const { return live_brokers_.count(id) != 0; }
  // May be elected leader or kept in an ISR: live and not shutting down (Kafka's
  // isReplicaOnline without includeShuttingDownBrokers).
  bool IsEligible(int32_t id) const { return IsLive(id) && !shutting_down_.count(id); }
  bool UncleanElectionEnabled(const std::string& topic);
  std::string Prefix() const;

  const Options options_;
  zk::KafkaZkClient* const zk_;
  ControllerChannel* const channel_;
  const gregor::Clock* const clock_;

  std::shared_ptr<Inbox> inbox_;
  std::thread thread_;
  int session_cb_id_ = 0;
  bool started_ = false;

  std::atomic<bool> active_flag_{false};
  Counter unclean_elections_;  // counted by the partition state machine
  std::atomic<int32_t> epoch_flag_{0};
  std::atomic<int32_t> controller_id_flag_{-1};

  // Event-thread state.
  uint64_t generation_ = 0;  // bumped on failover and resignation; stale watch events are dropped
  bool active_ = false;
  int32_t epoch_ = 0;
  int32_t epoch_zk_version_ = 0;
  std::map<int32_t, BrokerInfo> live_brokers_;
  std::map<std::string, TopicInfo> topics_;
  std::map<gregor::TopicPartition, zk::LeaderIsrAndControllerEpoch> states_;
  std::set<std::string> topics_to_delete_;
  std::map<std::string, Deletion> deletions_;
  std::set<int32_t> shutting_down_;  // brokers in controlled shutdown, until they die or restart
  std::set<gregor::TopicPartition> reassignment_watches_;  // state znodes with an armed watch
  bool retry_scheduled_ = false;
};

}  // namespace gregor::controller
