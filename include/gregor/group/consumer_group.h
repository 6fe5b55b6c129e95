#pragma once
// ConsumerGroup: one group of the KIP-848 consumer protocol (ConsumerGroupHeartbeat) as the
// coordinator holds it (Kafka's ConsumerGroup + ConsumerGroupMember + CurrentAssignmentBuilder):
// the group epoch, the target assignment the server-side assignor computed for that epoch,
// and for each member its epoch, subscription and the partitions it owns while it reconciles
// towards its target without a stop-the-world rebalance.
//
// The rules, as Kafka's group coordinator applies them:
// - A change of a member's subscription (or of the partition counts of the subscribed topics,
//   or a member joining or leaving) bumps the group epoch; the next heartbeat recomputes the
//   target assignment for it.
// - A member moves to the new epoch only after revoking the partitions it must give up (its
//   heartbeats report the partitions it still owns); partitions another member still owns
//   (pending its revocation) are handed over only once released. So no partition is ever
//   owned by two members at once.
// - A member that misses its session timeout, or does not revoke within its rebalance
//   timeout, is fenced (removed; the group epoch is bumped).
// Topics are named here; the handler maps topic ids to names and back. The group remembers
// the ids of the topics it names (from the TopicViews it sees) for its records, and keeps a
// ConsumerGroupDelta of what changed since the coordinator last wrote it (Kafka's records are
// deltas); Restore rebuilds a group from its records (consumer_group_records.h).
//
// KIP-848 online migration (Kafka 4.0): members of the classic protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup) may belong to a consumer group. Their subscription and owned partitions
// come from the ConsumerProtocolSubscription of each JoinGroup; they reconcile by rejoining
// (Heartbeat answers REBALANCE_IN_PROGRESS when their assignment must change) and get their
// partitions in the SyncGroup response. They have a join timer and a sync timer (each the
// member's rebalance timeout) instead of the revocation timer, and their own session timeout.
//
// Owner: the GroupCoordinator (a GroupMetadata of type consumer holds one), under its mutex;
// no lock, no I/O of its own. Errors are Kafka ErrorCodes with a message in the result.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gregor/group/consumer_assignor.h"
#include "gregor/protocol/error_code.h"

namespace gregor::group {

// The broker's settings for consumer groups (Kafka's group.consumer.*).
struct ConsumerGroupConfig {
  int32_t session_timeout_ms = 45000;    // group.consumer.session.timeout.ms
  int32_t heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms
  int32_t max_size = INT32_MAX;          // group.consumer.max.size
  std::vector<std::string> assignors = {"uniform", "range"};  // group.consumer.assignors
};

// A topic id (Kafka's Uuid, 16 bytes), as the KIP-848 records name topics.
using TopicUuid = std::array<uint8_t, 16>;

// What the coordinator may know about topics: partition counts and, for regexes, names; ids
// and names both ways for the records of consumer groups (which name topics by id).
class TopicView {
 public:
  virtual ~TopicView() = default;
  // nullopt: no such topic (or being deleted).
  virtual std::optional<int32_t> PartitionCount(const std::string& topic) const = 0;
  // Every topic a regex may match (internal topics excluded, as Kafka excludes them).
  virtual std::vector<std::string> TopicNames() const = 0;
  // nullopt: no such topic.
  virtual std::optional<TopicUuid> TopicIdOf(const std::string& topic) const = 0;
  // nullopt: no topic has this id (deleted, or never existed).
  virtual std::optional<std::string> TopicNameOf(const TopicUuid& id) const = 0;
};

// What changed in a consumer group's persisted state since the last TakeDelta() (the records
// Kafka's coordinator writes for a change): member ids whose metadata (subscription, client,
// classic protocols), current assignment (epochs, state, partitions) or target changed, the
// members removed, and whether the group epoch, the target's epoch or the subscribed topics'
// metadata changed.
struct ConsumerGroupDelta {
  std::set<std::string> member_metadata;
  std::set<std::string> current_assignment;
  std::set<std::string> target;
  std::set<std::string> removed;
  bool group_epoch = false;
  bool assignment_epoch = false;
  bool subscription_metadata = false;
  bool empty() const {
    return member_metadata.empty() && current_assignment.empty() && target.empty() &&
           removed.empty() && !group_epoch && !assignment_epoch && !subscription_metadata;
  }
};

// (protocol name, metadata) in the member's order of preference, as JoinGroup carries them.
using ProtocolList = std::vector<std::pair<std::string, std::string>>;

// What a member of the classic protocol sent in its last JoinGroup (Kafka's
// ClassicMemberMetadata).
struct ClassicMemberMetadata {
  int32_t session_timeout_ms = 0;
  ProtocolList protocols;
  bool operator==(const ClassicMemberMetadata&) const = default;
};

enum class ConsumerMemberState { kStable, kUnrevokedPartitions, kUnreleasedPartitions };
// Kafka's names: "STABLE", "UNREVOKED_PARTITIONS", "UNRELEASED_PARTITIONS".
const char* ConsumerMemberStateName(ConsumerMemberState s);

// Kafka's member epochs with a meaning of their own.
inline constexpr int32_t kJoinGroupMemberEpoch = 0;
inline constexpr int32_t kLeaveGroupMemberEpoch = -1;
inline constexpr int32_t kLeaveGroupStaticMemberEpoch = -2;

struct ConsumerMember {
  std::string member_id;
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = -1;
  ConsumerMemberState state = ConsumerMemberState::kStable;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  int32_t rebalance_timeout_ms = -1;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;  // sorted, unique
  std::optional<std::string> subscribed_topic_regex;
  std::optional<std::string> server_assignor;
  // The topics the member's names and regex resolve to (existing topics only).
  std::set<std::string> resolved_topics;
  TopicPartitions assigned;            // owned, as last told to the member
  TopicPartitions pending_revocation;  // still owned, to be revoked
  // Monotonic deadlines (INT64_MAX: not armed).
  int64_t session_deadline_ms = INT64_MAX;
  int64_t revocation_deadline_ms = INT64_MAX;
  // Set for a member that uses the classic protocol.
  std::optional<ClassicMemberMetadata> classic;
  // Classic members only: asked to rejoin, it must within its rebalance timeout; having
  // joined, it must send SyncGroup within it.
  int64_t join_deadline_ms = INT64_MAX;
  int64_t sync_deadline_ms = INT64_MAX;

