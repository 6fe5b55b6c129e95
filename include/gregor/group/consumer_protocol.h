#pragma once
// The consumer's embedded protocol: the bytes a classic consumer (group.protocol=classic) puts in
// its JoinGroup protocol metadata (ConsumerProtocolSubscription) and gets back from SyncGroup
// (ConsumerProtocolAssignment), as Kafka's ConsumerProtocol reads and writes them. The group
// coordinator reads them only when a group moves between the classic and the consumer (KIP-848)
// protocols, or when a classic member belongs to a consumer group.
//
// Pure functions: no state, no lock, no I/O. Unreadable bytes give nullopt, never an exception.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gregor/group/consumer_assignor.h"

namespace gregor::group {

// Versions Kafka 4.0 knows; a newer version is read as this one (later versions only append
// fields), as Kafka reads it.
inline constexpr int16_t kConsumerProtocolSubscriptionMaxVersion = 3;
inline constexpr int16_t kConsumerProtocolAssignmentMaxVersion = 3;

struct ConsumerProtocolSubscription {
  int16_t version = 0;
  std::vector<std::string> topics;
  std::optional<std::string> user_data;
  TopicPartitions owned;               // v1+; empty before
  int32_t generation = -1;             // v2+
  std::optional<std::string> rack_id;  // v3+
};

// nullopt: not a ConsumerProtocolSubscription (too short, a negative version, bad lengths).
std::optional<ConsumerProtocolSubscription> DecodeConsumerSubscription(const std::string& bytes);
// Every version has the same layout (assigned partitions, user data). Empty bytes (a member
// that never got an assignment) read as no partitions.
std::optional<TopicPartitions> DecodeConsumerAssignment(const std::string& bytes);
std::string EncodeConsumerAssignment(const TopicPartitions& assigned, int16_t version);
// The version a member's subscription bytes start with (0 when unreadable), capped at the
// highest assignment version: Kafka answers a member in the version it subscribed with.
int16_t ConsumerAssignmentVersionFor(const std::string& subscription);

}  // namespace gregor::group
