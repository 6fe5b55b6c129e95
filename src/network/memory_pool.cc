#include "gregor/network/memory_pool.h"

#include <glog/logging.h>

namespace gregor::network {

MemoryPool::MemoryPool(int64_t capacity_bytes)
    : capacity_(capacity_bytes > 0 ? capacity_bytes : -1) {}

int64_t MemoryPool::used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}

size_t MemoryPool::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

bool MemoryPool::TryReserve(const Lease* lease, int64_t held, int64_t n,
                            const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard<std::mutex> lock(mu_);
  bool admit = capacity_ <= 0 || used_ + n <= capacity_ || (held == 0 && n <= kGraceBytes);
  if (!admit && (overdraft_ == nullptr || overdraft_ == lease)) {
    overdraft_ = lease;
    admit = true;
  }
  if (admit) {
    used_ += n;
    return true;
  }
  if (waiter) waiters_.Add(waiter);
  return false;
}

void MemoryPool::Release(const Lease* lease, int64_t still_held, int64_t n) {
  std::vector<std::weak_ptr<Waiter>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    used_ -= n;
    CHECK_GE(used_, 0) << "memory pool released more than it lent";
    if (still_held == 0 && overdraft_ == lease) overdraft_ = nullptr;
    // Every waiter retries: cheap while few connections are muted, and no
    // waiter can miss memory it could use.
    if (!waiters_.empty()) wake = waiters_.TakeAll();
  }
  WaitList::NotifyAll(wake);
}

MemoryPool::Lease::Lease(std::shared_ptr<MemoryPool> pool) : pool_(std::move(pool)) {}

MemoryPool::Lease::~Lease() { ReleaseAll(); }

bool MemoryPool::Lease::TryGrow(int64_t n, const std::shared_ptr<Waiter>& waiter) {
  CHECK_GE(n, 0);
  if (n == 0) return true;
  if (!pool_->TryReserve(this, held_, n, waiter)) return false;
  held_ += n;
  return true;
}

void MemoryPool::Lease::Shrink(int64_t n) {
  CHECK_LE(n, held_);
  if (n == 0) return;
  held_ -= n;
  pool_->Release(this, held_, n);
}

void MemoryPool::Lease::ReleaseAll() {
  if (held_ > 0) Shrink(held_);
}

}  // namespace gregor::network