  bool operator==(const ConsumerMember&) const = default;
};

// A consumer group's state as its records describe it, topics named (ConsumerGroup::Restore).
// Members carry their metadata and current assignment; deadlines and resolved topics are not
// persisted.
struct ConsumerGroupSnapshot {
  int32_t group_epoch = 0;
  int32_t assignment_epoch = 0;
  std::vector<ConsumerMember> members;
  TargetAssignment target;
  // The subscribed topics' metadata: name -> (id, partition count).
  std::map<std::string, std::pair<TopicUuid, int32_t>> subscription_metadata;
  // Ids of every topic the assignments name.
  std::map<std::string, TopicUuid> topic_ids;
};

// A ConsumerGroupHeartbeat with topics named (null fields: unchanged since the last one).
struct ConsumerHeartbeat {
  std::string member_id;  // "" : the coordinator picks one
  int32_t member_epoch = 0;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::vector<std::string>> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  std::optional<std::string> server_assignor;
  std::optional<TopicPartitions> owned;  // owned partitions of topics the handler could name
  std::string client_id;
  std::string client_host;
};

struct ConsumerHeartbeatResult {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  std::string error_message;
  std::string member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<TopicPartitions> assignment;  // set when the member must (re)read it
};

// A classic member's JoinGroup to a consumer group. `subscription` is its decoded
// ConsumerProtocolSubscription (the first protocol's: all carry the same).
struct ClassicJoinRequest {
  std::string member_id;    // the coordinator names a new member
  bool new_member = false;  // joined without a member id (a static member may replace one)
  std::optional<std::string> instance_id;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  ProtocolList protocols;
  std::vector<std::string> topics;
  TopicPartitions owned;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
};

struct ClassicJoinResult {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  std::string error_message;
  std::string member_id;
  int32_t generation_id = -1;  // the member epoch
  std::string protocol_name;
};

struct ClassicSyncResult {
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  std::string error_message;
  std::string assignment;  // a ConsumerProtocolAssignment
};

// Kafka's ConsumerGroupState names: "Empty", "Assigning", "Reconciling", "Stable".
const char* ConsumerGroupStateName(bool empty, bool assigning, bool reconciling);

class ConsumerGroup {
 public:
  explicit ConsumerGroup(std::string group_id) : group_id_(std::move(group_id)) {}

