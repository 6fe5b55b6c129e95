#include "gregor/cluster/append_listeners.h"

#include <gtest/gtest.h>

namespace gregor::cluster {
namespace {

TEST(AppendListenersTest, NotifyWakesOnlyInterestedWaitersOnce) {
  AppendListeners l;
  int a = 0, b = 0;
  l.Add({{"t", 0}, {"t", 1}}, [&] { ++a; });
  l.Add({{"t", 1}}, [&] { ++b; });
  l.Notify({"t", 0});
  EXPECT_EQ(1, a);
  EXPECT_EQ(0, b);
  // The first waiter is gone from partition 1 too.
  l.Notify({"t", 1});
  EXPECT_EQ(1, a);
  EXPECT_EQ(1, b);
  EXPECT_EQ(0u, l.size());
}

TEST(AppendListenersTest, RemovedWaiterIsNotWoken) {
  AppendListeners l;
  int a = 0;
  uint64_t h = l.Add({{"t", 0}}, [&] { ++a; });
  l.Remove(h);
  l.Remove(h);
  l.Notify({"t", 0});
  EXPECT_EQ(0, a);
}

}  // namespace
}  // namespace gregor::cluster
