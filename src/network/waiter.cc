#include "gregor/network/waiter.h"

#include <algorithm>

namespace gregor::network {

Waiter::Waiter(asio::any_io_executor strand) : timer_(std::move(strand)) {}

asio::awaitable<void> Waiter::Wait() {
  if (!notified_ && !cancelled_) {
    // Asio 1.18 has no per-operation cancellation: the wait is a timer that
    // never expires on its own, and Notify/Cancel cancel it.
    timer_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  notified_ = false;
}

void Waiter::Notify() {
  asio::post(timer_.get_executor(), [self = shared_from_this()] {
    self->notified_ = true;
    self->timer_.cancel();
  });
}

void Waiter::Cancel() {
  cancelled_ = true;
  timer_.cancel();
}

void WaitList::Add(const std::shared_ptr<Waiter>& waiter) {
  if (waiters_.size() >= prune_at_) {
    waiters_.erase(std::remove_if(waiters_.begin(), waiters_.end(),
                                  [](const std::weak_ptr<Waiter>& w) { return w.expired(); }),
                   waiters_.end());
    prune_at_ = std::max<size_t>(64, 2 * waiters_.size());
  }
  waiters_.push_back(waiter);
}

std::vector<std::weak_ptr<Waiter>> WaitList::TakeAll() {
  std::vector<std::weak_ptr<Waiter>> out;
  out.swap(waiters_);
  prune_at_ = 64;
  return out;
}

void WaitList::NotifyAll(const std::vector<std::weak_ptr<Waiter>>& waiters) {
  for (const auto& w : waiters) {
    if (auto s = w.lock()) s->Notify();
  }
}

}  // namespace gregor::network
