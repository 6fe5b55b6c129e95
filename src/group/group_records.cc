// Layouts from Kafka 3.7's group-coordinator message schemas (facts, not code):
// OffsetCommitValue: offset i64, leaderEpoch i32 (v3+), metadata string, commitTimestamp i64,
// expireTimestamp i64 (v1 only); v4 flexible. GroupMetadataValue: protocolType string,
// generation i32, protocol string?, leader string?, currentStateTimestamp i64 (v2+), members
// [memberId, groupInstanceId? (v3+), clientId, clientHost, rebalanceTimeout i32 (v1+),
// sessionTimeout i32, subscription bytes, assignment bytes]; v4 flexible.
// The KIP-848 records (Kafka's group-coordinator ConsumerGroup*Key/Value schemas): keys are
// non-flexible {group string[, member string]} after their int16 version (3..8); values are
// version 0, flexible: compact strings and arrays (uvarint length + 1), uuid as 16 raw bytes,
// and a tagged-field section after each struct. ConsumerGroupMemberMetadataValue carries its
// ClassicMemberMetadata as tagged field 0, a nullable struct: uvarint size, uvarint 1 (not
// null), then {sessionTimeoutMs i32, supportedProtocols [name string, metadata bytes, tags],
// tags}.
#include "gregor/group/group_records.h"

#include "gregor/protocol/reader.h"
#include "gregor/protocol/record_batch.h"
#include "gregor/protocol/writer.h"

