#pragma once
// GroupMetadata: one classic consumer group as the coordinator holds it in memory (Kafka's
// GroupMetadata + MemberMetadata): state, generation, protocol, members (dynamic and static),
// pending members (KIP-394), pending sync members, and the group's committed offsets.
//
// Owner: the GroupCoordinator, which guards every GroupMetadata with its mutex; this type has
// no lock of its own and does no I/O. Pure data plus Kafka's bookkeeping rules (protocol
// election, awaiting-join counts, leader succession), so it is unit-testable alone.
// Completion callbacks of members are never invoked here directly: Invoke* methods move the
// callback and its result into a `Deferred` list that the coordinator runs after unlocking.
// Errors: none; callers check preconditions (Has(), state) first, as Kafka does.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gregor/base/ids.h"
#include "gregor/group/consumer_group.h"
#include "gregor/protocol/error_code.h"

namespace gregor::group {

using protocol::ErrorCode;

// Work to run once the coordinator lock is released (callbacks, log appends).
using Deferred = std::vector<std::function<void()>>;

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };
// Kafka's names ("Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead").
const char* GroupStateName(GroupState s);
std::optional<GroupState> ParseGroupState(const std::string& name);

struct OffsetAndMetadata {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp = -1;
  std::optional<int64_t> expire_timestamp;  // only from OffsetCommit v1 with a retention time
  bool operator==(const OffsetAndMetadata&) const = default;
};

struct JoinMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string metadata;
};

struct JoinGroupResult {
  std::vector<JoinMember> members;  // only for the leader
  std::string member_id;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader_id;
  bool skip_assignment = false;
  ErrorCode error = ErrorCode::kNone;

  static JoinGroupResult Error(std::string member_id, ErrorCode e) {
    JoinGroupResult r;
    r.member_id = std::move(member_id);
    r.error = e;
    return r;
  }
};

struct SyncGroupResult {
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
  ErrorCode error = ErrorCode::kNone;
  static SyncGroupResult Error(ErrorCode e) {
    SyncGroupResult r;
    r.error = e;
    return r;
  }
};

using JoinCallback = std::function<void(JoinGroupResult)>;
using SyncCallback = std::function<void(SyncGroupResult)>;

struct MemberMetadata {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  ProtocolList protocols;
  std::string assignment;

  JoinCallback awaiting_join;
  SyncCallback awaiting_sync;
  // A member that joined but has not received its first JoinGroup response: it expires after
  // the new-member join timeout even while awaiting join (Kafka's isNew).
  bool is_new = false;
  // Monotonic ms at which the session expires unless heartbeat satisfied; INT64_MAX: none.
  int64_t heartbeat_deadline_ms = INT64_MAX;

  bool IsAwaitingJoin() const { return static_cast<bool>(awaiting_join); }
  bool IsAwaitingSync() const { return static_cast<bool>(awaiting_sync); }
  bool IsStatic() const { return group_instance_id.has_value(); }
  // Same protocols, same metadata, same order.
  bool Matches(const ProtocolList& protocols) const;
  // The metadata sent for `protocol` (empty when not supported).
  std::string Metadata(const std::string& protocol) const;
  // The member's most preferred protocol among `candidates`.
  std::string Vote(const std::set<std::string>& candidates) const;
  // Kafka's hasSatisfiedHeartbeat: members waiting in a rebalance need no heartbeat, except
  // new members, whose join may have been abandoned by the client.
  bool HasSatisfiedHeartbeat() const { return !is_new && (IsAwaitingJoin() || IsAwaitingSync()); }
};

class GroupMetadata {
 public:
  GroupMetadata(std::string group_id, GroupState state, int64_t now_ms);

  const std::string& group_id() const { return group_id_; }
  GroupState state() const { return state_; }
  bool Is(GroupState s) const { return state_ == s; }
  int32_t generation_id() const { return generation_id_; }
  const std::optional<std::string>& protocol_type() const { return protocol_type_; }
  const std::optional<std::string>& protocol_name() const { return protocol_name_; }
  const std::optional<std::string>& leader_id() const { return leader_id_; }
  std::optional<int64_t> current_state_timestamp() const { return current_state_timestamp_; }
  bool IsLeader(const std::string& member_id) const { return leader_id_ == member_id; }
  bool IsConsumerGroup() const { return protocol_type_ == std::string("consumer"); }

