#pragma once
// GroupCoordinator: Kafka's classic group coordinator (GroupCoordinator + GroupMetadataManager
// in Kafka's core/coordinator/group): the group membership protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, with KIP-394 member ids, KIP-345 static membership and batch leave),
// committed offsets (OffsetCommit/OffsetFetch/OffsetDelete), transactional offset commits
// (TxnOffsetCommit, pending until the producer's transaction marker), and group administration
// (ListGroups, DescribeGroups, DeleteGroups). Group state and offsets are persisted in
// __consumer_offsets through an OffsetsLog; each group lives in partition
// PartitionForGroup(group) and is served by the broker leading that partition. KIP-848
// consumer groups are persisted there too (Kafka's ConsumerGroup* records, written as deltas of
// each change) when GroupConfig::persist_consumer_groups, and always read back at load.
//
// Owner: the Broker (created after the ReplicaManager, before listeners start; Shutdown()
// before the OffsetsLog goes away). Thread-safe: one mutex guards all groups and partition
// states; it is never held while calling the OffsetsLog or a completion callback (those are
// collected and run after unlocking), so callbacks may call back into the coordinator.
// Consumer group records are queued under the mutex (append_mu_, taken inside it and never
// the other way round) and appended in that order after unlocking.
// Timers (session timeouts, rebalance timeouts, group.initial.rebalance.delay.ms, pending
// member expiry, offsets retention) fire from Tick(), which Start() runs on a background
// thread every tick_interval_ms; tests call Tick() themselves with a FakeClock. Loading a
// partition after gaining leadership runs on that thread too (inline before Start()).
// Errors: every outcome is a Kafka ErrorCode in the result; nothing throws. Requests for a
// group whose partition is loading get COORDINATOR_LOAD_IN_PROGRESS, for a partition this
// broker does not lead NOT_COORDINATOR.

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
#include "gregor/base/ids.h"
#include "gregor/base/java_hash.h"
#include "gregor/config/broker_config.h"
#include "gregor/group/consumer_group.h"
#include "gregor/group/group_metadata.h"
#include "gregor/group/group_records.h"
#include "gregor/group/offsets_log.h"

namespace gregor::group {

// group.consumer.migration.policy: which non-empty groups convert between the classic and the
// consumer protocols (KIP-848 online upgrade and downgrade). Empty groups always convert.
enum class MigrationPolicy { kDisabled, kDowngrade, kUpgrade, kBidirectional };
// "disabled", "downgrade", "upgrade", "bidirectional" (case-insensitive); nullopt otherwise.
std::optional<MigrationPolicy> ParseMigrationPolicy(const std::string& name);

struct GroupConfig {
  int32_t offsets_topic_num_partitions = 50;             // offsets.topic.num.partitions
  int32_t group_min_session_timeout_ms = 6000;           // group.min.session.timeout.ms
  int32_t group_max_session_timeout_ms = 1800000;        // group.max.session.timeout.ms
  int32_t group_initial_rebalance_delay_ms = 3000;       // group.initial.rebalance.delay.ms
  int32_t group_max_size = INT32_MAX;                    // group.max.size
  int64_t offsets_retention_ms = 10080LL * 60 * 1000;    // offsets.retention.minutes
  int64_t offsets_retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
  int32_t offset_metadata_max_bytes = 4096;              // offset.metadata.max.bytes
  // Kafka's NewMemberJoinTimeoutMs: a new member's JoinGroup that never completes expires.
  int32_t new_member_join_timeout_ms = 5 * 60 * 1000;
  int64_t tick_interval_ms = 100;
  // KIP-848 (ConsumerGroupHeartbeat): served when group.coordinator.rebalance.protocols has
  // "consumer".
  bool consumer_protocol = true;
  ConsumerGroupConfig consumer;
  MigrationPolicy migration_policy = MigrationPolicy::kBidirectional;
  // KIP-848 consumer groups are written to __consumer_offsets (their members, epochs and
  // assignments survive a coordinator move) when inter.broker.protocol.version >= 3.5: from
  // 3.5 (KIP-915) Kafka's coordinator skips record types it does not know, older versions
  // fail to load the partition, so a roll back to an older Kafka would break. Off: consumer
  // groups live in memory only (a new coordinator knows no member). Reading is always on.
  bool persist_consumer_groups = false;
  bool UpgradeEnabled() const {
    return migration_policy == MigrationPolicy::kUpgrade ||
           migration_policy == MigrationPolicy::kBidirectional;
  }
  bool DowngradeEnabled() const {
    return migration_policy == MigrationPolicy::kDowngrade ||
           migration_policy == MigrationPolicy::kBidirectional;
  }

