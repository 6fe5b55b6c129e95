#include "gregor/group/consumer_group.h"

#include <re2/re2.h>

#include <algorithm>

namespace gregor::group {

using protocol::ErrorCode;

namespace {

// A regex longer than this is refused: RE2 matches in linear time, but the compiled program
// grows with the pattern and a client chooses it.
constexpr size_t kMaxRegexBytes = 4096;

bool Owns(const std::optional<TopicPartitions>& owned, const TopicPartitions& partitions) {
  // Kafka's ownsRevokedPartitions: an unknown owned set counts as still owning.
  if (!owned) return true;
  for (const auto& [topic, ps] : *owned) {
    auto it = partitions.find(topic);
    if (it == partitions.end()) continue;
    for (int32_t p : ps) {
      if (it->second.count(p) != 0) return true;
    }
  }
  return false;
}

// Kafka's isSubset: every owned partition is in `assigned` (an unknown owned set is not).
bool IsSubset(const std::optional<TopicPartitions>& owned, const TopicPartitions& assigned) {
  if (!owned) return false;
  for (const auto& [topic, ps] : *owned) {
    if (ps.empty()) continue;
    auto it = assigned.find(topic);
    if (it == assigned.end()) return false;
    for (int32_t p : ps) {
      if (it->second.count(p) == 0) return false;
    }
  }
  return true;
}

void DropEmpty(TopicPartitions* tp) {
  for (auto it = tp->begin(); it != tp->end();) {
    it = it->second.empty() ? tp->erase(it) : std::next(it);
  }
}

// The fields of a member its ConsumerGroupMemberMetadata record holds.
bool SameMetadata(const ConsumerMember& a, const ConsumerMember& b) {
  return a.instance_id == b.instance_id && a.rack_id == b.rack_id && a.client_id == b.client_id &&
         a.client_host == b.client_host && a.subscribed_topic_names == b.subscribed_topic_names &&
         a.subscribed_topic_regex == b.subscribed_topic_regex &&
         a.rebalance_timeout_ms == b.rebalance_timeout_ms &&
         a.server_assignor == b.server_assignor && a.classic == b.classic;
}

// The fields of a member its ConsumerGroupCurrentMemberAssignment record holds.
bool SameAssignment(const ConsumerMember& a, const ConsumerMember& b) {
  return a.member_epoch == b.member_epoch && a.previous_member_epoch == b.previous_member_epoch &&
         a.state == b.state && a.assigned == b.assigned &&
         a.pending_revocation == b.pending_revocation;
}

ConsumerHeartbeatResult Failure(ErrorCode e, std::string message) {
  ConsumerHeartbeatResult r;
  r.error = e;
  r.error_message = std::move(message);
  return r;
}

}  // namespace

const char* ConsumerMemberStateName(ConsumerMemberState s) {
  switch (s) {
    case ConsumerMemberState::kStable:
      return "STABLE";
    case ConsumerMemberState::kUnrevokedPartitions:
      return "UNREVOKED_PARTITIONS";
    case ConsumerMemberState::kUnreleasedPartitions:
      return "UNRELEASED_PARTITIONS";
  }
  return "UNKNOWN";
}

const char* ConsumerGroupStateName(bool empty, bool assigning, bool reconciling) {
  if (empty) return "Empty";
  if (assigning) return "Assigning";
  if (reconciling) return "Reconciling";
  return "Stable";
}

const char* ConsumerGroup::StateName() const {
  bool reconciling = false;
  for (const auto& [id, m] : members_) {
    reconciling = reconciling || m.member_epoch != assignment_epoch_ ||
                  m.state != ConsumerMemberState::kStable;
  }
  return ConsumerGroupStateName(members_.empty(), group_epoch_ > assignment_epoch_, reconciling);
}

std::set<std::string> ConsumerGroup::SubscribedTopics() const {
  std::set<std::string> out;
  for (const auto& [id, m] : members_)
    out.insert(m.resolved_topics.begin(), m.resolved_topics.end());
  return out;
}

std::string ConsumerGroup::AssignorName(const ConsumerGroupConfig& cfg) const {
  // Kafka's ConsumerGroup.computePreferredServerAssignor: the most requested, ties to the
  // first in name order; the configured default when nobody asked.
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members_) {
    if (m.server_assignor) ++votes[*m.server_assignor];
  }
  std::string best;
  int best_votes = 0;
  for (const auto& [name, n] : votes) {
    if (n > best_votes) best = name, best_votes = n;
  }
  if (!best.empty()) return best;
  return cfg.assignors.empty() ? std::string("uniform") : cfg.assignors.front();
}

