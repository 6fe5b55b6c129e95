#pragma once
// Waiter: how a connection muted by a shared limit (the request memory pool,
// queued.max.requests) or an acceptor held at max.connections waits for that
// limit to free up, without blocking a network thread. Owned by the
// connection (or the listener's acceptor) through a shared_ptr; the limits
// keep weak references to the waiters that asked them.
//
// Threads: Wait() and Cancel() run on the owner's strand, and only one
// coroutine waits on a Waiter at a time. Notify() may be called from any
// thread: it posts to that strand, so a notification that races with the
// owner registering itself is never lost (the posted handler runs after the
// owner has suspended in Wait, or leaves `notified` set for the next Wait).
// A Wait may also return spuriously (a stale notification): callers re-check
// their condition in a loop.

#include <memory>
#include <vector>

#include "gregor/network/asio.h"

namespace gregor::network {

class Waiter : public std::enable_shared_from_this<Waiter> {
 public:
  // `strand` is the executor of the coroutine that calls Wait.
  explicit Waiter(asio::any_io_executor strand);

  // On the strand: returns once Notify() has been called since the last
  // Wait returned, or Cancel() was called (then cancelled() is true).
  asio::awaitable<void> Wait();

  // Any thread: wakes the current or the next Wait.
  void Notify();

  // On the strand: wakes Wait for good (the owner is closing).
  void Cancel();
  bool cancelled() const { return cancelled_; }

 private:
  asio::steady_timer timer_;
  bool notified_ = false;
  bool cancelled_ = false;
};

// The waiters of one limit. Not synchronized: the limit guards it with its
// own mutex, takes the waiters under that mutex and notifies them after
// releasing it (NotifyAll).
class WaitList {
 public:
  void Add(const std::shared_ptr<Waiter>& waiter);
  bool empty() const { return waiters_.empty(); }
  size_t size() const { return waiters_.size(); }
  std::vector<std::weak_ptr<Waiter>> TakeAll();

  static void NotifyAll(const std::vector<std::weak_ptr<Waiter>>& waiters);

 private:
  std::vector<std::weak_ptr<Waiter>> waiters_;
  size_t prune_at_ = 64;  // drop expired entries (closed connections) past this size
};

}  // namespace gregor::network