  // The broker's settings.
  static GroupConfig FromBroker(const config::BrokerConfig& c);
};

// Kafka's partitionFor: Utils.abs(groupId.hashCode) % partitions (KafkaPartitionFor in
// gregor/base/java_hash.h: Java's String.hashCode over UTF-16 code units, Utils.abs semantics).
int32_t PartitionForGroup(const std::string& group_id, int32_t num_partitions);

struct JoinGroupParams {
  std::string group_id;
  std::string member_id;  // "" for a new member
  std::optional<std::string> group_instance_id;
  bool require_known_member_id = false;      // JoinGroup v4+ (KIP-394)
  bool support_skipping_assignment = false;  // JoinGroup v9+
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  ProtocolList protocols;
  std::string reason;
  // The cluster's topics, for a classic member joining a consumer group (KIP-848 migration);
  // nullptr: none known.
  std::shared_ptr<const TopicView> topics;
};

struct SyncGroupParams {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::map<std::string, std::string> assignments;  // member id -> assignment (leader only)
};

struct LeaveMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> reason;
};
struct LeaveMemberResult {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  ErrorCode error = ErrorCode::kNone;
};
struct LeaveGroupResult {
  ErrorCode error = ErrorCode::kNone;
  std::vector<LeaveMemberResult> members;
};

struct OffsetCommitParams {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  // OffsetCommit v2-v4 retention_time_ms; -1: the broker's offsets.retention.minutes. Any
  // other value gives each offset an explicit expire timestamp (value schema v1).
  int64_t retention_time_ms = -1;
  // commit_timestamp -1: now (OffsetCommit v1 may carry its own).
  std::map<TopicPartition, OffsetAndMetadata> offsets;
  // The request's version: a consumer-protocol member must commit with v9+ (-1: not checked).
  int16_t api_version = -1;
};
using OffsetCommitCallback = std::function<void(std::map<TopicPartition, ErrorCode>)>;

// TxnOffsetCommit: offsets committed inside the transaction of `producer_id`.
struct TxnOffsetCommitParams {
  std::string group_id;
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  // v3+ (KIP-447): the consumer's group generation and member, checked as OffsetCommit does;
  // older versions send -1 / "" / nullopt and are not checked.
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::map<TopicPartition, OffsetAndMetadata> offsets;  // commit_timestamp -1: now
  // KIP-890 part 1: the guard of the producer's verification with its transaction coordinator
  // on the group's __consumer_offsets partition (the handler verifies first); nullopt: the
  // append is not checked (verification off, or the producer's transaction is already open
  // there).
  std::optional<log::VerificationGuard> verification;
};

struct FetchedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  ErrorCode error = ErrorCode::kNone;
};
struct OffsetFetchResult {
  ErrorCode error = ErrorCode::kNone;
  std::map<TopicPartition, FetchedOffset> offsets;
};

struct GroupOverview {
  std::string group_id;
  std::string protocol_type;
  std::string state;
  // Every group here uses the classic rebalance protocol (JoinGroup/SyncGroup); a ZooKeeper-mode
  // Kafka broker reports "classic" too (ListGroups v5, KIP-848).
  std::string group_type = "classic";
};
struct ListGroupsResult {
  ErrorCode error = ErrorCode::kNone;
  std::vector<GroupOverview> groups;
};

struct MemberSummary {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;
  std::string assignment;
};
struct GroupSummary {
  ErrorCode error = ErrorCode::kNone;
  std::string state;
  std::string protocol_type;
  std::string protocol;
  std::vector<MemberSummary> members;
};

