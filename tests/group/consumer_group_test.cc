// ConsumerGroup (KIP-848): reconciliation without stop-the-world rebalances, epochs, fencing,
// static membership, timeouts, regexes and request validation, on the real class with the
// real assignors.
#include "gregor/group/consumer_group.h"

#include <gtest/gtest.h>

#include <random>

#include "group_test_util.h"

namespace gregor::group {
namespace {

using protocol::ErrorCode;

using FakeTopics = testing::MapTopics;

ConsumerHeartbeat Join(const std::string& id, std::vector<std::string> topics) {
  ConsumerHeartbeat hb;
  hb.member_id = id;
  hb.member_epoch = 0;
  hb.rebalance_timeout_ms = 5000;
  hb.subscribed_topic_names = std::move(topics);
  hb.owned = TopicPartitions{};
  return hb;
}

ConsumerHeartbeat Beat(const std::string& id, int32_t epoch, std::optional<TopicPartitions> owned) {
  ConsumerHeartbeat hb;
  hb.member_id = id;
  hb.member_epoch = epoch;
  hb.owned = std::move(owned);
  return hb;
}

int Count(const TopicPartitions& tp) {
  int n = 0;
  for (const auto& [t, ps] : tp) n += static_cast<int>(ps.size());
  return n;
}

class ConsumerGroupTest : public ::testing::Test {
 protected:
  ConsumerGroupTest() { topics_.counts = {{"t", 4}, {"u", 2}}; }
  ConsumerHeartbeatResult Hb(const ConsumerHeartbeat& hb) {
    return group_.Heartbeat(hb, topics_, cfg_, now_, "gen-" + std::to_string(++ids_));
  }
  FakeTopics topics_;
  ConsumerGroupConfig cfg_;
  ConsumerGroup group_{"g"};
  int64_t now_ = 1000;
  int ids_ = 0;
};

TEST_F(ConsumerGroupTest, FirstMemberGetsEverythingAtEpochOne) {
  auto r = Hb(Join("", {"t"}));
  ASSERT_EQ(r.error, ErrorCode::kNone);
  EXPECT_EQ(r.member_id, "gen-1");
  EXPECT_EQ(r.member_epoch, 1);
  EXPECT_EQ(r.heartbeat_interval_ms, cfg_.heartbeat_interval_ms);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(*r.assignment, (TopicPartitions{{"t", {0, 1, 2, 3}}}));
  EXPECT_STREQ(group_.StateName(), "Stable");
}

TEST_F(ConsumerGroupTest, NewcomerWaitsUntilPartitionsAreRevoked) {
  auto a = Hb(Join("a", {"t"}));
  auto b = Hb(Join("b", {"t"}));
  EXPECT_EQ(b.member_epoch, 2);
  EXPECT_EQ(*b.assignment, TopicPartitions{});  // all still owned by a
  EXPECT_STREQ(group_.StateName(), "Reconciling");
  // a is told to keep two; it stays at epoch 1 while it still owns the others.
  auto a2 = Hb(Beat("a", 1, TopicPartitions{{"t", {0, 1, 2, 3}}}));
  ASSERT_EQ(a2.error, ErrorCode::kNone);
  EXPECT_EQ(a2.member_epoch, 1);
  ASSERT_TRUE(a2.assignment);
  EXPECT_EQ(Count(*a2.assignment), 2);
  EXPECT_EQ(group_.members().at("a").state, ConsumerMemberState::kUnrevokedPartitions);
  // Still owned: b gets nothing, and no partition is ever in two members' hands.
  auto b2 = Hb(Beat("b", 2, TopicPartitions{}));
  EXPECT_FALSE(b2.assignment && Count(*b2.assignment) > 0);
  EXPECT_EQ(group_.members().at("b").state, ConsumerMemberState::kUnreleasedPartitions);
  // a acknowledges; b gets the released two.
  auto a3 = Hb(Beat("a", 1, *a2.assignment));
  EXPECT_EQ(a3.member_epoch, 2);
  auto b3 = Hb(Beat("b", 2, TopicPartitions{}));
  ASSERT_TRUE(b3.assignment);
  EXPECT_EQ(Count(*b3.assignment), 2);
  for (int32_t p : b3.assignment->at("t")) EXPECT_EQ(a2.assignment->at("t").count(p), 0u);
  EXPECT_STREQ(group_.StateName(), "Stable");
  EXPECT_EQ(group_.PartitionEpoch("t", *b3.assignment->at("t").begin()), 2);
}

TEST_F(ConsumerGroupTest, MemberThatNoLongerOwnsRevokedPartitionsMovesOnAtOnce) {
  Hb(Join("a", {"t"}));
  Hb(Join("b", {"t"}));
  // a reports it owns nothing any more (a revocation it did on its own): straight to epoch 2.
  auto a2 = Hb(Beat("a", 1, TopicPartitions{}));
  EXPECT_EQ(a2.member_epoch, 2);
  EXPECT_EQ(group_.members().at("a").state, ConsumerMemberState::kStable);
}

TEST_F(ConsumerGroupTest, EpochFencing) {
  Hb(Join("a", {"t"}));
  EXPECT_EQ(Hb(Beat("a", 5, std::nullopt)).error, ErrorCode::kFencedMemberEpoch);
  Hb(Join("b", {"t"}));
  auto a2 = Hb(Beat("a", 1, TopicPartitions{{"t", {0, 1, 2, 3}}}));
  Hb(Beat("a", 1, *a2.assignment));  // a at epoch 2, previous 1
  // The response with epoch 2 was lost: epoch 1 is accepted while a owns only its assignment...
  EXPECT_EQ(Hb(Beat("a", 1, *a2.assignment)).error, ErrorCode::kNone);
  // ...not with more, and not from further back.
  EXPECT_EQ(Hb(Beat("a", 1, TopicPartitions{{"t", {0, 1, 2, 3}}})).error,
            ErrorCode::kFencedMemberEpoch);
  EXPECT_EQ(Hb(Beat("a", 0 + 1, std::nullopt)).error, ErrorCode::kFencedMemberEpoch);
  EXPECT_EQ(Hb(Beat("zz", 1, std::nullopt)).error, ErrorCode::kUnknownMemberId);
}

TEST_F(ConsumerGroupTest, RejoinWithSameIdStartsOver) {
  Hb(Join("a", {"t"}));
  auto again = Hb(Join("a", {"t"}));
  ASSERT_EQ(again.error, ErrorCode::kNone);
  EXPECT_EQ(again.member_id, "a");
  EXPECT_EQ(Count(*again.assignment), 4);
  EXPECT_EQ(group_.members().size(), 1u);
}

TEST_F(ConsumerGroupTest, SubscriptionChangeAndNewPartitionsBumpTheGroupEpoch) {
  Hb(Join("a", {"t"}));
  EXPECT_EQ(group_.group_epoch(), 1);
  Hb(Beat("a", 1, TopicPartitions{{"t", {0, 1, 2, 3}}}));
  EXPECT_EQ(group_.group_epoch(), 1);  // nothing changed
  ConsumerHeartbeat hb = Beat("a", 1, TopicPartitions{{"t", {0, 1, 2, 3}}});
  hb.subscribed_topic_names = std::vector<std::string>{"t", "u"};
  auto r = Hb(hb);
  EXPECT_EQ(group_.group_epoch(), 2);
  EXPECT_EQ(r.member_epoch, 2);
  EXPECT_EQ(Count(*r.assignment), 6);
  topics_.counts["t"] = 6;  // partitions added
  auto r2 = Hb(Beat("a", 2, *r.assignment));
  EXPECT_EQ(group_.group_epoch(), 3);
  EXPECT_EQ(Count(*r2.assignment), 8);
  topics_.counts.erase("u");  // topic deleted
  auto r3 = Hb(Beat("a", 3, *r2.assignment));
  EXPECT_EQ(r3.assignment->count("u"), 0u);
}

TEST_F(ConsumerGroupTest, LeaveReleasesPartitionsAndBumpsEpoch) {
  Hb(Join("a", {"t"}));
  Hb(Join("b", {"t"}));
  ConsumerHeartbeat leave = Beat("a", kLeaveGroupMemberEpoch, std::nullopt);
  auto l = group_.Leave(leave, cfg_, now_);
  EXPECT_EQ(l.error, ErrorCode::kNone);
  EXPECT_EQ(l.member_epoch, -1);
  EXPECT_FALSE(group_.HasMember("a"));
  auto b = Hb(Beat("b", 2, TopicPartitions{}));
  EXPECT_EQ(Count(*b.assignment), 4);
  EXPECT_EQ(group_.group_epoch(), 3);
  EXPECT_EQ(group_.Leave(leave, cfg_, now_).error, ErrorCode::kUnknownMemberId);
}

TEST_F(ConsumerGroupTest, StaticMemberKeepsAssignmentAcrossRestart) {
  ConsumerHeartbeat j = Join("s1", {"t"});
  j.instance_id = "inst";
  Hb(j);
  Hb(Join("b", {"t"}));
  auto s = Hb([&] {
    ConsumerHeartbeat h = Beat("s1", 1, TopicPartitions{{"t", {0, 1, 2, 3}}});
    h.instance_id = "inst";
    return h;
  }());
  ConsumerHeartbeat ack = Beat("s1", 1, *s.assignment);
  ack.instance_id = "inst";
  auto s2 = Hb(ack);
  const TopicPartitions kept = *s2.assignment;
  // Temporary leave (-2): the assignment stays the instance's.
  ConsumerHeartbeat away = Beat("s1", kLeaveGroupStaticMemberEpoch, std::nullopt);
  away.instance_id = "inst";
  EXPECT_EQ(group_.Leave(away, cfg_, now_).member_epoch, -2);
  const int32_t epoch = group_.group_epoch();
  // Another process may not take the instance id while it is held...
  ConsumerHeartbeat other = Join("s9", {"t"});
  other.instance_id = "inst";
  // ...but after the temporary leave, a new member id takes it over with the same partitions.
  auto back = Hb(other);
  ASSERT_EQ(back.error, ErrorCode::kNone);
  EXPECT_EQ(group_.group_epoch(), epoch);  // no rebalance
  EXPECT_EQ(*back.assignment, kept);
  EXPECT_FALSE(group_.HasMember("s1"));
  // While s9 is active, yet another one is refused.
  ConsumerHeartbeat third = Join("s10", {"t"});
  third.instance_id = "inst";
  EXPECT_EQ(Hb(third).error, ErrorCode::kUnreleasedInstanceId);
  // The old member id is fenced.
  ConsumerHeartbeat stale = Beat("s1", 2, std::nullopt);
  stale.instance_id = "inst";
  EXPECT_EQ(Hb(stale).error, ErrorCode::kFencedInstanceId);
}

TEST_F(ConsumerGroupTest, SessionAndRevocationTimeoutsFenceMembers) {
  Hb(Join("a", {"t"}));
  Hb(Join("b", {"t"}));
  Hb(Beat("a", 1, TopicPartitions{{"t", {0, 1, 2, 3}}}));  // a must revoke, within 5000 ms
  now_ += 4000;
  Hb(Beat("b", 2, TopicPartitions{}));
  EXPECT_TRUE(group_.ExpireMembers(now_).empty());
  now_ += 1001;  // a's revocation deadline passed
  EXPECT_EQ(group_.ExpireMembers(now_), std::vector<std::string>{"a"});
  auto b = Hb(Beat("b", 2, TopicPartitions{}));
  EXPECT_EQ(Count(*b.assignment), 4);
  now_ += cfg_.session_timeout_ms + 1;
  EXPECT_EQ(group_.ExpireMembers(now_), std::vector<std::string>{"b"});
  EXPECT_STREQ(group_.StateName(), "Empty");
}

TEST_F(ConsumerGroupTest, RegexSubscription) {
  topics_.counts = {{"orders-eu", 2}, {"orders-us", 2}, {"payments", 2}};
  ConsumerHeartbeat j = Join("a", {});
  j.subscribed_topic_names.reset();
  j.subscribed_topic_regex = "orders-.*";
  auto r = Hb(j);
  EXPECT_EQ(*r.assignment, (TopicPartitions{{"orders-eu", {0, 1}}, {"orders-us", {0, 1}}}));
  topics_.counts["orders-ap"] = 1;  // a new topic matches on the next heartbeat
  auto r2 = Hb(Beat("a", r.member_epoch, *r.assignment));
  EXPECT_EQ(r2.assignment->count("orders-ap"), 1u);
}

TEST_F(ConsumerGroupTest, MaxSizeAndOffsetCommitValidation) {
  cfg_.max_size = 1;
  Hb(Join("a", {"t"}));
  EXPECT_EQ(Hb(Join("b", {"t"})).error, ErrorCode::kGroupMaxSizeReached);
  EXPECT_EQ(group_.ValidateOffsetCommit("a", 1, false, 9), std::nullopt);
  EXPECT_EQ(group_.ValidateOffsetCommit("a", 0, false, 9), ErrorCode::kStaleMemberEpoch);
  EXPECT_EQ(group_.ValidateOffsetCommit("a", 1, false, 8), ErrorCode::kUnsupportedVersion);
  EXPECT_EQ(group_.ValidateOffsetCommit("a", 1, true, 3), std::nullopt);
  EXPECT_EQ(group_.ValidateOffsetCommit("x", 1, false, 9), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(group_.ValidateOffsetCommit("", -1, false, 9), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(group_.ValidateOffsetFetch(std::nullopt, -1), std::nullopt);
  EXPECT_EQ(group_.ValidateOffsetFetch(std::string("a"), 1), std::nullopt);
  EXPECT_EQ(group_.ValidateOffsetFetch(std::string("a"), 7), ErrorCode::kStaleMemberEpoch);
  ConsumerGroup empty("e");
  EXPECT_EQ(empty.ValidateOffsetCommit("", -1, false, 2), std::nullopt);  // admin commit
}

TEST(ConsumerHeartbeatValidation, RefusesWhatKafkaRefuses) {
  ConsumerGroupConfig cfg;
  ConsumerHeartbeat ok = Join("", {"t"});
  EXPECT_EQ(ValidateConsumerHeartbeat("g", ok, cfg), std::nullopt);
  EXPECT_EQ(ValidateConsumerHeartbeat("", ok, cfg)->first, ErrorCode::kInvalidRequest);
  ConsumerHeartbeat h = ok;
  h.rebalance_timeout_ms = -1;
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRequest);
  h = ok;
  h.owned = TopicPartitions{{"t", {1}}};
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRequest);
  h = ok;
  h.subscribed_topic_names.reset();
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRequest);
  h = ok;
  h.instance_id = "";
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRequest);
  h = Beat("", 3, std::nullopt);
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRequest);
  h = Beat("m", -2, std::nullopt);
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRequest);
  h = Beat("m", -3, std::nullopt);
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRequest);
  h = ok;
  h.server_assignor = "cooperative-sticky";
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kUnsupportedAssignor);
  h.server_assignor = "range";
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg), std::nullopt);
  cfg.assignors = {"uniform"};
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kUnsupportedAssignor);
  h = ok;
  h.subscribed_topic_regex = "(a";
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRegularExpression);
  h.subscribed_topic_regex = std::string(5000, 'a');
  EXPECT_EQ(ValidateConsumerHeartbeat("g", h, cfg)->first, ErrorCode::kInvalidRegularExpression);
}