  // KIP-848: a group of the consumer protocol holds its members here (its classic state stays
  // Empty); nullptr for a classic group. Offsets are kept by this class for both kinds.
  ConsumerGroup* consumer() { return consumer_.get(); }
  const ConsumerGroup* consumer() const { return consumer_.get(); }
  void MakeConsumerGroup() { consumer_ = std::make_unique<ConsumerGroup>(group_id_); }
  void MakeClassicGroup() { consumer_.reset(); }

  bool Has(const std::string& member_id) const { return members_.count(member_id) != 0; }
  MemberMetadata& Get(const std::string& member_id) { return members_.at(member_id); }
  const MemberMetadata& Get(const std::string& member_id) const { return members_.at(member_id); }
  size_t size() const { return members_.size(); }
  std::map<std::string, MemberMetadata>& members() { return members_; }
  const std::map<std::string, MemberMetadata>& members() const { return members_; }
  int32_t num_awaiting_join() const { return num_awaiting_join_; }

  // Adds a member (its callback, if any, makes it awaiting join). The first member fixes the
  // protocol type and becomes leader if there is none.
  void Add(MemberMetadata member);
  void Remove(const std::string& member_id);
  // Replaces protocols, timeouts and the join callback (nullptr: not awaiting join).
  void UpdateMember(MemberMetadata& member, ProtocolList protocols, int32_t rebalance_timeout_ms,
                    int32_t session_timeout_ms, JoinCallback callback);
  // Static membership: the member of `instance_id` takes a new member id; a JoinGroup or
  // SyncGroup the old id still awaits is answered FENCED_INSTANCE_ID.
  MemberMetadata& ReplaceStaticMember(const std::string& instance_id,
                                      const std::string& old_member_id,
                                      const std::string& new_member_id, Deferred* deferred);
  std::optional<std::string> CurrentStaticMemberId(const std::string& instance_id) const;

  bool IsPendingMember(const std::string& member_id) const {
    return pending_members_.count(member_id) != 0;
  }
  void AddPendingMember(const std::string& member_id, int64_t deadline_ms) {
    pending_members_[member_id] = deadline_ms;
  }
  std::map<std::string, int64_t>& pending_members() { return pending_members_; }
  size_t num_pending() const { return pending_members_.size(); }

  void AddPendingSyncMember(const std::string& id) { pending_sync_members_.insert(id); }
  void RemovePendingSyncMember(const std::string& id) { pending_sync_members_.erase(id); }
  bool HasReceivedSyncFromAllMembers() const { return pending_sync_members_.empty(); }
  const std::set<std::string>& pending_sync_members() const { return pending_sync_members_; }
  void ClearPendingSyncMembers() { pending_sync_members_.clear(); }

  bool HasAllMembersJoined() const {
    return static_cast<int32_t>(members_.size()) == num_awaiting_join_ && pending_members_.empty();
  }
  // Members that have not rejoined in the current rebalance.
  std::vector<std::string> NotYetRejoinedMembers() const;
  // Kafka: the largest rebalance timeout of the members.
  int32_t RebalanceTimeoutMs() const;

  bool CanRebalance() const;
  // Moves to `s` if Kafka's state machine allows it from the current state; false otherwise.
  bool TransitionTo(GroupState s, int64_t now_ms);
  // The protocol supported by every member that gets the most first-choice votes.
  std::string SelectProtocol() const;
  bool SupportsProtocols(const std::string& protocol_type,
                         const std::set<std::string>& protocols) const;
  // The leader did not rejoin: another joined member leads. False if nobody joined (or empty).
  bool MaybeElectNewJoinedLeader();
  // Generation + 1, protocol election, and CompletingRebalance (or Empty without members).
  void InitNextGeneration(int64_t now_ms);
  // Member metadata for the leader's JoinGroup response (CompletingRebalance/Stable only).
  std::vector<JoinMember> CurrentMemberMetadata() const;
  // Topics the consumer members subscribe to; nullopt when unknown (not a consumer group, or
  // unparsable metadata), in which case every topic counts as subscribed.
  const std::optional<std::set<std::string>>& subscribed_topics() const {
    return subscribed_topics_;
  }
  bool IsSubscribedToTopic(const std::string& topic) const {
    return !subscribed_topics_ || subscribed_topics_->count(topic) != 0;
  }

