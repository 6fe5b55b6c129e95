#include "gregor/group/consumer_assignor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <tuple>

namespace gregor::group {
namespace {

const ConsumerAssignor& Uniform() { return *FindConsumerAssignor("uniform"); }
const ConsumerAssignor& Range() { return *FindConsumerAssignor("range"); }

AssignorMember Member(std::string id, std::set<std::string> topics, TopicPartitions current = {},
                      std::optional<std::string> instance_id = std::nullopt) {
  AssignorMember m;
  m.member_id = std::move(id);
  m.instance_id = std::move(instance_id);
  m.subscribed_topics = std::move(topics);
  m.current = std::move(current);
  return m;
}

int Count(const TopicPartitions& tp) {
  int n = 0;
  for (const auto& [topic, parts] : tp) n += static_cast<int>(parts.size());
  return n;
}

std::pair<int, int> MinMaxLoad(const TargetAssignment& out) {
  int lo = INT32_MAX;
  int hi = 0;
  for (const auto& [id, tp] : out) lo = std::min(lo, Count(tp)), hi = std::max(hi, Count(tp));
  return {lo, hi};
}

// Partitions that members present in both assignments held before and no longer hold.
int Revoked(const TargetAssignment& before, const TargetAssignment& after) {
  int n = 0;
  for (const auto& [id, tp] : before) {
    auto it = after.find(id);
    if (it == after.end()) continue;
    for (const auto& [topic, parts] : tp) {
      auto now = it->second.find(topic);
      for (int32_t p : parts) n += now == it->second.end() || !now->second.contains(p);
    }
  }
  return n;
}

// Feeds each member's part of `target` back as its current assignment.
void SetCurrent(AssignorInput& in, const TargetAssignment& target) {
  for (AssignorMember& m : in.members) {
    auto it = target.find(m.member_id);
    m.current = it == target.end() ? TopicPartitions{} : it->second;
  }
}

// Every member present; each partition of each subscribed existing topic assigned exactly
// once, to a subscriber of its topic; nothing else assigned.
void ExpectValid(const AssignorInput& in, const TargetAssignment& out) {
  ASSERT_EQ(out.size(), in.members.size());
  std::map<std::string, std::vector<int>> owners;
  for (const AssignorMember& m : in.members) {
    auto it = out.find(m.member_id);
    ASSERT_NE(it, out.end()) << m.member_id;
    for (const auto& [topic, parts] : it->second) {
      ASSERT_FALSE(parts.empty()) << m.member_id << " " << topic;
      ASSERT_TRUE(m.subscribed_topics.contains(topic)) << m.member_id << " " << topic;
      auto tp = in.topic_partitions.find(topic);
      ASSERT_NE(tp, in.topic_partitions.end()) << topic;
      std::vector<int>& o = owners[topic];
      o.resize(tp->second);
      for (int32_t p : parts) {
        ASSERT_TRUE(p >= 0 && p < tp->second) << topic << "-" << p;
        ASSERT_EQ(o[p]++, 0) << topic << "-" << p << " assigned twice";
      }
    }
  }
  for (const auto& [topic, count] : in.topic_partitions) {
    bool subscribed = std::any_of(in.members.begin(), in.members.end(), [&](const auto& m) {
      return m.subscribed_topics.contains(topic);
    });
    if (!subscribed || count == 0) continue;
    const std::vector<int>& o = owners[topic];
    ASSERT_EQ(static_cast<int>(o.size()), count) << topic;
    for (int p = 0; p < count; ++p) ASSERT_EQ(o[p], 1) << topic << "-" << p << " unassigned";
  }
}

TEST(ConsumerAssignorTest, FindsUniformAndRangeOnly) {
  ASSERT_NE(FindConsumerAssignor("uniform"), nullptr);
  ASSERT_NE(FindConsumerAssignor("range"), nullptr);
  EXPECT_STREQ(FindConsumerAssignor("uniform")->name(), "uniform");
  EXPECT_STREQ(FindConsumerAssignor("range")->name(), "range");
  EXPECT_EQ(FindConsumerAssignor("sticky"), nullptr);
  EXPECT_EQ(FindConsumerAssignor("Uniform"), nullptr);
  EXPECT_EQ(FindConsumerAssignor(""), nullptr);
  EXPECT_EQ(ConsumerAssignorNames(), (std::vector<std::string_view>{"uniform", "range"}));
}

TEST(ConsumerAssignorTest, EmptyInputs) {
  for (const ConsumerAssignor* a : {&Uniform(), &Range()}) {
    SCOPED_TRACE(a->name());
    EXPECT_TRUE(a->Assign({}).empty());
    AssignorInput no_members;
    no_members.topic_partitions = {{"t", 3}};
    EXPECT_TRUE(a->Assign(no_members).empty());

    AssignorInput no_topics;
    no_topics.members = {Member("a", {}), Member("b", {"missing"}, {{"missing", {0, 1}}})};
    EXPECT_EQ(a->Assign(no_topics), (TargetAssignment{{"a", {}}, {"b", {}}}));

    AssignorInput zero;
    zero.members = {Member("a", {"t"}, {{"t", {0}}}), Member("b", {"t", "u"})};
    zero.topic_partitions = {{"t", 0}, {"u", 0}};
    EXPECT_EQ(a->Assign(zero), (TargetAssignment{{"a", {}}, {"b", {}}}));
  }
}

TEST(ConsumerAssignorTest, UniformHomogeneousIsBalanced) {
  AssignorInput in;
  in.members = {Member("c", {"t1", "t2"}), Member("a", {"t1", "t2"}), Member("b", {"t1", "t2"})};
  in.topic_partitions = {{"t1", 5}, {"t2", 6}, {"unsubscribed", 4}};
  TargetAssignment out = Uniform().Assign(in);
  ExpectValid(in, out);
  EXPECT_EQ(Count(out["a"]), 4);
  EXPECT_EQ(Count(out["b"]), 4);
  EXPECT_EQ(Count(out["c"]), 3);
  // A first assignment hands out partitions in topic and partition order.
  EXPECT_EQ(out["a"], (TopicPartitions{{"t1", {0, 1, 2, 3}}}));
  EXPECT_EQ(out["c"], (TopicPartitions{{"t2", {3, 4, 5}}}));
}

TEST(ConsumerAssignorTest, UniformHomogeneousMovesOnlyWhatBalanceRequires) {
  AssignorInput in;
  for (std::string id : {"a", "b", "c"}) in.members.push_back(Member(id, {"t1", "t2"}));
  in.topic_partitions = {{"t1", 6}, {"t2", 6}};
  TargetAssignment first = Uniform().Assign(in);
  SetCurrent(in, first);

  // A member joins: 12 partitions over 4 members, the newcomer's 3 are the only moves.
  in.members.push_back(Member("d", {"t1", "t2"}));
  TargetAssignment joined = Uniform().Assign(in);
  ExpectValid(in, joined);
  EXPECT_EQ(MinMaxLoad(joined), std::make_pair(3, 3));
  EXPECT_EQ(Revoked(first, joined), 3);
  SetCurrent(in, joined);

  // A member leaves: the others keep everything and split its 3 partitions.
  in.members.erase(in.members.begin() + 1);
  TargetAssignment left = Uniform().Assign(in);
  ExpectValid(in, left);
  EXPECT_EQ(MinMaxLoad(left), std::make_pair(4, 4));
  EXPECT_EQ(Revoked(joined, left), 0);

  // Nothing changes: nothing moves.
  SetCurrent(in, left);
  EXPECT_EQ(Uniform().Assign(in), left);
}

TEST(ConsumerAssignorTest, UniformHomogeneousGivesExtraSlotsToCurrentHolders) {
  // 5 partitions, 2 members: "b" holds 3, so it keeps the extra slot and nothing moves (Kafka
  // gives the extra slot to the first member and would move one partition).
  AssignorInput in;
  in.members = {Member("a", {"t"}, {{"t", {0, 1}}}), Member("b", {"t"}, {{"t", {2, 3, 4}}})};
  in.topic_partitions = {{"t", 5}};
  TargetAssignment out = Uniform().Assign(in);
  EXPECT_EQ(out, (TargetAssignment{{"a", {{"t", {0, 1}}}}, {"b", {{"t", {2, 3, 4}}}}}));
}

TEST(ConsumerAssignorTest, UniformDropsPartitionsThatCannotBeKept) {
  AssignorInput in;
  in.members = {
      // "old" is no longer subscribed, "gone" no longer exists, t-7 is out of range after the
      // topic was re-created with 4 partitions, t-1 is also claimed by "b" (first claim wins).
      Member("a", {"t", "gone"}, {{"t", {1, 7}}, {"old", {0}}, {"gone", {0}}}),
      Member("b", {"t"}, {{"t", {1, 2}}}),
  };
  in.topic_partitions = {{"t", 4}, {"old", 2}};
  TargetAssignment out = Uniform().Assign(in);
  ExpectValid(in, out);
  EXPECT_EQ(out, (TargetAssignment{{"a", {{"t", {0, 1}}}}, {"b", {{"t", {2, 3}}}}}));
}

TEST(ConsumerAssignorTest, UniformHeterogeneousRespectsSubscriptions) {
  AssignorInput in;
  in.members = {Member("a", {"t1"}), Member("b", {"t1", "t2"}), Member("c", {"t2", "t3"})};
  in.topic_partitions = {{"t1", 4}, {"t2", 4}, {"t3", 1}};
  TargetAssignment out = Uniform().Assign(in);
  ExpectValid(in, out);
  // Balanced within each topic's subscribers, not across the chain a-b-c: 3/3/3 would need a
  // move of t2 from c to b and of t1 from b to a at once. Kafka's builder stops there too (see
  // its balanceTopics comment).
  EXPECT_EQ(out, (TargetAssignment{
                     {"a", {{"t1", {0, 2}}}},
                     {"b", {{"t1", {1, 3}}, {"t2", {2}}}},
                     {"c", {{"t2", {0, 1, 3}}, {"t3", {0}}}},
                 }));

  // A topic only one member subscribes to cannot be spread: it stays with that member.
  AssignorInput lone;
  lone.members = {Member("a", {"big"}), Member("b", {"small"})};
  lone.topic_partitions = {{"big", 10}, {"small", 1}};
  EXPECT_EQ(Uniform().Assign(lone),
            (TargetAssignment{{"a", {{"big", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}}},
                              {"b", {{"small", {0}}}}}));
}

// Kafka's UniformHeterogeneousAssignmentBuilderTest
// testReassignmentForTwoMembersThreeTopicsGivenUnbalancedPrevAssignment, the same figures.
TEST(ConsumerAssignorTest, UniformHeterogeneousBalancesAnUnbalancedAssignmentLikeKafka) {
  AssignorInput in;
  in.members = {
      Member("A", {"t1"}, {{"t1", {0, 1, 2}}}),
      Member("B", {"t1", "t2"}, {{"t1", {3}}, {"t2", {0}}}),
      Member("C", {"t1", "t2", "t3"}, {{"t1", {4, 5}}, {"t2", {1, 2, 3}}, {"t3", {0, 1, 2, 3}}}),
  };
  in.topic_partitions = {{"t1", 6}, {"t2", 4}, {"t3", 4}};
  EXPECT_EQ(Uniform().Assign(in), (TargetAssignment{
                                      {"A", {{"t1", {0, 1, 2, 5}}}},
                                      {"B", {{"t1", {3}}, {"t2", {0, 1, 2, 3}}}},
                                      {"C", {{"t1", {4}}, {"t3", {0, 1, 2, 3}}}},
                                  }));
}

TEST(ConsumerAssignorTest, UniformHeterogeneousIsStickyWhenAMemberLeaves) {
  AssignorInput in;
  in.members = {Member("a", {"t1", "t2"}), Member("b", {"t1", "t2", "t3"}),
                Member("c", {"t1", "t2"}), Member("d", {"t1", "t2", "t3"})};
  in.topic_partitions = {{"t1", 7}, {"t2", 5}, {"t3", 9}};
  TargetAssignment first = Uniform().Assign(in);
  ExpectValid(in, first);
  EXPECT_EQ(MinMaxLoad(first), std::make_pair(5, 6));

  SetCurrent(in, first);
  in.members.erase(in.members.begin() + 2);  // c leaves
  TargetAssignment after = Uniform().Assign(in);
  ExpectValid(in, after);
  EXPECT_EQ(MinMaxLoad(after), std::make_pair(7, 7));
  EXPECT_EQ(Revoked(first, after), 0);
}

TEST(ConsumerAssignorTest, RangeAssignsContiguousCoPartitionedRanges) {
  AssignorInput in;
  in.members = {Member("m2", {"t1", "t2"}), Member("m1", {"t1", "t2"}), Member("m0", {"t1", "t2"})};
  in.topic_partitions = {{"t1", 7}, {"t2", 7}};
  TargetAssignment out = Range().Assign(in);
  ExpectValid(in, out);
  EXPECT_EQ(out, (TargetAssignment{
                     {"m0", {{"t1", {0, 1, 2}}, {"t2", {0, 1, 2}}}},
                     {"m1", {{"t1", {3, 4}}, {"t2", {3, 4}}}},
                     {"m2", {{"t1", {5, 6}}, {"t2", {5, 6}}}},
                 }));

  // Fewer partitions than members: the last members get nothing.
  in.topic_partitions = {{"t1", 2}, {"t2", 2}};
  EXPECT_EQ(Range().Assign(in), (TargetAssignment{
                                    {"m0", {{"t1", {0}}, {"t2", {0}}}},
                                    {"m1", {{"t1", {1}}, {"t2", {1}}}},
                                    {"m2", {}},
                                }));
}

TEST(ConsumerAssignorTest, RangePutsStaticMembersFirstByInstanceId) {
  // Kafka 3.9+: static members (by instance id) come before dynamic ones (by member id), so a
  // static member that rejoins under a new member id gets its old range back.
  AssignorInput in;
  in.members = {Member("a", {"t"}), Member("z-new", {"t"}, {}, "i0"),
                Member("b-new", {"t"}, {}, "i1")};
  in.topic_partitions = {{"t", 6}};
  EXPECT_EQ(Range().Assign(in), (TargetAssignment{
                                    {"z-new", {{"t", {0, 1}}}},
                                    {"b-new", {{"t", {2, 3}}}},
                                    {"a", {{"t", {4, 5}}}},
                                }));
}

TEST(ConsumerAssignorTest, RangeSplitsEachTopicAmongItsSubscribers) {
  AssignorInput in;
  in.members = {Member("a", {"t1"}), Member("b", {"t1", "t2"}), Member("c", {"t2"})};
  in.topic_partitions = {{"t1", 3}, {"t2", 4}};
  TargetAssignment out = Range().Assign(in);
  ExpectValid(in, out);
  EXPECT_EQ(out, (TargetAssignment{
                     {"a", {{"t1", {0, 1}}}},
                     {"b", {{"t1", {2}}, {"t2", {0, 1}}}},
                     {"c", {{"t2", {2, 3}}}},
                 }));
}

TEST(ConsumerAssignorTest, ResultDoesNotDependOnMemberOrder) {
  std::mt19937 rng(7);
  AssignorInput in;
  for (int i = 0; i < 12; ++i) {
    std::set<std::string> topics = {"t0"};
    if (i % 3 == 0) topics.insert("t1");
    if (i % 4 == 1) topics.insert("t2");
    std::optional<std::string> instance_id;
    if (i % 5 == 0) instance_id = "s" + std::to_string(i);
    in.members.push_back(Member("m" + std::to_string(i), topics, {}, instance_id));
  }
  in.topic_partitions = {{"t0", 17}, {"t1", 9}, {"t2", 23}};
  for (const ConsumerAssignor* a : {&Uniform(), &Range()}) {
    TargetAssignment expected = a->Assign(in);
    AssignorInput shuffled = in;
    SetCurrent(shuffled, expected);
    for (int round = 0; round < 5; ++round) {
      std::shuffle(shuffled.members.begin(), shuffled.members.end(), rng);
      EXPECT_EQ(a->Assign(shuffled), a->Assign(shuffled));
      AssignorInput fresh = shuffled;
      SetCurrent(fresh, {});
      EXPECT_EQ(a->Assign(fresh), expected) << a->name();
    }
  }
}

// A random group that changes between rounds: members join and leave, subscriptions and
// partition counts change, and the previous target is the next current assignment.
class RandomGroup {
 public:
  explicit RandomGroup(uint32_t seed) : rng_(seed) {}

