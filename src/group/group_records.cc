// Layouts from Kafka 3.7's group-coordinator message schemas (facts, not code):
// OffsetCommitValue: offset i64, leaderEpoch i32 (v3+), metadata string, commitTimestamp i64,
// expireTimestamp i64 (v1 only); v4 flexible. GroupMetadataValue: protocolType string,
// generation i32, protocol string?, leader string?, currentStateTimestamp i64 (v2+), members
// [memberId, groupInstanceId? (v3+), clientId, clientHost, rebalanceTimeout i32 (v1+),
// sessionTimeout i32, subscription bytes, assignment bytes]; v4 flexible.
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
  } else {
    return false;
  }
  return r.ok();
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
