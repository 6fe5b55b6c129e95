#include "tools/format.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace gregor::tools {
namespace {

TEST(FormatTest, ProduceLineHasTheDocumentedShape) {
  LatencyHistogram h;
  for (uint64_t us = 1; us <= 1000; ++us) h.Record(us * 10);  // 10 us .. 10 ms
  std::string line = FormatProduceLine(2'000'000, 100, "all", 4.0, h);
  // 2e6 records in 4 s; 2e8 bytes / 4 s / 2^20.
  EXPECT_NE(std::string::npos, line.find("produce records=2000000 size=100 acks=all: "));
  EXPECT_NE(std::string::npos, line.find("500000 records/s, 47.68 MB/s"));
  std::regex shape(R"(^produce records=\d+ size=\d+ acks=(0|1|all): \d+ records/s, [0-9.]+ MB/s, )"
                   R"(latency p50=[0-9.]+ p99=[0-9.]+ p99\.9=[0-9.]+ ms$)");
  EXPECT_TRUE(std::regex_match(line, shape)) << line;
  // p50 is the 500th sample, 5000 us, within one bucket.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, std::regex(R"(p50=([0-9.]+))")));
  double p50 = std::stod(m[1]);
  EXPECT_GE(p50, 5.0);
  EXPECT_LE(p50, 5.0 * (1 + 1.0 / 64));
}

TEST(FormatTest, ConsumeLine) {
  EXPECT_EQ("consume records=1000: 500 records/s, 0.05 MB/s",
            FormatConsumeLine(1000, 100'000, 2.0));
  // A zero duration does not divide by zero.
  EXPECT_EQ("consume records=0: 0 records/s, 0.00 MB/s", FormatConsumeLine(0, 0, 0.0));
}

TEST(FormatTest, PartitionLine) {
  EXPECT_EQ("\tTopic: t\tPartition: 3\tLeader: 2\tReplicas: 2,1,0\tIsr: 2,0",
            FormatPartitionLine("t", 3, 2, {2, 1, 0}, {2, 0}, ""));
  EXPECT_EQ("\tTopic: t\tPartition: 0\tLeader: none\tReplicas: 1\tIsr: \tError: X",
            FormatPartitionLine("t", 0, -1, {1}, {}, "X"));
}

TEST(FormatTest, MergeConfigOverridesSetsReplacesAndDeletes) {
  std::vector<KeyValue> current = {{"retention.ms", "1000"}, {"segment.bytes", "4096"}};
  auto merged =
      MergeConfigOverrides(current, {{"retention.ms", "2000"}, {"cleanup.policy", "compact"}},
                           {"segment.bytes", "not.there"});
  std::vector<KeyValue> want = {{"cleanup.policy", "compact"}, {"retention.ms", "2000"}};
  EXPECT_EQ(want, merged);
  // Untouched overrides survive.
  auto kept = MergeConfigOverrides(current, {{"max.message.bytes", "10"}}, {});
  EXPECT_EQ(3u, kept.size());
  // A key both deleted and set ends up set.
  auto both = MergeConfigOverrides({}, {{"a", "1"}}, {"a"});
  EXPECT_EQ((std::vector<KeyValue>{{"a", "1"}}), both);
}

TEST(FormatTest, SplitKeyValue) {
  auto kv = SplitKeyValue("user42:hello:world", ":");
  EXPECT_TRUE(kv.has_key);
  EXPECT_EQ("user42", kv.key);
  EXPECT_EQ("hello:world", kv.value);
  auto multi = SplitKeyValue("k::v", "::");
  EXPECT_EQ("k", multi.key);
  EXPECT_EQ("v", multi.value);
  auto none = SplitKeyValue("novalue", ":");
  EXPECT_FALSE(none.has_key);
  EXPECT_EQ("novalue", none.value);
  auto empty_key = SplitKeyValue(":v", ":");
  EXPECT_TRUE(empty_key.has_key);
  EXPECT_EQ("", empty_key.key);
  EXPECT_EQ("v", empty_key.value);
}

}  // namespace
}  // namespace gregor::tools
