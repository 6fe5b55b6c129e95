// The membership half of the GroupCoordinator: JoinGroup, SyncGroup, Heartbeat, LeaveGroup
// and the rebalance timers, following Kafka 3.7's classic GroupCoordinator rules. Storage,
// offsets and administration are in group_coordinator_storage.cc.
#include "gregor/group/group_coordinator.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstdio>
#include <random>

namespace gregor::group {

namespace {

std::string RandomUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & ~0xF000ULL) | 0x4000ULL;                         // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // IETF variant
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

std::set<std::string> ProtocolNames(const ProtocolList& protocols) {
  std::set<std::string> out;
  for (const auto& p : protocols) out.insert(p.first);
  return out;
}

void Reply(Deferred* d, const JoinCallback& done, JoinGroupResult r) {
  d->push_back([done, r = std::move(r)]() mutable { done(std::move(r)); });
}

void Reply(Deferred* d, const SyncCallback& done, SyncGroupResult r) {
  d->push_back([done, r = std::move(r)]() mutable { done(std::move(r)); });
}

}  // namespace

GroupConfig GroupConfig::FromBroker(const config::BrokerConfig& c) {
  GroupConfig g;
  g.offsets_topic_num_partitions = c.offsets_topic_num_partitions;
  g.group_min_session_timeout_ms = c.group_min_session_timeout_ms;
  g.group_max_session_timeout_ms = c.group_max_session_timeout_ms;
  g.group_initial_rebalance_delay_ms = c.group_initial_rebalance_delay_ms;
  g.offsets_retention_ms = static_cast<int64_t>(c.offsets_retention_minutes) * 60 * 1000;
  g.offsets_retention_check_interval_ms = c.offsets_retention_check_interval_ms;
  g.offset_metadata_max_bytes = c.offset_metadata_max_bytes;
  g.group_max_size = c.group_max_size;
  const auto& protocols = c.group_coordinator_rebalance_protocols;
  g.consumer_protocol =
      std::find(protocols.begin(), protocols.end(), "consumer") != protocols.end();
  g.consumer.session_timeout_ms = c.group_consumer_session_timeout_ms;
  g.consumer.heartbeat_interval_ms = c.group_consumer_heartbeat_interval_ms;
  g.consumer.max_size = c.group_consumer_max_size;
  g.consumer.assignors = c.group_consumer_assignors;
  g.migration_policy =
      ParseMigrationPolicy(c.group_consumer_migration_policy).value_or(g.migration_policy);
  // KIP-915: Kafka 3.5+ skips the KIP-848 record types it does not know when it loads
  // __consumer_offsets; older versions fail, so only then may we write them.
  g.persist_consumer_groups = c.inter_broker_protocol >= config::MetadataVersion::kIbp3_5_IV0;
  return g;
}

int32_t PartitionForGroup(const std::string& group_id, int32_t num_partitions) {
  return KafkaPartitionFor(group_id, num_partitions);
}

GroupCoordinator::GroupCoordinator(GroupConfig config, OffsetsLog* log, const Clock* clock,
                                   TopicViewSource topics)
    : config_(config), log_(log), clock_(clock), topics_(std::move(topics)) {
  next_retention_check_ms_ = Mono() + config_.offsets_retention_check_interval_ms;
}

GroupCoordinator::~GroupCoordinator() { Shutdown(); }

int32_t GroupCoordinator::PartitionFor(const std::string& group_id) const {
  return PartitionForGroup(group_id, config_.offsets_topic_num_partitions);
}

std::optional<ErrorCode> GroupCoordinator::ValidateGroupStatusLocked(const std::string& group_id,
                                                                     bool allow_empty_id) const {
  // Offset APIs, DescribeGroups and DeleteGroups accept the empty group id (Kafka keeps it for
  // old clients); the membership APIs need a real one.
  if (!allow_empty_id && group_id.empty()) return ErrorCode::kInvalidGroupId;
  if (shutdown_) return ErrorCode::kCoordinatorNotAvailable;
  auto it = partitions_.find(PartitionFor(group_id));
  if (it == partitions_.end()) return ErrorCode::kNotCoordinator;
  if (it->second.state == PartitionState::kLoading) return ErrorCode::kCoordinatorLoadInProgress;
  if (it->second.state == PartitionState::kFailed) return ErrorCode::kCoordinatorNotAvailable;
  return std::nullopt;
}

GroupCoordinator::GroupPtr GroupCoordinator::GetGroupLocked(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second;
}

GroupCoordinator::GroupPtr GroupCoordinator::AddGroupLocked(const std::string& group_id) {
  auto g = std::make_shared<GroupMetadata>(group_id, GroupState::kEmpty, Wall());
  groups_[group_id] = g;
  return g;
}

