#pragma once
// Controller: the classic ZooKeeper-mode Kafka controller (KafkaController.scala).
//
// Every broker runs one; the one that wins the /controller election manages partition leadership
// for the cluster: it watches /brokers/ids, /brokers/topics (and each topic's znode for partition
// additions), /admin/delete_topics and /isr_change_notification; elects leaders for new and
// offline partitions; writes partition state znodes fenced by its controller epoch's znode
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
#include "gregor/controller/controller_channel.h"
#include "gregor/zk/kafka_zk_client.h"

namespace gregor::controller {

class Controller {
 public:
  struct Options {
    int32_t broker_id = -1;
    bool delete_topic_enable = true;              // delete.topic.enable
    bool unclean_leader_election_enable = false;  // broker default; topic config overrides
    int32_t retry_backoff_ms = 1000;              // after ZooKeeper errors / failed deletions
  };

  Controller(Options options, zk::KafkaZkClient* zk, ControllerChannel* channel,
             const gregor::Clock* clock);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void Start();
  void Stop();

  bool IsActive() const { return active_flag_.load(); }
  // This controller's epoch while active (0 otherwise).
  int32_t epoch() const { return epoch_flag_.load(); }
  // The cluster's controller as last seen in /controller (-1 if none).
  int32_t active_controller_id() const { return controller_id_flag_.load(); }

 private:
  struct Inbox;
  struct TopicInfo {
    zk::TopicId id{};
    std::map<int32_t, std::vector<int32_t>> assignment;
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
  };

  // Event plumbing.
  void Post(std::function<void()> fn, int64_t delay_ms = 0);
  // Wraps a handler so that it runs on the event thread only if still in this generation.
  std::function<void()> InGeneration(std::function<void()> fn);
  zk::WatchCallback WatchPoster(std::function<void()> handler);
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

  // State machine steps.
  bool LoadTopic(const std::string& topic);
  void OnNewPartitions(const std::vector<gregor::TopicPartition>& tps, Batch* batch);
  void ElectOfflinePartitions(const std::set<int32_t>& excluded, Batch* batch);
  void OnBrokerFailure(const std::set<int32_t>& dead);
  void OnBrokerStartup(const std::set<int32_t>& started);
  bool WriteState(const gregor::TopicPartition& tp, zk::LeaderIsrAndControllerEpoch next);
  void AddLeaderAndIsr(const gregor::TopicPartition& tp, bool is_new, Batch* batch);
  void ResumeDeletions();
  void CompleteDeletion(const std::string& topic);
  void SendBatch(Batch* batch);
  void SendUpdateMetadataToAll(const std::set<gregor::TopicPartition>& tps, bool deleting);

  PartitionState MakePartitionState(const gregor::TopicPartition& tp) const;
  std::vector<BrokerInfo> LiveBrokerList() const;
  bool IsLive(int32_t id) const { return live_brokers_.count(id) != 0; }
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
  bool retry_scheduled_ = false;
};

}  // namespace gregor::controller