  // Moves the member's join/sync callback with `result` into `deferred`; true if it had one.
  bool InvokeJoinCallback(MemberMetadata& member, JoinGroupResult result, Deferred* deferred);
  bool InvokeSyncCallback(MemberMetadata& member, SyncGroupResult result, Deferred* deferred);

  // --- timers the coordinator drives (monotonic ms; INT64_MAX: not armed) ---
  struct JoinTimer {
    int64_t deadline_ms = INT64_MAX;
    bool initial = false;  // group.initial.rebalance.delay.ms phase: never completes early
    int32_t delay_ms = 0;
    int64_t remaining_ms = 0;
  };
  JoinTimer& join_timer() { return join_timer_; }
  bool new_member_added() const { return new_member_added_; }
  void set_new_member_added(bool v) { new_member_added_ = v; }
  int64_t sync_deadline_ms() const { return sync_deadline_ms_; }
  int32_t sync_generation() const { return sync_generation_; }
  void ArmSyncTimer(int64_t deadline_ms) {
    sync_deadline_ms_ = deadline_ms;
    sync_generation_ = generation_id_;
  }
  void DisarmSyncTimer() { sync_deadline_ms_ = INT64_MAX; }

  // --- offsets ---
  std::map<TopicPartition, OffsetAndMetadata>& offsets() { return offsets_; }
  const std::map<TopicPartition, OffsetAndMetadata>& offsets() const { return offsets_; }
  std::map<TopicPartition, int>& pending_offset_commits() { return pending_offset_commits_; }
  bool HasOffsets() const {
    return !offsets_.empty() || !pending_offset_commits_.empty() || !pending_txn_offsets_.empty();
  }
  // Log position of the batch that wrote the committed offset of `tp` (-1: unknown). Kafka
  // compares these (CommitRecordMetadataAndOffset.olderThan) so that, of a regular and a
  // transactional commit, the one later in the log wins whatever completes first.
  int64_t OffsetBatchPosition(const TopicPartition& tp) const;
  // Sets the committed offset of `tp` written by the batch at `batch_offset`, unless the
  // current one was written later in the log. True if it was set.
  bool PutOffsetIfNewer(const TopicPartition& tp, const OffsetAndMetadata& v, int64_t batch_offset);
  // Drops the committed offset of `tp` and every pending (regular or transactional) commit of
  // it (Kafka's removeOffsets); true if there was a committed offset.
  bool RemoveOffset(const TopicPartition& tp);

