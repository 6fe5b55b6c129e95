#include "gregor/network/memory_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gregor/network/request_slots.h"

namespace gregor::network {
namespace {

TEST(MemoryPoolTest, CountsGrowthAndRelease) {
  auto pool = std::make_shared<MemoryPool>(100);
  MemoryPool::Lease a(pool);
  MemoryPool::Lease b(pool);
  EXPECT_TRUE(a.TryGrow(60, nullptr));
  EXPECT_TRUE(b.TryGrow(30, nullptr));
  EXPECT_EQ(90, pool->used());
  b.Shrink(10);
  EXPECT_EQ(20, b.held());
  EXPECT_EQ(80, pool->used());
  a.ReleaseAll();
  EXPECT_EQ(20, pool->used());
  {
    MemoryPool::Lease c(pool);
    EXPECT_TRUE(c.TryGrow(50, nullptr));
    EXPECT_EQ(70, pool->used());
  }  // a lease gives back what it holds when it goes
  EXPECT_EQ(20, pool->used());
}

TEST(MemoryPoolTest, OneLeaseAtATimeMayOverdraw) {
  auto pool = std::make_shared<MemoryPool>(100);
  MemoryPool::Lease a(pool);
  MemoryPool::Lease b(pool);
  MemoryPool::Lease c(pool);
  ASSERT_TRUE(a.TryGrow(70, nullptr));
  ASSERT_TRUE(b.TryGrow(20, nullptr));
  // Does not fit: b takes the overdraft.
  EXPECT_TRUE(b.TryGrow(50, nullptr));
  EXPECT_EQ(140, pool->used());
  EXPECT_TRUE(b.TryGrow(10, nullptr));  // its holder may keep growing
  // a holds memory, so no grace; the overdraft is b's.
  EXPECT_FALSE(a.TryGrow(1, nullptr));
  // c holds nothing: a first chunk up to the grace size is admitted...
  EXPECT_TRUE(c.TryGrow(MemoryPool::kGraceBytes, nullptr));
  // ...but nothing more.
  EXPECT_FALSE(c.TryGrow(1, nullptr));
  c.ReleaseAll();
  EXPECT_FALSE(c.TryGrow(MemoryPool::kGraceBytes + 1, nullptr));
  // b partly released still holds the overdraft; all released, it is free.
  b.Shrink(40);
  EXPECT_FALSE(a.TryGrow(1, nullptr));
  b.ReleaseAll();
  EXPECT_EQ(70, pool->used());
  EXPECT_TRUE(a.TryGrow(30, nullptr));  // fits
  EXPECT_TRUE(a.TryGrow(1, nullptr));   // a now takes the free overdraft
  EXPECT_EQ(101, pool->used());
}

TEST(MemoryPoolTest, UnboundedAdmitsEverythingAndCounts) {
  auto pool = std::make_shared<MemoryPool>(-1);
  EXPECT_FALSE(pool->bounded());
  MemoryPool::Lease a(pool);
  MemoryPool::Lease b(pool);
  EXPECT_TRUE(a.TryGrow(int64_t{1} << 40, nullptr));
  EXPECT_TRUE(b.TryGrow(int64_t{1} << 40, nullptr));
  EXPECT_EQ(int64_t{2} << 40, pool->used());
}

// A lease that could not grow waits on its Waiter, on its own strand, and
// gets its memory when another lease releases.
TEST(MemoryPoolTest, WaiterIsWokenByRelease) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  struct Joiner {  // also on an early return
    asio::io_context& io;
    std::thread& t;
    ~Joiner() {
      io.stop();
      if (t.joinable()) t.join();
    }
  } joiner{io, t};
  auto pool = std::make_shared<MemoryPool>(100);
  MemoryPool::Lease holder(pool);
  ASSERT_TRUE(holder.TryGrow(50, nullptr));
  ASSERT_TRUE(holder.TryGrow(100, nullptr));  // holder has the overdraft now
  auto strand = asio::make_strand(io);
  auto waiter = std::make_shared<Waiter>(strand);
  auto lease = std::make_shared<MemoryPool::Lease>(pool);
  std::atomic<int> attempts{0};
  std::atomic<bool> done{false};
  asio::co_spawn(
      strand,
      [&]() -> asio::awaitable<void> {
        EXPECT_TRUE(lease->TryGrow(8, waiter));  // grace
        while (!lease->TryGrow(40, waiter)) {
          ++attempts;
          co_await waiter->Wait();
        }
        done = true;
      },
      [](std::exception_ptr) {});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (pool->waiting() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(1u, pool->waiting());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(done);
  holder.ReleaseAll();
  while (!done && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(48, pool->used());
  asio::post(strand, [lease] { lease->ReleaseAll(); });
  work.reset();
  t.join();
  EXPECT_EQ(0, pool->used());
}

TEST(RequestSlotsTest, AcquireUpToCapacityThenRelease) {
  RequestSlots slots(2);
  EXPECT_TRUE(slots.TryAcquire(nullptr));
  EXPECT_TRUE(slots.TryAcquire(nullptr));
  EXPECT_FALSE(slots.TryAcquire(nullptr));
  EXPECT_EQ(2, slots.in_use());
  slots.Release();
  EXPECT_TRUE(slots.TryAcquire(nullptr));
}

}  // namespace
}  // namespace gregor::network
