#include "gregor/cluster/metadata_cache.h"

namespace gregor::cluster {

std::shared_ptr<const MetadataCache::Snapshot> MetadataCache::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

bool MetadataCache::initialized() const {
  std::lock_guard<std::mutex> lock(mu_);
  return initialized_;
}

void MetadataCache::Update(int32_t controller_id, std::vector<CachedBroker> live_brokers,
                           const std::vector<PartitionUpdate>& partitions) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_);
  next->controller_id = controller_id;
  next->brokers.clear();
  for (auto& b : live_brokers) next->brokers[b.id] = std::move(b);
  for (const auto& p : partitions) {
    if (p.state.leader == kLeaderDuringDelete) {
      auto it = next->topics.find(p.topic);
      if (it == next->topics.end()) continue;
      it->second.partitions.erase(p.partition);
      if (it->second.partitions.empty()) next->topics.erase(it);
      continue;
    }
    CachedTopic& t = next->topics[p.topic];
    t.id = p.topic_id;
    t.partitions[p.partition] = p.state;
  }
  // Rebuilt rather than patched: a topic deleted and created again under the same name
  // changes its id, and UpdateMetadata is rare next to the Fetch requests that read this.
  next->topic_names.clear();
  constexpr TopicId kZero{};
  for (const auto& [name, t] : next->topics) {
    if (t.id != kZero) next->topic_names[t.id] = name;
  }
  snapshot_ = std::move(next);
  initialized_ = true;
}

}  // namespace gregor::cluster
