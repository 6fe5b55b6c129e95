#include "gregor/network/request_slots.h"

#include <glog/logging.h>

#include <algorithm>

namespace gregor::network {

RequestSlots::RequestSlots(int32_t max_requests) : capacity_(std::max(1, max_requests)) {}

bool RequestSlots::TryAcquire(const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard<std::mutex> lock(mu_);
  if (in_use_ < capacity_) {
    ++in_use_;
    return true;
  }
  if (waiter) waiters_.Add(waiter);
  return false;
}

void RequestSlots::Release() {
  std::vector<std::weak_ptr<Waiter>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    CHECK_GT(in_use_, 0) << "request slot released twice";
    --in_use_;
    if (!waiters_.empty()) wake = waiters_.TakeAll();
  }
  WaitList::NotifyAll(wake);
}

int32_t RequestSlots::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

}  // namespace gregor::network