int32_t ConsumerGroup::PartitionEpoch(const std::string& topic, int32_t partition) const {
  auto t = partition_epochs_.find(topic);
  if (t == partition_epochs_.end()) return -1;
  auto p = t->second.find(partition);
  return p == t->second.end() ? -1 : p->second;
}

void ConsumerGroup::RemoveMember(const std::string& member_id_ref) {
  // A copy: the caller's reference may point into the member erased below.
  const std::string member_id = member_id_ref;
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  const ConsumerMember& m = it->second;
  for (const TopicPartitions* tp : {&m.assigned, &m.pending_revocation}) {
    for (const auto& [topic, ps] : *tp) {
      auto t = partition_epochs_.find(topic);
      if (t == partition_epochs_.end()) continue;
      for (int32_t p : ps) t->second.erase(p);
      if (t->second.empty()) partition_epochs_.erase(t);
    }
  }
  if (m.instance_id) {
    auto s = static_members_.find(*m.instance_id);
    if (s != static_members_.end() && s->second == member_id) static_members_.erase(s);
  }
  members_.erase(it);
  target_.erase(member_id);
  delta_.member_metadata.erase(member_id);
  delta_.current_assignment.erase(member_id);
  delta_.target.erase(member_id);
  delta_.removed.insert(member_id);
}

void ConsumerGroup::PutMember(ConsumerMember m) {
  const std::string id = m.member_id;
  // The member's old partitions are released first, then its new ones take its epoch.
  auto old = members_.find(id);
  if (old == members_.end() || !SameMetadata(old->second, m)) delta_.member_metadata.insert(id);
  if (old == members_.end() || !SameAssignment(old->second, m)) {
    delta_.current_assignment.insert(id);
  }
  delta_.removed.erase(id);
  if (old != members_.end()) {
    for (const TopicPartitions* tp : {&old->second.assigned, &old->second.pending_revocation}) {
      for (const auto& [topic, ps] : *tp) {
        auto t = partition_epochs_.find(topic);
        if (t == partition_epochs_.end()) continue;
        for (int32_t p : ps) t->second.erase(p);
        if (t->second.empty()) partition_epochs_.erase(t);
      }
    }
  }
  for (const TopicPartitions* tp : {&m.assigned, &m.pending_revocation}) {
    for (const auto& [topic, ps] : *tp) {
      for (int32_t p : ps) partition_epochs_[topic][p] = m.member_epoch;
    }
  }
  if (m.instance_id) static_members_[*m.instance_id] = id;
  members_[id] = std::move(m);
}

std::set<std::string> ConsumerGroup::Resolve(const ConsumerMember& m,
                                             const TopicView& topics) const {
  std::set<std::string> out;
  for (const std::string& t : m.subscribed_topic_names) {
    if (topics.PartitionCount(t)) out.insert(t);
  }
  if (m.subscribed_topic_regex) {
    RE2 re(*m.subscribed_topic_regex, RE2::Quiet);
    if (re.ok()) {
      for (const std::string& t : topics.TopicNames()) {
        if (RE2::FullMatch(t, re)) out.insert(t);
      }
    }
  }
  return out;
}

bool ConsumerGroup::RefreshSubscriptionMetadata(const TopicView& topics) {
  std::map<std::string, int32_t> metadata;
  bool ids_changed = false;
  for (const auto& [id, m] : members_) {
    for (const std::string& t : m.resolved_topics) {
      if (metadata.count(t)) continue;
      if (std::optional<int32_t> n = topics.PartitionCount(t)) {
        metadata[t] = *n;
        // The records name topics by id: a topic recreated under its name is a new topic.
        std::optional<TopicUuid> topic_id = topics.TopicIdOf(t);
        auto known = topic_ids_.find(t);
        if (topic_id && (known == topic_ids_.end() || known->second != *topic_id)) {
          topic_ids_[t] = *topic_id;
          ids_changed = true;
        }
      }
    }
  }
  // Ids are kept while something still names the topic (an assignment being revoked).
  for (auto it = topic_ids_.begin(); it != topic_ids_.end();) {
    bool named = metadata.count(it->first) || partition_epochs_.count(it->first);
    for (auto t = target_.begin(); !named && t != target_.end(); ++t) {
      named = t->second.count(it->first) != 0;
    }
    it = named ? std::next(it) : topic_ids_.erase(it);
  }
  if (metadata == subscription_metadata_ && !ids_changed) return false;
  subscription_metadata_ = std::move(metadata);
  delta_.subscription_metadata = true;
  return true;
}

