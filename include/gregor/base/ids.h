#pragma once
// Strong ids: a BrokerId is not a LeaderEpoch is not a partition number.
// Value types; thread-compatible.

#include <cstdint>
#include <functional>
#include <string>

namespace gregor {

template <typename Tag, typename T>
class StrongId {
 public:
  using ValueType = T;
  constexpr StrongId() = default;
  constexpr explicit StrongId(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  T v_{};
};

using BrokerId = StrongId<struct BrokerIdTag, int32_t>;
using LeaderEpoch = StrongId<struct LeaderEpochTag, int32_t>;
using ControllerEpoch = StrongId<struct ControllerEpochTag, int32_t>;

// A topic and partition number; the key of almost every per-partition map.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  // "<topic>-<partition>", Kafka's directory and log name.
  std::string ToString() const { return topic + "-" + std::to_string(partition); }
};

}  // namespace gregor

template <typename Tag, typename T>
struct std::hash<gregor::StrongId<Tag, T>> {
  size_t operator()(const gregor::StrongId<Tag, T>& id) const noexcept {
    return std::hash<T>()(id.value());
  }
};

template <>
struct std::hash<gregor::TopicPartition> {
  size_t operator()(const gregor::TopicPartition& tp) const noexcept {
    return std::hash<std::string>()(tp.topic) * 31 + static_cast<size_t>(tp.partition);
  }
};
