#pragma once
// LatencyHistogram: fixed-size log-linear histogram of non-negative integer
// samples (the benchmark records microseconds).
//
// Values below 128 are counted exactly; above, each power-of-two range is cut
// into 64 equal buckets, so a reported percentile is within 1/64 (~1.6%) of
// the true sample value, whatever the magnitude. The layout is the idea of
// HdrHistogram with a fixed precision, small enough (about 30 KB) to be one
// flat array: Record() is a few instructions and never allocates, which is
// what lets the benchmark record every record's latency.
//
// Owned by its user; not thread-safe (the benchmark records on the thread
// that serves librdkafka's delivery reports). Header-only, no errors.

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace gregor::tools {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;  // 128 exact values
  static constexpr uint64_t kSubBuckets = 1u << kSubBucketBits;
  static constexpr uint64_t kHalf = kSubBuckets / 2;    // 64 buckets per octave
  static constexpr int kOctaves = 64 - kSubBucketBits;  // shifts 1..57 above 127
  static constexpr size_t kBuckets = kSubBuckets + kOctaves * kHalf;

  void Record(uint64_t value) {
    ++counts_[IndexOf(value)];
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
    sum_ += static_cast<double>(value);
  }

  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

  // The value at percentile `p` (0 < p <= 100): the smallest bucket such that
  // at least p% of the samples are at or below it, reported as that bucket's
  // highest value clamped to the observed max (so p100 == max exactly and
  // small exact values are exact). 0 for an empty histogram.
  uint64_t Percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    // The rank of the sample we want, 1-based; rounding up so that p50 of
    // {1, 2} is 1 and p99.9 of 1000 samples is the 999th. The epsilon keeps
    // binary rounding (0.999 * 1000 = 999.0000000000001) from skipping a rank.
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_) - 1e-9));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(HighestOf(i), min(), max_);
    }
    return max_;
  }

  // Bucket index of `value`; exposed for tests of the layout.
  static size_t IndexOf(uint64_t value) {
    if (value < kSubBuckets) return static_cast<size_t>(value);
    int msb = 63 - std::countl_zero(value);  // >= kSubBucketBits
    int shift = msb - (kSubBucketBits - 1);  // value >> shift in [64, 128)
    uint64_t mantissa = value >> shift;
    return static_cast<size_t>(kSubBuckets + static_cast<uint64_t>(shift - 1) * kHalf +
                               (mantissa - kHalf));
  }

  // Smallest and largest values that land in bucket `index`.
  static uint64_t LowestOf(size_t index) {
    if (index < kSubBuckets) return index;
    uint64_t rel = index - kSubBuckets;
    int shift = static_cast<int>(rel / kHalf) + 1;
    uint64_t mantissa = kHalf + rel % kHalf;
    return mantissa << shift;
  }
  static uint64_t HighestOf(size_t index) {
    if (index < kSubBuckets) return index;
    int shift = static_cast<int>((index - kSubBuckets) / kHalf) + 1;
    uint64_t low = LowestOf(index);
    uint64_t width = uint64_t{1} << shift;
    // The top bucket ends at UINT64_MAX; avoid wrapping.
    return low > std::numeric_limits<uint64_t>::max() - (width - 1)
               ? std::numeric_limits<uint64_t>::max()
               : low + (width - 1);
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace gregor::tools
