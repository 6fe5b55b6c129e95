#pragma once
// Handlers of the group coordinator APIs (Kafka's KafkaApis handle*Group*/Offset* methods).
// Each decodes its request, calls the GroupCoordinator and encodes the response; JoinGroup,
// SyncGroup and OffsetCommit complete later (rebalance, replication) and are awaited without
// blocking the network thread. They take the coordinator explicitly: the dispatcher wraps them
// as HandlerFn with the Broker's coordinator.

#include <functional>
#include <memory>
#include <optional>

#include "gregor/group/group_coordinator.h"
#include "gregor/network/asio.h"
#include "server/handlers/await_callback.h"
#include "server/server_context.h"

namespace gregor::server {

using GroupHandlerFn = asio::awaitable<bool> (*)(group::GroupCoordinator&, ServerContext&, Request&,
                                                 Response&);

asio::awaitable<bool> HandleFindCoordinator(group::GroupCoordinator&, ServerContext&, Request&,
                                            Response&);
asio::awaitable<bool> HandleJoinGroup(group::GroupCoordinator&, ServerContext&, Request&,
                                      Response&);
asio::awaitable<bool> HandleSyncGroup(group::GroupCoordinator&, ServerContext&, Request&,
                                      Response&);
asio::awaitable<bool> HandleHeartbeat(group::GroupCoordinator&, ServerContext&, Request&,
                                      Response&);
asio::awaitable<bool> HandleLeaveGroup(group::GroupCoordinator&, ServerContext&, Request&,
                                       Response&);
asio::awaitable<bool> HandleOffsetCommit(group::GroupCoordinator&, ServerContext&, Request&,
                                         Response&);
asio::awaitable<bool> HandleOffsetFetch(group::GroupCoordinator&, ServerContext&, Request&,
                                        Response&);
asio::awaitable<bool> HandleListGroups(group::GroupCoordinator&, ServerContext&, Request&,
                                       Response&);
asio::awaitable<bool> HandleDescribeGroups(group::GroupCoordinator&, ServerContext&, Request&,
                                           Response&);
asio::awaitable<bool> HandleDeleteGroups(group::GroupCoordinator&, ServerContext&, Request&,
                                         Response&);
asio::awaitable<bool> HandleOffsetDelete(group::GroupCoordinator&, ServerContext&, Request&,
                                         Response&);
asio::awaitable<bool> HandleTxnOffsetCommit(group::GroupCoordinator&, ServerContext&, Request&,
                                            Response&);
asio::awaitable<bool> HandleConsumerGroupHeartbeat(group::GroupCoordinator&, ServerContext&,
                                                   Request&, Response&);
asio::awaitable<bool> HandleConsumerGroupDescribe(group::GroupCoordinator&, ServerContext&,
                                                  Request&, Response&);

// A group handler as a HandlerFn, with the Broker's coordinator (the generated handler table
// uses it for specs with handler=group).
template <GroupHandlerFn F>
asio::awaitable<bool> GroupHandler(ServerContext& c, Request& q, Response& r) {
  return F(*c.groups, c, q, r);
}

// Waits for a callback without a deadline (the coordinator always answers, at the latest
// with NOT_COORDINATOR when it shuts down).
template <typename T>
asio::awaitable<T> AwaitCompletion(const std::function<void(std::function<void(T)>)>& start) {
  std::optional<T> v = co_await AwaitCallback<T>(start);
  co_return std::move(*v);
}

// Kafka's clientHost: "/" + the peer address without the port.
std::string GroupClientHost(const Request& req);

}  // namespace gregor::server
