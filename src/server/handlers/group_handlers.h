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

// Runs `start` with a completion callback and waits for it on the calling coroutine's
// executor. The callback may run on any thread, inside `start` or later; the result is handed
// over through a post to this executor, so the coroutine must run on a strand (connections
// do) for the hand-over to be ordered with the wait. `start` is taken by reference and called
// before the first suspension: g++ 12 destroys a coroutine's by-value class parameters twice.
template <typename T>
asio::awaitable<T> AwaitCompletion(const std::function<void(std::function<void(T)>)>& start) {
  struct State {
    explicit State(asio::any_io_executor ex) : timer(ex) {}
    std::optional<T> value;
    asio::steady_timer timer;
  };
  auto st = std::make_shared<State>(co_await asio::this_coro::executor);
  st->timer.expires_at(asio::steady_timer::time_point::max());
  start([st](T v) {
    asio::post(st->timer.get_executor(), [st, v = std::move(v)]() mutable {
      st->value = std::move(v);
      st->timer.cancel();
    });
  });
  while (!st->value) {
    boost::system::error_code ec;
    co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(*st->value);
}

// Kafka's clientHost: "/" + the peer address without the port.
std::string GroupClientHost(const Request& req);

}  // namespace gregor::server