std::optional<ErrorCode> GroupCoordinator::ValidateCurrentMember(
    const GroupMetadata& g, const std::string& member_id,
    const std::optional<std::string>& instance_id) const {
  if (instance_id) {
    auto current = g.CurrentStaticMemberId(*instance_id);
    if (!current) return ErrorCode::kUnknownMemberId;
    if (*current != member_id) return ErrorCode::kFencedInstanceId;
    return std::nullopt;
  }
  if (!g.Has(member_id)) return ErrorCode::kUnknownMemberId;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// JoinGroup

void GroupCoordinator::JoinGroup(JoinGroupParams p, JoinCallback done) {
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto e = ValidateGroupStatusLocked(p.group_id, false)) {
      Reply(&d, done, JoinGroupResult::Error(p.member_id, *e));
    } else if (p.session_timeout_ms < config_.group_min_session_timeout_ms ||
               p.session_timeout_ms > config_.group_max_session_timeout_ms) {
      Reply(&d, done, JoinGroupResult::Error(p.member_id, ErrorCode::kInvalidSessionTimeout));
    } else {
      const bool unknown = p.member_id.empty();
      GroupPtr g = GetGroupLocked(p.group_id);
      if (!g && unknown) g = AddGroupLocked(p.group_id);
      if (!g) {
        Reply(&d, done, JoinGroupResult::Error(p.member_id, ErrorCode::kUnknownMemberId));
      } else if (g->consumer() && !g->consumer()->IsEmpty()) {
        // KIP-848: a classic member of a consumer group (Kafka 4.0 serves it whatever
        // group.consumer.migration.policy says: the policy governs conversions only).
        ClassicJoinToConsumerGroupLocked(g, p, done, &d);
      } else if (auto e = ClassicRefusalLocked(g, ErrorCode::kInconsistentGroupProtocol, &d)) {
        Reply(&d, done, JoinGroupResult::Error(p.member_id, *e));
      } else {
        // Kafka's acceptJoiningMember: while rebalancing count the members that rejoined (the
        // group may be above a lowered max); otherwise count all members.
        bool accept;
        switch (g->state()) {
          case GroupState::kEmpty:
          case GroupState::kDead:
            accept = true;
            break;
          case GroupState::kPreparingRebalance:
            accept = (g->Has(p.member_id) && g->Get(p.member_id).IsAwaitingJoin()) ||
                     g->num_awaiting_join() < config_.group_max_size;
            break;
          default:
            accept =
                g->Has(p.member_id) || static_cast<int64_t>(g->size()) < config_.group_max_size;
        }
        if (!accept) {
          if (!unknown) g->Remove(p.member_id);
          Reply(&d, done, JoinGroupResult::Error("", ErrorCode::kGroupMaxSizeReached));
        } else if (unknown) {
          DoNewMemberJoinLocked(g, p, done, &d);
        } else {
          DoCurrentMemberJoinLocked(g, p, done, &d);
        }
        if (g->Is(GroupState::kPreparingRebalance)) MaybeCompleteJoinLocked(g, &d);
      }
    }
  }
  RunDeferred(d);
}

void GroupCoordinator::DoNewMemberJoinLocked(const GroupPtr& g, JoinGroupParams& p,
                                             JoinCallback& done, Deferred* d) {
  if (g->Is(GroupState::kDead)) {
    Reply(d, done, JoinGroupResult::Error("", ErrorCode::kCoordinatorNotAvailable));
    return;
  }
  if (!g->SupportsProtocols(p.protocol_type, ProtocolNames(p.protocols))) {
    Reply(d, done, JoinGroupResult::Error("", ErrorCode::kInconsistentGroupProtocol));
    return;
  }
  std::string new_id = p.group_instance_id.value_or(p.client_id) + "-" + RandomUuid();
  if (p.group_instance_id) {
    auto old_id = g->CurrentStaticMemberId(*p.group_instance_id);
    if (old_id) {
      LOG(INFO) << "[GroupCoordinator] static member " << *p.group_instance_id << " rejoins group "
                << g->group_id() << " in " << GroupStateName(g->state()) << ": replacing "
                << *old_id;
      UpdateStaticMemberAndRebalanceLocked(g, *old_id, new_id, p, done, d);
    } else {
      AddMemberAndRebalanceLocked(g, p, new_id, done, d);
    }
  } else if (p.require_known_member_id) {
    // KIP-394: hand out the id first; the member is admitted when it rejoins with it, so a
    // client that gave up does not leave a phantom member behind.
    g->AddPendingMember(new_id, Mono() + p.session_timeout_ms);
    Reply(d, done, JoinGroupResult::Error(new_id, ErrorCode::kMemberIdRequired));
  } else {
    AddMemberAndRebalanceLocked(g, p, new_id, done, d);
  }
}