namespace gregor::group {

namespace {

constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;

}  // namespace

std::string EncodeOffsetCommitKey(const std::string& group, const std::string& topic,
                                  int32_t partition) {
  protocol::Writer w;
  w.Int16(kOffsetKeyVersion);
  w.String(group, false);
  w.String(topic, false);
  w.Int32(partition);
  return w.Flatten();
}

std::string EncodeGroupMetadataKey(const std::string& group) {
  protocol::Writer w;
  w.Int16(kGroupKeyVersion);
  w.String(group, false);
  return w.Flatten();
}

bool DecodeGroupRecordKey(std::string_view bytes, GroupRecordKey* out) {
  protocol::Reader r(bytes);
  int16_t version = r.Int16();
  if (!r.ok()) return false;
  out->version = version;
  out->member_id.clear();
  if (version == 0 || version == 1) {
    out->type = GroupRecordKey::Type::kOffsetCommit;
    out->group = r.String(false);
    out->topic = r.String(false);
    out->partition = r.Int32();
  } else if (version == 2) {
    out->type = GroupRecordKey::Type::kGroupMetadata;
    out->group = r.String(false);
    out->topic.clear();
    out->partition = -1;
  } else if (version >= 3 && version <= 8) {
    out->type = static_cast<GroupRecordKey::Type>(version);
    out->group = r.String(false);
    out->topic.clear();
    out->partition = -1;
    if (version == 5 || version == 7 || version == 8) out->member_id = r.String(false);
  } else {
    return false;
  }
  return r.ok();
}

std::string EncodeConsumerGroupKey(GroupRecordKey::Type type, const std::string& group,
                                   const std::string& member_id) {
  const auto version = static_cast<int16_t>(type);
  protocol::Writer w;
  w.Int16(version);
  w.String(group, false);
  if (version == 5 || version == 7 || version == 8) w.String(member_id, false);
  return w.Flatten();
}

std::string EncodeOffsetCommitValue(const OffsetAndMetadata& v) {
  protocol::Writer w;
  if (v.expire_timestamp) {
    // Only v1 carries an explicit expiry (OffsetCommit v1 with a retention time).
    w.Int16(1);
    w.Int64(v.offset);
    w.String(v.metadata, false);
    w.Int64(v.commit_timestamp);
    w.Int64(*v.expire_timestamp);
  } else {
    w.Int16(3);
    w.Int64(v.offset);
    w.Int32(v.leader_epoch);
    w.String(v.metadata, false);
    w.Int64(v.commit_timestamp);
  }
  return w.Flatten();
}

bool DecodeOffsetCommitValue(std::string_view bytes, OffsetAndMetadata* out) {
  protocol::Reader r(bytes);
  int16_t version = r.Int16();
  if (!r.ok() || version < 0 || version > 4) return false;
  const bool flexible = version >= 4;
  *out = OffsetAndMetadata{};
  out->offset = r.Int64();
  if (version >= 3) out->leader_epoch = r.Int32();
  out->metadata = r.String(flexible);
  out->commit_timestamp = r.Int64();
  if (version == 1) out->expire_timestamp = r.Int64();
  if (flexible) r.SkipTaggedFields();
  return r.ok();
}

std::string EncodeGroupMetadataValue(const GroupMetadataValue& v, int16_t version) {
  const bool flexible = version >= 4;
  protocol::Writer w;
  w.Int16(version);
  w.String(v.protocol_type, flexible);
  w.Int32(v.generation);
  w.NullableString(v.protocol, flexible);
  w.NullableString(v.leader, flexible);
  if (version >= 2) w.Int64(v.current_state_timestamp);
  w.ArrayLength(static_cast<int32_t>(v.members.size()), flexible);
  for (const auto& m : v.members) {
    w.String(m.member_id, flexible);
    if (version >= 3) w.NullableString(m.group_instance_id, flexible);
    w.String(m.client_id, flexible);
    w.String(m.client_host, flexible);
    if (version >= 1) w.Int32(m.rebalance_timeout_ms);
    w.Int32(m.session_timeout_ms);
    w.Bytes(m.subscription, flexible);
    w.Bytes(m.assignment, flexible);
    if (flexible) w.EmptyTaggedFields();
  }
  if (flexible) w.EmptyTaggedFields();
  return w.Flatten();
}

bool DecodeGroupMetadataValue(std::string_view bytes, GroupMetadataValue* out) {
  protocol::Reader r(bytes);
  int16_t version = r.Int16();
  if (!r.ok() || version < 0 || version > 4) return false;
  const bool flexible = version >= 4;
  *out = GroupMetadataValue{};
  out->protocol_type = r.String(flexible);
  out->generation = r.Int32();
  out->protocol = r.NullableString(flexible);
  out->leader = r.NullableString(flexible);
  if (version >= 2) out->current_state_timestamp = r.Int64();
  int32_t n = r.ArrayLength(flexible);
  if (!r.ok() || n < 0) return false;
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    MemberValue m;
    m.member_id = r.String(flexible);
    if (version >= 3) m.group_instance_id = r.NullableString(flexible);
    m.client_id = r.String(flexible);
    m.client_host = r.String(flexible);
    if (version >= 1) m.rebalance_timeout_ms = r.Int32();
    m.session_timeout_ms = r.Int32();
    m.subscription = std::string(r.BytesView(flexible));
    m.assignment = std::string(r.BytesView(flexible));
    if (flexible) r.SkipTaggedFields();
    out->members.push_back(std::move(m));
  }
  if (flexible) r.SkipTaggedFields();
  return r.ok();
}

// ---------------------------------------------------------------------------------------------
// KIP-848 consumer group values

namespace {

constexpr int16_t kConsumerValueVersion = 0;

// Reads the value version (only 0 is known) of a KIP-848 value.
bool ConsumerValueHeader(protocol::Reader& r) {
  const int16_t version = r.Int16();
  return r.ok() && version == kConsumerValueVersion;
}

void WriteTopicIdPartitions(protocol::Writer& w, const std::vector<TopicIdPartitions>& tps) {
  w.ArrayLength(static_cast<int32_t>(tps.size()), true);
  for (const auto& tp : tps) {
    w.Uuid(tp.topic_id);
    w.ArrayLength(static_cast<int32_t>(tp.partitions.size()), true);
    for (int32_t p : tp.partitions) w.Int32(p);
    w.EmptyTaggedFields();
  }
}

bool ReadTopicIdPartitions(protocol::Reader& r, std::vector<TopicIdPartitions>* out) {
  const int32_t n = r.ArrayLength(true);
  if (!r.ok() || n < 0) return false;
  out->clear();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    TopicIdPartitions tp;
    tp.topic_id = r.Uuid();
    const int32_t np = r.ArrayLength(true);
    if (!r.ok() || np < 0) return false;
    for (int32_t j = 0; j < np && r.ok(); ++j) tp.partitions.push_back(r.Int32());
    r.SkipTaggedFields();
    out->push_back(std::move(tp));
  }
  return r.ok();
}

