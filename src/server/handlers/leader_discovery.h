#pragma once
// KIP-951 leader discovery: a Produce v10+ or Fetch v16+ partition answered with
// NOT_LEADER_OR_FOLLOWER (Fetch: or FENCED_LEADER_EPOCH) carries the leader the broker knows
// and its epoch, and the response the endpoints of those leaders on the listener the request
// came in on, so that the client retries without a Metadata round trip (Kafka's
// KafkaApis.getCurrentLeader).
//
// One LeaderDiscovery per response, used on the request's coroutine; it reads the partition's
// role and a MetadataCache snapshot, never blocks.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/ids.h"
#include "server/server_context.h"

namespace gregor::server {

class LeaderDiscovery {
 public:
  LeaderDiscovery(ServerContext& ctx, std::string listener);

  struct Leader {
    int32_t leader_id = -1;
    int32_t leader_epoch = -1;
  };
  // The leader of `tp`: this broker's replica's view when it hosts one (leader or follower),
  // else the metadata cache's, else unknown (-1, -1). A leader that is alive and has an endpoint
  // on the listener is remembered for NodeEndpoints.
  Leader Lookup(const TopicPartition& tp);

  // The remembered leaders' endpoints, by node id, into a generated response's NodeEndpoints.
  template <typename NodeEndpoint>
  void FillNodeEndpoints(std::vector<NodeEndpoint>* out) const {
    for (const auto& [id, n] : nodes_) {
      auto& e = out->emplace_back();
      e.node_id = id;
      e.host = n.host;
      e.port = n.port;
      e.rack = n.rack;
    }
  }

 private:
  struct Node {
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
  };
  ServerContext& ctx_;
  std::string listener_;
  std::map<int32_t, Node> nodes_;
};

}  // namespace gregor::server
