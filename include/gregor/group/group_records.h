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
// KIP-848 consumer groups (Kafka's new group coordinator; keys non-flexible, values flexible
// version 0 with tagged fields):
//   key v3  ConsumerGroupMetadataKey                 {group}          value: {epoch}
//   key v4  ConsumerGroupPartitionMetadataKey        {group}          value: subscribed topics
//   key v5  ConsumerGroupMemberMetadataKey           {group, member}  value: subscription etc.
//   key v6  ConsumerGroupTargetAssignmentMetadataKey {group}          value: {assignment epoch}
//   key v7  ConsumerGroupTargetAssignmentMemberKey   {group, member}  value: target partitions
//   key v8  ConsumerGroupCurrentMemberAssignmentKey  {group, member}  value: epochs, partitions
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
  // The KIP-848 types carry their key version as value (3..8).
  enum class Type {
    kOffsetCommit = 0,
    kGroupMetadata = 2,
    kConsumerGroupMetadata = 3,
    kConsumerGroupPartitionMetadata = 4,
    kConsumerGroupMemberMetadata = 5,
    kConsumerGroupTargetAssignmentMetadata = 6,
    kConsumerGroupTargetAssignmentMember = 7,
    kConsumerGroupCurrentMemberAssignment = 8,
  };
  Type type = Type::kOffsetCommit;
  int16_t version = 1;
  std::string group;
  std::string topic;       // offset commit only
  int32_t partition = -1;  // offset commit only
  std::string member_id;   // key versions 5, 7 and 8 only
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

// The key of a KIP-848 record: `type` is one of the kConsumerGroup* types; `member_id` is
// written for the member keys (5, 7, 8) only.
std::string EncodeConsumerGroupKey(GroupRecordKey::Type type, const std::string& group,
                                   const std::string& member_id = "");

std::string EncodeOffsetCommitValue(const OffsetAndMetadata& value);
bool DecodeOffsetCommitValue(std::string_view bytes, OffsetAndMetadata* out);

std::string EncodeGroupMetadataValue(const GroupMetadataValue& value, int16_t version = 3);
bool DecodeGroupMetadataValue(std::string_view bytes, GroupMetadataValue* out);

// --- KIP-848 consumer group values (value version 0, flexible). Topics are named by id. ---

// A topic's partitions in an assignment record (Kafka's TopicPartitions common struct).
struct TopicIdPartitions {
  TopicUuid topic_id{};
  std::vector<int32_t> partitions;
  bool operator==(const TopicIdPartitions&) const = default;
};

struct ConsumerGroupMetadataValue {
  int32_t epoch = 0;
  bool operator==(const ConsumerGroupMetadataValue&) const = default;
};

struct ConsumerGroupPartitionMetadataValue {
  struct PartitionRacks {
    int32_t partition = 0;
    std::vector<std::string> racks;
    bool operator==(const PartitionRacks&) const = default;
  };
  struct Topic {
    TopicUuid topic_id{};
    std::string topic_name;
    int32_t num_partitions = 0;
    // Deprecated since Kafka 4.0; we write it empty (Kafka: "no rack information").
    std::vector<PartitionRacks> partition_metadata;
    bool operator==(const Topic&) const = default;
  };
  std::vector<Topic> topics;
  bool operator==(const ConsumerGroupPartitionMetadataValue&) const = default;
};

struct ConsumerGroupMemberMetadataValue {
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::string> server_assignor;
  // Tagged field 0: set for a classic member of the consumer group.
  std::optional<ClassicMemberMetadata> classic;
  bool operator==(const ConsumerGroupMemberMetadataValue&) const = default;
};

struct ConsumerGroupTargetAssignmentMetadataValue {
  int32_t assignment_epoch = 0;
  bool operator==(const ConsumerGroupTargetAssignmentMetadataValue&) const = default;
};

struct ConsumerGroupTargetAssignmentMemberValue {
  std::vector<TopicIdPartitions> topic_partitions;
  bool operator==(const ConsumerGroupTargetAssignmentMemberValue&) const = default;
};

struct ConsumerGroupCurrentMemberAssignmentValue {
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = 0;
  int8_t state = 0;  // Kafka's MemberState: 0 STABLE, 1 UNREVOKED_, 2 UNRELEASED_PARTITIONS
  std::vector<TopicIdPartitions> assigned_partitions;
  std::vector<TopicIdPartitions> partitions_pending_revocation;
  bool operator==(const ConsumerGroupCurrentMemberAssignmentValue&) const = default;
};

std::string EncodeConsumerGroupMetadataValue(const ConsumerGroupMetadataValue& v);
bool DecodeConsumerGroupMetadataValue(std::string_view bytes, ConsumerGroupMetadataValue* out);
std::string EncodeConsumerGroupPartitionMetadataValue(const ConsumerGroupPartitionMetadataValue& v);
bool DecodeConsumerGroupPartitionMetadataValue(std::string_view bytes,
                                               ConsumerGroupPartitionMetadataValue* out);
std::string EncodeConsumerGroupMemberMetadataValue(const ConsumerGroupMemberMetadataValue& v);
bool DecodeConsumerGroupMemberMetadataValue(std::string_view bytes,
                                            ConsumerGroupMemberMetadataValue* out);
std::string EncodeConsumerGroupTargetAssignmentMetadataValue(
    const ConsumerGroupTargetAssignmentMetadataValue& v);
bool DecodeConsumerGroupTargetAssignmentMetadataValue(
    std::string_view bytes, ConsumerGroupTargetAssignmentMetadataValue* out);
std::string EncodeConsumerGroupTargetAssignmentMemberValue(
    const ConsumerGroupTargetAssignmentMemberValue& v);
bool DecodeConsumerGroupTargetAssignmentMemberValue(std::string_view bytes,
                                                    ConsumerGroupTargetAssignmentMemberValue* out);
std::string EncodeConsumerGroupCurrentMemberAssignmentValue(
    const ConsumerGroupCurrentMemberAssignmentValue& v);
bool DecodeConsumerGroupCurrentMemberAssignmentValue(
    std::string_view bytes, ConsumerGroupCurrentMemberAssignmentValue* out);

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