std::vector<std::string> ReadCompactStrings(protocol::Reader& r) {
  std::vector<std::string> out;
  const int32_t n = r.ArrayLength(true);
  if (n < 0) {
    r.Fail();
    return out;
  }
  for (int32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.String(true));
  return out;
}

void WriteCompactStrings(protocol::Writer& w, const std::vector<std::string>& v) {
  w.ArrayLength(static_cast<int32_t>(v.size()), true);
  for (const auto& s : v) w.String(s, true);
}

std::string EncodeInt32Value(int32_t v) {
  protocol::Writer w;
  w.Int16(kConsumerValueVersion);
  w.Int32(v);
  w.EmptyTaggedFields();
  return w.Flatten();
}

bool DecodeInt32Value(std::string_view bytes, int32_t* out) {
  protocol::Reader r(bytes);
  if (!ConsumerValueHeader(r)) return false;
  const int32_t v = r.Int32();
  r.SkipTaggedFields();
  if (!r.ok()) return false;
  *out = v;
  return true;
}

// ClassicMemberMetadata's struct body (without the nullable marker).
std::string EncodeClassicMemberMetadata(const ClassicMemberMetadata& c) {
  protocol::Writer w;
  w.Int32(c.session_timeout_ms);
  w.ArrayLength(static_cast<int32_t>(c.protocols.size()), true);
  for (const auto& [name, metadata] : c.protocols) {
    w.String(name, true);
    w.Bytes(metadata, true);
    w.EmptyTaggedFields();
  }
  w.EmptyTaggedFields();
  return w.Flatten();
}

bool DecodeClassicMemberMetadata(std::string_view bytes, ClassicMemberMetadata* out) {
  protocol::Reader r(bytes);
  out->session_timeout_ms = r.Int32();
  const int32_t n = r.ArrayLength(true);
  if (!r.ok() || n < 0) return false;
  out->protocols.clear();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    std::string name = r.String(true);
    std::string metadata(r.BytesView(true));
    r.SkipTaggedFields();
    out->protocols.emplace_back(std::move(name), std::move(metadata));
  }
  r.SkipTaggedFields();
  return r.ok();
}

}  // namespace

std::string EncodeConsumerGroupMetadataValue(const ConsumerGroupMetadataValue& v) {
  return EncodeInt32Value(v.epoch);
}

bool DecodeConsumerGroupMetadataValue(std::string_view bytes, ConsumerGroupMetadataValue* out) {
  return DecodeInt32Value(bytes, &out->epoch);
}

std::string EncodeConsumerGroupTargetAssignmentMetadataValue(
    const ConsumerGroupTargetAssignmentMetadataValue& v) {
  return EncodeInt32Value(v.assignment_epoch);
}

bool DecodeConsumerGroupTargetAssignmentMetadataValue(
    std::string_view bytes, ConsumerGroupTargetAssignmentMetadataValue* out) {
  return DecodeInt32Value(bytes, &out->assignment_epoch);
}

std::string EncodeConsumerGroupPartitionMetadataValue(
    const ConsumerGroupPartitionMetadataValue& v) {
  protocol::Writer w;
  w.Int16(kConsumerValueVersion);
  w.ArrayLength(static_cast<int32_t>(v.topics.size()), true);
  for (const auto& t : v.topics) {
    w.Uuid(t.topic_id);
    w.String(t.topic_name, true);
    w.Int32(t.num_partitions);
    w.ArrayLength(static_cast<int32_t>(t.partition_metadata.size()), true);
    for (const auto& pm : t.partition_metadata) {
      w.Int32(pm.partition);
      WriteCompactStrings(w, pm.racks);
      w.EmptyTaggedFields();
    }
    w.EmptyTaggedFields();
  }
  w.EmptyTaggedFields();
  return w.Flatten();
}

