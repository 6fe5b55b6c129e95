#pragma once
// The records of KIP-848 consumer groups in __consumer_offsets, as Kafka's new group
// coordinator writes and replays them (GroupMetadataManager's consumerGroup* record helpers
// and replay methods): the records that describe a change of a ConsumerGroup (its
// ConsumerGroupDelta), the tombstones that delete a group, and the replay that rebuilds
// groups from a partition's records when a coordinator loads it.
//
// Records name topics by id; the ConsumerGroup knows the ids of the topics it names (from the
// TopicViews it saw), the replay names them back with the loading coordinator's TopicView and
// drops the partitions of topics it does not know (deleted meanwhile), as Kafka does.
//
// Owner: none; pure functions, and a ConsumerGroupReplay is a stack value of one partition
// load (no lock, no I/O; not thread-safe). Decoding failures are counted by the caller
// (Apply returns false); nothing throws.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/group/consumer_group.h"
#include "gregor/group/group_records.h"

namespace gregor::group {

// The records of `delta` (taken from `cg`), in Kafka's order: tombstones of removed members,
// member metadata, partition metadata, group epoch, target members, target epoch, current
// assignments. Empty when nothing changed.
std::vector<GroupRecord> ConsumerGroupDeltaRecords(const ConsumerGroup& cg,
                                                   const ConsumerGroupDelta& delta);

// Tombstones for every record of group `group_id` with members `member_ids` (each member's
// current assignment, target and metadata), then its target metadata, partition metadata and
// group metadata (Kafka's createGroupTombstoneRecords).
std::vector<GroupRecord> ConsumerGroupTombstones(const std::string& group_id,
                                                 const std::set<std::string>& member_ids);

// The KIP-848 records of one partition, last record of each key winning, tombstones deleting.
class ConsumerGroupReplay {
 public:
  // Applies the record of `key` (a kConsumerGroup* type) at log offset `offset`; `value`
  // nullopt: a tombstone. False (and nothing applied) when the value is unreadable.
  bool Apply(const GroupRecordKey& key, const std::optional<std::string_view>& value,
             int64_t offset);
  // The groups with a live ConsumerGroupMetadata record.
  std::vector<std::string> GroupIds() const;
  // The log offset of that record; -1 when there is none.
  int64_t MetadataOffset(const std::string& group_id) const;
  // The group as its records describe it, topics named by `topics`; nullopt without a live
  // ConsumerGroupMetadata record. A member needs its metadata record (a current assignment
  // without one is dropped); a member without a current assignment record is at epoch 0.
  std::optional<ConsumerGroupSnapshot> Snapshot(const std::string& group_id,
                                                const TopicView& topics) const;

 private:
  struct Records {
    std::optional<ConsumerGroupMetadataValue> metadata;
    int64_t metadata_offset = -1;
    std::optional<ConsumerGroupPartitionMetadataValue> partitions;
    std::optional<ConsumerGroupTargetAssignmentMetadataValue> target_metadata;
    std::map<std::string, ConsumerGroupMemberMetadataValue> members;
    std::map<std::string, ConsumerGroupTargetAssignmentMemberValue> targets;
    std::map<std::string, ConsumerGroupCurrentMemberAssignmentValue> current;
  };
  std::map<std::string, Records> groups_;
};

}  // namespace gregor::group
