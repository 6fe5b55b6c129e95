#pragma once
// Group records: the keys and values the coordinator writes to __consumer_offsets, in Kafka's
// formats (group-coordinator OffsetCommitKey/Value and GroupMetadataKey/Value schemas), each
// prefixed by its int16 schema version, so that a Kafka broker or tool can read our log and
// we can read theirs.
//
//   key v0/v1  OffsetCommitKey   {group, topic, partition}       value: OffsetCommitValue v0-v4
//   key v2     GroupMetadataKey  {group}                          value: GroupMetadataValue v0-v4
//   a null value is a tombstone (the offset or the group was deleted).
//
// We write key v1 / offset value v3 (v1 when an explicit expire timestamp is set) / group value
// v3, as Kafka 3.7 does; every version is read. Pure functions; decoders never throw and return
// false on malformed bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/group/group_metadata.h"

namespace gregor::group {

inline constexpr char kOffsetsTopic[] = "__consumer_offsets";

struct GroupRecordKey {
  enum class Type { kOffsetCommit, kGroupMetadata };
  Type type = Type::kOffsetCommit;
  int16_t version = 1;
  std::string group;
  std::string topic;       // offset commit only
  int32_t partition = -1;  // offset commit only
  bool operator==(const GroupRecordKey&) const = default;
};

struct MemberValue {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = -1;
  int32_t session_timeout_ms = 0;
  std::string subscription;
  std::string assignment;
  bool operator==(const MemberValue&) const = default;
};

struct GroupMetadataValue {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp = -1;
  std::vector<MemberValue> members;
  bool operator==(const GroupMetadataValue&) const = default;
};

std::string EncodeOffsetCommitKey(const std::string& group, const std::string& topic,
                                  int32_t partition);
std::string EncodeGroupMetadataKey(const std::string& group);
// False for a malformed key or an unknown key version (Kafka skips those when loading).
bool DecodeGroupRecordKey(std::string_view bytes, GroupRecordKey* out);

std::string EncodeOffsetCommitValue(const OffsetAndMetadata& value);
bool DecodeOffsetCommitValue(std::string_view bytes, OffsetAndMetadata* out);

std::string EncodeGroupMetadataValue(const GroupMetadataValue& value, int16_t version = 3);
bool DecodeGroupMetadataValue(std::string_view bytes, GroupMetadataValue* out);

// One record for the offsets log: key and value (nullopt: tombstone).
struct GroupRecord {
  std::string key;
  std::optional<std::string> value;
};
// An uncompressed RecordBatch v2 holding `records` (offsets assigned by the log), timestamps
// `timestamp_ms` (CreateTime, as Kafka's coordinator writes).
std::string BuildGroupRecordBatch(const std::vector<GroupRecord>& records, int64_t timestamp_ms);
// The same as one transactional batch of `producer_id`/`producer_epoch` with base sequence 0,
// as Kafka's storeOffsets writes a TxnOffsetCommit.
std::string BuildTxnOffsetCommitBatch(const std::vector<GroupRecord>& records, int64_t timestamp_ms,
                                      int64_t producer_id, int16_t producer_epoch);

// The key of a control record (transaction marker): int16 version, int16 type. Kafka's
// ControlRecordType; types other than ABORT and COMMIT read as kUnknown.
enum class ControlRecordType : int16_t { kAbort = 0, kCommit = 1, kUnknown = -1 };
std::string EncodeControlRecordKey(ControlRecordType type);
// False for a key too short or with a negative version.
bool DecodeControlRecordKey(std::string_view bytes, ControlRecordType* out);

}  // namespace gregor::group