void GroupCoordinator::DoCurrentMemberJoinLocked(const GroupPtr& g, JoinGroupParams& p,
                                                 JoinCallback& done, Deferred* d) {
  if (g->Is(GroupState::kDead)) {
    Reply(d, done, JoinGroupResult::Error(p.member_id, ErrorCode::kCoordinatorNotAvailable));
    return;
  }
  if (!g->SupportsProtocols(p.protocol_type, ProtocolNames(p.protocols))) {
    Reply(d, done, JoinGroupResult::Error(p.member_id, ErrorCode::kInconsistentGroupProtocol));
    return;
  }
  if (g->IsPendingMember(p.member_id)) {
    // A pending member is always dynamic: it got its id through MEMBER_ID_REQUIRED.
    p.group_instance_id.reset();
    AddMemberAndRebalanceLocked(g, p, p.member_id, done, d);
    return;
  }
  if (auto e = ValidateCurrentMember(*g, p.member_id, p.group_instance_id)) {
    Reply(d, done, JoinGroupResult::Error(p.member_id, *e));
    return;
  }
  MemberMetadata& m = g->Get(p.member_id);
  auto current_generation = [&](bool with_members) {
    JoinGroupResult r;
    if (with_members) r.members = g->CurrentMemberMetadata();
    r.member_id = p.member_id;
    r.generation_id = g->generation_id();
    r.protocol_type = g->protocol_type();
    r.protocol_name = g->protocol_name();
    r.leader_id = g->leader_id().value_or("");
    return r;
  };
  auto update_and_rebalance = [&](const std::string& reason) {
    g->UpdateMember(m, p.protocols, p.rebalance_timeout_ms, p.session_timeout_ms, done);
    MaybePrepareRebalanceLocked(g, reason, d);
  };
  switch (g->state()) {
    case GroupState::kPreparingRebalance:
      update_and_rebalance("member " + p.member_id + " joining during PreparingRebalance");
      break;
    case GroupState::kCompletingRebalance:
      if (m.Matches(p.protocols)) {
        // The member lost its JoinGroup response: answer again for the current generation.
        Reply(d, done, current_generation(g->IsLeader(p.member_id)));
      } else {
        update_and_rebalance("member " + p.member_id + " changed metadata");
      }
      break;
    case GroupState::kStable:
      if (g->IsLeader(p.member_id)) {
        // The leader rejoining forces a rebalance: that is how it reacts to metadata changes
        // (new partitions) that do not change its subscription.
        update_and_rebalance("leader " + p.member_id + " rejoining");
      } else if (!m.Matches(p.protocols)) {
        update_and_rebalance("member " + p.member_id + " changed metadata");
      } else {
        Reply(d, done, current_generation(false));
      }
      break;
    case GroupState::kEmpty:
    case GroupState::kDead:
      Reply(d, done, JoinGroupResult::Error(p.member_id, ErrorCode::kUnknownMemberId));
      break;
  }
}

void GroupCoordinator::AddMemberAndRebalanceLocked(const GroupPtr& g, JoinGroupParams& p,
                                                   const std::string& member_id, JoinCallback done,
                                                   Deferred* d) {
  MemberMetadata m;
  m.member_id = member_id;
  m.group_instance_id = p.group_instance_id;
  m.client_id = p.client_id;
  m.client_host = p.client_host;
  m.rebalance_timeout_ms = p.rebalance_timeout_ms;
  m.session_timeout_ms = p.session_timeout_ms;
  m.protocol_type = p.protocol_type;
  m.protocols = p.protocols;
  m.awaiting_join = std::move(done);
  m.is_new = true;
  // More members may arrive during the initial delay: it gets extended (InitialDelayedJoin).
  if (g->Is(GroupState::kPreparingRebalance) && g->generation_id() == 0) {
    g->set_new_member_added(true);
  }
  g->Add(std::move(m));
  // A new member cannot heartbeat before its JoinGroup returns; a client that went away
  // must still not stay forever, hence Kafka's new-member join timeout.
  ScheduleHeartbeat(g->Get(member_id), config_.new_member_join_timeout_ms);
  MaybePrepareRebalanceLocked(g, "adding new member " + member_id, d);
}

