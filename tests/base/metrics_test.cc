#include "gregor/base/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace gregor {
namespace {

TEST(LatencyHistogramTest, BucketsBoundTheirSamples) {
  for (uint64_t us : {0ull, 1ull, 2ull, 3ull, 4ull, 5ull, 7ull, 8ull, 100ull, 1000ull, 12345ull,
                      999999ull, 1ull << 30}) {
    const int b = LatencyHistogram::BucketOf(us);
    EXPECT_GE(LatencyHistogram::BucketUpperBound(b), static_cast<double>(us)) << us;
    if (b > 0) {
      EXPECT_LT(LatencyHistogram::BucketUpperBound(b - 1), static_cast<double>(us)) << us;
    }
    // At most 25% above the sample (4 buckets per power of two).
    EXPECT_LE(LatencyHistogram::BucketUpperBound(b), 1.25 * static_cast<double>(us) + 1) << us;
  }
  EXPECT_EQ(LatencyHistogram::kBuckets - 1, LatencyHistogram::BucketOf(~0ull));
}

TEST(LatencyHistogramTest, QuantilesCountAndSumFromManyThreads) {
  LatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 1; i <= 1000; ++i) h.Record(i * 10);  // 10 us .. 10 ms
    });
  }
  for (auto& t : threads) t.join();
  auto s = h.Take();
  EXPECT_EQ(4000u, s.count);
  EXPECT_EQ(4u * 10 * 1000 * 1001 / 2, s.sum_us);
  EXPECT_NEAR(5000, s.Quantile(0.5), 5000 * 0.25);
  EXPECT_NEAR(9900, s.Quantile(0.99), 9900 * 0.25);
  EXPECT_GE(s.Quantile(1.0), 10000);
  EXPECT_EQ(0, LatencyHistogram::Snapshot{}.Quantile(0.5));
}

TEST(QuantileWindowTest, ReportsTheRecentPast) {
  LatencyHistogram h;
  QuantileWindow w(60000, 15000);
  for (int i = 0; i < 100; ++i) h.Record(100000);  // 100 ms, early on
  auto first = w.Recent("k", h.Take(), 0);
  EXPECT_EQ(0u, first.count) << "nothing since the first scrape";
  for (int i = 0; i < 100; ++i) h.Record(1000);  // 1 ms, later
  EXPECT_EQ(100u, w.Recent("k", h.Take(), 30000).count);
  // Past the window, the slow samples before the first scrape are out of the quantiles.
  for (int t = 45000; t <= 120000; t += 15000) w.Recent("k", h.Take(), t);
  for (int i = 0; i < 10; ++i) h.Record(2000);
  auto recent = w.Recent("k", h.Take(), 135000);
  EXPECT_LE(recent.Quantile(0.999), 2500);
  EXPECT_GT(recent.count, 0u);
}

TEST(PrometheusTextTest, FamiliesSamplesEscapingAndSummaries) {
  PrometheusText p;
  p.Family("kafka_server_brokertopicmetrics_messagesin_total", "counter", "Messages appended.");
  p.Sample("kafka_server_brokertopicmetrics_messagesin_total", {}, 12);
  p.Family("kafka_server_brokertopicmetrics_messagesin_total", "counter", "again");
  p.Sample("kafka_server_brokertopicmetrics_messagesin_total", {{"topic", "a\"b\\c\nd"}}, 3);
  EXPECT_EQ(
      "# HELP kafka_server_brokertopicmetrics_messagesin_total Messages appended.\n"
      "# TYPE kafka_server_brokertopicmetrics_messagesin_total counter\n"
      "kafka_server_brokertopicmetrics_messagesin_total 12\n"
      "kafka_server_brokertopicmetrics_messagesin_total{topic=\"a\\\"b\\\\c\\nd\"} 3\n",
      p.text());
  LatencyHistogram h;
  h.Record(1500);
  PrometheusText s;
  s.Family("x_totaltimems", "summary", "h");
  s.Summary("x_totaltimems", {{"request", "Produce"}}, h.Take(), h.Take());
  const std::string& t = s.text();
  EXPECT_NE(std::string::npos,
            t.find("x_totaltimems{request=\"Produce\",quantile=\"0.99\"} 1.535\n"))
      << t;
  EXPECT_NE(std::string::npos, t.find("x_totaltimems_sum{request=\"Produce\"} 1.5\n")) << t;
  EXPECT_NE(std::string::npos, t.find("x_totaltimems_count{request=\"Produce\"} 1\n")) << t;
}

}  // namespace
}  // namespace gregor
