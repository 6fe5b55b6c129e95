// DescribeCluster (60, KIP-700): the cluster id, the controller and the live brokers as the
// listener the request came in on reaches them, as Kafka's
// AuthHelper.computeDescribeClusterResponse answers it for a ZooKeeper-mode broker. No ACL guards
// it (like Metadata); the cluster's authorized operations are filled in when asked.
#include "gregor/protocol/messages/describe_cluster.h"

#include "server/authorization.h"
#include "server/handlers/handlers.h"

namespace gregor::server {

asio::awaitable<bool> HandleDescribeCluster(ServerContext& ctx, Request& req, Response& resp) {
  protocol::DescribeClusterRequest in;
  if (!in.Decode(req.body, req.version())) co_return false;
  const int16_t v = req.version();
  protocol::DescribeClusterResponse out;
  constexpr int8_t kBrokers = 1, kControllers = 2;
  out.endpoint_type = kBrokers;
  if (in.endpoint_type != kBrokers) {
    const bool known = in.endpoint_type == kControllers;
    out.error_code = v == 0  ? protocol::ErrorCode::kInvalidRequest
                     : known ? protocol::ErrorCode::kMismatchedEndpointType
                             : protocol::ErrorCode::kUnsupportedEndpointType;
    out.error_message = known ? std::string(
                                    "The request was sent to an endpoint of type BROKER, "
                                    "but we wanted an endpoint of type CONTROLLER")
                              : "Unsupported endpoint type " + std::to_string(in.endpoint_type);
    out.Encode(resp.out, v);
    co_return true;
  }
  auto md = ctx.metadata->Get();
  for (const auto& [id, b] : md->brokers) {
    for (const auto& ep : b.endpoints) {
      if (ep.listener != req.conn.listener_name) continue;
      auto& ob = out.brokers.emplace_back();
      ob.broker_id = id;
      ob.host = ep.host;
      ob.port = ep.port;
      ob.rack = b.rack;
    }
  }
  out.cluster_id = ctx.cluster_id;
  out.controller_id = md->controller_id;
  if (in.include_cluster_authorized_operations) {
    out.cluster_authorized_operations = AuthorizedOperations(
        ctx, req.conn, security::ResourceType::kCluster, std::string(kClusterResourceName));
  }
  out.Encode(resp.out, v);
  co_return true;
}

}  // namespace gregor::server
