#pragma once
// TopicPartition, the key of per-partition state. Broker ids, epochs and offsets are plain
// int32_t/int64_t at module interfaces, named as Kafka names its fields (broker_id,
// leader_epoch, log_end_offset). Value type; thread-compatible.

#include <cstdint>
#include <functional>
#include <string>

namespace gregor {

// A topic and partition number; the key of almost every per-partition map.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  // "<topic>-<partition>", Kafka's directory and log name.
  std::string ToString() const { return topic + "-" + std::to_string(partition); }
};

}  // namespace gregor

template <>
struct std::hash<gregor::TopicPartition> {
  size_t operator()(const gregor::TopicPartition& tp) const noexcept {
    return std::hash<std::string>()(tp.topic) * 31 + static_cast<size_t>(tp.partition);
  }
};
