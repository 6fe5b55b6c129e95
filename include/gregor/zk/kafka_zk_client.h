#pragma once
// KafkaZkClient: typed ZooKeeper operations with Kafka's znode layout and JSON (ZkData), the
// counterpart of Kafka's KafkaZkClient.scala.
//
// Owned by the Broker next to the ZkClient it wraps (which must outlive it). Thread-safe:
// stateless apart from the config-change watcher, whose state is guarded by a mutex. Every call
// blocks on ZooKeeper, so it runs on the controller thread or the blocking pool.
//
// Errors: as ZkClient (kNotFound, kAlreadyExists, kStale for a znode version conflict,
// kUnavailable when ZooKeeper is unreachable), plus kNotLeader ("controller moved") when a
// controller write is fenced because /controller_epoch's version is no longer the one this
// controller won with, and kCorruption for unparsable znode content.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/base/status.h"
#include "gregor/zk/zk_client.h"
#include "gregor/zk/zk_data.h"

namespace gregor::zk {

// The outcome of one election attempt.
struct ElectionResult {
  bool won = false;
  int32_t controller_id = -1;    // the controller now registered (us if won)
  int32_t epoch = 0;             // our new controller epoch (when won)
  int32_t epoch_zk_version = 0;  // /controller_epoch's version after our write (fencing token)
};

class KafkaZkClient {
 public:
  explicit KafkaZkClient(ZkClient* zk, const Clock* clock = SystemClock::Get());
  ~KafkaZkClient();
  KafkaZkClient(const KafkaZkClient&) = delete;
  KafkaZkClient& operator=(const KafkaZkClient&) = delete;

  ZkClient* zk() const { return zk_; }

  // Creates ZkData.PersistentZkPaths if missing.
  Status EnsurePersistentPaths();
  // Reads /cluster/id, creating it with a random 22-character id if absent (first broker wins).
  Result<std::string> GetOrCreateClusterId();

  // --- Producer ids ---
  // Claims the next block of kProducerIdBlockSize producer ids for `broker_id`: reads
  // /latest_producer_id_block and writes the following block conditionally on the version
  // read, retrying when another broker won (Kafka's ZkProducerIdManager); the first block
  // starts at 0. kInternal when the id space is exhausted. Blocks on ZooKeeper.
  Result<ProducerIdBlock> AllocateProducerIdBlock(int32_t broker_id);

  // --- Brokers ---
  // Creates the ephemeral /brokers/ids/<id> (v5 JSON) and returns the broker epoch (its czxid).
  // If the znode exists from a previous session of this broker it is deleted and re-created
  // (Kafka's checked ephemeral create); if another live session owns it -> kAlreadyExists.
  Result<int64_t> RegisterBroker(const BrokerInfo& broker);
  // All registered brokers, sorted by id, each with its epoch.
  Result<std::vector<BrokerInfo>> GetAllBrokers();
  Result<BrokerInfo> GetBroker(int32_t id);

  // --- Controller ---
  // The registered controller id, or nullopt when there is none.
  Result<std::optional<int32_t>> GetControllerId();
  // /controller_epoch's value and version; kNotFound if it was never written.
  Result<std::pair<int32_t, int32_t>> GetControllerEpoch();
  // One election attempt: multi(create ephemeral /controller, set /controller_epoch = epoch + 1
  // at the version read). Creates /controller_epoch = "0" first if missing.
  Result<ElectionResult> TryElectController(int32_t broker_id);
  // Deletes /controller if this session owns it (resignation / clean shutdown).
  Status DeleteControllerIfOwned(int32_t broker_id);

  // --- Topics ---
  // Writes /config/topics/<t> then /brokers/topics/<t> (v3). kAlreadyExists if the topic exists.
  Status CreateTopic(const std::string& topic, const TopicId& topic_id,
                     const std::map<int32_t, std::vector<int32_t>>& assignment,
                     const std::map<std::string, std::string>& configs);
  Result<std::vector<std::string>> GetAllTopics(WatchCallback watch = nullptr);
  Result<TopicAssignment> GetTopicAssignment(const std::string& topic,
                                             WatchCallback watch = nullptr);
  // Rewrites /brokers/topics/<t> (partition addition), conditional on expected_version
  // (kStale when someone else changed it).
  Status SetTopicAssignment(const std::string& topic, const TopicAssignment& assignment,
                            int32_t expected_version);

