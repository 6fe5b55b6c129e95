#pragma once
// RequestSlots: queued.max.requests, the number of requests being handled at
// once across all listeners of a broker. Owned by the Broker (shared_ptr,
// handed to every Listener). A connection takes a slot once a request frame
// is read and gives it back when the response is written; a connection that
// finds no slot is muted (it reads nothing more) until one frees, waiting on
// its Waiter, never blocking a network thread.
//
// Kafka bounds the queue between its network threads and its request
// handler threads; requests parked in a purgatory (a Fetch waiting for
// fetch.min.bytes, an acks=all Produce waiting for the ISR) have left that
// queue. gregor's handlers are coroutines: a handler that starts such a wait
// parks its request (ConnectionContext::ParkRequest), which gives the slot
// back, so parked requests never hold up the ones that would complete them.
//
// Thread-safe (one mutex); waiters are notified after it is released.

#include <cstdint>
#include <memory>
#include <mutex>

#include "gregor/network/waiter.h"

namespace gregor::network {

class RequestSlots {
 public:
  explicit RequestSlots(int32_t max_requests);  // >= 1

  // Takes a slot, or registers `waiter` for the next release and returns false.
  bool TryAcquire(const std::shared_ptr<Waiter>& waiter);
  void Release();

  int32_t capacity() const { return capacity_; }
  int32_t in_use() const;

 private:
  const int32_t capacity_;
  mutable std::mutex mu_;
  int32_t in_use_ = 0;
  WaitList waiters_;
};

}  // namespace gregor::network
