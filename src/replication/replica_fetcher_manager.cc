#include "gregor/replication/replica_fetcher_manager.h"

#include <glog/logging.h>

#include <functional>

#include "replication/replica_fetcher_thread.h"

namespace gregor::replication {

namespace {

ReplicaFetcherManager::Options Normalize(ReplicaFetcherManager::Options o) {
  if (o.num_fetchers < 1) o.num_fetchers = 1;
  if (o.fetch_backoff_ms < 1) o.fetch_backoff_ms = 1;
  if (o.fetch_wait_max_ms < 0) o.fetch_wait_max_ms = 0;
  if (o.socket_timeout_ms < 1) o.socket_timeout_ms = 1;
  return o;
}

}  // namespace

ReplicaFetcherManager::ReplicaFetcherManager(Options o, cluster::ReplicaManager* replicas,
                                             cluster::MetadataCache* metadata)
    : options_(Normalize(std::move(o))), replicas_(replicas), metadata_(metadata) {
  if (options_.socket_timeout_ms < options_.fetch_wait_max_ms) {
    // Kafka refuses this configuration; we only warn, and read with the larger bound.
    LOG(WARNING) << "[ReplicaFetcherManager broker=" << options_.broker_id
                 << "] replica.socket.timeout.ms " << options_.socket_timeout_ms
                 << " is below replica.fetch.wait.max.ms " << options_.fetch_wait_max_ms;
  }
}

ReplicaFetcherManager::~ReplicaFetcherManager() { Shutdown(); }

ReplicaFetcherManager::FetcherKey ReplicaFetcherManager::KeyFor(
    const cluster::FollowTarget& t) const {
  // Kafka spreads partitions by abs(31 * topic.hashCode + partition) % num.replica.fetchers;
  // any stable hash does: a partition stays on one thread while its leader stays.
  size_t h = std::hash<std::string>()(t.tp.topic) * 31 + static_cast<uint32_t>(t.tp.partition);
  return {t.leader, static_cast<int32_t>(h % static_cast<size_t>(options_.num_fetchers))};
}

void ReplicaFetcherManager::Update(const std::vector<cluster::FollowTarget>& follow,
                                   const std::vector<TopicPartition>& unfollow) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutdown_) return;
  auto stop_following = [this](const TopicPartition& tp) {
    auto it = assignment_.find(tp);
    if (it == assignment_.end()) return;
    auto f = fetchers_.find(it->second);
    if (f != fetchers_.end()) f->second->Remove(tp);
    assignment_.erase(it);
  };
  for (const auto& tp : unfollow) stop_following(tp);
  for (const auto& t : follow) {
    if (t.leader < 0 || t.leader == options_.broker_id) {
      stop_following(t.tp);
      continue;
    }
    const FetcherKey key = KeyFor(t);
    auto it = assignment_.find(t.tp);
    if (it != assignment_.end() && it->second != key) stop_following(t.tp);
    auto& fetcher = fetchers_[key];
    if (!fetcher) {
      fetcher = std::make_unique<ReplicaFetcherThread>(options_, key.first, key.second, replicas_,
                                                       metadata_);
      fetcher->Start();
      LOG(INFO) << "[ReplicaFetcherManager broker=" << options_.broker_id << "] added fetcher "
                << key.second << " for leader " << key.first;
    }
    fetcher->Add(t);
    assignment_[t.tp] = key;
    VLOG(1) << "[ReplicaFetcherManager broker=" << options_.broker_id << "] following "
            << t.tp.ToString() << " from " << t.leader << " at leader epoch " << t.leader_epoch;
  }
  // Retire idle threads. Stop() returns at once; the join happens later (ReapRetired), so a
  // LeaderAndIsr never waits for a fetch in progress.
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    if (it->second->PartitionCount() == 0) {
      LOG(INFO) << "[ReplicaFetcherManager broker=" << options_.broker_id
                << "] removing idle fetcher " << it->first.second << " for leader "
                << it->first.first;
      it->second->Stop();
      retired_.push_back(std::move(it->second));
      it = fetchers_.erase(it);
    } else {
      ++it;
    }
  }
  ReapRetired(false);
}

void ReplicaFetcherManager::ReapRetired(bool all) {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if (all || (*it)->finished()) {
      (*it)->Join();
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
}

void ReplicaFetcherManager::Shutdown() {
  std::vector<std::unique_ptr<ReplicaFetcherThread>> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    for (auto& [key, f] : fetchers_) threads.push_back(std::move(f));
    fetchers_.clear();
    for (auto& f : retired_) threads.push_back(std::move(f));
    retired_.clear();
    assignment_.clear();
  }
  if (threads.empty()) return;
  // Stop them all first so they wind down in parallel, then join.
  for (auto& t : threads) t->Stop();
  for (auto& t : threads) t->Join();
  LOG(INFO) << "[ReplicaFetcherManager broker=" << options_.broker_id << "] shut down "
            << threads.size() << " fetcher threads";
}

size_t ReplicaFetcherManager::NumFetchers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetchers_.size();
}

size_t ReplicaFetcherManager::NumPartitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, f] : fetchers_) n += f->PartitionCount();
  return n;
}

}  // namespace gregor::replication
