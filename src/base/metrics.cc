#include "gregor/base/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace gregor {

// 0..7 us one bucket each; from 8 us on, 4 buckets per power of two.
int LatencyHistogram::BucketOf(uint64_t micros) {
  if (micros < 8) return static_cast<int>(micros);
  const int exp = std::bit_width(micros) - 1;  // micros in [2^exp, 2^(exp+1)), exp >= 3
  const int sub = static_cast<int>((micros >> (exp - 2)) & (kSubBuckets - 1));
  return std::min(8 + (exp - 3) * kSubBuckets + sub, kBuckets - 1);
}

double LatencyHistogram::BucketUpperBound(int bucket) {
  if (bucket < 8) return bucket;
  const int exp = 3 + (bucket - 8) / kSubBuckets;
  const int sub = (bucket - 8) % kSubBuckets;
  return std::ldexp(1.0, exp) + std::ldexp(1.0, exp - 2) * (sub + 1) - 1;
}

LatencyHistogram::Snapshot LatencyHistogram::Take() const {
  Snapshot s;
  for (int i = 0; i < kBuckets; ++i) s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  s.sum_us = sum_us_.load(std::memory_order_relaxed);
  s.count = count_.load(std::memory_order_relaxed);
  return s;
}

double LatencyHistogram::Snapshot::Quantile(double q) const {
  uint64_t total = 0;
  for (uint64_t b : buckets) total += b;
  if (total == 0) return 0;
  const double rank = std::max(1.0, std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets[i];
    if (static_cast<double>(seen) >= rank) return BucketUpperBound(i);
  }
  return BucketUpperBound(kBuckets - 1);
}

LatencyHistogram::Snapshot LatencyHistogram::Snapshot::Minus(const Snapshot& earlier) const {
  Snapshot d;
  for (int i = 0; i < kBuckets; ++i) {
    d.buckets[i] = buckets[i] >= earlier.buckets[i] ? buckets[i] - earlier.buckets[i] : 0;
  }
  d.count = count >= earlier.count ? count - earlier.count : 0;
  d.sum_us = sum_us >= earlier.sum_us ? sum_us - earlier.sum_us : 0;
  return d;
}

LatencyHistogram::Snapshot QuantileWindow::Recent(const std::string& key,
                                                  const LatencyHistogram::Snapshot& now_snapshot,
                                                  int64_t now_ms) {
  auto& h = history_[key];
  if (h.empty() || now_ms - h.back().first >= step_ms_) h.emplace_back(now_ms, now_snapshot);
  // Drop what is older than needed: keep the newest entry at least window_ms old.
  while (h.size() >= 2 && now_ms - h[1].first >= window_ms_) h.pop_front();
  return now_snapshot.Minus(h.front().second);
}

void PrometheusText::Family(std::string_view name, std::string_view type, std::string_view help) {
  for (const auto& f : families_) {
    if (f == name) return;
  }
  families_.emplace_back(name);
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusText::Sample(std::string_view name, const MetricLabels& labels, double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      for (char c : v) {
        if (c == '\\') {
          out_ += "\\\\";
        } else if (c == '"') {
          out_ += "\\\"";
        } else if (c == '\n') {
          out_ += "\\n";
        } else {
          out_ += c;
        }
      }
      out_ += '"';
    }
    out_ += '}';
  }
  char buf[40];
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof(buf), " %.0f\n", value);
  } else {
    std::snprintf(buf, sizeof(buf), " %.6g\n", value);
  }
  out_ += buf;
}

void PrometheusText::Summary(std::string_view name, const MetricLabels& labels,
                             const LatencyHistogram::Snapshot& recent,
                             const LatencyHistogram::Snapshot& total) {
  static constexpr std::pair<const char*, double> kQuantiles[] = {{"0.5", 0.5},   {"0.75", 0.75},
                                                                  {"0.95", 0.95}, {"0.98", 0.98},
                                                                  {"0.99", 0.99}, {"0.999", 0.999}};
  MetricLabels with = labels;
  with.emplace_back("quantile", "");
  for (const auto& [text, q] : kQuantiles) {
    with.back().second = text;
    Sample(name, with, recent.Quantile(q) / 1000.0);
  }
  const std::string base(name);
  Sample(base + "_sum", labels, static_cast<double>(total.sum_us) / 1000.0);
  Sample(base + "_count", labels, static_cast<double>(total.count));
}

}  // namespace gregor
