#pragma once
// SampledRate: Kafka's Rate over a SampledStat of sums, the measure behind client quotas
// (quota.window.*) and replication throttles (replication.quota.window.*): `samples` windows
// of `window_ms` each; a sample older than all of them is reset; the rate divides by at least
// samples - 1 whole windows, so a fresh burst is not overstated.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gregor {

struct QuotaWindow {
  int32_t samples = 11;      // quota.window.num
  int64_t window_ms = 1000;  // quota.window.size.seconds * 1000
};

// Kafka's Rate over a SampledStat of sums. Not thread-safe (its owner locks).
class SampledRate {
 public:
  explicit SampledRate(QuotaWindow window) : window_(window) {}
  void Record(double value, int64_t now_ms);
  // Per second over WindowSizeMs.
  double Measure(int64_t now_ms);
  // The span the rate divides by: from the oldest sample's start, at least samples - 1 whole
  // windows, at least 1 ms.
  int64_t WindowSizeMs(int64_t now_ms);
  int64_t last_record_ms() const { return last_record_ms_; }

 private:
  struct Sample {
    int64_t start_ms = 0;
    double value = 0;
    bool used = false;
  };
  void PurgeObsolete(int64_t now_ms);

  QuotaWindow window_;
  std::vector<Sample> samples_;
  size_t current_ = 0;
  int64_t last_record_ms_ = 0;
};

}  // namespace gregor
