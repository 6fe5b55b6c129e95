// KIP-848 consumer groups to records and back (Kafka's GroupCoordinatorRecordHelpers and
// GroupMetadataManager.replay for the ConsumerGroup* record types).
#include "gregor/group/consumer_group_records.h"

#include <glog/logging.h>

#include <algorithm>

namespace gregor::group {

namespace {

using Type = GroupRecordKey::Type;

std::vector<TopicIdPartitions> ToIds(const ConsumerGroup& cg, const TopicPartitions& tps) {
  std::vector<TopicIdPartitions> out;
  for (const auto& [topic, ps] : tps) {
    if (ps.empty()) continue;
    std::optional<TopicUuid> id = cg.TopicIdOf(topic);
    if (!id) {
      // Only a topic the group never saw in a TopicView (deleted before it did): a coordinator
      // loading the record would drop it anyway.
      VLOG(1) << "[ConsumerGroup " << cg.group_id() << "] no id for topic " << topic
              << ": its partitions are left out of the record";
      continue;
    }
    out.push_back({*id, std::vector<int32_t>(ps.begin(), ps.end())});
  }
  return out;
}

TopicPartitions ToNames(const std::vector<TopicIdPartitions>& tps, const TopicView& topics,
                        std::map<std::string, TopicUuid>* ids) {
  TopicPartitions out;
  for (const auto& tp : tps) {
    std::optional<std::string> name = topics.TopicNameOf(tp.topic_id);
    if (!name || tp.partitions.empty()) continue;  // deleted: Kafka drops it too
    (*ids)[*name] = tp.topic_id;
    out[*name].insert(tp.partitions.begin(), tp.partitions.end());
  }
  return out;
}

int8_t StateValue(ConsumerMemberState s) {
  switch (s) {
    case ConsumerMemberState::kStable:
      return 0;
    case ConsumerMemberState::kUnrevokedPartitions:
      return 1;
    case ConsumerMemberState::kUnreleasedPartitions:
      return 2;
  }
  return 0;
}

ConsumerMemberState StateOf(int8_t v) {
  switch (v) {
    case 1:
      return ConsumerMemberState::kUnrevokedPartitions;
    case 2:
      return ConsumerMemberState::kUnreleasedPartitions;
    default:
      // STABLE, or Kafka's UNKNOWN: the next heartbeat reconciles the member anyway.
      return ConsumerMemberState::kStable;
  }
}

}  // namespace

std::vector<GroupRecord> ConsumerGroupDeltaRecords(const ConsumerGroup& cg,
                                                   const ConsumerGroupDelta& delta) {
  std::vector<GroupRecord> out;
  const std::string& group = cg.group_id();
  for (const std::string& id : delta.removed) {
    if (cg.HasMember(id)) continue;  // removed and back under the same id: written below
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupCurrentMemberAssignment, group, id),
                   std::nullopt});
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupTargetAssignmentMember, group, id),
                   std::nullopt});
    out.push_back(
        {EncodeConsumerGroupKey(Type::kConsumerGroupMemberMetadata, group, id), std::nullopt});
  }
  for (const std::string& id : delta.member_metadata) {
    auto it = cg.members().find(id);
    if (it == cg.members().end()) continue;
    const ConsumerMember& m = it->second;
    ConsumerGroupMemberMetadataValue v;
    v.instance_id = m.instance_id;
    v.rack_id = m.rack_id;
    v.client_id = m.client_id;
    v.client_host = m.client_host;
    v.subscribed_topic_names = m.subscribed_topic_names;
    v.subscribed_topic_regex = m.subscribed_topic_regex;
    v.rebalance_timeout_ms = m.rebalance_timeout_ms;
    v.server_assignor = m.server_assignor;
    v.classic = m.classic;
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupMemberMetadata, group, id),
                   EncodeConsumerGroupMemberMetadataValue(v)});
  }
  if (delta.subscription_metadata) {
    ConsumerGroupPartitionMetadataValue v;
    for (const auto& [topic, n] : cg.subscription_metadata()) {
      std::optional<TopicUuid> id = cg.TopicIdOf(topic);
      if (!id) continue;
      v.topics.push_back({*id, topic, n, {}});
    }
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupPartitionMetadata, group),
                   EncodeConsumerGroupPartitionMetadataValue(v)});
  }
  if (delta.group_epoch) {
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupMetadata, group),
                   EncodeConsumerGroupMetadataValue({cg.group_epoch()})});
  }
  for (const std::string& id : delta.target) {
    auto it = cg.target_assignment().find(id);
    if (it == cg.target_assignment().end() || !cg.HasMember(id)) continue;
    ConsumerGroupTargetAssignmentMemberValue v;
    v.topic_partitions = ToIds(cg, it->second);
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupTargetAssignmentMember, group, id),
                   EncodeConsumerGroupTargetAssignmentMemberValue(v)});
  }
  if (delta.assignment_epoch) {
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupTargetAssignmentMetadata, group),
                   EncodeConsumerGroupTargetAssignmentMetadataValue({cg.assignment_epoch()})});
  }
  for (const std::string& id : delta.current_assignment) {
    auto it = cg.members().find(id);
    if (it == cg.members().end()) continue;
    const ConsumerMember& m = it->second;
    ConsumerGroupCurrentMemberAssignmentValue v;
    v.member_epoch = m.member_epoch;
    v.previous_member_epoch = m.previous_member_epoch;
    v.state = StateValue(m.state);
    v.assigned_partitions = ToIds(cg, m.assigned);
    v.partitions_pending_revocation = ToIds(cg, m.pending_revocation);
    out.push_back({EncodeConsumerGroupKey(Type::kConsumerGroupCurrentMemberAssignment, group, id),
                   EncodeConsumerGroupCurrentMemberAssignmentValue(v)});
  }
  return out;
}

