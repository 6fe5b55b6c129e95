#include "gregor/controller/replica_assignment.h"

#include <gtest/gtest.h>

#include <set>

namespace gregor::controller {
namespace {

std::vector<BrokerMetadata> Brokers(int n) {
  std::vector<BrokerMetadata> out;
  for (int i = 0; i < n; ++i) out.push_back({i, std::nullopt});
  return out;
}

TEST(ReplicaAssignmentTest, MatchesKafkaWithFixedStart) {
  // Kafka's AdminUtils with brokers 0..4, 10 partitions, RF 3, fixed start index 0.
  auto a = AssignReplicasToBrokers(Brokers(5), 10, 3, 0);
  ASSERT_TRUE(a.ok());
  std::map<int32_t, std::vector<int32_t>> expected = {
      {0, {0, 1, 2}}, {1, {1, 2, 3}}, {2, {2, 3, 4}}, {3, {3, 4, 0}}, {4, {4, 0, 1}},
      {5, {0, 2, 3}}, {6, {1, 3, 4}}, {7, {2, 4, 0}}, {8, {3, 0, 1}}, {9, {4, 1, 2}}};
  EXPECT_EQ(*a, expected);
}

TEST(ReplicaAssignmentTest, BalancesLeadersAndReplicas) {
  auto a = AssignReplicasToBrokers(Brokers(3), 6, 3);
  ASSERT_TRUE(a.ok());
  std::map<int32_t, int> leaders, replicas;
  for (const auto& [p, r] : *a) {
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(std::set<int32_t>(r.begin(), r.end()).size(), 3u) << "duplicate replica";
    leaders[r[0]]++;
    for (int32_t b : r) replicas[b]++;
  }
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ(leaders[b], 2);
    EXPECT_EQ(replicas[b], 6);
  }
}

TEST(ReplicaAssignmentTest, StartPartitionIdNumbersNewPartitions) {
  auto a = AssignReplicasToBrokers(Brokers(3), 2, 1, 0, 4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size(), 2u);
  EXPECT_TRUE(a->count(4) && a->count(5));
}

TEST(ReplicaAssignmentTest, Errors) {
  EXPECT_EQ(AssignReplicasToBrokers(Brokers(2), 1, 3).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(AssignReplicasToBrokers(Brokers(2), 0, 1).status().code(), Status::Code::kOutOfRange);
  EXPECT_EQ(AssignReplicasToBrokers(Brokers(2), 1, 0).status().code(),
            Status::Code::kInvalidArgument);
  auto mixed = Brokers(2);
  mixed[0].rack = "a";
  EXPECT_EQ(AssignReplicasToBrokers(mixed, 1, 1).status().code(), Status::Code::kInvalidArgument);
}

TEST(ReplicaAssignmentTest, RackAwareSpreadsRacks) {
  // Three racks of two brokers; ids interleaved so id order alone would not spread racks.
  std::vector<BrokerMetadata> brokers = {{0, "a"}, {1, "a"}, {2, "b"},
                                         {3, "b"}, {4, "c"}, {5, "c"}};
  std::map<int32_t, std::string> rack = {{0, "a"}, {1, "a"}, {2, "b"},
                                         {3, "b"}, {4, "c"}, {5, "c"}};
  for (int start = 0; start < 6; ++start) {
    auto a = AssignReplicasToBrokers(brokers, 12, 3, start);
    ASSERT_TRUE(a.ok());
    std::map<int32_t, int> leaders;
    for (const auto& [p, r] : *a) {
      std::set<std::string> racks;
      for (int32_t b : r) racks.insert(rack[b]);
      EXPECT_EQ(racks.size(), 3u) << "partition " << p << " start " << start;
      leaders[r[0]]++;
    }
    for (int b = 0; b < 6; ++b) EXPECT_EQ(leaders[b], 2);
  }
  // RF 2 over 3 racks: still two distinct racks.
  auto two = AssignReplicasToBrokers(brokers, 6, 2);
  ASSERT_TRUE(two.ok());
  for (const auto& [p, r] : *two) EXPECT_NE(rack[r[0]], rack[r[1]]);
}

}  // namespace
}  // namespace gregor::controller