  // --- Partition state (controller writes are fenced by epoch_zk_version) ---
  Result<LeaderIsrAndControllerEpoch> GetPartitionState(const TopicPartition& tp);
  // Creates partitions/<p>/state (parents as needed). Returns the state with zk_version 0.
  Result<LeaderIsrAndControllerEpoch> CreatePartitionState(const TopicPartition& tp,
                                                           const LeaderIsrAndControllerEpoch& s,
                                                           int32_t epoch_zk_version);
  // Sets the state conditional on s.zk_version; returns the new zk_version.
  Result<int32_t> UpdatePartitionState(const TopicPartition& tp,
                                       const LeaderIsrAndControllerEpoch& s,
                                       int32_t epoch_zk_version);
  // Leader-side ISR change (ZK-mode ISR propagation, IBP < 2.7): conditional on s.zk_version,
  // not fenced by the controller epoch. Returns the new zk_version; kStale when the controller
  // or another leader changed the state meanwhile (re-read and retry).
  Result<int32_t> UpdateLeaderAndIsr(const TopicPartition& tp,
                                     const LeaderIsrAndControllerEpoch& s);
  // /isr_change_notification/isr_change_<seq>: tells the controller to re-read these states.
  Status CreateIsrChangeNotification(const std::vector<TopicPartition>& partitions);

  // --- Topic configs ---
  // Empty map when /config/topics/<t> is absent.
  Result<std::map<std::string, std::string>> GetTopicConfig(const std::string& topic);
  // Writes /config/topics/<t> and a change notification.
  Status SetTopicConfig(const std::string& topic, const std::map<std::string, std::string>& c);
  // Any entity: /config/<entity_type>/<name>, `name` as stored (sanitized for users and
  // clients). Empty map when absent. Set writes a change notification for `entity_type/name`;
  // an empty map with `remove_if_empty` deletes the znode instead (Kafka removes a user's
  // znode when its last credential or quota goes).
  Result<std::map<std::string, std::string>> GetEntityConfig(const std::string& entity_type,
                                                             const std::string& name);
  Status SetEntityConfig(const std::string& entity_type, const std::string& name,
                         const std::map<std::string, std::string>& c, bool remove_if_empty = false);
  // Names (as stored) of the entities of a type with a config znode.
  Result<std::vector<std::string>> GetEntityNames(const std::string& entity_type);
  Status CreateConfigChangeNotification(const std::string& entity_path);
  // Brokers: calls `cb(entity_type, name)` for every config change notification (entity path
  // "topics/t" -> ("topics", "t"); "users/u/clients/c" -> ("users", "u/clients/c")), first for
  // all existing notifications, then for each new one (child watch on /config/changes,
  // re-armed, and re-registered after a session re-creation). Runs on ZkClient's event thread.
  using ConfigChangeCallback =
      std::function<void(const std::string& entity_type, const std::string& name)>;
  Status WatchConfigChanges(ConfigChangeCallback cb);

  // --- Deletion ---
  Status MarkTopicForDeletion(const std::string& topic);
  Result<std::vector<std::string>> GetTopicsMarkedForDeletion(WatchCallback watch = nullptr);
  Status RemoveTopicDeletionMarker(const std::string& topic);
  // Deletes /brokers/topics/<t> (recursively) and /config/topics/<t>; the final delete of the
  // topic znode is fenced by epoch_zk_version. The marker is removed last.
  Status DeleteTopicZnodes(const std::string& topic, int32_t epoch_zk_version);

 private:
  Status FencedMulti(std::vector<ZkOp> ops, int32_t epoch_zk_version, MultiResult* out);
  void ProcessConfigChanges();

  ZkClient* const zk_;
  const Clock* const clock_;

  std::mutex config_mu_;
  ConfigChangeCallback config_cb_;
  int64_t last_config_change_ = -1;  // highest processed sequence number
  int session_cb_id_ = 0;
  // Watch callbacks hold a weak reference so a late event after destruction is dropped.
  std::shared_ptr<KafkaZkClient*> alive_;
  std::mutex sessions_mu_;
  std::vector<int64_t> own_sessions_;  // sessions that registered our broker znode
};

}  // namespace gregor::zk
