#pragma once
// The KIP-848 server-side assignors (Kafka's `uniform` and `range`): pure functions from the
// members' subscriptions and current target assignment, and the subscribed topics' partition
// counts, to the next target assignment. No I/O, no locks; deterministic (the same input gives
// the same output). Called by ConsumerGroup when its group epoch moves past its assignment
// epoch.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gregor::group {

// Partitions by topic name.
using TopicPartitions = std::map<std::string, std::set<int32_t>>;

struct AssignorMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::set<std::string> subscribed_topics;  // resolved (regexes included) by the caller
  TopicPartitions current;                  // the member's current target, for stickiness
};

struct AssignorInput {
  std::vector<AssignorMember> members;              // any order
  std::map<std::string, int32_t> topic_partitions;  // subscribed, existing topics -> count
};

// Member id -> partitions; every member of the input is present (maybe with nothing).
using TargetAssignment = std::map<std::string, TopicPartitions>;

class ConsumerAssignor {
 public:
  virtual ~ConsumerAssignor() = default;
  virtual const char* name() const = 0;
  virtual TargetAssignment Assign(const AssignorInput& in) const = 0;
};

// "uniform" or "range"; nullptr otherwise (UNSUPPORTED_ASSIGNOR for the request).
const ConsumerAssignor* FindConsumerAssignor(std::string_view name);

}  // namespace gregor::group