// ConsumerGroupDescribe (KIP-848) of one group.
struct ConsumerGroupDescription {
  ErrorCode error = ErrorCode::kNone;
  std::string error_message;
  std::string state;
  int32_t group_epoch = 0;
  int32_t assignment_epoch = 0;
  std::string assignor;
  std::vector<ConsumerMember> members;
  TargetAssignment targets;  // by member id
};

struct OffsetDeleteResult {
  ErrorCode error = ErrorCode::kNone;
  std::map<TopicPartition, ErrorCode> partitions;
};

// The cluster's topics now (a metadata snapshot), for loading consumer groups whose records
// name topics by id. Called on the coordinator's background thread; must not block.
using TopicViewSource = std::function<std::shared_ptr<const TopicView>()>;

class GroupCoordinator {
 public:
  // `topics` nullptr: no topic known at load (restored consumer groups keep no partitions).
  GroupCoordinator(GroupConfig config, OffsetsLog* log, const Clock* clock = SystemClock::Get(),
                   TopicViewSource topics = nullptr);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Starts the background thread (ticks and partition loads). Optional: without it, Tick() is
  // the caller's and loads run inline in OnLeadershipChange.
  void Start();
  // Stops the thread; pending JoinGroup/SyncGroup callbacks are answered NOT_COORDINATOR.
  void Shutdown();

  const GroupConfig& config() const { return config_; }
  int32_t PartitionFor(const std::string& group_id) const;

  // The ReplicaManager hook: this broker became (or stopped being) leader of
  // __consumer_offsets-`partition`. Becoming leader loads the partition's groups and offsets
  // (COORDINATOR_LOAD_IN_PROGRESS meanwhile); resigning drops them (NOT_COORDINATOR).
  void OnLeadershipChange(int32_t partition, bool is_leader);
  bool IsLoading(int32_t partition) const;
  bool IsLeaderFor(int32_t partition) const;

  // Membership. Callbacks may run on any thread, inside the call or later.
  void JoinGroup(JoinGroupParams params, JoinCallback done);
  void SyncGroup(SyncGroupParams params, SyncCallback done);
  ErrorCode Heartbeat(const std::string& group_id, const std::string& member_id,
                      const std::optional<std::string>& group_instance_id, int32_t generation_id);
  LeaveGroupResult LeaveGroup(const std::string& group_id, const std::vector<LeaveMember>& members);

  // Offsets.
  void CommitOffsets(OffsetCommitParams params, OffsetCommitCallback done);
  // The group checks CommitTxnOffsets starts with (Kafka's validateGroupStatus): the handler
  // verifies the transaction (KIP-890) only for a group this call lets through, as Kafka does.
  std::optional<ErrorCode> ValidateTxnOffsetCommitGroup(const std::string& group_id) const;
  // Kafka's handleTxnCommitOffsets: appends the offsets as one transactional batch (the
  // producer's id and epoch, base sequence 0) to the group's partition and, once replicated,
  // keeps them pending for (group, producer) until HandleTxnCompletion. A group that does not
  // exist is created empty. `done` as for CommitOffsets.
  void CommitTxnOffsets(TxnOffsetCommitParams params, OffsetCommitCallback done);
  // The WriteTxnMarkers hook (Kafka's onTransactionCompleted): COMMIT (`commit`) or ABORT
  // markers of `producer_id` are replicated in __consumer_offsets partitions
  // `offsets_partitions`. Commit makes the producer's pending offsets of the groups in those
  // partitions their committed offsets; abort drops them. Partitions this broker does not
  // coordinate are ignored; for one still loading the completion is applied once it loaded.
  // Does not block; callable from any thread.
  void HandleTxnCompletion(int64_t producer_id, const std::vector<int32_t>& offsets_partitions,
                           bool commit);
  // `partitions` nullopt: every committed offset of the group. `require_stable` (OffsetFetch
  // v7+, KIP-447): a partition with a commit in flight or awaiting its transaction's marker
  // answers UNSTABLE_OFFSET_COMMIT instead of an offset.
  // OffsetFetch v9's `member_id` / `member_epoch` are checked for a consumer-protocol group
  // (nullopt / -1: an admin's fetch, allowed).
  OffsetFetchResult FetchOffsets(const std::string& group_id,
                                 const std::optional<std::vector<TopicPartition>>& partitions,
                                 bool require_stable = false,
                                 const std::optional<std::string>& member_id = std::nullopt,
                                 int32_t member_epoch = -1);
  OffsetDeleteResult DeleteOffsets(const std::string& group_id,
                                   const std::vector<TopicPartition>& partitions);