std::vector<GroupRecord> ConsumerGroupTombstones(const std::string& group_id,
                                                 const std::set<std::string>& member_ids) {
  std::vector<GroupRecord> out;
  for (const std::string& id : member_ids) {
    for (Type t :
         {Type::kConsumerGroupCurrentMemberAssignment, Type::kConsumerGroupTargetAssignmentMember,
          Type::kConsumerGroupMemberMetadata}) {
      out.push_back({EncodeConsumerGroupKey(t, group_id, id), std::nullopt});
    }
  }
  for (Type t : {Type::kConsumerGroupTargetAssignmentMetadata,
                 Type::kConsumerGroupPartitionMetadata, Type::kConsumerGroupMetadata}) {
    out.push_back({EncodeConsumerGroupKey(t, group_id), std::nullopt});
  }
  return out;
}

bool ConsumerGroupReplay::Apply(const GroupRecordKey& key,
                                const std::optional<std::string_view>& value, int64_t offset) {
  Records& g = groups_[key.group];
  switch (key.type) {
    case Type::kConsumerGroupMetadata: {
      if (!value) {
        g.metadata.reset();
        g.metadata_offset = -1;
        return true;
      }
      ConsumerGroupMetadataValue v;
      if (!DecodeConsumerGroupMetadataValue(*value, &v)) return false;
      g.metadata = v;
      g.metadata_offset = offset;
      return true;
    }
    case Type::kConsumerGroupPartitionMetadata: {
      if (!value) {
        g.partitions.reset();
        return true;
      }
      ConsumerGroupPartitionMetadataValue v;
      if (!DecodeConsumerGroupPartitionMetadataValue(*value, &v)) return false;
      g.partitions = std::move(v);
      return true;
    }
    case Type::kConsumerGroupTargetAssignmentMetadata: {
      if (!value) {
        g.target_metadata.reset();
        return true;
      }
      ConsumerGroupTargetAssignmentMetadataValue v;
      if (!DecodeConsumerGroupTargetAssignmentMetadataValue(*value, &v)) return false;
      g.target_metadata = v;
      return true;
    }
    case Type::kConsumerGroupMemberMetadata: {
      if (!value) {
        g.members.erase(key.member_id);
        return true;
      }
      ConsumerGroupMemberMetadataValue v;
      if (!DecodeConsumerGroupMemberMetadataValue(*value, &v)) return false;
      g.members[key.member_id] = std::move(v);
      return true;
    }
    case Type::kConsumerGroupTargetAssignmentMember: {
      if (!value) {
        g.targets.erase(key.member_id);
        return true;
      }
      ConsumerGroupTargetAssignmentMemberValue v;
      if (!DecodeConsumerGroupTargetAssignmentMemberValue(*value, &v)) return false;
      g.targets[key.member_id] = std::move(v);
      return true;
    }
    case Type::kConsumerGroupCurrentMemberAssignment: {
      if (!value) {
        g.current.erase(key.member_id);
        return true;
      }
      ConsumerGroupCurrentMemberAssignmentValue v;
      if (!DecodeConsumerGroupCurrentMemberAssignmentValue(*value, &v)) return false;
      g.current[key.member_id] = std::move(v);
      return true;
    }
    case Type::kOffsetCommit:
    case Type::kGroupMetadata:
      break;
  }
  return false;
}

