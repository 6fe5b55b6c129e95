#pragma once
// Awaiting work that completes through a callback (the controller's event thread, the group
// coordinator) from a connection's coroutine, without blocking a network thread.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "gregor/network/asio.h"

namespace gregor::server {

// Runs `start` with a completion callback and waits for it on the calling coroutine's
// executor, until `deadline`; nullopt when the deadline passed first. The callback may run on
// any thread, inside `start` or later; the result is handed over through a post to this
// executor, so the coroutine must run on a strand (connections do) for the hand-over to be
// ordered with the wait. `start` is taken by reference and called before the first
// suspension: g++ 12 destroys a coroutine's by-value class parameters twice.
template <typename T>
asio::awaitable<std::optional<T>> AwaitCallback(
    const std::function<void(std::function<void(T)>)>& start,
    asio::steady_timer::time_point deadline = asio::steady_timer::time_point::max()) {
  struct State {
    explicit State(asio::any_io_executor ex) : timer(ex) {}
    std::optional<T> value;
    asio::steady_timer timer;
  };
  auto st = std::make_shared<State>(co_await asio::this_coro::executor);
  st->timer.expires_at(deadline);
  start([st](T v) {
    asio::post(st->timer.get_executor(), [st, v = std::move(v)]() mutable {
      st->value = std::move(v);
      st->timer.cancel();
    });
  });
  while (!st->value && asio::steady_timer::clock_type::now() < deadline) {
    boost::system::error_code ec;
    co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(st->value);
}

// The deadline of a request's timeout_ms field (Kafka's admin requests; 60 s when unset).
inline asio::steady_timer::time_point RequestDeadline(int32_t timeout_ms) {
  return asio::steady_timer::clock_type::now() +
         std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 60000);
}

}  // namespace gregor::server