bool DecodeConsumerGroupPartitionMetadataValue(std::string_view bytes,
                                               ConsumerGroupPartitionMetadataValue* out) {
  protocol::Reader r(bytes);
  if (!ConsumerValueHeader(r)) return false;
  ConsumerGroupPartitionMetadataValue v;
  const int32_t n = r.ArrayLength(true);
  if (!r.ok() || n < 0) return false;
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    ConsumerGroupPartitionMetadataValue::Topic t;
    t.topic_id = r.Uuid();
    t.topic_name = r.String(true);
    t.num_partitions = r.Int32();
    const int32_t np = r.ArrayLength(true);
    if (!r.ok() || np < 0) return false;
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      ConsumerGroupPartitionMetadataValue::PartitionRacks pm;
      pm.partition = r.Int32();
      pm.racks = ReadCompactStrings(r);
      r.SkipTaggedFields();
      t.partition_metadata.push_back(std::move(pm));
    }
    r.SkipTaggedFields();
    v.topics.push_back(std::move(t));
  }
  r.SkipTaggedFields();
  if (!r.ok()) return false;
  *out = std::move(v);
  return true;
}

std::string EncodeConsumerGroupMemberMetadataValue(const ConsumerGroupMemberMetadataValue& v) {
  protocol::Writer w;
  w.Int16(kConsumerValueVersion);
  w.NullableString(v.instance_id, true);
  w.NullableString(v.rack_id, true);
  w.String(v.client_id, true);
  w.String(v.client_host, true);
  WriteCompactStrings(w, v.subscribed_topic_names);
  w.NullableString(v.subscribed_topic_regex, true);
  w.Int32(v.rebalance_timeout_ms);
  w.NullableString(v.server_assignor, true);
  if (v.classic) {
    // One tagged field: tag 0, its size, then the nullable struct (1: present, then its body).
    const std::string body = EncodeClassicMemberMetadata(*v.classic);
    protocol::Writer marker;
    marker.UnsignedVarInt(1);
    const std::string present = marker.Flatten();
    w.UnsignedVarInt(1);  // number of tagged fields
    w.UnsignedVarInt(0);  // tag
    w.UnsignedVarInt(static_cast<uint32_t>(present.size() + body.size()));
    w.Raw(present);
    w.Raw(body);
  } else {
    w.EmptyTaggedFields();
  }
  return w.Flatten();
}

bool DecodeConsumerGroupMemberMetadataValue(std::string_view bytes,
                                            ConsumerGroupMemberMetadataValue* out) {
  protocol::Reader r(bytes);
  if (!ConsumerValueHeader(r)) return false;
  ConsumerGroupMemberMetadataValue v;
  v.instance_id = r.NullableString(true);
  v.rack_id = r.NullableString(true);
  v.client_id = r.String(true);
  v.client_host = r.String(true);
  v.subscribed_topic_names = ReadCompactStrings(r);
  v.subscribed_topic_regex = r.NullableString(true);
  v.rebalance_timeout_ms = r.Int32();
  v.server_assignor = r.NullableString(true);
  // Tagged fields: 0 is ClassicMemberMetadata, others are skipped.
  const uint32_t tags = r.UnsignedVarInt();
  for (uint32_t i = 0; i < tags && r.ok(); ++i) {
    const uint32_t tag = r.UnsignedVarInt();
    const uint32_t size = r.UnsignedVarInt();
    if (!r.ok() || size > r.remaining()) return false;
    std::string_view field = r.Raw(size);
    if (tag != 0) continue;
    protocol::Reader f(field);
    const uint32_t present = f.UnsignedVarInt();
    if (!f.ok()) return false;
    if (present == 0) {
      v.classic.reset();
      continue;
    }
    ClassicMemberMetadata c;
    if (!DecodeClassicMemberMetadata(field.substr(f.position()), &c)) return false;
    v.classic = std::move(c);
  }
  if (!r.ok()) return false;
  *out = std::move(v);
  return true;
}

