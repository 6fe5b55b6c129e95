#pragma once
// The server-side partition assignors of the KIP-848 consumer group protocol, Kafka 4.0's
// `uniform` (UniformAssignor) and `range` (RangeAssignor): given the members of a consumer
// group, their resolved subscriptions and their current target assignment, compute the next
// target assignment.
//
// Owner: none; the assignors are stateless singletons returned by FindConsumerAssignor(). The
// coordinator calls Assign() under its own lock; this module has no lock, does no I/O, never
// blocks, and may be called from any thread concurrently.
// Errors: none. Inputs are taken as they are: subscribed topics missing from
// `topic_partitions` are ignored (Kafka's assignors refuse them; our coordinator passes only
// existing topics), and current partitions that are not assignable to their member (topic not
// subscribed or gone, partition number out of range, partition already claimed by a member
// earlier in member-id order) are dropped. Member ids must be unique.
// Determinism: the result depends only on the input's content, not on the order of `members`.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gregor::group {

// Partition numbers by topic name.
using TopicPartitions = std::map<std::string, std::set<int32_t>>;

struct AssignorMember {
  std::string member_id;
  std::optional<std::string> instance_id;  // group.instance.id of a static member
  // Kept for the coordinator's record; neither assignor is rack-aware in Kafka 4.0.
  std::optional<std::string> rack_id;
  std::set<std::string> subscribed_topics;  // names, regular expressions already resolved
  TopicPartitions current;                  // the member's current target assignment
};

struct AssignorInput {
  std::vector<AssignorMember> members;              // any order
  std::map<std::string, int32_t> topic_partitions;  // existing subscribed topics -> partitions
};

// Member id -> its partitions. Every input member has an entry, possibly empty; a topic
// appears in a member's map only with at least one partition.
using TargetAssignment = std::map<std::string, TopicPartitions>;

class ConsumerAssignor {
 public:
  virtual ~ConsumerAssignor() = default;
  virtual const char* name() const = 0;
  virtual TargetAssignment Assign(const AssignorInput& in) const = 0;
};

// "uniform" or "range"; nullptr for any other name (the coordinator then answers
// UNSUPPORTED_ASSIGNOR).
const ConsumerAssignor* FindConsumerAssignor(std::string_view name);

// The supported names in the order of Kafka's group.consumer.assignors default: the first is
// the group's default assignor.
const std::vector<std::string_view>& ConsumerAssignorNames();

}  // namespace gregor::group