std::vector<std::string> ConsumerGroupReplay::GroupIds() const {
  std::vector<std::string> out;
  for (const auto& [id, g] : groups_) {
    if (g.metadata) out.push_back(id);
  }
  return out;
}

int64_t ConsumerGroupReplay::MetadataOffset(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() || !it->second.metadata ? -1 : it->second.metadata_offset;
}

std::optional<ConsumerGroupSnapshot> ConsumerGroupReplay::Snapshot(const std::string& group_id,
                                                                   const TopicView& topics) const {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || !it->second.metadata) return std::nullopt;
  const Records& g = it->second;
  ConsumerGroupSnapshot s;
  s.group_epoch = g.metadata->epoch;
  s.assignment_epoch = g.target_metadata ? g.target_metadata->assignment_epoch : 0;
  if (g.partitions) {
    for (const auto& t : g.partitions->topics) {
      // A topic deleted (or recreated under a new id) since: the next heartbeat sees the
      // metadata change and bumps the epoch.
      std::optional<std::string> name = topics.TopicNameOf(t.topic_id);
      if (!name || *name != t.topic_name) continue;
      s.subscription_metadata[t.topic_name] = {t.topic_id, t.num_partitions};
    }
  }
  for (const auto& [id, v] : g.members) {
    ConsumerMember m;
    m.member_id = id;
    m.instance_id = v.instance_id;
    m.rack_id = v.rack_id;
    m.rebalance_timeout_ms = v.rebalance_timeout_ms;
    m.client_id = v.client_id;
    m.client_host = v.client_host;
    m.subscribed_topic_names = v.subscribed_topic_names;
    std::sort(m.subscribed_topic_names.begin(), m.subscribed_topic_names.end());
    m.subscribed_topic_names.erase(
        std::unique(m.subscribed_topic_names.begin(), m.subscribed_topic_names.end()),
        m.subscribed_topic_names.end());
    m.subscribed_topic_regex = v.subscribed_topic_regex;
    m.server_assignor = v.server_assignor;
    m.classic = v.classic;
    auto cur = g.current.find(id);
    if (cur != g.current.end()) {
      m.member_epoch = cur->second.member_epoch;
      m.previous_member_epoch = cur->second.previous_member_epoch;
      m.state = StateOf(cur->second.state);
      m.assigned = ToNames(cur->second.assigned_partitions, topics, &s.topic_ids);
      m.pending_revocation =
          ToNames(cur->second.partitions_pending_revocation, topics, &s.topic_ids);
    }
    auto target = g.targets.find(id);
    if (target != g.targets.end()) {
      s.target[id] = ToNames(target->second.topic_partitions, topics, &s.topic_ids);
    }
    s.members.push_back(std::move(m));
  }
  return s;
}

}  // namespace gregor::group