void GroupCoordinator::UpdateStaticMemberAndRebalanceLocked(const GroupPtr& g,
                                                            const std::string& old_member_id,
                                                            const std::string& new_member_id,
                                                            JoinGroupParams& p, JoinCallback done,
                                                            Deferred* d) {
  const std::string instance_id = *p.group_instance_id;
  const std::optional<std::string> current_leader = g->leader_id();
  MemberMetadata& m = g->ReplaceStaticMember(instance_id, old_member_id, new_member_id, d);
  ScheduleHeartbeat(m, m.session_timeout_ms);
  ProtocolList old_protocols = m.protocols;
  const int32_t old_rebalance = m.rebalance_timeout_ms;
  const int32_t old_session = m.session_timeout_ms;
  g->UpdateMember(m, p.protocols, p.rebalance_timeout_ms, p.session_timeout_ms, std::move(done));

  switch (g->state()) {
    case GroupState::kStable: {
      if (g->protocol_name() != g->SelectProtocol()) {
        MaybePrepareRebalanceLocked(g, "static member " + instance_id + " changed protocols", d);
        break;
      }
      // KIP-345: a restarted static member gets the current assignment without a rebalance;
      // only the new member id has to be persisted.
      std::map<std::string, std::string> assignment;
      for (const auto& [id, mm] : g->members()) assignment[id] = mm.assignment;
      const bool skip = p.support_skipping_assignment;
      StoreGroupLocked(
          *g, assignment,
          [this, g, instance_id, old_member_id, new_member_id, current_leader, old_protocols,
           old_rebalance, old_session, skip](ErrorCode err) {
            Deferred d2;
            {
              std::lock_guard<std::mutex> lock(mu_);
              if (!g->Has(new_member_id)) return;  // unloaded or removed: already answered
              MemberMetadata& mm = g->Get(new_member_id);
              if (err != ErrorCode::kNone) {
                LOG(WARNING) << "[GroupCoordinator] failed to persist static member " << instance_id
                             << " of " << g->group_id() << ": " << protocol::ErrorCodeName(err);
                JoinCallback cb = mm.awaiting_join;
                g->UpdateMember(mm, old_protocols, old_rebalance, old_session, nullptr);
                MemberMetadata& restored =
                    g->ReplaceStaticMember(instance_id, new_member_id, old_member_id, &d2);
                ScheduleHeartbeat(restored, restored.session_timeout_ms);
                if (cb) {
                  JoinGroupResult r;
                  r.generation_id = g->generation_id();
                  r.protocol_type = g->protocol_type();
                  r.protocol_name = g->protocol_name();
                  r.leader_id = current_leader.value_or("");
                  r.error = err;
                  Reply(&d2, cb, std::move(r));
                }
              } else {
                JoinGroupResult r;
                r.member_id = new_member_id;
                r.generation_id = g->generation_id();
                r.protocol_type = g->protocol_type();
                r.protocol_name = g->protocol_name();
                if (skip) {
                  // JoinGroup v9: the leader learns it leads but must not run the assignor.
                  bool is_leader = g->IsLeader(new_member_id);
                  if (is_leader) r.members = g->CurrentMemberMetadata();
                  r.leader_id = g->leader_id().value_or("");
                  r.skip_assignment = is_leader;
                } else {
                  // Older clients: the old leader id keeps a restarted leader from running a
                  // trivial assignment the stable group would ignore.
                  r.leader_id = current_leader.value_or("");
                }
                g->InvokeJoinCallback(mm, std::move(r), &d2);
              }
            }
            RunDeferred(d2);
          },
          d);
      break;
    }
    case GroupState::kCompletingRebalance:
      // The leader may already have assigned to the old id: start over.
      PrepareRebalanceLocked(g, "static member " + instance_id + " rejoined while completing", d);
      break;
    case GroupState::kPreparingRebalance:
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
}

void GroupCoordinator::MaybePrepareRebalanceLocked(const GroupPtr& g, const std::string& reason,
                                                   Deferred* d) {
  if (g->CanRebalance()) PrepareRebalanceLocked(g, reason, d);
}

void GroupCoordinator::PrepareRebalanceLocked(const GroupPtr& g, const std::string& reason,
                                              Deferred* d) {
  if (g->Is(GroupState::kCompletingRebalance)) {
    ResetAndPropagateAssignmentErrorLocked(*g, ErrorCode::kRebalanceInProgress, d);
  }
  g->ClearPendingSyncMembers();
  g->DisarmSyncTimer();
  GroupMetadata::JoinTimer t;
  if (g->Is(GroupState::kEmpty)) {
    // group.initial.rebalance.delay.ms: let more members of a starting group arrive before
    // the first generation, instead of one rebalance per member.
    t.initial = true;
    t.delay_ms = config_.group_initial_rebalance_delay_ms;
    t.remaining_ms =
        std::max<int64_t>(g->RebalanceTimeoutMs() - config_.group_initial_rebalance_delay_ms, 0);
    t.deadline_ms = Mono() + t.delay_ms;
  } else {
    t.deadline_ms = Mono() + g->RebalanceTimeoutMs();
  }
  g->TransitionTo(GroupState::kPreparingRebalance, Wall());
  g->join_timer() = t;
  LOG(INFO) << "[GroupCoordinator] preparing to rebalance group " << g->group_id()
            << " with old generation " << g->generation_id() << " (" << kOffsetsTopic << "-"
            << PartitionFor(g->group_id()) << ") (reason: " << reason << ")";
  MaybeCompleteJoinLocked(g, d);
}

void GroupCoordinator::MaybeCompleteJoinLocked(const GroupPtr& g, Deferred* d) {
  if (!g->Is(GroupState::kPreparingRebalance)) return;
  if (g->join_timer().initial) return;  // the initial delay always runs its course
  if (!g->HasAllMembersJoined()) return;
  g->join_timer().deadline_ms = INT64_MAX;
  OnCompleteJoinLocked(g, d);
}

void GroupCoordinator::OnCompleteJoinLocked(const GroupPtr& g, Deferred* d) {
  for (const auto& id : g->NotYetRejoinedMembers()) {
    // Static members keep their place: they may come back within the session timeout.
    if (g->Get(id).IsStatic()) continue;
    LOG(INFO) << "[GroupCoordinator] group " << g->group_id() << " removes member " << id
              << " that did not rejoin";
    g->Remove(id);
  }
  if (g->Is(GroupState::kDead)) return;
  if (!g->MaybeElectNewJoinedLeader() && g->size() > 0) {
    // Nobody rejoined: wait another rebalance timeout for the session timeouts to clear the
    // group.
    LOG(ERROR) << "[GroupCoordinator] group " << g->group_id()
               << " could not complete rebalance because no members rejoined";
    GroupMetadata::JoinTimer t;
    t.deadline_ms = Mono() + g->RebalanceTimeoutMs();
    g->join_timer() = t;
    return;
  }
  g->InitNextGeneration(Wall());
  if (g->Is(GroupState::kEmpty)) {
    LOG(INFO) << "[GroupCoordinator] group " << g->group_id() << " with generation "
              << g->generation_id() << " is now empty";
    StoreGroupUnassignedLocked(*g, "the empty metadata", d);
    return;
  }
  LOG(INFO) << "[GroupCoordinator] stabilized group " << g->group_id() << " generation "
            << g->generation_id() << " with " << g->size() << " members";
  for (auto& [id, m] : g->members()) {
    JoinGroupResult r;
    if (g->IsLeader(id)) r.members = g->CurrentMemberMetadata();
    r.member_id = id;
    r.generation_id = g->generation_id();
    r.protocol_type = g->protocol_type();
    r.protocol_name = g->protocol_name();
    r.leader_id = g->leader_id().value_or("");
    g->InvokeJoinCallback(m, std::move(r), d);
    ScheduleHeartbeat(m, m.session_timeout_ms);
    m.is_new = false;
    g->AddPendingSyncMember(id);
  }
  // Members that never send SyncGroup are removed after the rebalance timeout (KAFKA-13766).
  g->ArmSyncTimer(Mono() + g->RebalanceTimeoutMs());
}

void GroupCoordinator::RemoveMemberAndUpdateGroupLocked(const GroupPtr& g,
                                                        const std::string& member_id,
                                                        const std::string& reason, Deferred* d) {
  if (!g->Has(member_id)) return;
  // A member removed while its JoinGroup waits learns it with UNKNOWN_MEMBER_ID and rejoins.
  g->InvokeJoinCallback(g->Get(member_id), JoinGroupResult::Error("", ErrorCode::kUnknownMemberId),
                        d);
  g->Remove(member_id);
  switch (g->state()) {
    case GroupState::kDead:
    case GroupState::kEmpty:
      break;
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      MaybePrepareRebalanceLocked(g, reason, d);
      break;
    case GroupState::kPreparingRebalance:
      MaybeCompleteJoinLocked(g, d);
      break;
  }
}

void GroupCoordinator::RemovePendingMemberAndUpdateGroupLocked(const GroupPtr& g,
                                                               const std::string& member_id,
                                                               Deferred* d) {
  g->Remove(member_id);
  MaybeCompleteJoinLocked(g, d);
}

// ---------------------------------------------------------------------------------------------
// SyncGroup

void GroupCoordinator::SyncGroup(SyncGroupParams p, SyncCallback done) {
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    GroupPtr g;
    std::optional<ErrorCode> err = ValidateGroupStatusLocked(p.group_id, false);
    if (err == ErrorCode::kCoordinatorLoadInProgress) {
      // The rebalance state was lost with the old coordinator: rejoin (old clients do not
      // know COORDINATOR_LOAD_IN_PROGRESS here).
      err = ErrorCode::kRebalanceInProgress;
    }
    if (!err) {
      g = GetGroupLocked(p.group_id);
      if (!g) err = ErrorCode::kUnknownMemberId;
    }
    const bool consumer_group = !err && g->consumer() && !g->consumer()->IsEmpty();
    if (!err && !consumer_group) err = ClassicRefusalLocked(g, ErrorCode::kUnknownMemberId, &d);
    if (consumer_group) {
      ClassicSyncToConsumerGroupLocked(g, p, done, &d);
      err = ErrorCode::kNone;  // answered
    }
    if (!err && g->Is(GroupState::kDead)) err = ErrorCode::kCoordinatorNotAvailable;
    if (!err) err = ValidateCurrentMember(*g, p.member_id, p.group_instance_id);
    if (!err && p.generation_id != g->generation_id()) err = ErrorCode::kIllegalGeneration;
    if (!err && p.protocol_type && g->protocol_type() != p.protocol_type) {
      err = ErrorCode::kInconsistentGroupProtocol;
    }
    if (!err && p.protocol_name && g->protocol_name() != p.protocol_name) {
      err = ErrorCode::kInconsistentGroupProtocol;
    }
    if (consumer_group) {
      // answered by the consumer group
    } else if (err) {
      Reply(&d, done, SyncGroupResult::Error(*err));
    } else {
      switch (g->state()) {
        case GroupState::kEmpty:
          Reply(&d, done, SyncGroupResult::Error(ErrorCode::kUnknownMemberId));
          break;
        case GroupState::kPreparingRebalance:
          Reply(&d, done, SyncGroupResult::Error(ErrorCode::kRebalanceInProgress));
          break;
        case GroupState::kCompletingRebalance: {
          g->Get(p.member_id).awaiting_sync = std::move(done);
          g->RemovePendingSyncMember(p.member_id);
          if (!g->IsLeader(p.member_id)) break;
          LOG(INFO) << "[GroupCoordinator] assignment received from leader " << p.member_id
                    << " for group " << g->group_id() << " for generation " << g->generation_id();
          std::map<std::string, std::string> assignment;
          for (const auto& [id, m] : g->members()) {
            auto a = p.assignments.find(id);
            assignment[id] = a == p.assignments.end() ? std::string() : a->second;
          }
          const int32_t generation = g->generation_id();
          StoreGroupLocked(
              *g, assignment,
              [this, g, generation, assignment, member = p.member_id](ErrorCode err) {
                Deferred d2;
                {
                  std::lock_guard<std::mutex> lock(mu_);
                  // A member may have joined meanwhile and restarted the rebalance.
                  if (!g->Is(GroupState::kCompletingRebalance) ||
                      g->generation_id() != generation) {
                    return;
                  }
                  if (err != ErrorCode::kNone) {
                    ResetAndPropagateAssignmentErrorLocked(*g, err, &d2);
                    MaybePrepareRebalanceLocked(g, "error storing group assignment from " + member,
                                                &d2);
                  } else {
                    for (auto& [id, m] : g->members()) {
                      auto a = assignment.find(id);
                      m.assignment = a == assignment.end() ? std::string() : a->second;
                    }
                    PropagateAssignmentLocked(*g, ErrorCode::kNone, &d2);
                    g->TransitionTo(GroupState::kStable, Wall());
                  }
                }
                RunDeferred(d2);
              },
              &d);
          break;
        }
        case GroupState::kStable: {
          g->RemovePendingSyncMember(p.member_id);
          MemberMetadata& m = g->Get(p.member_id);
          SyncGroupResult r;
          r.protocol_type = g->protocol_type();
          r.protocol_name = g->protocol_name();
          r.assignment = m.assignment;
          Reply(&d, done, std::move(r));
          ScheduleHeartbeat(m, m.session_timeout_ms);
          break;
        }
        case GroupState::kDead:
          Reply(&d, done, SyncGroupResult::Error(ErrorCode::kCoordinatorNotAvailable));
          break;
      }
    }
  }
  RunDeferred(d);
}

