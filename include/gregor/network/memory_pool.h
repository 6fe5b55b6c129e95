#pragma once
// MemoryPool: the bytes of request bodies being read or handled, across all
// listeners of a broker: Kafka's queued.max.request.bytes (KIP-72). Owned by
// the Broker (shared_ptr, handed to every Listener); each connection holds a
// Lease on it for the body of its current request.
//
// A body is allocated as its bytes arrive, never at the size its 4-byte
// prefix declares, and every growth of the buffer is reserved here first.
// A growth the pool cannot admit leaves the connection muted (its socket is
// not read) until memory is released; it waits on a Waiter, never blocking a
// network thread. Admission rules, in order:
//   1. the pool is unbounded (capacity <= 0, Kafka's -1), or the growth fits;
//   2. grace: a lease holding nothing may take a first chunk of up to
//      kGraceBytes even past the capacity, so that small requests (Metadata,
//      ApiVersions, heartbeats) of other clients are still read while hostile
//      or stuck connections hold the whole pool. This costs at most
//      kGraceBytes per connection beyond the capacity, like the connection's
//      own read-ahead buffer, and connections are bounded by max.connections;
//   3. overdraft: one lease at a time may exceed the capacity. Like Kafka's
//      non-strict pool (a request is admitted while any memory is free), this
//      lets a request larger than the free memory complete, and keeps several
//      half-read large requests from waiting on each other forever. The
//      overdraft ends when its holder releases everything (request done or
//      connection closed); a holder that stops sending is closed by
//      socket.request.read.timeout.ms.
// So memory in request bodies stays below capacity + one request
// (socket.request.max.bytes, 1.5x while its buffer grows) + kGraceBytes per
// connection.
//
// Thread-safe: one mutex guards the counters; waiters are notified after it
// is released. A Lease is used on its connection's strand only.

#include <cstdint>
#include <memory>
#include <mutex>

#include "gregor/network/waiter.h"

namespace gregor::network {

class MemoryPool {
 public:
  static constexpr int64_t kGraceBytes = 64 * 1024;

  // capacity_bytes <= 0: unbounded (still counted).
  explicit MemoryPool(int64_t capacity_bytes);

  bool bounded() const { return capacity_ > 0; }
  int64_t capacity() const { return capacity_; }
  int64_t used() const;
  size_t waiting() const;  // waiters registered (for tests and diagnostics)

  // One connection's share, on that connection's strand.
  class Lease {
   public:
    explicit Lease(std::shared_ptr<MemoryPool> pool);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    // Adds n bytes to this lease when the pool admits them (see the class
    // comment); otherwise registers `waiter` to be notified at the next
    // release and returns false.
    bool TryGrow(int64_t n, const std::shared_ptr<Waiter>& waiter);
    void Shrink(int64_t n);  // gives back n of the held bytes
    void ReleaseAll();
    int64_t held() const { return held_; }

   private:
    std::shared_ptr<MemoryPool> pool_;
    int64_t held_ = 0;
  };

 private:
  bool TryReserve(const Lease* lease, int64_t held, int64_t n,
                  const std::shared_ptr<Waiter>& waiter);
  void Release(const Lease* lease, int64_t still_held, int64_t n);

  const int64_t capacity_;
  mutable std::mutex mu_;
  int64_t used_ = 0;
  const Lease* overdraft_ = nullptr;  // the one lease allowed past the capacity
  WaitList waiters_;
};

}  // namespace gregor::network
