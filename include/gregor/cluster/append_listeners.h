#pragma once
// AppendListeners: long-polling fetches wait here for data on any of their
// partitions (Kafka's DelayedFetch purgatory, keyed by partition). A waiter
// is a callback; Notify runs the callbacks of waiters interested in a
// partition once and drops them. Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "gregor/base/ids.h"

namespace gregor::cluster {

class AppendListeners {
 public:
  using Callback = std::function<void()>;
  // Registers `wake` for every partition in `tps`; returns a handle.
  uint64_t Add(const std::vector<TopicPartition>& tps, Callback wake);
  // Removes a waiter (idempotent).
  void Remove(uint64_t handle);
  // Wakes (and removes) every waiter registered for `tp`.
  void Notify(const TopicPartition& tp);
  size_t size() const;

 private:
  struct Waiter {
    std::vector<TopicPartition> tps;
    Callback wake;
  };
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::map<uint64_t, Waiter> waiters_;
  std::unordered_map<TopicPartition, std::vector<uint64_t>> by_partition_;
};

}  // namespace gregor::cluster
