#pragma once
// Metrics counted where the work happens and read when Prometheus scrapes.
//
// Counter and LatencyHistogram are a few relaxed atomic adds on the hot path: no lock, no
// allocation. Reading them (Snapshot, value) is for the scrape, which may see a histogram
// mid-update (a count one ahead of its buckets); nothing depends on exactness there.
// QuantileWindow turns cumulative histogram snapshots into quantiles over the recent past
// (the last one to two minutes of scrapes), the way Kafka's JMX histograms report recent
// percentiles rather than percentiles since start. PrometheusText writes the text exposition
// format (version 0.0.4): one HELP and TYPE line per family, label values escaped.
// Thread-safety: Counter and LatencyHistogram from any thread; QuantileWindow and
// PrometheusText by one thread at a time (the scrape).

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gregor {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Latencies in microseconds: one bucket per microsecond below 8 us, then 4 buckets per power
// of two (at most 25% relative error) up to about 2^41 us; slower samples land in the last.
class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 4;
  static constexpr int kBuckets = 8 + 38 * kSubBuckets;

  struct Snapshot {
    std::array<uint64_t, kBuckets> buckets{};
    uint64_t count = 0;
    uint64_t sum_us = 0;
    // The q-quantile (0 < q <= 1) in microseconds, at the upper bound of its bucket; 0 when
    // empty.
    double Quantile(double q) const;
    Snapshot Minus(const Snapshot& earlier) const;
  };

  void Record(int64_t micros) {
    if (micros < 0) micros = 0;
    buckets_[BucketOf(static_cast<uint64_t>(micros))].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  Snapshot Take() const;

  static int BucketOf(uint64_t micros);
  static double BucketUpperBound(int bucket);  // microseconds

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> count_{0};
};

// Quantiles over recent scrapes: keeps the cumulative snapshots it was given per key (one
// per `step_ms` at most) and answers from the difference between now and the newest one at
// least `window_ms` old (or the oldest it has).
class QuantileWindow {
 public:
  explicit QuantileWindow(int64_t window_ms = 60000, int64_t step_ms = 15000)
      : window_ms_(window_ms), step_ms_(step_ms) {}
  LatencyHistogram::Snapshot Recent(const std::string& key,
                                    const LatencyHistogram::Snapshot& now_snapshot, int64_t now_ms);

 private:
  const int64_t window_ms_;
  const int64_t step_ms_;
  std::map<std::string, std::deque<std::pair<int64_t, LatencyHistogram::Snapshot>>> history_;
};

using MetricLabels = std::vector<std::pair<std::string_view, std::string>>;

class PrometheusText {
 public:
  // Starts family `name` (type: counter, gauge, summary) unless it was started already.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  // A Kafka-style summary of a histogram: quantiles 0.50, 0.75, 0.95, 0.98, 0.99, 0.999 of
  // `recent` in milliseconds, and _sum (ms) and _count of `total`.
  void Summary(std::string_view name, const MetricLabels& labels,
               const LatencyHistogram::Snapshot& recent, const LatencyHistogram::Snapshot& total);
  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
  std::vector<std::string> families_;
};

}  // namespace gregor
