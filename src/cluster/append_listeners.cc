#include "gregor/cluster/append_listeners.h"

#include <algorithm>

namespace gregor::cluster {

uint64_t AppendListeners::Add(const std::vector<TopicPartition>& tps, Callback wake) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_++;
  for (const auto& tp : tps) by_partition_[tp].push_back(id);
  waiters_[id] = Waiter{tps, std::move(wake)};
  return id;
}

void AppendListeners::Remove(uint64_t handle) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = waiters_.find(handle);
  if (it == waiters_.end()) return;
  for (const auto& tp : it->second.tps) {
    auto bp = by_partition_.find(tp);
    if (bp == by_partition_.end()) continue;
    auto& ids = bp->second;
    ids.erase(std::remove(ids.begin(), ids.end(), handle), ids.end());
    if (ids.empty()) by_partition_.erase(bp);
  }
  waiters_.erase(it);
}

void AppendListeners::Notify(const TopicPartition& tp) {
  std::vector<Callback> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto bp = by_partition_.find(tp);
    if (bp == by_partition_.end()) return;
    std::vector<uint64_t> ids = std::move(bp->second);
    by_partition_.erase(bp);
    for (uint64_t id : ids) {
      auto it = waiters_.find(id);
      if (it == waiters_.end()) continue;
      for (const auto& other : it->second.tps) {
        if (other == tp) continue;
        auto ob = by_partition_.find(other);
        if (ob == by_partition_.end()) continue;
        auto& v = ob->second;
        v.erase(std::remove(v.begin(), v.end(), id), v.end());
        if (v.empty()) by_partition_.erase(ob);
      }
      wake.push_back(std::move(it->second.wake));
      waiters_.erase(it);
    }
  }
  for (auto& w : wake) w();
}

size_t AppendListeners::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

}  // namespace gregor::cluster
