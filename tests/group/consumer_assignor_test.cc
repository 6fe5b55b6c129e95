// The KIP-848 server-side assignors: balance, stickiness, eligibility, ranges, determinism.
#include "gregor/group/consumer_assignor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

namespace gregor::group {
namespace {

AssignorMember Member(const std::string& id, std::set<std::string> topics,
                      TopicPartitions current = {}) {
  AssignorMember m;
  m.member_id = id;
  m.subscribed_topics = std::move(topics);
  m.current = std::move(current);
  return m;
}

size_t Count(const TopicPartitions& tp) {
  size_t n = 0;
  for (const auto& [t, ps] : tp) n += ps.size();
  return n;
}

// Every partition of every topic someone subscribes to is assigned exactly once, to a member
// subscribed to its topic.
void ExpectExactCover(const AssignorInput& in, const TargetAssignment& out) {
  std::map<std::pair<std::string, int32_t>, std::string> owner;
  for (const auto& [id, tp] : out) {
    const AssignorMember* m = nullptr;
    for (const auto& x : in.members) {
      if (x.member_id == id) m = &x;
    }
    ASSERT_NE(m, nullptr) << "unknown member " << id;
    for (const auto& [t, ps] : tp) {
      EXPECT_TRUE(m->subscribed_topics.count(t)) << id << " is not subscribed to " << t;
      for (int32_t p : ps) {
        EXPECT_TRUE(owner.emplace(std::make_pair(t, p), id).second) << t << "-" << p << " twice";
      }
    }
  }
  for (const auto& [t, n] : in.topic_partitions) {
    bool wanted = false;
    for (const auto& m : in.members) wanted = wanted || m.subscribed_topics.count(t);
    for (int32_t p = 0; p < n; ++p) {
      EXPECT_EQ(owner.count({t, p}), wanted ? 1u : 0u) << t << "-" << p;
    }
  }
  EXPECT_EQ(out.size(), in.members.size());
}

TEST(ConsumerAssignorTest, KnowsUniformAndRangeOnly) {
  ASSERT_NE(FindConsumerAssignor("uniform"), nullptr);
  ASSERT_NE(FindConsumerAssignor("range"), nullptr);
  EXPECT_STREQ(FindConsumerAssignor("uniform")->name(), "uniform");
  EXPECT_EQ(FindConsumerAssignor("sticky"), nullptr);
  EXPECT_EQ(FindConsumerAssignor(""), nullptr);
}

TEST(ConsumerAssignorTest, EmptyInputs) {
  for (const char* name : {"uniform", "range"}) {
    const ConsumerAssignor* a = FindConsumerAssignor(name);
    EXPECT_TRUE(a->Assign({}).empty());
    AssignorInput no_topics;
    no_topics.members = {Member("a", {"t"})};
    auto out = a->Assign(no_topics);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(Count(out["a"]), 0u);
    AssignorInput zero;
    zero.members = {Member("a", {"t"})};
    zero.topic_partitions = {{"t", 0}};
    EXPECT_EQ(Count(a->Assign(zero)["a"]), 0u);
  }
}

TEST(ConsumerAssignorTest, UniformHomogeneousIsBalanced) {
  AssignorInput in;
  for (int i = 0; i < 7; ++i) in.members.push_back(Member("m" + std::to_string(i), {"t", "u"}));
  in.topic_partitions = {{"t", 10}, {"u", 13}};
  auto out = FindConsumerAssignor("uniform")->Assign(in);
  ExpectExactCover(in, out);
  for (const auto& [id, tp] : out) {
    EXPECT_GE(Count(tp), 3u) << id;  // 23 / 7
    EXPECT_LE(Count(tp), 4u) << id;
  }
}

TEST(ConsumerAssignorTest, UniformIsStickyWhenMembersComeAndGo) {
  const ConsumerAssignor* a = FindConsumerAssignor("uniform");
  AssignorInput in;
  for (int i = 0; i < 4; ++i) in.members.push_back(Member("m" + std::to_string(i), {"t"}));
  in.topic_partitions = {{"t", 24}};
  auto first = a->Assign(in);
  // A fifth member: only the partitions it takes move (24/5: 4 or 5 each, it gets 4).
  for (auto& m : in.members) m.current = first[m.member_id];
  in.members.push_back(Member("m4", {"t"}));
  auto second = a->Assign(in);
  ExpectExactCover(in, second);
  size_t moved = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string id = "m" + std::to_string(i);
    for (int32_t p : first[id]["t"]) moved += second[id]["t"].count(p) ? 0 : 1;
  }
  EXPECT_EQ(moved, Count(second["m4"]));
  EXPECT_EQ(Count(second["m4"]), 4u);
  // m1 leaves: only its partitions move.
  for (auto& m : in.members) m.current = second[m.member_id];
  in.members.erase(in.members.begin() + 1);
  auto third = a->Assign(in);
  ExpectExactCover(in, third);
  for (const auto& m : in.members) {
    for (int32_t p : second[m.member_id]["t"]) {
      EXPECT_TRUE(third[m.member_id]["t"].count(p)) << m.member_id << " lost " << p;
    }
  }
}

TEST(ConsumerAssignorTest, UniformHeterogeneousRespectsSubscriptions) {
  AssignorInput in;
  in.members = {Member("a", {"t"}), Member("b", {"t", "u"}), Member("c", {"u"})};
  in.topic_partitions = {{"t", 6}, {"u", 2}};
  auto out = FindConsumerAssignor("uniform")->Assign(in);
  ExpectExactCover(in, out);
  // 8 partitions over 3 members; a can only take t, c only u: a 3, b 3, c 2 is as even as it gets.
  EXPECT_EQ(Count(out["a"]), 3u);
  EXPECT_EQ(Count(out["b"]), 3u);
  EXPECT_EQ(Count(out["c"]), 2u);
}

TEST(ConsumerAssignorTest, CurrentAssignmentOfUnsubscribedOrMissingTopicsIsDropped) {
  AssignorInput in;
  in.members = {Member("a", {"t"}, {{"t", {0, 1, 7}}, {"gone", {0}}}), Member("b", {"t"})};
  in.topic_partitions = {{"t", 4}};
  auto out = FindConsumerAssignor("uniform")->Assign(in);
  ExpectExactCover(in, out);
  EXPECT_EQ(out["a"], (TopicPartitions{{"t", {0, 1}}}));  // partition 7 no longer exists
}

TEST(ConsumerAssignorTest, RangeGivesContiguousCoPartitionedRanges) {
  AssignorInput in;
  in.members = {Member("b", {"t", "u"}), Member("a", {"t", "u"}), Member("c", {"t", "u"})};
  in.topic_partitions = {{"t", 7}, {"u", 7}};
  auto out = FindConsumerAssignor("range")->Assign(in);
  ExpectExactCover(in, out);
  EXPECT_EQ(out["a"]["t"], (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(out["b"]["t"], (std::set<int32_t>{3, 4}));
  EXPECT_EQ(out["c"]["t"], (std::set<int32_t>{5, 6}));
  for (const char* id : {"a", "b", "c"}) EXPECT_EQ(out[id]["t"], out[id]["u"]) << id;
}

TEST(ConsumerAssignorTest, RandomInputsAreCoveredAndDeterministic) {
  std::mt19937 rng(848);
  for (int round = 0; round < 300; ++round) {
    AssignorInput in;
    const int topics = 1 + static_cast<int>(rng() % 4);
    for (int t = 0; t < topics; ++t) in.topic_partitions["t" + std::to_string(t)] = rng() % 20;
    const int members = static_cast<int>(rng() % 9);
    const bool homogeneous = rng() % 2;
    for (int m = 0; m < members; ++m) {
      std::set<std::string> subs;
      for (int t = 0; t < topics; ++t) {
        if (homogeneous || rng() % 2) subs.insert("t" + std::to_string(t));
      }
      TopicPartitions current;
      for (int k = 0; k < 3; ++k) current["t" + std::to_string(rng() % topics)].insert(rng() % 25);
      in.members.push_back(
          Member("m" + std::to_string(rng() % 1000) + "-" + std::to_string(m), subs, current));
    }
    for (const char* name : {"uniform", "range"}) {
      const ConsumerAssignor* a = FindConsumerAssignor(name);
      auto out = a->Assign(in);
      ExpectExactCover(in, out);
      EXPECT_EQ(out, a->Assign(in)) << name << " round " << round;
      if (std::string(name) == "uniform" && homogeneous && members > 0) {
        size_t lo = SIZE_MAX, hi = 0;
        for (const auto& [id, tp] : out) {
          lo = std::min(lo, Count(tp));
          hi = std::max(hi, Count(tp));
        }
        EXPECT_LE(hi - lo, 1u) << "round " << round;
      }
      if (HasFailure()) return;
    }
  }
}

TEST(ConsumerAssignorTest, LargeGroupIsQuick) {
  AssignorInput in;
  for (int i = 0; i < 200; ++i) in.members.push_back(Member("m" + std::to_string(i), {"t", "u"}));
  in.topic_partitions = {{"t", 6000}, {"u", 4000}};
  const auto start = std::chrono::steady_clock::now();
  auto out = FindConsumerAssignor("uniform")->Assign(in);
  // One member joins: the sticky path with moves.
  for (auto& m : in.members) m.current = out[m.member_id];
  in.members.push_back(Member("new", {"t", "u"}));
  auto next = FindConsumerAssignor("uniform")->Assign(in);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ExpectExactCover(in, next);
  EXPECT_EQ(Count(next["new"]), 49u);  // 10000 / 201
  EXPECT_LT(s, 5.0);
}

}  // namespace
}  // namespace gregor::group