  // --- transactional offset commits (Kafka's pendingTransactionalOffsetCommits) ---
  // An offset committed inside a transaction: invisible to fetches until the producer's
  // COMMIT marker lands in this group's __consumer_offsets partition, dropped on ABORT.
  struct PendingTxnOffset {
    OffsetAndMetadata offset;
    int64_t batch_offset = -1;  // the log position of its batch; -1 while being appended
    // While being appended: the appended offset of the same transaction it replaces, kept
    // for the case the append fails (a stale epoch, lost leadership).
    std::optional<OffsetAndMetadata> replaced;
    int64_t replaced_batch_offset = -1;
  };
  using PendingTxnOffsets = std::map<TopicPartition, PendingTxnOffset>;
  const std::map<int64_t, PendingTxnOffsets>& pending_txn_offsets() const {
    return pending_txn_offsets_;
  }
  bool HasPendingTxnOffsetsFrom(int64_t producer_id) const {
    return pending_txn_offsets_.count(producer_id) != 0;
  }
  // A regular commit in flight or a transactional one awaiting its marker (KIP-447's
  // UNSTABLE_OFFSET_COMMIT for OffsetFetch with require_stable).
  bool HasPendingOffsetCommits(const TopicPartition& tp) const;
  // Stages `v` for `tp` of `producer_id` (before its batch is appended).
  void PrepareTxnOffsetCommit(int64_t producer_id, const TopicPartition& tp,
                              const OffsetAndMetadata& v);
  // The staged `v` reached the log at `batch_offset` (ignored if it was replaced or completed).
  void OnTxnOffsetCommitAppend(int64_t producer_id, const TopicPartition& tp,
                               const OffsetAndMetadata& v, int64_t batch_offset);
  // The append of the staged `v` failed: unstage it (back to the offset it replaced, if any).
  void FailPendingTxnOffsetCommit(int64_t producer_id, const TopicPartition& tp,
                                  const OffsetAndMetadata& v);
  // Restores a pending transactional offset read from the log (loading).
  void LoadPendingTxnOffset(int64_t producer_id, const TopicPartition& tp,
                            const OffsetAndMetadata& v, int64_t batch_offset);
  // The producer's transaction ended: commit moves its pending offsets into the committed
  // ones (each unless a later record in the log committed that partition), abort drops them.
  // Returns the number of offsets committed. An offset whose batch is still being appended
  // is not committed (Kafka treats that as an illegal state; see the .cc).
  size_t CompletePendingTxnOffsetCommit(int64_t producer_id, bool commit);
  // Kafka's removeExpiredOffsets (offsets.retention.minutes, KIP-211): removes and returns the
  // offsets whose retention has passed, counted from the moment the group became Empty (or
  // from the commit for standalone groups and for topics a stable consumer group no longer
  // subscribes to). `now_ms` is wall-clock time.
  std::vector<TopicPartition> RemoveExpiredOffsets(int64_t now_ms, int64_t retention_ms);

  // Restores state written in the offsets log (loading): generation, protocol, leader,
  // members (without callbacks). Stable when it has members, else Empty.
  void LoadState(int32_t generation, std::optional<std::string> protocol_type,
                 std::optional<std::string> protocol_name, std::optional<std::string> leader,
                 std::optional<int64_t> current_state_timestamp,
                 std::vector<MemberMetadata> members);
  // KIP-848 online migration: the classic membership replaced by `members` (none: the group
  // became a consumer group; else: the members of a consumer group that became classic),
  // at `generation`, with pending members, pending syncs and timers dropped and the protocol
  // elected among the new members. Stable when it has members, else Empty.
  void ResetMembership(int32_t generation, std::vector<MemberMetadata> members, int64_t now_ms);

 private:
  std::set<std::string> CandidateProtocols() const;
  std::optional<std::set<std::string>> ComputeSubscribedTopics() const;

  const std::string group_id_;
  GroupState state_;
  std::optional<int64_t> current_state_timestamp_;
  int32_t generation_id_ = 0;
  std::optional<std::string> protocol_type_;
  std::optional<std::string> protocol_name_;
  std::optional<std::string> leader_id_;
  std::map<std::string, MemberMetadata> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  std::map<std::string, int64_t> pending_members_;     // member id -> expiry (monotonic ms)
  std::set<std::string> pending_sync_members_;
  std::map<std::string, int> supported_protocols_;  // protocol -> members supporting it
  int32_t num_awaiting_join_ = 0;
  bool new_member_added_ = false;
  std::optional<std::set<std::string>> subscribed_topics_;
  JoinTimer join_timer_;
  int64_t sync_deadline_ms_ = INT64_MAX;
  int32_t sync_generation_ = -1;

  std::unique_ptr<ConsumerGroup> consumer_;

  std::map<TopicPartition, OffsetAndMetadata> offsets_;
  std::map<TopicPartition, int> pending_offset_commits_;      // in-flight commits per partition
  std::map<TopicPartition, int64_t> offset_positions_;        // batch offset behind offsets_[tp]
  std::map<int64_t, PendingTxnOffsets> pending_txn_offsets_;  // by producer id
};

// Topics of a ConsumerProtocolSubscription (read as its v0 prefix, as Kafka does); nullopt
// when the bytes do not parse.
std::optional<std::vector<std::string>> ParseSubscriptionTopics(const std::string& metadata);

}  // namespace gregor::group