std::string EncodeConsumerGroupTargetAssignmentMemberValue(
    const ConsumerGroupTargetAssignmentMemberValue& v) {
  protocol::Writer w;
  w.Int16(kConsumerValueVersion);
  WriteTopicIdPartitions(w, v.topic_partitions);
  w.EmptyTaggedFields();
  return w.Flatten();
}

bool DecodeConsumerGroupTargetAssignmentMemberValue(std::string_view bytes,
                                                    ConsumerGroupTargetAssignmentMemberValue* out) {
  protocol::Reader r(bytes);
  if (!ConsumerValueHeader(r)) return false;
  ConsumerGroupTargetAssignmentMemberValue v;
  if (!ReadTopicIdPartitions(r, &v.topic_partitions)) return false;
  r.SkipTaggedFields();
  if (!r.ok()) return false;
  *out = std::move(v);
  return true;
}

std::string EncodeConsumerGroupCurrentMemberAssignmentValue(
    const ConsumerGroupCurrentMemberAssignmentValue& v) {
  protocol::Writer w;
  w.Int16(kConsumerValueVersion);
  w.Int32(v.member_epoch);
  w.Int32(v.previous_member_epoch);
  w.Int8(v.state);
  WriteTopicIdPartitions(w, v.assigned_partitions);
  WriteTopicIdPartitions(w, v.partitions_pending_revocation);
  w.EmptyTaggedFields();
  return w.Flatten();
}

bool DecodeConsumerGroupCurrentMemberAssignmentValue(
    std::string_view bytes, ConsumerGroupCurrentMemberAssignmentValue* out) {
  protocol::Reader r(bytes);
  if (!ConsumerValueHeader(r)) return false;
  ConsumerGroupCurrentMemberAssignmentValue v;
  v.member_epoch = r.Int32();
  v.previous_member_epoch = r.Int32();
  v.state = r.Int8();
  if (!ReadTopicIdPartitions(r, &v.assigned_partitions)) return false;
  if (!ReadTopicIdPartitions(r, &v.partitions_pending_revocation)) return false;
  r.SkipTaggedFields();
  if (!r.ok()) return false;
  *out = std::move(v);
  return true;
}

namespace {

std::string BuildBatch(const protocol::BatchSpec& batch, const std::vector<GroupRecord>& records,
                       int64_t timestamp_ms) {
  std::vector<protocol::RecordSpec> specs;
  specs.reserve(records.size());
  for (const auto& rec : records) {
    protocol::RecordSpec s;
    s.key = rec.key;
    s.value = rec.value;
    s.timestamp = timestamp_ms;
    specs.push_back(std::move(s));
  }
  return protocol::BuildRecordBatch(batch, specs);
}

}  // namespace

std::string BuildGroupRecordBatch(const std::vector<GroupRecord>& records, int64_t timestamp_ms) {
  return BuildBatch(protocol::BatchSpec{}, records, timestamp_ms);
}

std::string BuildTxnOffsetCommitBatch(const std::vector<GroupRecord>& records, int64_t timestamp_ms,
                                      int64_t producer_id, int16_t producer_epoch) {
  protocol::BatchSpec batch;
  batch.attributes = protocol::kTransactionalBit;
  batch.producer_id = producer_id;
  batch.producer_epoch = producer_epoch;
  batch.base_sequence = 0;
  return BuildBatch(batch, records, timestamp_ms);
}

std::string EncodeControlRecordKey(ControlRecordType type) {
  protocol::Writer w;
  w.Int16(0);
  w.Int16(static_cast<int16_t>(type));
  return w.Flatten();
}

bool DecodeControlRecordKey(std::string_view bytes, ControlRecordType* out) {
  protocol::Reader r(bytes);
  int16_t version = r.Int16();
  int16_t type = r.Int16();
  if (!r.ok() || version < 0) return false;
  // Later versions keep the type at the same place (Kafka reads it whatever the version).
  switch (type) {
    case 0:
      *out = ControlRecordType::kAbort;
      break;
    case 1:
      *out = ControlRecordType::kCommit;
      break;
    default:
      *out = ControlRecordType::kUnknown;
  }
  return true;
}

}  // namespace gregor::group