  const std::string& group_id() const { return group_id_; }
  int32_t group_epoch() const { return group_epoch_; }
  int32_t assignment_epoch() const { return assignment_epoch_; }
  const std::map<std::string, ConsumerMember>& members() const { return members_; }
  bool HasMember(const std::string& id) const { return members_.count(id) != 0; }
  const TargetAssignment& target_assignment() const { return target_; }
  // The assignor the group uses: the one most members asked for, else the first configured.
  std::string AssignorName(const ConsumerGroupConfig& cfg) const;
  // "Empty", "Assigning", "Reconciling" or "Stable".
  const char* StateName() const;
  bool IsEmpty() const { return members_.empty(); }
  // Topics some member subscribes to (resolved), for offsets retention.
  std::set<std::string> SubscribedTopics() const;

  // A heartbeat with a member epoch >= 0 (join or regular). `new_member_id` names a member
  // created without an id. Validation of the request fields is the caller's
  // (ValidateConsumerHeartbeat).
  ConsumerHeartbeatResult Heartbeat(const ConsumerHeartbeat& hb, const TopicView& topics,
                                    const ConsumerGroupConfig& cfg, int64_t now_ms,
                                    const std::string& new_member_id);
  // A heartbeat with member epoch -1 (leave) or -2 (a static member leaving for now).
  ConsumerHeartbeatResult Leave(const ConsumerHeartbeat& hb, const ConsumerGroupConfig& cfg,
                                int64_t now_ms);

  // Fences members whose session or revocation deadline passed (removing them, bumping the
  // group epoch); returns their ids.
  std::vector<std::string> ExpireMembers(int64_t now_ms);
  // Members whose session, revocation, join or sync deadline passed.
  std::vector<std::string> DueMembers(int64_t now_ms) const;
  // Removes the member and bumps the group epoch.
  void FenceMember(const std::string& member_id);

  // --- KIP-848 online migration (classic members) ---
  // The group made of a classic group's members (each with its subscription and the
  // assignment of its last SyncGroup, as its current and target assignment) at epoch
  // `generation` (Kafka's ConsumerGroup.fromClassicGroup).
  void InitFromClassic(int32_t generation, std::vector<ConsumerMember> members,
                       const TopicView& topics);
  // Kafka's supportsClassicProtocols: protocol type "consumer" and, for a group with classic
  // members, a protocol every one of them supports.
  bool SupportsClassicProtocols(const std::string& protocol_type,
                                const ProtocolList& protocols) const;
  // Kafka's allMembersUseClassicProtocolExcept: `member_id` uses the consumer protocol and
  // every other member the classic one.
  bool AllClassicExcept(const std::string& member_id) const;
  ClassicJoinResult ClassicJoin(const ClassicJoinRequest& j, const TopicView& topics,
                                const ConsumerGroupConfig& cfg, int64_t now_ms);
  ClassicSyncResult ClassicSync(const std::string& member_id,
                                const std::optional<std::string>& instance_id,
                                int32_t generation_id,
                                const std::optional<std::string>& protocol_type,
                                const std::optional<std::string>& protocol_name, int64_t now_ms);
  protocol::ErrorCode ClassicHeartbeat(const std::string& member_id,
                                       const std::optional<std::string>& instance_id,
                                       int32_t generation_id, int64_t now_ms);
  // Removes a classic member (an empty `member_id` with an instance id: the admin's removal);
  // sets `*removed` to the removed member's id. The caller bumps the group epoch once for
  // the request.
  protocol::ErrorCode ClassicLeave(const std::string& member_id,
                                   const std::optional<std::string>& instance_id,
                                   std::string* removed);
  void BumpGroupEpoch() {
    ++group_epoch_;
    delta_.group_epoch = true;
  }
  // Kafka's validateOffsetCommit / validateOffsetFetch for this group: nullopt when allowed.
  // `member_epoch` < 0 with no member is the admin's (allowed for an empty group).
  std::optional<protocol::ErrorCode> ValidateOffsetCommit(const std::string& member_id,
                                                          int32_t member_epoch, bool transactional,
                                                          int16_t api_version) const;
  std::optional<protocol::ErrorCode> ValidateOffsetFetch(
      const std::optional<std::string>& member_id, int32_t member_epoch) const;
  // Until `until_ms` (monotonic) no partition is handed to a member (all count as still owned
  // by members of an earlier coordinator); heartbeats meanwhile are asked for when it ends.
  void HoldAssignmentsUntil(int64_t until_ms) { hold_until_ms_ = until_ms; }
  // The owner epoch of a partition (-1: free), Kafka's currentPartitionEpoch.
  int32_t PartitionEpoch(const std::string& topic, int32_t partition) const;

