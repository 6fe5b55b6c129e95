// GroupCoordinator: the KIP-848 consumer protocol (ConsumerGroupHeartbeat,
// ConsumerGroupDescribe) and how its groups meet the classic APIs: empty groups convert
// between the protocols, non-empty ones as group.consumer.migration.policy allows (Kafka 4.0's
// online upgrade and downgrade), and classic members of a consumer group are served by it.
#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "gregor/group/consumer_protocol.h"
#include "gregor/group/group_coordinator.h"

namespace gregor::group {

namespace {

// Kafka's Uuid.randomUuid().toString(): 16 random bytes in URL-safe base64 without padding.
std::string RandomMemberId() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint8_t b[18] = {};
  for (int i = 0; i < 16; i += 8) {
    uint64_t v = rng();
    for (int j = 0; j < 8; ++j) b[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
  std::string out;
  for (int i = 0; i < 18; i += 3) {
    const uint32_t v = (uint32_t(b[i]) << 16) | (uint32_t(b[i + 1]) << 8) | b[i + 2];
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  out.resize(22);  // 128 bits
  return out;
}

}  // namespace

std::optional<ErrorCode> GroupCoordinator::ClassicRefusalLocked(const GroupPtr& g,
                                                                ErrorCode refusal, Deferred* d) {
  if (!g || !g->consumer()) return std::nullopt;
  if (g->consumer()->IsEmpty()) {
    // An empty consumer-protocol group becomes classic again (its offsets kept), as Kafka
    // converts empty groups between the protocols; its consumer records go.
    LOG(INFO) << "[GroupCoordinator] empty consumer group " << g->group_id()
              << " converted to a classic group";
    std::vector<GroupRecord> tombstones = ConsumerGroupTombstonesLocked(*g);
    if (!tombstones.empty()) AppendConsumerRecordsLocked(g->group_id(), std::move(tombstones), d);
    g->MakeClassicGroup();
    return std::nullopt;
  }
  return refusal;
}

ConsumerHeartbeatResult GroupCoordinator::ConsumerGroupHeartbeat(const std::string& group_id,
                                                                 const ConsumerHeartbeat& hb,
                                                                 const TopicView& topics) {
  auto fail = [](ErrorCode e, std::string message) {
    ConsumerHeartbeatResult r;
    r.error = e;
    r.error_message = std::move(message);
    return r;
  };
  if (!config_.consumer_protocol) {
    return fail(
        ErrorCode::kUnsupportedVersion,
        "the consumer group protocol is not enabled (group.coordinator.rebalance.protocols)");
  }
  if (auto invalid = ValidateConsumerHeartbeat(group_id, hb, config_.consumer)) {
    return fail(invalid->first, invalid->second);
  }
  Deferred d;
  ConsumerHeartbeatResult r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = ConsumerGroupHeartbeatLocked(group_id, hb, topics, &d);
  }
  RunDeferred(d);
  return r;
}

ConsumerHeartbeatResult GroupCoordinator::ConsumerGroupHeartbeatLocked(const std::string& group_id,
                                                                       const ConsumerHeartbeat& hb,
                                                                       const TopicView& topics,
                                                                       Deferred* d) {
  auto fail = [](ErrorCode e, std::string message) {
    ConsumerHeartbeatResult r;
    r.error = e;
    r.error_message = std::move(message);
    return r;
  };
  if (auto e = ValidateGroupStatusLocked(group_id, false)) return fail(*e, "");
  GroupPtr g = GetGroupLocked(group_id);
  const bool joining = hb.member_epoch == kJoinGroupMemberEpoch;
  // A member of a group this coordinator does not hold (deleted, or not persisted: without
  // persist_consumer_groups a new coordinator after a failover knows no member) is told
  // UNKNOWN_MEMBER_ID: it rejoins.
  const std::string unknown = "member " + hb.member_id + " is not a member of group " + group_id;
  if (!g || g->Is(GroupState::kDead)) {
    if (!joining) return fail(ErrorCode::kUnknownMemberId, unknown);
    g = AddGroupLocked(group_id);
  }
  // Records to write before the group's own (the classic group's tombstone, on conversion).
  std::vector<GroupRecord> prefix;
  if (!g->consumer() && (!g->Is(GroupState::kEmpty) || g->size() != 0)) {
    // A classic group with members: a joining member upgrades it if the policy allows
    // (Kafka's validateOnlineUpgrade); otherwise it is not a consumer group.
    const std::string refusal = "group " + group_id + " is not a consumer group";
    if (!joining) return fail(ErrorCode::kGroupIdNotFound, refusal);
    if (auto why = UpgradeToConsumerGroupLocked(g, topics, d)) {
      LOG(INFO) << "[GroupCoordinator] cannot upgrade classic group " << group_id
                << " to a consumer group: " << *why;
      return fail(ErrorCode::kGroupIdNotFound, refusal + ": " + *why);
    }
  } else if (!g->consumer()) {
    // An empty classic group converts (its offsets stay; Kafka deletes its classic record).
    if (!joining) return fail(ErrorCode::kUnknownMemberId, unknown);
    g->MakeConsumerGroup();
    if (config_.persist_consumer_groups) {
      prefix.push_back({EncodeGroupMetadataKey(group_id), std::nullopt});
    }
    LOG(INFO) << "[GroupCoordinator] group " << group_id << " uses the consumer protocol";
    // A group formed here right after this broker took over the group's partition may be one
    // the previous coordinator held in memory only (not persisted: the gate was off there, or
    // it is an older broker): its members may still hold partitions until their next
    // heartbeat here (answered UNKNOWN_MEMBER_ID). Such a group hands out partitions only
    // after two heartbeat intervals from the load, so no partition is given to a new member
    // while an old one still consumes it. A group restored from its records is not held: its
    // members are known here.
    const int64_t hold_until = partitions_.at(PartitionFor(group_id)).loaded_at_ms +
                               2 * int64_t{config_.consumer.heartbeat_interval_ms};
    if (Mono() < hold_until) {
      g->consumer()->HoldAssignmentsUntil(hold_until);
      LOG(INFO) << "[GroupCoordinator] consumer group " << group_id << " formed "
                << (Mono() - partitions_.at(PartitionFor(group_id)).loaded_at_ms)
                << " ms after its partition loaded: assignments held for " << (hold_until - Mono())
                << " ms";
    }
  }
  ConsumerGroup& cg = *g->consumer();
  const int64_t now = Mono();
  const int32_t epoch_before = cg.group_epoch();
  ConsumerHeartbeatResult r;
  if (hb.member_epoch == kLeaveGroupMemberEpoch && cg.HasMember(hb.member_id) &&
      (!hb.instance_id || cg.members().at(hb.member_id).instance_id == hb.instance_id) &&
      DowngradeAllowedLocked(cg, hb.member_id)) {
    // The last member of the consumer protocol leaves classic members behind.
    LOG(INFO) << "[GroupCoordinator] member " << hb.member_id << " left consumer group " << group_id
              << ", the last one of the consumer protocol";
    DowngradeToClassicGroupLocked(g, hb.member_id, d);
    r.member_id = hb.member_id;
    r.member_epoch = hb.member_epoch;
    return r;
  }
  if (hb.member_epoch == kLeaveGroupMemberEpoch ||
      hb.member_epoch == kLeaveGroupStaticMemberEpoch) {
    r = cg.Leave(hb, config_.consumer, now);
    if (r.error == ErrorCode::kNone) {
      LOG(INFO) << "[GroupCoordinator] member " << r.member_id << " left consumer group "
                << group_id << (hb.member_epoch == kLeaveGroupStaticMemberEpoch ? " for now" : "");
    }
  } else {
    r = cg.Heartbeat(hb, topics, config_.consumer, now, RandomMemberId());
  }
  if (cg.group_epoch() != epoch_before) {
    LOG(INFO) << "[GroupCoordinator] consumer group " << group_id << " epoch " << cg.group_epoch()
              << " (" << cg.members().size() << " members)";
  }
  // The change is written after the lock is released, and the response does not wait for it
  // to be replicated (Kafka's coordinator answers once its records are committed). If this
  // coordinator fails before they are, the next one loads the group as the last committed
  // records left it: a member that heartbeats there with the epoch this response gives it,
  // newer than the one the new coordinator knows, is answered FENCED_MEMBER_EPOCH (one it
  // does not know at all UNKNOWN_MEMBER_ID): it gives up its partitions and rejoins at epoch
  // 0, as after any fencing; members whose records were committed carry on. Until that
  // heartbeat (at most one heartbeat interval after the load) a partition the lost records had
  // given it may already be handed to another member: the window Kafka closes by answering
  // only after the commit.
  PersistConsumerGroupLocked(g, d, std::move(prefix));
  return r;
}

// ---------------------------------------------------------------------------------------------
// KIP-848 online migration.

std::optional<MigrationPolicy> ParseMigrationPolicy(const std::string& name) {
  std::string n = name;
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "disabled") return MigrationPolicy::kDisabled;
  if (n == "downgrade") return MigrationPolicy::kDowngrade;
  if (n == "upgrade") return MigrationPolicy::kUpgrade;
  if (n == "bidirectional") return MigrationPolicy::kBidirectional;
  return std::nullopt;
}

std::optional<std::string> GroupCoordinator::UpgradeToConsumerGroupLocked(const GroupPtr& g,
                                                                          const TopicView& topics,
                                                                          Deferred* d) {
  if (!config_.UpgradeEnabled()) {
    return std::string("the online upgrade is disabled (group.consumer.migration.policy)");
  }
  if (g->protocol_type() != std::string("consumer")) {
    return std::string("the group does not use the consumer embedded protocol");
  }
  if (static_cast<int64_t>(g->size()) > config_.consumer.max_size) {
    return "the group has more than group.consumer.max.size (" +
           std::to_string(config_.consumer.max_size) + ") members";
  }
  // Each member keeps its subscription (the metadata of the group's protocol) and the
  // partitions of its last SyncGroup (Kafka's ConsumerGroup.fromClassicGroup).
  const int32_t generation = g->generation_id();
  const std::string protocol = g->protocol_name().value_or("");
  const int64_t now = Mono();
  std::vector<ConsumerMember> members;
  for (const auto& [id, m] : g->members()) {
    std::string metadata = m.Metadata(protocol);
    if (protocol.empty() && !m.protocols.empty()) metadata = m.protocols.front().second;
    auto sub = DecodeConsumerSubscription(metadata);
    auto assigned = DecodeConsumerAssignment(m.assignment);
    if (!sub || !assigned) {
      return "the embedded consumer protocol of member " + id + " is malformed";
    }
    ConsumerMember cm;
    cm.member_id = id;
    cm.member_epoch = generation;
    cm.previous_member_epoch = generation;
    cm.instance_id = m.group_instance_id;
    cm.rack_id = sub->rack_id;
    cm.rebalance_timeout_ms = m.rebalance_timeout_ms;
    cm.client_id = m.client_id;
    cm.client_host = m.client_host;
    cm.subscribed_topic_names = sub->topics;
    std::sort(cm.subscribed_topic_names.begin(), cm.subscribed_topic_names.end());
    cm.subscribed_topic_names.erase(
        std::unique(cm.subscribed_topic_names.begin(), cm.subscribed_topic_names.end()),
        cm.subscribed_topic_names.end());
    cm.assigned = std::move(*assigned);
    cm.classic = ClassicMemberMetadata{m.session_timeout_ms, m.protocols};
    cm.session_deadline_ms = now + m.session_timeout_ms;
    members.push_back(std::move(cm));
  }
  // Members waiting in a classic rebalance rejoin, now into the consumer group.
  for (auto& [id, m] : g->members()) {
    g->InvokeJoinCallback(m, JoinGroupResult::Error(id, ErrorCode::kRebalanceInProgress), d);
    g->InvokeSyncCallback(m, SyncGroupResult::Error(ErrorCode::kRebalanceInProgress), d);
  }
  g->ResetMembership(generation, {}, Wall());
  // The classic membership leaves the log too (Kafka writes the classic group's tombstone):
  // a coordinator that loads the partition later must not bring the old members back. With
  // persisted consumer groups, the tombstone and the consumer group's records are one batch.
  std::vector<GroupRecord> prefix;
  if (config_.persist_consumer_groups) {
    prefix.push_back({EncodeGroupMetadataKey(g->group_id()), std::nullopt});
  } else {
    StoreGroupUnassignedLocked(*g, "the upgrade", d);
  }
  g->MakeConsumerGroup();
  g->consumer()->InitFromClassic(generation, std::move(members), topics);
  PersistConsumerGroupLocked(g, d, std::move(prefix));
  LOG(INFO) << "[GroupCoordinator] classic group " << g->group_id() << " generation " << generation
            << " upgraded to a consumer group with " << g->consumer()->members().size()
            << " classic members";
  return std::nullopt;
}

bool GroupCoordinator::DowngradeAllowedLocked(const ConsumerGroup& cg,
                                              const std::string& leaving) const {
  if (!cg.AllClassicExcept(leaving)) return false;
  if (cg.members().size() <= 1) return false;  // an empty group converts on its own
  if (!config_.DowngradeEnabled()) {
    LOG(INFO) << "[GroupCoordinator] consumer group " << cg.group_id()
              << " keeps only classic members but the online downgrade is disabled";
    return false;
  }
  if (static_cast<int64_t>(cg.members().size()) - 1 > config_.group_max_size) {
    LOG(INFO) << "[GroupCoordinator] consumer group " << cg.group_id()
              << " cannot downgrade: more members than group.max.size";
    return false;
  }
  return true;
}

void GroupCoordinator::DowngradeToClassicGroupLocked(const GroupPtr& g, const std::string& leaving,
                                                     Deferred* d) {
  const ConsumerGroup& cg = *g->consumer();
  const int32_t epoch = cg.group_epoch();
  const TargetAssignment target = cg.target_assignment();
  // Kafka writes the consumer group's tombstones and the classic group's record together.
  std::vector<GroupRecord> records = ConsumerGroupTombstonesLocked(*g);
  std::vector<MemberMetadata> members;
  for (const auto& [id, m] : cg.members()) {
    if (id == leaving || !m.classic) continue;
    MemberMetadata mm;
    mm.member_id = id;
    mm.group_instance_id = m.instance_id;
    mm.client_id = m.client_id;
    mm.client_host = m.client_host;
    mm.rebalance_timeout_ms = m.rebalance_timeout_ms;
    mm.session_timeout_ms = m.classic->session_timeout_ms;
    mm.protocol_type = "consumer";
    mm.protocols = m.classic->protocols;
    members.push_back(std::move(mm));
  }
  g->MakeClassicGroup();
  g->ResetMembership(epoch, std::move(members), Wall());
  // Each member's assignment is its target, in the version it subscribed with (Kafka's
  // ClassicGroup.fromConsumerGroup); the rebalance that follows replaces it anyway.
  const std::string protocol = g->protocol_name().value_or("");
  for (auto& [id, m] : g->members()) {
    auto t = target.find(id);
    m.assignment = EncodeConsumerAssignment(t == target.end() ? TopicPartitions{} : t->second,
                                            ConsumerAssignmentVersionFor(m.Metadata(protocol)));
    ScheduleHeartbeat(m, m.session_timeout_ms);
  }
  if (config_.persist_consumer_groups) {
    std::map<std::string, std::string> assignments;
    for (const auto& [id, m] : g->members()) assignments[id] = m.assignment;
    records.push_back({EncodeGroupMetadataKey(g->group_id()),
                       EncodeGroupMetadataValue(GroupValueLocked(*g, assignments))});
    AppendConsumerRecordsLocked(g->group_id(), std::move(records), d);
  }
  LOG(INFO) << "[GroupCoordinator] consumer group " << g->group_id() << " epoch " << epoch
            << " downgraded to a classic group with " << g->size() << " members";
  PrepareRebalanceLocked(g, "downgrade of group " + g->group_id() + " from consumer to classic", d);
}

void GroupCoordinator::ExpireConsumerMembersLocked(const GroupPtr& g, int64_t now, Deferred* d) {
  for (const std::string& id : g->consumer()->DueMembers(now)) {
    ConsumerGroup& cg = *g->consumer();
    if (!cg.HasMember(id)) continue;
    if (DowngradeAllowedLocked(cg, id)) {
      LOG(INFO) << "[GroupCoordinator] consumer-protocol member " << id << " of group "
                << g->group_id() << " fenced (timeout), the last one of the consumer protocol";
      DowngradeToClassicGroupLocked(g, id, d);
      return;  // the classic group's own timers take over
    }
    cg.FenceMember(id);
    LOG(INFO) << "[GroupCoordinator] member " << id << " of consumer group " << g->group_id()
              << " fenced: session, revocation, join or sync timeout";
  }
  PersistConsumerGroupLocked(g, d);
}

namespace {

// No topic known (a JoinGroup without the cluster's topics).
class NoTopics : public TopicView {
 public:
  std::optional<int32_t> PartitionCount(const std::string&) const override { return std::nullopt; }
  std::vector<std::string> TopicNames() const override { return {}; }
  std::optional<TopicUuid> TopicIdOf(const std::string&) const override { return std::nullopt; }
  std::optional<std::string> TopicNameOf(const TopicUuid&) const override { return std::nullopt; }
};

}  // namespace

void GroupCoordinator::ClassicJoinToConsumerGroupLocked(const GroupPtr& g, JoinGroupParams& p,
                                                        const JoinCallback& done, Deferred* d) {
  ConsumerGroup& cg = *g->consumer();
  auto reply = [&](JoinGroupResult r) {
    d->push_back([done, r = std::move(r)]() mutable { done(std::move(r)); });
  };
  // Kafka's classicGroupJoinToConsumerGroup: the member id is a UUID like the consumer
  // protocol's; size and protocols are checked before KIP-394's round trip.
  ClassicJoinRequest j;
  j.new_member = p.member_id.empty();
  j.member_id = j.new_member ? RandomMemberId() : p.member_id;
  if (!cg.HasMember(j.member_id) &&
      static_cast<int64_t>(cg.members().size()) >= config_.consumer.max_size) {
    reply(JoinGroupResult::Error(j.member_id, ErrorCode::kGroupMaxSizeReached));
    return;
  }
  if (!cg.SupportsClassicProtocols(p.protocol_type, p.protocols)) {
    reply(JoinGroupResult::Error(j.member_id, ErrorCode::kInconsistentGroupProtocol));
    return;
  }
  if (j.new_member && p.require_known_member_id && !p.group_instance_id) {
    reply(JoinGroupResult::Error(j.member_id, ErrorCode::kMemberIdRequired));
    return;
  }
  // Every protocol carries the same subscription: the first one is read.
  auto sub = DecodeConsumerSubscription(p.protocols.front().second);
  if (!sub) {
    LOG(WARNING) << "[GroupCoordinator] member " << j.member_id << " of consumer group "
                 << g->group_id() << " sent a malformed ConsumerProtocolSubscription";
    reply(JoinGroupResult::Error(j.member_id, ErrorCode::kUnknownServerError));
    return;
  }
  j.instance_id = p.group_instance_id;
  j.rebalance_timeout_ms = p.rebalance_timeout_ms;
  j.session_timeout_ms = p.session_timeout_ms;
  j.protocol_type = p.protocol_type;
  j.protocols = p.protocols;
  j.topics = std::move(sub->topics);
  j.owned = std::move(sub->owned);
  j.rack_id = std::move(sub->rack_id);
  j.client_id = p.client_id;
  j.client_host = p.client_host;
  const int32_t epoch_before = cg.group_epoch();
  const bool known = cg.HasMember(j.member_id);
  static const NoTopics kNoTopics;
  ClassicJoinResult r = cg.ClassicJoin(
      j, p.topics ? *p.topics : static_cast<const TopicView&>(kNoTopics), config_.consumer, Mono());
  PersistConsumerGroupLocked(g, d);
  if (r.error != ErrorCode::kNone) {
    reply(JoinGroupResult::Error(r.member_id, r.error));
    return;
  }
  if (!known) {
    LOG(INFO) << "[GroupCoordinator] member " << r.member_id << " joins consumer group "
              << g->group_id() << " with the classic protocol";
  }
  if (cg.group_epoch() != epoch_before) {
    LOG(INFO) << "[GroupCoordinator] consumer group " << g->group_id() << " epoch "
              << cg.group_epoch() << " (" << cg.members().size() << " members)";
  }
  // No leader and no member list: the member is a follower and syncs with no assignment; the
  // coordinator's assignor has already decided.
  JoinGroupResult out;
  out.member_id = r.member_id;
  out.generation_id = r.generation_id;
  out.protocol_type = std::string("consumer");
  out.protocol_name = r.protocol_name;
  reply(std::move(out));
}

void GroupCoordinator::ClassicSyncToConsumerGroupLocked(const GroupPtr& g, const SyncGroupParams& p,
                                                        const SyncCallback& done, Deferred* d) {
  ClassicSyncResult r = g->consumer()->ClassicSync(
      p.member_id, p.group_instance_id, p.generation_id, p.protocol_type, p.protocol_name, Mono());
  SyncGroupResult out;
  out.error = r.error;
  if (r.error == ErrorCode::kNone) {
    out.protocol_type = p.protocol_type;
    out.protocol_name = p.protocol_name;
    out.assignment = std::move(r.assignment);
  }
  d->push_back([done, out = std::move(out)]() mutable { done(std::move(out)); });
}

LeaveGroupResult GroupCoordinator::ClassicLeaveToConsumerGroupLocked(
    const GroupPtr& g, const std::vector<LeaveMember>& members, Deferred* d) {
  ConsumerGroup& cg = *g->consumer();
  LeaveGroupResult out;
  bool removed_any = false;
  for (const LeaveMember& lm : members) {
    LeaveMemberResult r{lm.member_id, lm.group_instance_id, ErrorCode::kNone};
    std::string removed;
    r.error = cg.ClassicLeave(lm.member_id, lm.group_instance_id, &removed);
    if (r.error == ErrorCode::kNone) {
      r.member_id = removed;
      removed_any = true;
      LOG(INFO) << "[GroupCoordinator] classic member " << removed << " left consumer group "
                << g->group_id() << " (client reason: " << lm.reason.value_or("not provided")
                << ")";
    }
    out.members.push_back(std::move(r));
  }
  // One new epoch for the whole request, as Kafka writes one epoch record.
  if (removed_any) cg.BumpGroupEpoch();
  PersistConsumerGroupLocked(g, d);
  return out;
}

ConsumerGroupDescription GroupCoordinator::DescribeConsumerGroup(const std::string& group_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ConsumerGroupDescription out;
  if (auto e = ValidateGroupStatusLocked(group_id, false)) {
    out.error = *e;
    return out;
  }
  GroupPtr g = GetGroupLocked(group_id);
  if (!g || g->Is(GroupState::kDead)) {
    out.error = ErrorCode::kGroupIdNotFound;
    out.error_message = "group " + group_id + " not found";
    return out;
  }
  if (!g->consumer()) {
    out.error = ErrorCode::kGroupIdNotFound;
    out.error_message = "group " + group_id + " is not a consumer group";
    return out;
  }
  const ConsumerGroup& cg = *g->consumer();
  out.state = cg.StateName();
  out.group_epoch = cg.group_epoch();
  out.assignment_epoch = cg.assignment_epoch();
  out.assignor = cg.AssignorName(config_.consumer);
  for (const auto& [id, m] : cg.members()) out.members.push_back(m);
  out.targets = cg.target_assignment();
  return out;
}

}  // namespace gregor::group