std::optional<TopicUuid> ConsumerGroup::TopicIdOf(const std::string& topic) const {
  auto it = topic_ids_.find(topic);
  if (it == topic_ids_.end()) return std::nullopt;
  return it->second;
}

ConsumerGroupDelta ConsumerGroup::TakeDelta() {
  ConsumerGroupDelta out = std::move(delta_);
  delta_ = ConsumerGroupDelta{};
  return out;
}

void ConsumerGroup::Restore(ConsumerGroupSnapshot snapshot, const TopicView& topics,
                            const ConsumerGroupConfig& cfg, int64_t now_ms) {
  members_.clear();
  static_members_.clear();
  partition_epochs_.clear();
  subscription_metadata_.clear();
  topic_ids_ = std::move(snapshot.topic_ids);
  group_epoch_ = snapshot.group_epoch;
  assignment_epoch_ = snapshot.assignment_epoch;
  for (auto& [name, meta] : snapshot.subscription_metadata) {
    subscription_metadata_[name] = meta.second;
    topic_ids_[name] = meta.first;
  }
  for (ConsumerMember& m : snapshot.members) {
    m.resolved_topics = Resolve(m, topics);
    // The deadlines restart with the new coordinator: the member had no way to heartbeat
    // while the group was being moved.
    m.session_deadline_ms =
        now_ms + (m.classic ? m.classic->session_timeout_ms : cfg.session_timeout_ms);
    m.revocation_deadline_ms = INT64_MAX;
    if (m.state == ConsumerMemberState::kUnrevokedPartitions && !m.classic) {
      m.revocation_deadline_ms =
          now_ms + (m.rebalance_timeout_ms > 0 ? m.rebalance_timeout_ms : cfg.session_timeout_ms);
    }
    m.join_deadline_ms = INT64_MAX;
    m.sync_deadline_ms = INT64_MAX;
    PutMember(std::move(m));
  }
  target_ = std::move(snapshot.target);
  for (auto& [id, tp] : target_) DropEmpty(&tp);
  hold_until_ms_ = 0;
  delta_ = ConsumerGroupDelta{};
}

void ConsumerGroup::ComputeTargetAssignment(const ConsumerGroupConfig& cfg) {
  const ConsumerAssignor* assignor = FindConsumerAssignor(AssignorName(cfg));
  if (assignor == nullptr) assignor = FindConsumerAssignor("uniform");
  AssignorInput in;
  in.topic_partitions = subscription_metadata_;
  for (const auto& [id, m] : members_) {
    AssignorMember am;
    am.member_id = id;
    am.instance_id = m.instance_id;
    am.rack_id = m.rack_id;
    am.subscribed_topics = m.resolved_topics;
    auto cur = target_.find(id);
    if (cur != target_.end()) am.current = cur->second;
    in.members.push_back(std::move(am));
  }
  TargetAssignment next = assignor->Assign(in);
  for (auto& [id, tp] : next) {
    DropEmpty(&tp);
    auto cur = target_.find(id);
    if (cur == target_.end() || cur->second != tp) delta_.target.insert(id);
  }
  target_ = std::move(next);
  assignment_epoch_ = group_epoch_;
  delta_.assignment_epoch = true;
}

