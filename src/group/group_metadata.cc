#include "gregor/group/group_metadata.h"

#include <glog/logging.h>

#include <algorithm>

#include "gregor/protocol/reader.h"

namespace gregor::group {

const char* GroupStateName(GroupState s) {
  switch (s) {
    case GroupState::kEmpty:
      return "Empty";
    case GroupState::kPreparingRebalance:
      return "PreparingRebalance";
    case GroupState::kCompletingRebalance:
      return "CompletingRebalance";
    case GroupState::kStable:
      return "Stable";
    case GroupState::kDead:
      return "Dead";
  }
  return "Unknown";
}

std::optional<GroupState> ParseGroupState(const std::string& name) {
  // ListGroups states filters are matched case-insensitively by Kafka's admin tools; the
  // broker compares the exact names, so do we.
  for (auto s : {GroupState::kEmpty, GroupState::kPreparingRebalance,
                 GroupState::kCompletingRebalance, GroupState::kStable, GroupState::kDead}) {
    if (name == GroupStateName(s)) return s;
  }
  return std::nullopt;
}

bool MemberMetadata::Matches(const ProtocolList& other) const { return protocols == other; }

std::string MemberMetadata::Metadata(const std::string& protocol) const {
  for (const auto& [name, metadata] : protocols) {
    if (name == protocol) return metadata;
  }
  return {};
}

std::string MemberMetadata::Vote(const std::set<std::string>& candidates) const {
  for (const auto& [name, metadata] : protocols) {
    if (candidates.count(name)) return name;
  }
  return {};
}

GroupMetadata::GroupMetadata(std::string group_id, GroupState state, int64_t now_ms)
    : group_id_(std::move(group_id)), state_(state), current_state_timestamp_(now_ms) {}

void GroupMetadata::Add(MemberMetadata member) {
  if (member.group_instance_id) static_members_[*member.group_instance_id] = member.member_id;
  if (members_.empty()) protocol_type_ = member.protocol_type;
  if (!leader_id_) leader_id_ = member.member_id;
  for (const auto& p : member.protocols) ++supported_protocols_[p.first];
  if (member.IsAwaitingJoin()) ++num_awaiting_join_;
  pending_members_.erase(member.member_id);
  std::string id = member.member_id;
  members_[id] = std::move(member);
}

void GroupMetadata::Remove(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it != members_.end()) {
    for (const auto& p : it->second.protocols) --supported_protocols_[p.first];
    if (it->second.IsAwaitingJoin()) --num_awaiting_join_;
    if (it->second.group_instance_id) static_members_.erase(*it->second.group_instance_id);
    members_.erase(it);
  }
  if (IsLeader(member_id)) {
    leader_id_ =
        members_.empty() ? std::nullopt : std::optional<std::string>(members_.begin()->first);
  }
  pending_members_.erase(member_id);
  pending_sync_members_.erase(member_id);
}

void GroupMetadata::UpdateMember(MemberMetadata& member, ProtocolList protocols,
                                 int32_t rebalance_timeout_ms, int32_t session_timeout_ms,
                                 JoinCallback callback) {
  for (const auto& p : member.protocols) --supported_protocols_[p.first];
  member.protocols = std::move(protocols);
  for (const auto& p : member.protocols) ++supported_protocols_[p.first];
  member.rebalance_timeout_ms = rebalance_timeout_ms;
  member.session_timeout_ms = session_timeout_ms;
  if (callback && !member.IsAwaitingJoin()) {
    ++num_awaiting_join_;
  } else if (!callback && member.IsAwaitingJoin()) {
    --num_awaiting_join_;
  }
  member.awaiting_join = std::move(callback);
}

MemberMetadata& GroupMetadata::ReplaceStaticMember(const std::string& instance_id,
                                                   const std::string& old_member_id,
                                                   const std::string& new_member_id,
                                                   Deferred* deferred) {
  auto node = members_.extract(old_member_id);
  MemberMetadata& m = node.mapped();
  // Fence a duplicate client still waiting under the old id.
  InvokeJoinCallback(m, JoinGroupResult::Error(old_member_id, ErrorCode::kFencedInstanceId),
                     deferred);
  InvokeSyncCallback(m, SyncGroupResult::Error(ErrorCode::kFencedInstanceId), deferred);
  m.member_id = new_member_id;
  node.key() = new_member_id;
  auto it = members_.insert(std::move(node)).position;
  if (IsLeader(old_member_id)) leader_id_ = new_member_id;
  static_members_[instance_id] = new_member_id;
  return it->second;
}