void GroupCoordinator::PropagateAssignmentLocked(GroupMetadata& g, ErrorCode error, Deferred* d) {
  for (auto& [id, m] : g.members()) {
    SyncGroupResult r;
    if (error == ErrorCode::kNone) {
      r.protocol_type = g.protocol_type();
      r.protocol_name = g.protocol_name();
    }
    r.assignment = m.assignment;
    r.error = error;
    // The session clock restarts once the member has its assignment: it could not
    // heartbeat usefully while the leader or the log kept it waiting.
    if (g.InvokeSyncCallback(m, std::move(r), d)) ScheduleHeartbeat(m, m.session_timeout_ms);
  }
}

void GroupCoordinator::ResetAndPropagateAssignmentErrorLocked(GroupMetadata& g, ErrorCode error,
                                                              Deferred* d) {
  for (auto& [id, m] : g.members()) m.assignment.clear();
  PropagateAssignmentLocked(g, error, d);
}

// ---------------------------------------------------------------------------------------------
// Heartbeat, LeaveGroup

ErrorCode GroupCoordinator::Heartbeat(const std::string& group_id, const std::string& member_id,
                                      const std::optional<std::string>& group_instance_id,
                                      int32_t generation_id) {
  Deferred d;
  ErrorCode out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out = HeartbeatLocked(group_id, member_id, group_instance_id, generation_id, &d);
  }
  RunDeferred(d);
  return out;
}