ConsumerMember ConsumerGroup::NextAssignment(const ConsumerMember& m, int32_t member_epoch,
                                             const std::optional<TopicPartitions>& owned,
                                             bool hold) const {
  static const TopicPartitions kNone;
  auto t = target_.find(m.member_id);
  const TopicPartitions& target = t == target_.end() ? kNone : t->second;

  TopicPartitions assigned, revoke, to_assign;
  bool unreleased = false;
  std::set<std::string> topics;
  for (const auto& [topic, ps] : target) topics.insert(topic);
  for (const auto& [topic, ps] : m.assigned) topics.insert(topic);
  for (const std::string& topic : topics) {
    auto ti = target.find(topic);
    auto ci = m.assigned.find(topic);
    const std::set<int32_t> empty;
    const std::set<int32_t>& want = ti == target.end() ? empty : ti->second;
    const std::set<int32_t>& have = ci == m.assigned.end() ? empty : ci->second;
    for (int32_t p : have) (want.count(p) ? assigned : revoke)[topic].insert(p);
    for (int32_t p : want) {
      if (have.count(p)) continue;
      if (hold || PartitionEpoch(topic, p) != -1) {
        unreleased = true;  // another member still owns it
      } else {
        to_assign[topic].insert(p);
      }
    }
  }

  ConsumerMember next = m;
  if (!revoke.empty() && Owns(owned, revoke)) {
    next.state = ConsumerMemberState::kUnrevokedPartitions;
    if (member_epoch != next.member_epoch) {
      next.previous_member_epoch = next.member_epoch;
      next.member_epoch = member_epoch;
    }
    next.assigned = std::move(assigned);
    next.pending_revocation = std::move(revoke);
    return next;
  }
  for (auto& [topic, ps] : to_assign) assigned[topic].insert(ps.begin(), ps.end());
  next.state =
      unreleased ? ConsumerMemberState::kUnreleasedPartitions : ConsumerMemberState::kStable;
  if (assignment_epoch_ != next.member_epoch) {
    next.previous_member_epoch = next.member_epoch;
    next.member_epoch = assignment_epoch_;
  }
  next.assigned = std::move(assigned);
  next.pending_revocation.clear();
  return next;
}

ConsumerMember ConsumerGroup::Reconcile(const ConsumerMember& m,
                                        const std::optional<TopicPartitions>& owned,
                                        bool hold) const {
  switch (m.state) {
    case ConsumerMemberState::kStable:
      if (m.member_epoch == assignment_epoch_) return m;
      return NextAssignment(m, m.member_epoch, owned, hold);
    case ConsumerMemberState::kUnrevokedPartitions:
      if (Owns(owned, m.pending_revocation)) return m;
      return NextAssignment(m, m.member_epoch + 1, owned, hold);
    case ConsumerMemberState::kUnreleasedPartitions:
      return NextAssignment(m, m.member_epoch, owned, hold);
  }
  return m;
}

ConsumerMember ConsumerGroup::ReplaceStaticMember(const std::string& old_id,
                                                  const std::string& new_id) {
  ConsumerMember replaced = members_.at(old_id);
  auto target = target_.find(old_id);
  TopicPartitions old_target;
  if (target != target_.end()) old_target = target->second;
  RemoveMember(old_id);
  replaced.member_id = new_id;
  replaced.member_epoch = 0;
  replaced.previous_member_epoch = 0;
  PutMember(replaced);
  target_[new_id] = std::move(old_target);
  delta_.target.insert(new_id);
  return replaced;
}

ConsumerMember ConsumerGroup::UpdateAndReconcile(const ConsumerMember& before, bool known,
                                                 ConsumerMember updated, const TopicView& topics,
                                                 const ConsumerGroupConfig& cfg, int64_t now_ms,
                                                 const std::optional<TopicPartitions>& owned) {
  const std::string member_id = updated.member_id;
  updated.resolved_topics = Resolve(updated, topics);
  bool bump = !known || updated.resolved_topics != before.resolved_topics ||
              updated.subscribed_topic_names != before.subscribed_topic_names ||
              updated.subscribed_topic_regex != before.subscribed_topic_regex ||
              updated.server_assignor != before.server_assignor ||
              updated.rack_id != before.rack_id;
  PutMember(std::move(updated));
  if (RefreshSubscriptionMetadata(topics)) bump = true;
  if (bump) BumpGroupEpoch();

  // 2. A new target assignment for a new group epoch.
  if (group_epoch_ > assignment_epoch_) ComputeTargetAssignment(cfg);

  // 3. The member moves towards its target.
  return Reconcile(members_.at(member_id), owned, now_ms < hold_until_ms_);
}