std::optional<std::string> GroupMetadata::CurrentStaticMemberId(
    const std::string& instance_id) const {
  auto it = static_members_.find(instance_id);
  if (it == static_members_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> GroupMetadata::NotYetRejoinedMembers() const {
  std::vector<std::string> out;
  for (const auto& [id, m] : members_) {
    if (!m.IsAwaitingJoin()) out.push_back(id);
  }
  return out;
}

int32_t GroupMetadata::RebalanceTimeoutMs() const {
  int32_t t = 0;
  for (const auto& [id, m] : members_) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

bool GroupMetadata::CanRebalance() const {
  return state_ == GroupState::kStable || state_ == GroupState::kCompletingRebalance ||
         state_ == GroupState::kEmpty;
}

bool GroupMetadata::TransitionTo(GroupState s, int64_t now_ms) {
  bool valid = false;
  switch (s) {
    case GroupState::kPreparingRebalance:
      valid = CanRebalance();
      break;
    case GroupState::kCompletingRebalance:
    case GroupState::kEmpty:
      valid = state_ == GroupState::kPreparingRebalance;
      break;
    case GroupState::kStable:
      valid = state_ == GroupState::kCompletingRebalance;
      break;
    case GroupState::kDead:
      valid = true;
      break;
  }
  if (!valid) return false;
  state_ = s;
  current_state_timestamp_ = now_ms;
  return true;
}

std::set<std::string> GroupMetadata::CandidateProtocols() const {
  std::set<std::string> out;
  for (const auto& [name, count] : supported_protocols_) {
    if (count == static_cast<int>(members_.size())) out.insert(name);
  }
  return out;
}

std::string GroupMetadata::SelectProtocol() const {
  auto candidates = CandidateProtocols();
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members_) ++votes[m.Vote(candidates)];
  std::string best;
  int best_votes = -1;
  for (const auto& [name, n] : votes) {
    if (n > best_votes) {
      best = name;
      best_votes = n;
    }
  }
  return best;
}

bool GroupMetadata::SupportsProtocols(const std::string& protocol_type,
                                      const std::set<std::string>& protocols) const {
  if (state_ == GroupState::kEmpty) return !protocol_type.empty() && !protocols.empty();
  if (protocol_type_ != protocol_type) return false;
  for (const auto& p : protocols) {
    auto it = supported_protocols_.find(p);
    if (it != supported_protocols_.end() && it->second == static_cast<int>(members_.size())) {
      return true;
    }
  }
  return false;
}

bool GroupMetadata::MaybeElectNewJoinedLeader() {
  if (!leader_id_) return false;
  auto it = members_.find(*leader_id_);
  if (it != members_.end() && it->second.IsAwaitingJoin()) return true;
  for (const auto& [id, m] : members_) {
    if (m.IsAwaitingJoin()) {
      leader_id_ = id;
      return true;
    }
  }
  return false;
}

void GroupMetadata::InitNextGeneration(int64_t now_ms) {
  ++generation_id_;
  if (!members_.empty()) {
    protocol_name_ = SelectProtocol();
    subscribed_topics_ = ComputeSubscribedTopics();
    TransitionTo(GroupState::kCompletingRebalance, now_ms);
  } else {
    protocol_name_.reset();
    subscribed_topics_ = ComputeSubscribedTopics();
    TransitionTo(GroupState::kEmpty, now_ms);
  }
  pending_sync_members_.clear();
}

std::vector<JoinMember> GroupMetadata::CurrentMemberMetadata() const {
  std::vector<JoinMember> out;
  for (const auto& [id, m] : members_) {
    out.push_back({id, m.group_instance_id, m.Metadata(protocol_name_.value_or(""))});
  }
  return out;
}

std::optional<std::set<std::string>> GroupMetadata::ComputeSubscribedTopics() const {
  if (!IsConsumerGroup()) return std::nullopt;
  if (members_.empty()) return std::set<std::string>{};
  if (!protocol_name_) return std::nullopt;
  std::set<std::string> topics;
  for (const auto& [id, m] : members_) {
    auto parsed = ParseSubscriptionTopics(m.Metadata(*protocol_name_));
    if (!parsed) return std::nullopt;
    topics.insert(parsed->begin(), parsed->end());
  }
  return topics;
}

bool GroupMetadata::InvokeJoinCallback(MemberMetadata& member, JoinGroupResult result,
                                       Deferred* deferred) {
  if (!member.IsAwaitingJoin()) return false;
  deferred->push_back([cb = std::move(member.awaiting_join), r = std::move(result)]() mutable {
    cb(std::move(r));
  });
  member.awaiting_join = nullptr;
  --num_awaiting_join_;
  return true;
}

bool GroupMetadata::InvokeSyncCallback(MemberMetadata& member, SyncGroupResult result,
                                       Deferred* deferred) {
  if (!member.IsAwaitingSync()) return false;
  deferred->push_back([cb = std::move(member.awaiting_sync), r = std::move(result)]() mutable {
    cb(std::move(r));
  });
  member.awaiting_sync = nullptr;
  return true;
}

std::vector<TopicPartition> GroupMetadata::RemoveExpiredOffsets(int64_t now_ms,
                                                                int64_t retention_ms) {
  enum class Base { kStateTimestamp, kCommit };
  Base base;
  const std::set<std::string>* keep_topics = nullptr;
  if (protocol_type_ && state_ == GroupState::kEmpty) {
    // KIP-211: an empty group's offsets expire `retention` after it became empty.
    base = Base::kStateTimestamp;
  } else if (IsConsumerGroup() && subscribed_topics_ && state_ == GroupState::kStable) {
    base = Base::kCommit;
    keep_topics = &*subscribed_topics_;
  } else if (!protocol_type_) {
    base = Base::kCommit;  // standalone consumer: counted from each commit
  } else {
    return {};
  }
  std::vector<TopicPartition> expired;
  for (const auto& [tp, o] : offsets_) {
    if (keep_topics && keep_topics->count(tp.topic)) continue;
    if (pending_offset_commits_.count(tp)) continue;
    bool is_expired;
    if (o.expire_timestamp) {
      is_expired = now_ms >= *o.expire_timestamp;
    } else {
      int64_t from = base == Base::kStateTimestamp && current_state_timestamp_
                         ? *current_state_timestamp_
                         : o.commit_timestamp;
      is_expired = now_ms - from >= retention_ms;
    }
    if (is_expired) expired.push_back(tp);
  }
  for (const auto& tp : expired) {
    offsets_.erase(tp);
    offset_positions_.erase(tp);
  }
  return expired;
}

int64_t GroupMetadata::OffsetBatchPosition(const TopicPartition& tp) const {
  auto it = offset_positions_.find(tp);
  return it == offset_positions_.end() ? -1 : it->second;
}

bool GroupMetadata::PutOffsetIfNewer(const TopicPartition& tp, const OffsetAndMetadata& v,
                                     int64_t batch_offset) {
  // Kafka's olderThan: the record later in the log is the committed one, as a reload would
  // conclude. A position of -1 (unknown) counts as oldest.
  if (offsets_.count(tp) && OffsetBatchPosition(tp) > batch_offset) return false;
  offsets_[tp] = v;
  offset_positions_[tp] = batch_offset;
  return true;
}

bool GroupMetadata::RemoveOffset(const TopicPartition& tp) {
  pending_offset_commits_.erase(tp);
  for (auto it = pending_txn_offsets_.begin(); it != pending_txn_offsets_.end();) {
    it->second.erase(tp);
    it = it->second.empty() ? pending_txn_offsets_.erase(it) : std::next(it);
  }
  offset_positions_.erase(tp);
  return offsets_.erase(tp) != 0;
}

bool GroupMetadata::HasPendingOffsetCommits(const TopicPartition& tp) const {
  if (pending_offset_commits_.count(tp)) return true;
  for (const auto& [pid, offsets] : pending_txn_offsets_) {
    if (offsets.count(tp)) return true;
  }
  return false;
}

void GroupMetadata::PrepareTxnOffsetCommit(int64_t producer_id, const TopicPartition& tp,
                                           const OffsetAndMetadata& v) {
  auto& offsets = pending_txn_offsets_[producer_id];
  auto it = offsets.find(tp);
  PendingTxnOffset staged{v, -1, std::nullopt, -1};
  if (it != offsets.end()) {
    // Kafka overwrites the pending offset here and loses it if this append fails; we keep the
    // last appended one to fall back on.
    if (it->second.batch_offset >= 0) {
      staged.replaced = it->second.offset;
      staged.replaced_batch_offset = it->second.batch_offset;
    } else {
      staged.replaced = it->second.replaced;
      staged.replaced_batch_offset = it->second.replaced_batch_offset;
    }
  }
  offsets[tp] = std::move(staged);
}

void GroupMetadata::OnTxnOffsetCommitAppend(int64_t producer_id, const TopicPartition& tp,
                                            const OffsetAndMetadata& v, int64_t batch_offset) {
  auto p = pending_txn_offsets_.find(producer_id);
  if (p == pending_txn_offsets_.end()) return;  // completed or unloaded meanwhile
  auto it = p->second.find(tp);
  // Only the staged value this append wrote: a later TxnOffsetCommit may have replaced it.
  if (it != p->second.end() && it->second.batch_offset < 0 && it->second.offset == v) {
    it->second.batch_offset = batch_offset;
    it->second.replaced.reset();
  }
}

void GroupMetadata::FailPendingTxnOffsetCommit(int64_t producer_id, const TopicPartition& tp,
                                               const OffsetAndMetadata& v) {
  auto p = pending_txn_offsets_.find(producer_id);
  if (p == pending_txn_offsets_.end()) return;
  auto it = p->second.find(tp);
  if (it == p->second.end() || it->second.batch_offset >= 0 || !(it->second.offset == v)) return;
  if (it->second.replaced) {
    it->second = {*it->second.replaced, it->second.replaced_batch_offset, std::nullopt, -1};
  } else {
    p->second.erase(it);
    if (p->second.empty()) pending_txn_offsets_.erase(p);
  }
}

void GroupMetadata::LoadPendingTxnOffset(int64_t producer_id, const TopicPartition& tp,
                                         const OffsetAndMetadata& v, int64_t batch_offset) {
  pending_txn_offsets_[producer_id][tp] = {v, batch_offset, std::nullopt, -1};
}

size_t GroupMetadata::CompletePendingTxnOffsetCommit(int64_t producer_id, bool commit) {
  auto p = pending_txn_offsets_.find(producer_id);
  if (p == pending_txn_offsets_.end()) return 0;
  PendingTxnOffsets pending = std::move(p->second);
  pending_txn_offsets_.erase(p);
  if (!commit) return 0;
  size_t committed = 0;
  for (const auto& [tp, o] : pending) {
    if (o.batch_offset < 0) {
      // The marker follows the TxnOffsetCommits the producer saw succeed, whose batches are
      // in the log. Kafka raises an illegal state here; we commit what is known to precede
      // the marker (the appended offset this one replaces), never an offset whose place in
      // the log (before or after the marker) is unknown.
      LOG(WARNING) << "[GroupCoordinator] group " << group_id_ << ": producer " << producer_id
                   << " ended its transaction while an offset for " << tp.ToString()
                   << " was still being appended";
      if (o.replaced && PutOffsetIfNewer(tp, *o.replaced, o.replaced_batch_offset)) ++committed;
      continue;
    }
    if (PutOffsetIfNewer(tp, o.offset, o.batch_offset)) ++committed;
  }
  return committed;
}

void GroupMetadata::LoadState(int32_t generation, std::optional<std::string> protocol_type,
                              std::optional<std::string> protocol_name,
                              std::optional<std::string> leader,
                              std::optional<int64_t> current_state_timestamp,
                              std::vector<MemberMetadata> members) {
  generation_id_ = generation;
  protocol_type_ = std::move(protocol_type);
  protocol_name_ = std::move(protocol_name);
  state_ = members.empty() ? GroupState::kEmpty : GroupState::kStable;
  current_state_timestamp_ = current_state_timestamp;
  members_.clear();
  static_members_.clear();
  supported_protocols_.clear();
  num_awaiting_join_ = 0;
  leader_id_.reset();
  for (auto& m : members) Add(std::move(m));
  leader_id_ = std::move(leader);
  if (leader_id_ && !members_.count(*leader_id_)) {
    leader_id_ =
        members_.empty() ? std::nullopt : std::optional<std::string>(members_.begin()->first);
  }
  subscribed_topics_ = ComputeSubscribedTopics();
}

void GroupMetadata::ResetMembership(int32_t generation, std::vector<MemberMetadata> members,
                                    int64_t now_ms) {
  pending_members_.clear();
  pending_sync_members_.clear();
  join_timer_ = JoinTimer{};
  sync_deadline_ms_ = INT64_MAX;
  new_member_added_ = false;
  std::optional<std::string> leader;
  if (!members.empty()) leader = members.front().member_id;
  LoadState(generation, std::string("consumer"), std::nullopt, std::move(leader), now_ms,
            std::move(members));
  if (!members_.empty()) protocol_name_ = SelectProtocol();
  subscribed_topics_ = ComputeSubscribedTopics();
}

std::optional<std::vector<std::string>> ParseSubscriptionTopics(const std::string& metadata) {
  protocol::Reader r(metadata);
  r.Int16();  // version: every version starts with the v0 fields
  int32_t n = r.ArrayLength(false);
  if (!r.ok() || n < 0) return std::nullopt;
  std::vector<std::string> topics;
  for (int32_t i = 0; i < n; ++i) topics.push_back(r.String(false));
  if (!r.ok()) return std::nullopt;
  return topics;
}

}  // namespace gregor::group