  // KIP-848 consumer groups (group_coordinator_consumer.cc). A heartbeat with epoch 0 creates
  // the group, or converts an empty classic group (its offsets kept), or converts a classic
  // group with members when group.consumer.migration.policy allows the upgrade (its members
  // become classic members of the consumer group); otherwise a classic group with members
  // answers GROUP_ID_NOT_FOUND, as Kafka does. When the last member of the consumer protocol
  // leaves (or is fenced) and classic members remain, the group becomes classic again if the
  // policy allows the downgrade, and rebalances. `topics` names the cluster's topics.
  // JoinGroup, SyncGroup, Heartbeat and LeaveGroup of a classic member of a consumer group
  // are served by the consumer group (Kafka 4.0's classicGroup*ToConsumerGroup).
  ConsumerHeartbeatResult ConsumerGroupHeartbeat(const std::string& group_id,
                                                 const ConsumerHeartbeat& hb,
                                                 const TopicView& topics);
  ConsumerGroupDescription DescribeConsumerGroup(const std::string& group_id);

  // Administration.
  // An empty filter does not filter. Type names match case-insensitively; since every group is
  // "classic", a types filter without "classic" (only "consumer", "share" or unknown names)
  // lists nothing, with no error, as Kafka's ZooKeeper-mode GroupCoordinator answers.
  ListGroupsResult ListGroups(const std::vector<std::string>& states_filter,
                              const std::vector<std::string>& types_filter = {});
  GroupSummary DescribeGroup(const std::string& group_id);
  std::map<std::string, ErrorCode> DeleteGroups(const std::vector<std::string>& group_ids);

  // Runs due timers: heartbeat and pending-member expiry, delayed joins and syncs, offsets
  // retention, and the OffsetsLog's own Poll.
  void Tick();

  // For tests and DescribeGroups-like introspection: the group's state, if it is loaded here.
  std::optional<GroupState> GroupStateForTest(const std::string& group_id) const;
  int32_t GenerationForTest(const std::string& group_id) const;

 private:
  enum class PartitionState { kLoading, kLoaded, kFailed };
  struct OwnedPartition {
    PartitionState state = PartitionState::kLoading;
    uint64_t load_id = 0;
    int64_t loaded_at_ms = 0;  // monotonic
    // Transaction completions (producer id, commit) that arrived while loading.
    std::vector<std::pair<int64_t, bool>> txn_completions;
  };
  using GroupPtr = std::shared_ptr<GroupMetadata>;

  int64_t Mono() const { return clock_->MonotonicMs(); }
  int64_t Wall() const { return clock_->NowMs(); }

  // Kafka's validateGroupStatus; nullopt when the group may be served here.
  std::optional<ErrorCode> ValidateGroupStatusLocked(const std::string& group_id,
                                                     bool allow_empty_id) const;
  GroupPtr GetGroupLocked(const std::string& group_id) const;
  GroupPtr AddGroupLocked(const std::string& group_id);