ErrorCode GroupCoordinator::HeartbeatLocked(const std::string& group_id,
                                            const std::string& member_id,
                                            const std::optional<std::string>& group_instance_id,
                                            int32_t generation_id, Deferred* d) {
  if (auto e = ValidateGroupStatusLocked(group_id, false)) {
    // While loading, answer blindly: the member will learn its fate once the group is back.
    return *e == ErrorCode::kCoordinatorLoadInProgress ? ErrorCode::kNone : *e;
  }
  GroupPtr g = GetGroupLocked(group_id);
  if (!g) return ErrorCode::kUnknownMemberId;
  if (g->consumer() && !g->consumer()->IsEmpty()) {
    return g->consumer()->ClassicHeartbeat(member_id, group_instance_id, generation_id, Mono());
  }
  if (auto e = ClassicRefusalLocked(g, ErrorCode::kUnknownMemberId, d)) return *e;
  if (g->Is(GroupState::kDead)) return ErrorCode::kCoordinatorNotAvailable;
  if (auto e = ValidateCurrentMember(*g, member_id, group_instance_id)) return *e;
  if (generation_id != g->generation_id()) return ErrorCode::kIllegalGeneration;
  switch (g->state()) {
    case GroupState::kEmpty:
      return ErrorCode::kUnknownMemberId;
    case GroupState::kCompletingRebalance:
    case GroupState::kStable: {
      MemberMetadata& m = g->Get(member_id);
      ScheduleHeartbeat(m, m.session_timeout_ms);
      return ErrorCode::kNone;
    }
    case GroupState::kPreparingRebalance: {
      MemberMetadata& m = g->Get(member_id);
      ScheduleHeartbeat(m, m.session_timeout_ms);
      return ErrorCode::kRebalanceInProgress;
    }
    case GroupState::kDead:
      break;
  }
  return ErrorCode::kCoordinatorNotAvailable;
}