// Random churn: members join, heartbeat (acknowledging what they were told, or not), leave and
// time out, topics grow. After every step no partition is owned by two members; once everyone
// heartbeats without churn, every partition is owned.
TEST_F(ConsumerGroupTest, RandomChurnNeverDoubleOwnsAndConverges) {
  std::mt19937 rng(848);
  topics_.counts = {{"t", 12}, {"u", 5}};
  std::map<std::string, TopicPartitions> client;  // what each live client owns
  std::map<std::string, int32_t> epochs;
  std::map<std::string, std::vector<std::string>> subscriptions;
  int next = 0;
  auto check_exclusive = [&] {
    std::map<std::pair<std::string, int32_t>, std::string> owner;
    for (const auto& [id, m] : group_.members()) {
      for (const TopicPartitions* tp : {&m.assigned, &m.pending_revocation}) {
        for (const auto& [t, ps] : *tp) {
          for (int32_t p : ps) {
            auto [it, fresh] = owner.emplace(std::make_pair(t, p), id);
            ASSERT_TRUE(fresh) << t << "-" << p << " owned by " << it->second << " and " << id;
          }
        }
      }
    }
    // What clients believe they own is also exclusive.
    std::map<std::pair<std::string, int32_t>, std::string> held;
    for (const auto& [id, tp] : client) {
      for (const auto& [t, ps] : tp) {
        for (int32_t p : ps) {
          auto [it, fresh] = held.emplace(std::make_pair(t, p), id);
          ASSERT_TRUE(fresh) << t << "-" << p << " held by " << it->second << " and " << id;
        }
      }
    }
  };
  auto beat = [&](const std::string& id) {
    auto r = Hb(Beat(id, epochs[id], client[id]));
    if (r.error == ErrorCode::kNone) {
      epochs[id] = r.member_epoch;
      if (r.assignment) client[id] = *r.assignment;
      return;
    }
    // Fenced: the client drops everything and rejoins under its id, as clients do.
    ASSERT_EQ(r.error, ErrorCode::kFencedMemberEpoch);
    client[id].clear();
    auto j = Hb(Join(id, subscriptions[id]));
    ASSERT_EQ(j.error, ErrorCode::kNone);
    epochs[id] = j.member_epoch;
    client[id] = *j.assignment;
  };
  for (int step = 0; step < 3000; ++step) {
    const int action = static_cast<int>(rng() % 10);
    if (action == 0 || client.empty()) {
      const std::string id = "m" + std::to_string(next++);
      subscriptions[id] =
          rng() % 3 == 0 ? std::vector<std::string>{"t"} : std::vector<std::string>{"t", "u"};
      auto r = Hb(Join(id, subscriptions[id]));
      ASSERT_EQ(r.error, ErrorCode::kNone);
      epochs[id] = r.member_epoch;
      client[id] = *r.assignment;
    } else if (action == 1 && client.size() > 1) {
      auto it = std::next(client.begin(), static_cast<long>(rng() % client.size()));
      const std::string id = it->first;
      group_.Leave(Beat(id, -1, std::nullopt), cfg_, now_);
      client.erase(id);
      epochs.erase(id);
    } else if (action == 2 && rng() % 50 == 0) {
      topics_.counts["t"] += 1;
    } else if (action == 3 && rng() % 20 == 0) {
      now_ += 6000;  // members that did not revoke in time are fenced
      for (const std::string& id : group_.ExpireMembers(now_)) {
        client.erase(id);
        epochs.erase(id);
      }
    } else {
      auto it = std::next(client.begin(), static_cast<long>(rng() % client.size()));
      beat(it->first);
    }
    check_exclusive();
    if (HasFatalFailure()) return;
  }
  for (int round = 0; round < 10; ++round) {
    std::vector<std::string> ids;
    for (const auto& [id, tp] : client) ids.push_back(id);
    for (const std::string& id : ids) beat(id);
  }
  check_exclusive();
  int owned = 0;
  for (const auto& [id, tp] : client) owned += Count(tp);
  EXPECT_EQ(owned, topics_.counts["t"] + (group_.SubscribedTopics().count("u") ? 5 : 0));
  EXPECT_STREQ(group_.StateName(), "Stable");
}

}  // namespace
}  // namespace gregor::group