ConsumerHeartbeatResult ConsumerGroup::Heartbeat(const ConsumerHeartbeat& hb,
                                                 const TopicView& topics,
                                                 const ConsumerGroupConfig& cfg, int64_t now_ms,
                                                 const std::string& new_member_id) {
  const bool joining = hb.member_epoch == kJoinGroupMemberEpoch;
  std::string member_id = hb.member_id.empty() ? new_member_id : hb.member_id;

  // The member: existing, replacing a static one, or new (joining only).
  ConsumerMember member;
  bool known = false;
  bool replaced_static = false;
  if (hb.instance_id) {
    auto s = static_members_.find(*hb.instance_id);
    const ConsumerMember* existing = s == static_members_.end() ? nullptr : &members_.at(s->second);
    if (joining) {
      if (existing != nullptr && existing->member_id != member_id) {
        // A classic static member is replaced at once (Kafka 4.0); one of the consumer
        // protocol only after it left with epoch -2.
        if (!existing->classic && existing->member_epoch != kLeaveGroupStaticMemberEpoch) {
          return Failure(ErrorCode::kUnreleasedInstanceId,
                         "static member " + member_id + " with instance id " + *hb.instance_id +
                             " cannot join: the instance id is owned by member " +
                             existing->member_id);
        }
        member = ReplaceStaticMember(existing->member_id, member_id);
        known = true;
        replaced_static = true;
      } else if (existing != nullptr) {
        member = *existing;
        known = true;
      }
    } else {
      if (existing == nullptr) {
        return Failure(ErrorCode::kUnknownMemberId,
                       "instance id " + *hb.instance_id + " is unknown in group " + group_id_);
      }
      if (existing->member_id != member_id) {
        return Failure(ErrorCode::kFencedInstanceId,
                       "static member " + member_id + " with instance id " + *hb.instance_id +
                           " was fenced by member " + existing->member_id);
      }
      member = *existing;
      known = true;
    }
  } else {
    auto it = members_.find(member_id);
    if (it != members_.end()) {
      member = it->second;
      known = true;
    } else if (!joining) {
      return Failure(ErrorCode::kUnknownMemberId,
                     "member " + member_id + " is not a member of group " + group_id_);
    }
  }
  if (!known) {
    if (static_cast<int64_t>(members_.size()) >= cfg.max_size) {
      return Failure(ErrorCode::kGroupMaxSizeReached,
                     "the consumer group has reached its maximum of " +
                         std::to_string(cfg.max_size) + " members");
    }
    member.member_id = member_id;
    member.member_epoch = 0;
    member.previous_member_epoch = -1;
  } else if (joining && !replaced_static) {
    // A member rejoining (after FENCED_MEMBER_EPOCH, say) owns nothing, as its request says:
    // it starts again from epoch 0 under the same id.
    if (member.member_epoch != 0) {
      member.previous_member_epoch = member.member_epoch;
      member.member_epoch = 0;
    }
    member.assigned.clear();
    member.pending_revocation.clear();
    member.state = ConsumerMemberState::kStable;
  } else if (hb.member_epoch > member.member_epoch) {
    return Failure(ErrorCode::kFencedMemberEpoch,
                   "member epoch " + std::to_string(hb.member_epoch) + " is newer than the " +
                       std::to_string(member.member_epoch) +
                       " the coordinator knows; the member must abandon its partitions and rejoin");
  } else if (hb.member_epoch < member.member_epoch &&
             (hb.member_epoch != member.previous_member_epoch ||
              !IsSubset(hb.owned, member.assigned))) {
    // The response that bumped the epoch may have been lost: the previous epoch is still
    // accepted from a member that owns no more than its assignment (Kafka's rule).
    return Failure(ErrorCode::kFencedMemberEpoch,
                   "member epoch " + std::to_string(hb.member_epoch) + " is older than the " +
                       std::to_string(member.member_epoch) +
                       " the coordinator knows; the member must abandon its partitions and rejoin");
  }

  // 1. The member's subscription; a change bumps the group epoch.
  ConsumerMember updated = member;
  if (hb.instance_id) updated.instance_id = hb.instance_id;
  if (hb.rack_id) updated.rack_id = hb.rack_id;
  if (hb.rebalance_timeout_ms != -1) updated.rebalance_timeout_ms = hb.rebalance_timeout_ms;
  if (hb.server_assignor) updated.server_assignor = hb.server_assignor;
  if (hb.subscribed_topic_names) {
    std::vector<std::string> names = *hb.subscribed_topic_names;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    updated.subscribed_topic_names = std::move(names);
  }
  if (hb.subscribed_topic_regex) {
    updated.subscribed_topic_regex =
        hb.subscribed_topic_regex->empty() ? std::nullopt : hb.subscribed_topic_regex;
  }
  updated.client_id = hb.client_id;
  updated.client_host = hb.client_host;
  // A member that used the classic protocol and now heartbeats has switched protocols.
  updated.classic.reset();
  updated.join_deadline_ms = INT64_MAX;
  updated.sync_deadline_ms = INT64_MAX;
  const bool hold = now_ms < hold_until_ms_;
  ConsumerMember reconciled =
      UpdateAndReconcile(member, known, std::move(updated), topics, cfg, now_ms, hb.owned);
  const bool changed_assignment =
      reconciled.assigned != member.assigned || reconciled.member_epoch != member.member_epoch;
  if (reconciled.state == ConsumerMemberState::kUnrevokedPartitions) {
    if (member.state != ConsumerMemberState::kUnrevokedPartitions ||
        reconciled.member_epoch != member.member_epoch ||
        reconciled.revocation_deadline_ms == INT64_MAX) {
      const int32_t timeout = reconciled.rebalance_timeout_ms > 0 ? reconciled.rebalance_timeout_ms
                                                                  : cfg.session_timeout_ms;
      reconciled.revocation_deadline_ms = now_ms + timeout;
    }
  } else {
    reconciled.revocation_deadline_ms = INT64_MAX;
  }
  reconciled.session_deadline_ms = now_ms + cfg.session_timeout_ms;
  PutMember(reconciled);

  ConsumerHeartbeatResult r;
  r.member_id = member_id;
  r.member_epoch = reconciled.member_epoch;
  r.heartbeat_interval_ms = cfg.heartbeat_interval_ms;
  if (hold) {
    // Come back when the hold ends rather than a whole interval later.
    r.heartbeat_interval_ms = static_cast<int32_t>(
        std::clamp<int64_t>(hold_until_ms_ - now_ms + 50, 100, cfg.heartbeat_interval_ms));
  }
  // Kafka sends the assignment on a full request (join, or after an error: every non-null
  // field set) or when it changed.
  const bool full = joining || (hb.rebalance_timeout_ms != -1 && hb.subscribed_topic_names &&
                                hb.owned.has_value());
  if (full || changed_assignment) r.assignment = reconciled.assigned;
  return r;
}