  // --- Persistence (KIP-848 records in __consumer_offsets) ---
  // What changed since the last call (the coordinator writes it as records); resets it.
  ConsumerGroupDelta TakeDelta();
  // The subscribed topics' partition counts (Kafka's subscription metadata).
  const std::map<std::string, int32_t>& subscription_metadata() const {
    return subscription_metadata_;
  }
  // The id of a topic the group's subscriptions or assignments name, as last seen in a
  // TopicView (or in the records it was restored from); nullopt if never seen.
  std::optional<TopicUuid> TopicIdOf(const std::string& topic) const;
  // Replaces the whole state with `snapshot` (a group loaded from its records): partition
  // epochs and static members follow the members; each member's regex and names are resolved
  // with `topics`; session deadlines restart at `now_ms` (the classic session timeout for a
  // classic member, cfg's otherwise), the revocation deadline of a member revoking partitions
  // likewise from its rebalance timeout. Nothing of the snapshot counts as changed.
  void Restore(ConsumerGroupSnapshot snapshot, const TopicView& topics,
               const ConsumerGroupConfig& cfg, int64_t now_ms);

 private:
  void RemoveMember(const std::string& member_id);
  void PutMember(ConsumerMember m);  // keeps partition epochs and static ids in step
  // A static member's new id takes over the old member (Kafka's replaceMember), at epoch 0.
  ConsumerMember ReplaceStaticMember(const std::string& old_id, const std::string& new_id);
  // Stores `updated` (the group epoch bumped when its subscription differs from `before`'s or
  // the subscribed topics' metadata changed), recomputes the target for a new epoch and
  // returns the member reconciled towards it with `owned` (not stored yet).
  ConsumerMember UpdateAndReconcile(const ConsumerMember& before, bool known,
                                    ConsumerMember updated, const TopicView& topics,
                                    const ConsumerGroupConfig& cfg, int64_t now_ms,
                                    const std::optional<TopicPartitions>& owned);
  // The classic member `member_id` / `instance_id` names, or the error that refuses it.
  std::pair<ConsumerMember*, protocol::ErrorCode> ClassicMember(
      const std::string& member_id, const std::optional<std::string>& instance_id);
  // Kafka's waitingOnUnreleasedPartition.
  bool WaitingOnUnreleasedPartition(const ConsumerMember& m, int64_t now_ms) const;
  // Recomputes the subscription metadata; true when it changed.
  bool RefreshSubscriptionMetadata(const TopicView& topics);
  std::set<std::string> Resolve(const ConsumerMember& m, const TopicView& topics) const;
  void ComputeTargetAssignment(const ConsumerGroupConfig& cfg);
  // Kafka's CurrentAssignmentBuilder.
  ConsumerMember Reconcile(const ConsumerMember& m, const std::optional<TopicPartitions>& owned,
                           bool hold) const;
  ConsumerMember NextAssignment(const ConsumerMember& m, int32_t member_epoch,
                                const std::optional<TopicPartitions>& owned, bool hold) const;

  const std::string group_id_;
  int32_t group_epoch_ = 0;
  int32_t assignment_epoch_ = 0;
  std::map<std::string, ConsumerMember> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  TargetAssignment target_;
  std::map<std::string, int32_t> subscription_metadata_;  // subscribed topic -> partitions
  std::map<std::string, std::map<int32_t, int32_t>> partition_epochs_;
  // Ids of the topics the subscription metadata, the target or a member's partitions name.
  std::map<std::string, TopicUuid> topic_ids_;
  ConsumerGroupDelta delta_;
  int64_t hold_until_ms_ = 0;
};

// Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid (INVALID_REQUEST, UNSUPPORTED_ASSIGNOR,
// INVALID_REGULAR_EXPRESSION), with its message; nullopt when valid.
std::optional<std::pair<protocol::ErrorCode, std::string>> ValidateConsumerHeartbeat(
    const std::string& group_id, const ConsumerHeartbeat& hb, const ConsumerGroupConfig& cfg);

}  // namespace gregor::group