  // Membership (group_coordinator.cc).
  void DoNewMemberJoinLocked(const GroupPtr& g, JoinGroupParams& p, JoinCallback& done,
                             Deferred* d);
  void DoCurrentMemberJoinLocked(const GroupPtr& g, JoinGroupParams& p, JoinCallback& done,
                                 Deferred* d);
  std::optional<ErrorCode> ValidateCurrentMember(
      const GroupMetadata& g, const std::string& member_id,
      const std::optional<std::string>& instance_id) const;
  void AddMemberAndRebalanceLocked(const GroupPtr& g, JoinGroupParams& p,
                                   const std::string& member_id, JoinCallback done, Deferred* d);
  void UpdateStaticMemberAndRebalanceLocked(const GroupPtr& g, const std::string& old_member_id,
                                            const std::string& new_member_id, JoinGroupParams& p,
                                            JoinCallback done, Deferred* d);
  void MaybePrepareRebalanceLocked(const GroupPtr& g, const std::string& reason, Deferred* d);
  void PrepareRebalanceLocked(const GroupPtr& g, const std::string& reason, Deferred* d);
  void RemoveMemberAndUpdateGroupLocked(const GroupPtr& g, const std::string& member_id,
                                        const std::string& reason, Deferred* d);
  void RemovePendingMemberAndUpdateGroupLocked(const GroupPtr& g, const std::string& member_id,
                                               Deferred* d);
  // The purgatory's checkAndComplete for a regular delayed join.
  void MaybeCompleteJoinLocked(const GroupPtr& g, Deferred* d);
  void OnCompleteJoinLocked(const GroupPtr& g, Deferred* d);
  void ScheduleHeartbeat(MemberMetadata& m, int64_t timeout_ms) {
    m.heartbeat_deadline_ms = Mono() + timeout_ms;
  }
  void PropagateAssignmentLocked(GroupMetadata& g, ErrorCode error, Deferred* d);
  void ResetAndPropagateAssignmentErrorLocked(GroupMetadata& g, ErrorCode error, Deferred* d);
  void TickGroupLocked(const GroupPtr& g, int64_t now, Deferred* d);
  ErrorCode HeartbeatLocked(const std::string& group_id, const std::string& member_id,
                            const std::optional<std::string>& group_instance_id,
                            int32_t generation_id, Deferred* d);
  // A non-empty consumer-protocol group refuses the classic APIs (nullopt: not such a group;
  // an empty one converts back to classic).
  std::optional<ErrorCode> ClassicRefusalLocked(const GroupPtr& g, ErrorCode refusal, Deferred* d);
  ConsumerHeartbeatResult ConsumerGroupHeartbeatLocked(const std::string& group_id,
                                                       const ConsumerHeartbeat& hb,
                                                       const TopicView& topics, Deferred* d);
  // KIP-848 online migration (group_coordinator_consumer.cc).
  // Kafka's validateOnlineUpgrade plus readable embedded protocols: the classic group `g`
  // becomes a consumer group with its members; an error message when it cannot.
  std::optional<std::string> UpgradeToConsumerGroupLocked(const GroupPtr& g,
                                                          const TopicView& topics, Deferred* d);
  // Kafka's validateOnlineDowngradeWithFencedMember: `leaving` is the last member of the
  // consumer protocol and the others are classic.
  bool DowngradeAllowedLocked(const ConsumerGroup& cg, const std::string& leaving) const;
  // The consumer group `g` without `leaving` becomes a classic group that rebalances.
  void DowngradeToClassicGroupLocked(const GroupPtr& g, const std::string& leaving, Deferred* d);
  // Fences the consumer group's due members (session, revocation, join and sync timers),
  // downgrading the group when that is how its last consumer-protocol member goes.
  void ExpireConsumerMembersLocked(const GroupPtr& g, int64_t now, Deferred* d);
  void ClassicJoinToConsumerGroupLocked(const GroupPtr& g, JoinGroupParams& p,
                                        const JoinCallback& done, Deferred* d);
  void ClassicSyncToConsumerGroupLocked(const GroupPtr& g, const SyncGroupParams& p,
                                        const SyncCallback& done, Deferred* d);
  LeaveGroupResult ClassicLeaveToConsumerGroupLocked(const GroupPtr& g,
                                                     const std::vector<LeaveMember>& members,
                                                     Deferred* d);
  // KIP-848 persistence (group_coordinator_consumer_storage.cc), when
  // config_.persist_consumer_groups. Writes the records of what changed in `g`'s consumer group
  // since the last call (its ConsumerGroupDelta), after `prefix`; without the gate the delta
  // is dropped.
  void PersistConsumerGroupLocked(const GroupPtr& g, Deferred* d,
                                  std::vector<GroupRecord> prefix = {});
  // Tombstones for every record of `g`'s consumer group (members removed since the last
  // delta included); empty without the gate.
  std::vector<GroupRecord> ConsumerGroupTombstonesLocked(GroupMetadata& g);
  // Appends consumer group records in the order they were produced under the lock (the
  // records of different heartbeats must reach the log in the order of the changes they
  // describe: last record wins at load). A failure is logged.
  void AppendConsumerRecordsLocked(const std::string& group_id, std::vector<GroupRecord> records,
                                   Deferred* d);
  void DrainConsumerAppends();