ConsumerHeartbeatResult ConsumerGroup::Leave(const ConsumerHeartbeat& hb,
                                             const ConsumerGroupConfig& cfg, int64_t now_ms) {
  std::string member_id = hb.member_id;
  if (hb.instance_id) {
    auto s = static_members_.find(*hb.instance_id);
    if (s == static_members_.end()) {
      return Failure(ErrorCode::kUnknownMemberId,
                     "instance id " + *hb.instance_id + " is unknown in group " + group_id_);
    }
    if (s->second != member_id) {
      return Failure(ErrorCode::kFencedInstanceId, "static member " + member_id +
                                                       " with instance id " + *hb.instance_id +
                                                       " was fenced by member " + s->second);
    }
  }
  auto it = members_.find(member_id);
  if (it == members_.end()) {
    return Failure(ErrorCode::kUnknownMemberId,
                   "member " + member_id + " is not a member of group " + group_id_);
  }
  ConsumerHeartbeatResult r;
  r.member_id = member_id;
  r.member_epoch = hb.member_epoch;
  r.heartbeat_interval_ms = 0;
  if (hb.member_epoch == kLeaveGroupStaticMemberEpoch) {
    // A static member leaving for now keeps its assignment (and the partitions stay its own)
    // until its session times out or it comes back under its instance id.
    ConsumerMember m = it->second;
    m.member_epoch = kLeaveGroupStaticMemberEpoch;
    m.session_deadline_ms = now_ms + cfg.session_timeout_ms;
    m.revocation_deadline_ms = INT64_MAX;
    PutMember(m);
    return r;
  }
  RemoveMember(member_id);
  BumpGroupEpoch();
  return r;
}

std::vector<std::string> ConsumerGroup::DueMembers(int64_t now_ms) const {
  std::vector<std::string> due;
  for (const auto& [id, m] : members_) {
    if (m.session_deadline_ms <= now_ms || m.revocation_deadline_ms <= now_ms ||
        m.join_deadline_ms <= now_ms || m.sync_deadline_ms <= now_ms) {
      due.push_back(id);
    }
  }
  return due;
}

void ConsumerGroup::FenceMember(const std::string& member_id) {
  if (!HasMember(member_id)) return;
  RemoveMember(member_id);
  BumpGroupEpoch();
}

std::vector<std::string> ConsumerGroup::ExpireMembers(int64_t now_ms) {
  std::vector<std::string> expired = DueMembers(now_ms);
  for (const std::string& id : expired) RemoveMember(id);
  if (!expired.empty()) BumpGroupEpoch();
  return expired;
}

