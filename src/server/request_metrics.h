#pragma once
// Kafka's RequestMetrics, counted by the dispatcher for every request it answers: requests by
// API and version (RequestsPerSec), and the time from taking the request to its response
// being ready (TotalTimeMs), split into the handler's own work (LocalTimeMs) and the time it
// was parked waiting for something else (RemoteTimeMs: acks=all replication, a fetch's long
// poll). Relaxed atomics in fixed arrays indexed by API key and version: no lock, no
// allocation.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "gregor/base/metrics.h"

namespace gregor::server {

class RequestMetrics {
 public:
  static constexpr int kMaxApiKey = 80;
  static constexpr int kMaxVersion = 20;

  struct Api {
    std::array<Counter, kMaxVersion> requests_by_version;
    LatencyHistogram total_time;
    LatencyHistogram local_time;
    LatencyHistogram remote_time;
    LatencyHistogram throttle_time;  // ThrottleTimeMs: the throttle_time_ms answered
  };

  // DelayedOperationPurgatory PurgatorySize: requests parked waiting, by kind.
  struct Purgatory {
    std::atomic<int64_t> produce{0};  // acks=all waiting for followers
    std::atomic<int64_t> fetch{0};    // long polls waiting for data
  };
  // Counts one parked request for as long as it lives.
  class Parked {
   public:
    explicit Parked(std::atomic<int64_t>* gauge) : gauge_(gauge) {
      if (gauge_ != nullptr) gauge_->fetch_add(1, std::memory_order_relaxed);
    }
    ~Parked() {
      if (gauge_ != nullptr) gauge_->fetch_sub(1, std::memory_order_relaxed);
    }
    Parked(const Parked&) = delete;
    Parked& operator=(const Parked&) = delete;

   private:
    std::atomic<int64_t>* gauge_;
  };

  // `parked`: when the request was parked (steady_clock epoch: never).
  void Record(int16_t api_key, int16_t version, std::chrono::steady_clock::time_point start,
              std::chrono::steady_clock::time_point parked,
              std::chrono::steady_clock::time_point end, int32_t throttle_ms) {
    if (api_key < 0 || api_key >= kMaxApiKey) return;
    Api& a = apis_[api_key];
    a.requests_by_version[version >= 0 && version < kMaxVersion ? version : kMaxVersion - 1].Add();
    auto us = [](auto d) {
      return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    };
    const bool was_parked = parked != std::chrono::steady_clock::time_point{} && parked > start;
    const int64_t total = us(end - start);
    const int64_t local = was_parked ? us(parked - start) : total;
    a.total_time.Record(total);
    a.local_time.Record(local);
    a.remote_time.Record(total - local);
    a.throttle_time.Record(int64_t{throttle_ms > 0 ? throttle_ms : 0} * 1000);
  }
  const Api& api(int key) const { return apis_[key]; }
  Purgatory& purgatory() { return purgatory_; }
  const Purgatory& purgatory() const { return purgatory_; }

 private:
  std::array<Api, kMaxApiKey> apis_;
  Purgatory purgatory_;
};

}  // namespace gregor::server
