#include "tools/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace gregor::tools {
namespace {

// The exact percentile by the same rank rule: the ceil(p% * n)-th smallest.
uint64_t ExactPercentile(std::vector<uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()) - 1e-9));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(0u, h.count());
  EXPECT_EQ(0u, h.Percentile(50));
  EXPECT_EQ(0u, h.Percentile(99.9));
  EXPECT_EQ(0u, h.min());
  EXPECT_EQ(0u, h.max());
  EXPECT_EQ(0.0, h.mean());
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(100u, h.count());
  EXPECT_EQ(50u, h.Percentile(50));
  EXPECT_EQ(99u, h.Percentile(99));
  EXPECT_EQ(100u, h.Percentile(99.9));
  EXPECT_EQ(100u, h.Percentile(100));
  EXPECT_EQ(1u, h.Percentile(0.5));
  EXPECT_EQ(1u, h.min());
  EXPECT_EQ(100u, h.max());
  EXPECT_DOUBLE_EQ(50.5, h.mean());
}

TEST(LatencyHistogramTest, SingleValueIsEveryPercentile) {
  LatencyHistogram h;
  h.Record(123456);
  // Clamped to [min, max], so a lone sample is reported exactly.
  EXPECT_EQ(123456u, h.Percentile(1));
  EXPECT_EQ(123456u, h.Percentile(50));
  EXPECT_EQ(123456u, h.Percentile(99.9));
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithoutGaps) {
  // Every bucket starts right after the previous one ends, and the layout
  // covers all 64-bit values.
  EXPECT_EQ(0u, LatencyHistogram::LowestOf(0));
  for (size_t i = 1; i < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::HighestOf(i - 1) + 1, LatencyHistogram::LowestOf(i)) << i;
  }
  EXPECT_EQ(std::numeric_limits<uint64_t>::max(),
            LatencyHistogram::HighestOf(LatencyHistogram::kBuckets - 1));
  EXPECT_EQ(LatencyHistogram::kBuckets - 1,
            LatencyHistogram::IndexOf(std::numeric_limits<uint64_t>::max()));
}

TEST(LatencyHistogramTest, IndexOfIsConsistentWithBounds) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    size_t idx = LatencyHistogram::IndexOf(v);
    ASSERT_LT(idx, LatencyHistogram::kBuckets);
    ASSERT_LE(LatencyHistogram::LowestOf(idx), v);
    ASSERT_GE(LatencyHistogram::HighestOf(idx), v);
  }
}

TEST(LatencyHistogramTest, PercentilesWithinRelativeErrorOfExact) {
  // Log-normal-ish latencies from 50 us to ~1 s, like a loaded broker.
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(7.0, 1.5);
  std::vector<uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<uint64_t>(50 + dist(rng));
    samples.push_back(v);
    h.Record(v);
  }
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    double exact = static_cast<double>(ExactPercentile(samples, p));
    double got = static_cast<double>(h.Percentile(p));
    // Never below the true value, and at most one bucket width (1/64) above.
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(got, exact * (1.0 + 1.0 / 64)) << "p" << p;
  }
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 0; v < 5000; ++v) {
    (v % 3 == 0 ? a : b).Record(v * 37);
    all.Record(v * 37);
  }
  a.Merge(b);
  EXPECT_EQ(all.count(), a.count());
  EXPECT_EQ(all.min(), a.min());
  EXPECT_EQ(all.max(), a.max());
  for (double p : {10.0, 50.0, 99.0, 99.9}) EXPECT_EQ(all.Percentile(p), a.Percentile(p));
}

TEST(LatencyHistogramTest, TailIsNotHiddenByBulk) {
  LatencyHistogram h;
  for (int i = 0; i < 998; ++i) h.Record(1000);
  h.Record(500000);
  h.Record(900000);
  EXPECT_GE(h.Percentile(99), 1000u);
  EXPECT_LE(h.Percentile(99), 1000u + 1000u / 64);
  // 999th of 1000 samples is the 500 ms one.
  EXPECT_GE(h.Percentile(99.9), 500000u);
  EXPECT_LE(h.Percentile(99.9), 500000u + 500000u / 64);
  EXPECT_EQ(900000u, h.Percentile(100));
}

}  // namespace
}  // namespace gregor::tools