LeaveGroupResult GroupCoordinator::LeaveGroup(const std::string& group_id,
                                              const std::vector<LeaveMember>& members) {
  LeaveGroupResult out;
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto e = ValidateGroupStatusLocked(group_id, false)) {
      out.error = *e;
      return out;
    }
    GroupPtr g = GetGroupLocked(group_id);
    if (!g) {
      for (const auto& m : members) {
        out.members.push_back({m.member_id, m.group_instance_id, ErrorCode::kUnknownMemberId});
      }
      return out;
    }
    if (g->Is(GroupState::kDead)) {
      out.error = ErrorCode::kCoordinatorNotAvailable;
      return out;
    }
    if (g->consumer() && !g->consumer()->IsEmpty()) {
      out = ClassicLeaveToConsumerGroupLocked(g, members, &d);
    } else if (auto e = ClassicRefusalLocked(g, ErrorCode::kUnknownMemberId, &d)) {
      for (const auto& m : members) out.members.push_back({m.member_id, m.group_instance_id, *e});
    } else {
      for (const auto& lm : members) {
        LeaveMemberResult r{lm.member_id, lm.group_instance_id, ErrorCode::kNone};
        const std::string reason =
            "member left the group (client reason: " + lm.reason.value_or("not provided") + ")";
        if (lm.member_id.empty()) {
          // KIP-345 admin removal: by instance id only.
          auto current =
              lm.group_instance_id ? g->CurrentStaticMemberId(*lm.group_instance_id) : std::nullopt;
          if (current) {
            RemoveMemberAndUpdateGroupLocked(g, *current, reason, &d);
          } else {
            r.error = ErrorCode::kUnknownMemberId;
          }
        } else if (g->IsPendingMember(lm.member_id)) {
          RemovePendingMemberAndUpdateGroupLocked(g, lm.member_id, &d);
        } else if (auto e = ValidateCurrentMember(*g, lm.member_id, lm.group_instance_id)) {
          r.error = *e;
        } else {
          RemoveMemberAndUpdateGroupLocked(g, lm.member_id, reason, &d);
        }
        if (r.error == ErrorCode::kNone) {
          LOG(INFO) << "[GroupCoordinator] member " << lm.member_id << " left group " << group_id;
        }
        out.members.push_back(std::move(r));
      }
    }
  }
  RunDeferred(d);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timers

