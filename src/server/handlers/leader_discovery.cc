#include "server/handlers/leader_discovery.h"

#include <utility>

#include "gregor/cluster/partition.h"
#include "gregor/cluster/replica_manager.h"

namespace gregor::server {

LeaderDiscovery::LeaderDiscovery(ServerContext& ctx, std::string listener)
    : ctx_(ctx), listener_(std::move(listener)) {}

LeaderDiscovery::Leader LeaderDiscovery::Lookup(const TopicPartition& tp) {
  Leader l;
  auto md = ctx_.metadata->Get();
  if (auto p = ctx_.replicas->GetPartition(tp)) {
    cluster::PartitionRole role = p->role();
    l.leader_id = role.leader;
    l.leader_epoch = role.leader_epoch;
  } else if (auto t = md->topics.find(tp.topic); t != md->topics.end()) {
    if (auto it = t->second.partitions.find(tp.partition); it != t->second.partitions.end()) {
      l.leader_id = it->second.leader;
      l.leader_epoch = it->second.leader_epoch;
    }
  }
  // Kafka's getAliveBrokerNode: a live broker with an endpoint on the request's listener.
  if (auto b = md->brokers.find(l.leader_id); b != md->brokers.end()) {
    for (const auto& ep : b->second.endpoints) {
      if (ep.listener != listener_) continue;
      nodes_[l.leader_id] = Node{ep.host, ep.port, b->second.rack};
      break;
    }
  }
  return l;
}

}  // namespace gregor::server