std::optional<ErrorCode> ConsumerGroup::ValidateOffsetCommit(const std::string& member_id,
                                                             int32_t member_epoch,
                                                             bool transactional,
                                                             int16_t api_version) const {
  if (member_epoch < 0 && members_.empty()) return std::nullopt;
  auto it = members_.find(member_id);
  if (it == members_.end()) return ErrorCode::kUnknownMemberId;
  // A classic member commits with its generation (the member epoch) and any version.
  const bool classic = it->second.classic.has_value();
  if (!transactional && !classic && api_version < 9) return ErrorCode::kUnsupportedVersion;
  if (member_epoch != it->second.member_epoch) {
    return classic ? ErrorCode::kIllegalGeneration : ErrorCode::kStaleMemberEpoch;
  }
  return std::nullopt;
}

std::optional<ErrorCode> ConsumerGroup::ValidateOffsetFetch(
    const std::optional<std::string>& member_id, int32_t member_epoch) const {
  if (!member_id && member_epoch < 0) return std::nullopt;
  auto it = member_id ? members_.find(*member_id) : members_.end();
  if (it == members_.end()) return ErrorCode::kUnknownMemberId;
  if (member_epoch != it->second.member_epoch) return ErrorCode::kStaleMemberEpoch;
  return std::nullopt;
}

std::optional<std::pair<ErrorCode, std::string>> ValidateConsumerHeartbeat(
    const std::string& group_id, const ConsumerHeartbeat& hb, const ConsumerGroupConfig& cfg) {
  auto invalid = [](std::string m) {
    return std::make_optional(std::make_pair(ErrorCode::kInvalidRequest, std::move(m)));
  };
  if (group_id.empty()) return invalid("GroupId can't be empty.");
  if (hb.instance_id && hb.instance_id->empty()) return invalid("InstanceId can't be empty.");
  if (hb.rack_id && hb.rack_id->empty()) return invalid("RackId can't be empty.");
  if (hb.member_epoch > 0 || hb.member_epoch == kLeaveGroupMemberEpoch) {
    if (hb.member_id.empty()) return invalid("MemberId can't be empty.");
  } else if (hb.member_epoch == kJoinGroupMemberEpoch) {
    if (hb.rebalance_timeout_ms == -1) {
      return invalid("RebalanceTimeoutMs must be provided in first request.");
    }
    if (!hb.owned || !hb.owned->empty()) {
      return invalid("TopicPartitions must be empty when (re-)joining.");
    }
    const bool names = hb.subscribed_topic_names && !hb.subscribed_topic_names->empty();
    const bool regex = hb.subscribed_topic_regex && !hb.subscribed_topic_regex->empty();
    if (!names && !regex) {
      return invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.");
    }
  } else if (hb.member_epoch == kLeaveGroupStaticMemberEpoch) {
    if (hb.member_id.empty()) return invalid("MemberId can't be empty.");
    if (!hb.instance_id) return invalid("InstanceId can't be null.");
  } else {
    return invalid("MemberEpoch is invalid.");
  }
  if (hb.server_assignor && (std::find(cfg.assignors.begin(), cfg.assignors.end(),
                                       *hb.server_assignor) == cfg.assignors.end() ||
                             FindConsumerAssignor(*hb.server_assignor) == nullptr)) {
    std::string names;
    for (const std::string& a : cfg.assignors) names += (names.empty() ? "" : ", ") + a;
    return std::make_pair(ErrorCode::kUnsupportedAssignor,
                          "ServerAssignor " + *hb.server_assignor +
                              " is not supported. Supported assignors: " + names + ".");
  }
  if (hb.subscribed_topic_regex && !hb.subscribed_topic_regex->empty()) {
    if (hb.subscribed_topic_regex->size() > kMaxRegexBytes) {
      return std::make_pair(
          ErrorCode::kInvalidRegularExpression,
          "SubscribedTopicRegex is longer than " + std::to_string(kMaxRegexBytes) + " bytes.");
    }
    RE2 re(*hb.subscribed_topic_regex, RE2::Quiet);
    if (!re.ok()) {
      return std::make_pair(ErrorCode::kInvalidRegularExpression,
                            "SubscribedTopicRegex " + *hb.subscribed_topic_regex +
                                " is not a valid regular expression: " + re.error());
    }
  }
  return std::nullopt;
}

}  // namespace gregor::group
