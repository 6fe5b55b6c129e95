#include "gregor/txn/producer_id_manager.h"

#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace gregor::txn {
namespace {

TEST(ProducerIdManagerTest, HandsOutEveryIdOfABlockOnceThenClaimsTheNext) {
  int claims = 0;
  int64_t next_start = 5000;
  ProducerIdManager m([&]() -> Result<zk::ProducerIdBlock> {
    ++claims;
    zk::ProducerIdBlock b{3, next_start, next_start + zk::kProducerIdBlockSize - 1};
    next_start += 7000;  // another broker took the blocks in between
    return b;
  });
  std::vector<int64_t> ids;
  for (int i = 0; i < 1500; ++i) {
    auto id = m.GenerateProducerId();
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  EXPECT_EQ(claims, 2);
  EXPECT_EQ(ids.front(), 5000);
  EXPECT_EQ(ids[999], 5999);
  EXPECT_EQ(ids[1000], 12000);
  EXPECT_EQ(ids.back(), 12499);
}

TEST(ProducerIdManagerTest, AFailedClaimIsReportedAndRetriedOnTheNextCall) {
  bool zk_up = false;
  ProducerIdManager m([&]() -> Result<zk::ProducerIdBlock> {
    if (!zk_up) return Status::Unavailable("connection loss");
    return zk::ProducerIdBlock{1, 0, 999};
  });
  auto down = m.GenerateProducerId();
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable);
  zk_up = true;
  auto up = m.GenerateProducerId();
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(*up, 0);
}

TEST(ProducerIdManagerTest, ConcurrentCallersGetDistinctIds) {
  int64_t next_start = 0;
  ProducerIdManager m([&]() -> Result<zk::ProducerIdBlock> {
    zk::ProducerIdBlock b{1, next_start, next_start + zk::kProducerIdBlockSize - 1};
    next_start += zk::kProducerIdBlockSize;
    return b;
  });
  std::vector<std::vector<int64_t>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&m, &out] {
      for (int i = 0; i < 2500; ++i) out.push_back(*m.GenerateProducerId());
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> all;
  for (const auto& v : per_thread) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 10000u);
  EXPECT_EQ(*all.rbegin(), 9999);
}

}  // namespace
}  // namespace gregor::txn