  AssignorInput Next(bool homogeneous, const TargetAssignment& previous) {
    int topics = Rand(0, 5);
    in_.topic_partitions.clear();
    for (int t = 0; t < topics; ++t) {
      in_.topic_partitions["t" + std::to_string(t)] = Rand(0, 40);
    }
    // Join and leave.
    if (in_.members.empty() || Rand(0, 2) == 0) {
      for (int i = Rand(1, 6); i > 0; --i) {
        AssignorMember m;
        m.member_id = "m" + std::to_string(next_id_++);
        if (Rand(0, 3) == 0) m.instance_id = "i" + std::to_string(Rand(0, 1000));
        in_.members.push_back(std::move(m));
      }
    }
    for (int i = Rand(0, 3); i > 0 && in_.members.size() > 1; --i) {
      in_.members.erase(in_.members.begin() + Rand(0, in_.members.size() - 1));
    }
    std::set<std::string> shared = RandomTopics(topics + 1);  // may name a missing topic
    for (AssignorMember& m : in_.members) {
      if (homogeneous) {
        m.subscribed_topics = shared;
      } else if (m.subscribed_topics.empty() || Rand(0, 3) == 0) {
        m.subscribed_topics = RandomTopics(topics + 1);
      }
    }
    SetCurrent(in_, previous);
    return in_;
  }

