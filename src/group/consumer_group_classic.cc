// ConsumerGroup: its classic members (KIP-848 online migration, Kafka 4.0's
// classicGroup*ToConsumerGroup and ConsumerGroup.fromClassicGroup). The rest of the consumer
// group is in consumer_group.cc.
#include <algorithm>

#include "gregor/group/consumer_group.h"
#include "gregor/group/consumer_protocol.h"

namespace gregor::group {

using protocol::ErrorCode;

void ConsumerGroup::InitFromClassic(int32_t generation, std::vector<ConsumerMember> members,
                                    const TopicView& topics) {
  // The classic group's last assignment is both the current and the target assignment, at
  // the generation as epoch: no member has to move until the next epoch (Kafka's
  // fromClassicGroup). Members caught in a classic rebalance learn of the next epoch when
  // they heartbeat.
  group_epoch_ = generation;
  assignment_epoch_ = generation;
  std::set<std::pair<std::string, int32_t>> claimed;
  for (ConsumerMember& m : members) {
    m.resolved_topics = Resolve(m, topics);
    // A classic leader's assignor could give a partition twice; only its first owner keeps it.
    for (auto& [topic, ps] : m.assigned) {
      for (auto p = ps.begin(); p != ps.end();) {
        p = claimed.insert({topic, *p}).second ? std::next(p) : ps.erase(p);
      }
    }
    for (auto t = m.assigned.begin(); t != m.assigned.end();) {
      t = t->second.empty() ? m.assigned.erase(t) : std::next(t);
    }
    target_[m.member_id] = m.assigned;
    delta_.target.insert(m.member_id);
    PutMember(std::move(m));
  }
  RefreshSubscriptionMetadata(topics);
  // Everything is new to the log (the classic group's records named no epoch of ours).
  delta_.group_epoch = true;
  delta_.assignment_epoch = true;
  delta_.subscription_metadata = true;
}

bool ConsumerGroup::SupportsClassicProtocols(const std::string& protocol_type,
                                             const ProtocolList& protocols) const {
  if (protocol_type != "consumer") return false;
  if (members_.empty()) return !protocols.empty();
  std::map<std::string, int> supported;  // protocol name -> classic members supporting it
  int classic = 0;
  for (const auto& [id, m] : members_) {
    if (!m.classic) continue;
    ++classic;
    std::set<std::string> names;
    for (const auto& [name, metadata] : m.classic->protocols) names.insert(name);
    for (const std::string& name : names) ++supported[name];
  }
  for (const auto& [name, metadata] : protocols) {
    auto it = supported.find(name);
    if ((it == supported.end() ? 0 : it->second) == classic) return true;
  }
  return false;
}

bool ConsumerGroup::AllClassicExcept(const std::string& member_id) const {
  auto it = members_.find(member_id);
  if (it == members_.end() || it->second.classic) return false;
  for (const auto& [id, m] : members_) {
    if (id != member_id && !m.classic) return false;
  }
  return true;
}

std::pair<ConsumerMember*, ErrorCode> ConsumerGroup::ClassicMember(
    const std::string& member_id, const std::optional<std::string>& instance_id) {
  ConsumerMember* m = nullptr;
  if (instance_id) {
    auto s = static_members_.find(*instance_id);
    if (s == static_members_.end()) return {nullptr, ErrorCode::kUnknownMemberId};
    if (s->second != member_id) return {nullptr, ErrorCode::kFencedInstanceId};
    m = &members_.at(s->second);
  } else {
    auto it = members_.find(member_id);
    if (it == members_.end()) return {nullptr, ErrorCode::kUnknownMemberId};
    m = &it->second;
  }
  // A member of the consumer protocol cannot use the classic APIs.
  if (!m->classic) return {nullptr, ErrorCode::kUnknownMemberId};
  return {m, ErrorCode::kNone};
}

bool ConsumerGroup::WaitingOnUnreleasedPartition(const ConsumerMember& m, int64_t now_ms) const {
  if (m.state != ConsumerMemberState::kUnreleasedPartitions) return false;
  if (now_ms < hold_until_ms_) return true;
  auto t = target_.find(m.member_id);
  if (t == target_.end()) return false;
  for (const auto& [topic, ps] : t->second) {
    auto have = m.assigned.find(topic);
    for (int32_t p : ps) {
      const bool owned = have != m.assigned.end() && have->second.count(p) != 0;
      if (!owned && PartitionEpoch(topic, p) != -1) return true;
    }
  }
  return false;
}

ClassicJoinResult ConsumerGroup::ClassicJoin(const ClassicJoinRequest& j, const TopicView& topics,
                                             const ConsumerGroupConfig& cfg, int64_t now_ms) {
  ClassicJoinResult r;
  r.member_id = j.member_id;
  auto fail = [&r](ErrorCode e, std::string message) {
    r.error = e;
    r.error_message = std::move(message);
    return r;
  };
  if (!HasMember(j.member_id) && static_cast<int64_t>(members_.size()) >= cfg.max_size) {
    return fail(ErrorCode::kGroupMaxSizeReached, "the consumer group has reached its maximum of " +
                                                     std::to_string(cfg.max_size) + " members");
  }
  if (!SupportsClassicProtocols(j.protocol_type, j.protocols)) {
    return fail(ErrorCode::kInconsistentGroupProtocol,
                "member " + j.member_id + "'s protocols are not supported");
  }
  // The member: a dynamic one is created when unknown (Kafka lets a classic member in under
  // any id); a static one joining without an id replaces the member of its instance id.
  ConsumerMember member;
  bool known = false;
  if (j.instance_id) {
    auto s = static_members_.find(*j.instance_id);
    if (j.new_member) {
      if (s != static_members_.end()) {
        member = ReplaceStaticMember(s->second, j.member_id);
        known = true;
      }
    } else if (s == static_members_.end()) {
      return fail(ErrorCode::kUnknownMemberId,
                  "instance id " + *j.instance_id + " is unknown in group " + group_id_);
    } else if (s->second != j.member_id) {
      return fail(ErrorCode::kFencedInstanceId, "static member " + j.member_id +
                                                    " with instance id " + *j.instance_id +
                                                    " was fenced by member " + s->second);
    } else {
      member = members_.at(s->second);
      known = true;
    }
  } else if (auto it = members_.find(j.member_id); it != members_.end()) {
    member = it->second;
    known = true;
  }
  if (!known) {
    member.member_id = j.member_id;
    member.member_epoch = 0;
    member.previous_member_epoch = -1;
  }

  ConsumerMember updated = member;
  if (j.instance_id) updated.instance_id = j.instance_id;
  if (j.rack_id) updated.rack_id = j.rack_id;
  updated.rebalance_timeout_ms = j.rebalance_timeout_ms;
  updated.server_assignor.reset();  // a classic member has no say on the server assignor
  std::vector<std::string> names = j.topics;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  updated.subscribed_topic_names = std::move(names);
  updated.client_id = j.client_id;
  updated.client_host = j.client_host;
  updated.classic = ClassicMemberMetadata{j.session_timeout_ms, j.protocols};
  // What the member reports owning: nothing for an eager client (it revoked everything before
  // rejoining), what it kept for a cooperative one.
  ConsumerMember reconciled =
      UpdateAndReconcile(member, known, std::move(updated), topics, cfg, now_ms, j.owned);
  reconciled.revocation_deadline_ms = INT64_MAX;
  reconciled.join_deadline_ms = INT64_MAX;
  reconciled.sync_deadline_ms = now_ms + j.rebalance_timeout_ms;
  reconciled.session_deadline_ms = now_ms + j.session_timeout_ms;
  PutMember(reconciled);
  r.generation_id = reconciled.member_epoch;
  r.protocol_name = j.protocols.front().first;
  return r;
}

ClassicSyncResult ConsumerGroup::ClassicSync(const std::string& member_id,
                                             const std::optional<std::string>& instance_id,
                                             int32_t generation_id,
                                             const std::optional<std::string>& protocol_type,
                                             const std::optional<std::string>& protocol_name,
                                             int64_t now_ms) {
  ClassicSyncResult r;
  auto [m, error] = ClassicMember(member_id, instance_id);
  if (m == nullptr) {
    r.error = error;
    return r;
  }
  if (generation_id != m->member_epoch) {
    r.error = ErrorCode::kIllegalGeneration;
    r.error_message = "generation " + std::to_string(generation_id) + " is not member epoch " +
                      std::to_string(m->member_epoch);
    return r;
  }
  if ((protocol_type && *protocol_type != "consumer") ||
      (protocol_name && *protocol_name != m->classic->protocols.front().first)) {
    r.error = ErrorCode::kInconsistentGroupProtocol;
    return r;
  }
  // A newer epoch: rejoin first, unless the member still has partitions to revoke (it learns
  // them from this response and rejoins after revoking them).
  if (group_epoch_ > m->member_epoch && m->state != ConsumerMemberState::kUnrevokedPartitions) {
    if (m->join_deadline_ms == INT64_MAX) m->join_deadline_ms = now_ms + m->rebalance_timeout_ms;
    r.error = ErrorCode::kRebalanceInProgress;
    return r;
  }
  m->sync_deadline_ms = INT64_MAX;
  m->session_deadline_ms = now_ms + m->classic->session_timeout_ms;
  r.assignment = EncodeConsumerAssignment(
      m->assigned, ConsumerAssignmentVersionFor(m->classic->protocols.front().second));
  return r;
}

ErrorCode ConsumerGroup::ClassicHeartbeat(const std::string& member_id,
                                          const std::optional<std::string>& instance_id,
                                          int32_t generation_id, int64_t now_ms) {
  auto [m, error] = ClassicMember(member_id, instance_id);
  if (m == nullptr) return error;
  if (generation_id != m->member_epoch) return ErrorCode::kIllegalGeneration;
  m->session_deadline_ms = now_ms + m->classic->session_timeout_ms;
  // Kafka's three reasons to rejoin: a newer group epoch to catch up with, partitions to
  // revoke, or partitions it waited for that are free now.
  if (m->member_epoch < group_epoch_ || m->state == ConsumerMemberState::kUnrevokedPartitions ||
      (m->state == ConsumerMemberState::kUnreleasedPartitions &&
       !WaitingOnUnreleasedPartition(*m, now_ms))) {
    if (m->join_deadline_ms == INT64_MAX) m->join_deadline_ms = now_ms + m->rebalance_timeout_ms;
    return ErrorCode::kRebalanceInProgress;
  }
  return ErrorCode::kNone;
}

ErrorCode ConsumerGroup::ClassicLeave(const std::string& member_id,
                                      const std::optional<std::string>& instance_id,
                                      std::string* removed) {
  std::string id = member_id;
  if (instance_id) {
    auto s = static_members_.find(*instance_id);
    if (s == static_members_.end()) return ErrorCode::kUnknownMemberId;
    // LeaveGroup lets an admin remove a static member by instance id alone.
    if (!member_id.empty() && s->second != member_id) return ErrorCode::kFencedInstanceId;
    id = s->second;
  }
  auto it = members_.find(id);
  if (it == members_.end() || !it->second.classic) return ErrorCode::kUnknownMemberId;
  RemoveMember(id);
  *removed = id;
  return ErrorCode::kNone;
}

}  // namespace gregor::group
