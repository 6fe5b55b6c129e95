// ReplicationQuota (KIP-73): which partitions a broker throttles, and when the bound is hit.
#include "gregor/replication/replication_quota.h"

#include <gtest/gtest.h>

namespace gregor::replication {
namespace {

constexpr QuotaWindow kWindow{11, 1000};

TEST(ReplicationQuotaTest, ThrottlesOnlyThisBrokersListedPartitions) {
  FakeClock clock;
  ReplicationQuota q(ReplicationQuota::Side::kLeader, kWindow, &clock);
  EXPECT_FALSE(q.IsThrottled({"t", 0}));
  q.SetThrottledReplicas("t", "0:1,0:2,1:2,3:1", /*broker_id=*/1);
  EXPECT_TRUE(q.IsThrottled({"t", 0}));
  EXPECT_FALSE(q.IsThrottled({"t", 1}));  // listed for broker 2 only
  EXPECT_TRUE(q.IsThrottled({"t", 3}));
  EXPECT_FALSE(q.IsThrottled({"u", 0}));
  q.SetThrottledReplicas("u", "*", 1);
  EXPECT_TRUE(q.IsThrottled({"u", 7}));
  EXPECT_EQ(q.ThrottledTopicCount(), 2u);
  // A list naming only other brokers, an empty one and removal all stop throttling.
  q.SetThrottledReplicas("t", "0:2", 1);
  EXPECT_FALSE(q.IsThrottled({"t", 0}));
  q.SetThrottledReplicas("u", "", 1);
  EXPECT_FALSE(q.IsThrottled({"u", 7}));
  q.SetThrottledReplicas("u", "*", 1);
  q.RemoveTopic("u");
  EXPECT_FALSE(q.IsThrottled({"u", 7}));
  EXPECT_EQ(q.ThrottledTopicCount(), 0u);
  // The topic's overrides as read from ZooKeeper: only this side's key counts.
  q.ApplyTopicConfig("w", {{"follower.replication.throttled.replicas", "*"}}, 1);
  EXPECT_FALSE(q.IsThrottled({"w", 0}));
  q.ApplyTopicConfig("w", {{"leader.replication.throttled.replicas", "*"}}, 1);
  EXPECT_TRUE(q.IsThrottled({"w", 0}));
  q.ApplyTopicConfig("w", {}, 1);
  EXPECT_FALSE(q.IsThrottled({"w", 0}));
  // An invalid value (written by some other tool) throttles nothing rather than everything.
  q.SetThrottledReplicas("t", "zero:one", 1);
  EXPECT_FALSE(q.IsThrottled({"t", 0}));
}

TEST(ReplicationQuotaTest, ExceededWhileTheWindowedRateIsAboveTheBound) {
  FakeClock clock;
  ReplicationQuota q(ReplicationQuota::Side::kLeader, kWindow, &clock);
  q.Record(100'000'000);
  EXPECT_FALSE(q.IsQuotaExceeded()) << "no bound: never exceeded";
  q.SetRate(1'000'000);              // 1 MB/s over an 11 s window (at least 10 s)
  EXPECT_TRUE(q.IsQuotaExceeded());  // 100 MB over >= 10 s is 10 MB/s
  // The samples expire after 11 windows; the rate falls back to 0.
  clock.AdvanceMs(11'000);
  EXPECT_FALSE(q.IsQuotaExceeded());
  // 9 MB in the first window: 9 MB / 10 s = 0.9 MB/s, within; 2 MB more goes over.
  q.Record(9'000'000);
  EXPECT_FALSE(q.IsQuotaExceeded());
  clock.AdvanceMs(1000);
  q.Record(2'000'000);
  EXPECT_TRUE(q.IsQuotaExceeded());
  EXPECT_NEAR(q.MeasuredRate(), 1'100'000, 1000);
  // Raising the bound at run time takes effect at once; unlimited turns it off.
  q.SetRate(2'000'000);
  EXPECT_FALSE(q.IsQuotaExceeded());
  q.SetRate(0);
  EXPECT_TRUE(q.IsQuotaExceeded());
  q.SetRate(ReplicationQuota::kUnlimited);
  EXPECT_FALSE(q.IsQuotaExceeded());
  EXPECT_EQ(q.rate(), ReplicationQuota::kUnlimited);
}

}  // namespace
}  // namespace gregor::replication