void GroupCoordinator::TickGroupLocked(const GroupPtr& g, int64_t now, Deferred* d) {
  if (g->Is(GroupState::kDead)) return;
  // Session timeouts.
  std::vector<std::string> due;
  for (const auto& [id, m] : g->members()) {
    if (m.heartbeat_deadline_ms <= now) due.push_back(id);
  }
  for (const auto& id : due) {
    if (!g->Has(id)) continue;
    MemberMetadata& m = g->Get(id);
    if (m.heartbeat_deadline_ms > now) continue;
    if (m.HasSatisfiedHeartbeat()) {
      // Waiting in a rebalance counts as alive; the clock restarts when the wait ends.
      m.heartbeat_deadline_ms = INT64_MAX;
      continue;
    }
    LOG(INFO) << "[GroupCoordinator] member " << id << " in group " << g->group_id()
              << " has failed (session timeout), removing it from the group";
    RemoveMemberAndUpdateGroupLocked(g, id, "removing member " + id + " on heartbeat expiration",
                                     d);
  }
  // KIP-394 pending members that never came back.
  std::vector<std::string> expired_pending;
  for (const auto& [id, deadline] : g->pending_members()) {
    if (deadline <= now) expired_pending.push_back(id);
  }
  for (const auto& id : expired_pending) {
    LOG(INFO) << "[GroupCoordinator] pending member " << id << " in group " << g->group_id()
              << " removed after session timeout";
    RemovePendingMemberAndUpdateGroupLocked(g, id, d);
  }
  // Delayed join.
  auto& jt = g->join_timer();
  if (g->Is(GroupState::kPreparingRebalance) && jt.deadline_ms <= now) {
    if (jt.initial && g->new_member_added() && jt.remaining_ms > 0) {
      g->set_new_member_added(false);
      int64_t delay = std::min<int64_t>(config_.group_initial_rebalance_delay_ms, jt.remaining_ms);
      jt.remaining_ms = std::max<int64_t>(jt.remaining_ms - jt.delay_ms, 0);
      jt.delay_ms = static_cast<int32_t>(delay);
      jt.deadline_ms = now + delay;
    } else {
      jt.deadline_ms = INT64_MAX;
      OnCompleteJoinLocked(g, d);
    }
  }
  // Pending syncs.
  if (g->sync_deadline_ms() <= now) {
    g->DisarmSyncTimer();
    if (g->sync_generation() == g->generation_id() &&
        (g->Is(GroupState::kCompletingRebalance) || g->Is(GroupState::kStable)) &&
        !g->HasReceivedSyncFromAllMembers()) {
      std::vector<std::string> missing(g->pending_sync_members().begin(),
                                       g->pending_sync_members().end());
      for (const auto& id : missing) g->Remove(id);
      LOG(INFO) << "[GroupCoordinator] group " << g->group_id() << " removed " << missing.size()
                << " members that did not send SyncGroup";
      PrepareRebalanceLocked(g, "members did not sync in time", d);
    }
  }
}

void GroupCoordinator::Tick() {
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutdown_) return;
    const int64_t now = Mono();
    std::vector<GroupPtr> groups;
    groups.reserve(groups_.size());
    for (const auto& [id, g] : groups_) groups.push_back(g);
    for (const auto& g : groups) {
      if (g->consumer()) {
        ExpireConsumerMembersLocked(g, now, &d);
      } else {
        TickGroupLocked(g, now, &d);
      }
    }
    if (now >= next_retention_check_ms_) {
      next_retention_check_ms_ = now + config_.offsets_retention_check_interval_ms;
      ExpireOffsetsLocked(&d);
    }
  }
  RunDeferred(d);
  log_->Poll();
}

std::optional<GroupState> GroupCoordinator::GroupStateForTest(const std::string& group_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = GetGroupLocked(group_id);
  if (!g) return std::nullopt;
  return g->state();
}

int32_t GroupCoordinator::GenerationForTest(const std::string& group_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = GetGroupLocked(group_id);
  return g ? g->generation_id() : -1;
}

}  // namespace gregor::group
