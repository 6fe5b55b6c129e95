#pragma once
// Kafka's RequestMetrics, counted by the dispatcher for every request it answers: requests by
// API and version (RequestsPerSec), and the time from taking the request to its response
// being ready (TotalTimeMs), split into the handler's own work (LocalTimeMs) and the time it
// was parked waiting for something else (RemoteTimeMs: acks=all replication, a fetch's long
// poll). Relaxed atomics in fixed arrays indexed by API key and version: no lock, no
// allocation.

#include <array>
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
  };

  // `parked`: when the request was parked (steady_clock epoch: never).
  void Record(int16_t api_key, int16_t version, std::chrono::steady_clock::time_point start,
              std::chrono::steady_clock::time_point parked,
              std::chrono::steady_clock::time_point end) {
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
  }
  const Api& api(int key) const { return apis_[key]; }

 private:
  std::array<Api, kMaxApiKey> apis_;
};

}  // namespace gregor::server
