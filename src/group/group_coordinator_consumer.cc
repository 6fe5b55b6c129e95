// GroupCoordinator: the KIP-848 consumer protocol (ConsumerGroupHeartbeat,
// ConsumerGroupDescribe) and how its groups meet the classic APIs.
#include <glog/logging.h>

#include <random>

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
                                                                ErrorCode refusal) {
  if (!g || !g->consumer()) return std::nullopt;
  if (g->consumer()->IsEmpty()) {
    // An empty consumer-protocol group becomes classic again (its offsets kept), as Kafka
    // converts empty groups between the protocols.
    LOG(INFO) << "[GroupCoordinator] empty consumer group " << g->group_id()
              << " converted to a classic group";
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
  std::lock_guard<std::mutex> lock(mu_);
  if (auto e = ValidateGroupStatusLocked(group_id, false)) return fail(*e, "");
  GroupPtr g = GetGroupLocked(group_id);
  const bool joining = hb.member_epoch == kJoinGroupMemberEpoch;
  // A member of a group this coordinator does not hold (its members are not persisted, so a
  // new coordinator after a failover knows none) is told UNKNOWN_MEMBER_ID: it rejoins.
  const std::string unknown = "member " + hb.member_id + " is not a member of group " + group_id;
  if (!g || g->Is(GroupState::kDead)) {
    if (!joining) return fail(ErrorCode::kUnknownMemberId, unknown);
    g = AddGroupLocked(group_id);
  }
  if (!g->consumer()) {
    // A classic group: an empty one converts (its offsets stay); one with members refuses.
    if (!g->Is(GroupState::kEmpty) || g->size() != 0) {
      return fail(ErrorCode::kGroupIdNotFound, "group " + group_id + " is not a consumer group");
    }
    if (!joining) return fail(ErrorCode::kUnknownMemberId, unknown);
    g->MakeConsumerGroup();
    LOG(INFO) << "[GroupCoordinator] group " << group_id << " uses the consumer protocol";
    // The consumer protocol's members are not persisted: right after this broker took over
    // the group's partition, members the previous coordinator knew may still hold partitions
    // until their next heartbeat here (answered UNKNOWN_MEMBER_ID). A group formed in that
    // window hands out partitions only after two heartbeat intervals from the load, so no
    // partition is given to a new member while an old one still consumes it.
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
  return r;
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