  int Rand(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  std::set<std::string> RandomTopics(int topics) {
    std::set<std::string> s;
    for (int t = 0; t < topics; ++t) {
      if (Rand(0, 1)) s.insert("t" + std::to_string(t));
    }
    return s;
  }

  std::mt19937 rng_;
  AssignorInput in_;
  int next_id_ = 0;
};

// The fewest partitions that members must give up in a homogeneous group: above the floor
// quota everything goes, except one partition for each of the extra slots.
int MinimumRevocations(const AssignorInput& in) {
  int64_t total = 0;
  for (const auto& [topic, count] : in.topic_partitions) {
    if (in.members[0].subscribed_topics.contains(topic)) total += count;
  }
  const int64_t n = static_cast<int64_t>(in.members.size());
  int64_t floor_quota = total / n;
  int64_t extras = total % n;
  int64_t over = 0;
  int64_t over_members = 0;
  for (const AssignorMember& m : in.members) {
    int64_t held = 0;
    for (const auto& [topic, parts] : m.current) {
      auto it = in.topic_partitions.find(topic);
      if (it == in.topic_partitions.end() || !m.subscribed_topics.contains(topic)) continue;
      for (int32_t p : parts) held += p < it->second;
    }
    if (held > floor_quota) over += held - floor_quota, ++over_members;
  }
  return static_cast<int>(over - std::min(extras, over_members));
}

// Partitions of member m that are still assignable to it: what it may be asked to give up.
TargetAssignment ValidCurrent(const AssignorInput& in) {
  TargetAssignment valid;
  for (const AssignorMember& m : in.members) {
    TopicPartitions& tp = valid[m.member_id];
    for (const auto& [topic, parts] : m.current) {
      auto it = in.topic_partitions.find(topic);
      if (it == in.topic_partitions.end() || !m.subscribed_topics.contains(topic)) continue;
      for (int32_t p : parts) {
        if (p < it->second) tp[topic].insert(p);
      }
    }
  }
  return valid;
}

TEST(ConsumerAssignorTest, UniformRandomRounds) {
  for (bool homogeneous : {true, false}) {
    RandomGroup group(homogeneous ? 1 : 2);
    TargetAssignment previous;
    for (int round = 0; round < 300; ++round) {
      SCOPED_TRACE(testing::Message() << "homogeneous=" << homogeneous << " round=" << round);
      AssignorInput in = group.Next(homogeneous, previous);
      TargetAssignment out = Uniform().Assign(in);
      ASSERT_NO_FATAL_FAILURE(ExpectValid(in, out));
      if (homogeneous) {
        auto [lo, hi] = MinMaxLoad(out);
        ASSERT_LE(hi - lo, 1);
        ASSERT_EQ(Revoked(ValidCurrent(in), out), MinimumRevocations(in));
      } else {
        // Balanced within each topic's subscribers: no member holding a partition of a topic
        // is more than one above another subscriber of that topic.
        for (const auto& [topic, count] : in.topic_partitions) {
          int lo = INT32_MAX;
          int hi_holder = 0;
          for (const AssignorMember& m : in.members) {
            if (!m.subscribed_topics.contains(topic)) continue;
            int load = Count(out[m.member_id]);
            lo = std::min(lo, load);
            if (out[m.member_id].contains(topic)) hi_holder = std::max(hi_holder, load);
          }
          if (hi_holder > 0) {
            ASSERT_LE(hi_holder - lo, 1) << topic;
          }
        }
      }
      previous = std::move(out);
    }
  }
}

TEST(ConsumerAssignorTest, RangeRandomRounds) {
  RandomGroup group(3);
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE(testing::Message() << "round=" << round);
    AssignorInput in = group.Next(group.Rand(0, 1) == 0, {});
    TargetAssignment out = Range().Assign(in);
    ASSERT_NO_FATAL_FAILURE(ExpectValid(in, out));
    // Per topic, subscribers in static-first order hold consecutive ranges from partition 0,
    // the first count % subscribers of them one partition longer.
    std::vector<const AssignorMember*> order;
    for (const AssignorMember& m : in.members) order.push_back(&m);
    std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
      if (a->instance_id.has_value() != b->instance_id.has_value())
        return a->instance_id > b->instance_id;
      return std::tie(a->instance_id, a->member_id) < std::tie(b->instance_id, b->member_id);
    });
    for (const auto& [topic, count] : in.topic_partitions) {
      std::vector<const AssignorMember*> subs;
      for (const AssignorMember* m : order) {
        if (m->subscribed_topics.contains(topic)) subs.push_back(m);
      }
      int next = 0;
      for (size_t i = 0; i < subs.size(); ++i) {
        int len = count / static_cast<int>(subs.size()) +
                  (static_cast<int>(i) < count % static_cast<int>(subs.size()));
        std::set<int32_t> expected;
        for (int p = next; p < next + len; ++p) expected.insert(p);
        const TopicPartitions& got = out[subs[i]->member_id];
        auto it = got.find(topic);
        ASSERT_EQ(it == got.end() ? std::set<int32_t>{} : it->second, expected) << topic;
        next += len;
      }
    }
  }
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(ConsumerAssignorTest, LargeHomogeneousGroups) {
  for (int members : {100, 2000}) {
    AssignorInput in;
    std::set<std::string> topics;
    for (int t = 0; t < 10; ++t) {
      in.topic_partitions["topic-" + std::to_string(t)] = 1000;
      topics.insert("topic-" + std::to_string(t));
    }
    for (int i = 0; i < members; ++i) {
      char id[32];
      snprintf(id, sizeof id, "member-%05d", i);
      in.members.push_back(Member(id, topics));
    }
    auto start = std::chrono::steady_clock::now();
    TargetAssignment first = Uniform().Assign(in);
    ExpectValid(in, first);
    auto [lo, hi] = MinMaxLoad(first);
    EXPECT_EQ(lo, 10000 / members);
    EXPECT_LE(hi - lo, 1);

    SetCurrent(in, first);
    in.members.push_back(Member("member-new", topics));
    TargetAssignment joined = Uniform().Assign(in);
    ExpectValid(in, joined);
    std::tie(lo, hi) = MinMaxLoad(joined);
    EXPECT_LE(hi - lo, 1);
    EXPECT_EQ(Revoked(first, joined), Count(joined["member-new"]));
    EXPECT_LT(Seconds(start), 1.0) << members << " members";

    start = std::chrono::steady_clock::now();
    TargetAssignment ranges = Range().Assign(in);
    ExpectValid(in, ranges);
    EXPECT_LT(Seconds(start), 1.0) << members << " members";
  }
}

TEST(ConsumerAssignorTest, LargeHeterogeneousGroup) {
  std::mt19937 rng(11);
  AssignorInput in;
  for (int t = 0; t < 50; ++t) in.topic_partitions["topic-" + std::to_string(t)] = 200;
  for (int i = 0; i < 200; ++i) {
    std::set<std::string> topics;
    for (int t = 0; t < 50; ++t) {
      if (rng() % 4 == 0) topics.insert("topic-" + std::to_string(t));
    }
    in.members.push_back(Member("member-" + std::to_string(i), topics));
  }
  auto start = std::chrono::steady_clock::now();
  TargetAssignment first = Uniform().Assign(in);
  ExpectValid(in, first);
  auto [lo, hi] = MinMaxLoad(first);
  EXPECT_LE(hi - lo, 2);

  SetCurrent(in, first);
  in.members.erase(in.members.begin() + 17);
  TargetAssignment after = Uniform().Assign(in);
  ExpectValid(in, after);
  EXPECT_LT(Seconds(start), 1.0);
}

}  // namespace
}  // namespace gregor::group