  // Storage (group_coordinator_storage.cc).
  GroupMetadataValue GroupValueLocked(const GroupMetadata& g,
                                      const std::map<std::string, std::string>& assignment) const;
  // Appends the group's metadata record; `done` runs (without the lock) with the result.
  void StoreGroupLocked(const GroupMetadata& g,
                        const std::map<std::string, std::string>& assignment,
                        std::function<void(ErrorCode)> done, Deferred* d);
  // The same with no assignment and no one waiting: a failure is logged, naming `what`.
  void StoreGroupUnassignedLocked(const GroupMetadata& g, const char* what, Deferred* d);
  void AppendLocked(int32_t partition, std::vector<GroupRecord> records,
                    std::function<void(ErrorCode)> done, Deferred* d);
  // Appends a built batch; `done` gets the log's status and the batch's base offset.
  void AppendBatchLocked(int32_t partition, std::string batch,
                         std::function<void(Status, int64_t)> done, Deferred* d,
                         std::optional<log::VerificationGuard> verification = std::nullopt);
  // Kafka's validateOffsetCommit (nullopt: the commit may proceed).
  // Kafka's validateOffsetCommit (nullopt: the commit may proceed); a consumer-protocol group
  // checks the member epoch (and `api_version`, when known) instead of the generation.
  std::optional<ErrorCode> ValidateOffsetCommitLocked(const GroupMetadata& g, int32_t generation_id,
                                                      const std::string& member_id,
                                                      const std::optional<std::string>& instance_id,
                                                      bool transactional,
                                                      int16_t api_version = -1) const;
  // Completes the producer's pending offsets of the groups in `partition`.
  void CompleteTxnLocked(int64_t producer_id, int32_t partition, bool commit);
  // Writes tombstones for removed offsets (and the group, if it became Dead).
  void CleanupGroupMetadataLocked(const GroupPtr& g, const std::vector<TopicPartition>& removed,
                                  Deferred* d);
  void LoadPartition(int32_t partition, uint64_t load_id);
  void UnloadPartitionLocked(int32_t partition, Deferred* d);
  void ExpireOffsetsLocked(Deferred* d);
  static ErrorCode StorageError(const Status& s);
  // Kafka's maybeConvertOffsetCommitError for a TxnOffsetCommit append.
  static ErrorCode TxnOffsetCommitError(const Status& s);

  void RunBackground();
  void Post(std::function<void()> task);

  const GroupConfig config_;
  OffsetsLog* const log_;
  const Clock* const clock_;
  const TopicViewSource topics_;

  // Consumer group records waiting for their turn to be appended (AppendConsumerRecordsLocked):
  // queued under mu_, appended by whichever thread drains them, never under mu_.
  struct QueuedAppend {
    int32_t partition = 0;
    std::string group_id;
    std::string batch;
  };
  std::mutex append_mu_;
  std::deque<QueuedAppend> queued_appends_;
  bool draining_appends_ = false;

  mutable std::mutex mu_;
  std::map<int32_t, OwnedPartition> partitions_;
  std::map<std::string, GroupPtr> groups_;
  // Groups with pending transactional offsets, by producer id (Kafka's openGroupsForProducer).
  std::map<int64_t, std::set<std::string>> producer_groups_;
  uint64_t next_load_id_ = 1;
  int64_t next_retention_check_ms_ = 0;
  bool shutdown_ = false;

  // Background thread: tasks (loads) and ticks.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  std::deque<std::function<void()>> bg_tasks_;
  bool bg_running_ = false;
  bool bg_stop_ = false;
  std::thread bg_thread_;
};

// Runs a batch of deferred work (after the coordinator lock is released).
inline void RunDeferred(Deferred& d) {
  for (auto& f : d) f();
  d.clear();
}

}  // namespace gregor::group
