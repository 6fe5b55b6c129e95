// KIP-848 online migration through the GroupCoordinator: a classic group upgraded by members
// of the consumer protocol, classic members served by a consumer group (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, reconciling by rejoin), the downgrade when the last consumer-protocol
// member goes, group.consumer.migration.policy, and a random mix of both kinds of members in
// which no partition is ever owned twice.
#include <gtest/gtest.h>

#include <iostream>
#include <random>

#include "gregor/group/consumer_protocol.h"
#include "gregor/group/group_coordinator.h"
#include "group_test_util.h"

namespace gregor::group {
namespace {

using testing::CoordinatorTest;
using testing::JoinWaiter;
using testing::Subscription;

class Topics : public testing::MapTopics {
 public:
  Topics() : MapTopics({{"t1", 6}}) {}
};

// A ConsumerProtocolSubscription v1 (what a cooperative client sends): topics, null user data
// and the partitions it still owns.
std::string SubscriptionV1(const std::vector<std::string>& topics, const TopicPartitions& owned) {
  protocol::Writer w;
  w.Int16(1);
  w.ArrayLength(static_cast<int32_t>(topics.size()), false);
  for (const auto& t : topics) w.String(t, false);
  w.NullableBytes(std::nullopt, false);
  w.ArrayLength(static_cast<int32_t>(owned.size()), false);
  for (const auto& [t, ps] : owned) {
    w.String(t, false);
    w.ArrayLength(static_cast<int32_t>(ps.size()), false);
    for (int32_t p : ps) w.Int32(p);
  }
  return w.Flatten();
}

// A classic client as the test drives it: eager ones (kafka-python, the Java range assignor)
// revoke everything before rejoining and send a v0 subscription; cooperative ones keep their
// partitions across a rejoin and report them (v1).
struct ClassicClient {
  std::string id;
  int32_t generation = -1;
  bool cooperative = false;
  enum class Step { kJoin, kSync, kStable } step = Step::kJoin;
  TopicPartitions owned;
};

class MigrationTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    CoordinatorTest::SetUp();
    topics_ = std::make_shared<Topics>();
  }

  JoinGroupParams ClassicParams(const ClassicClient& c) {
    JoinGroupParams p = JoinParams(c.id);
    if (c.cooperative) {
      // The Java client's default list: cooperative-sticky preferred, range still accepted.
      const std::string sub = SubscriptionV1({"t1"}, c.owned);
      p.protocols = {{"cooperative-sticky", sub}, {"range", sub}};
    } else {
      p.protocols = {{"range", Subscription({"t1"})}};
    }
    p.topics = topics_;
    return p;
  }
  // JoinGroup of a classic client (the KIP-394 round trip included); the client then has to
  // sync. Returns the join's error.
  ErrorCode ClassicJoin(ClassicClient& c) {
    if (!c.cooperative) c.owned.clear();  // eager: revoked before rejoining
    auto w = Join(ClassicParams(c));
    EXPECT_TRUE(w.done());
    if (!w.done()) return ErrorCode::kUnknownServerError;
    if (w.get().error == ErrorCode::kMemberIdRequired) {
      c.id = w.get().member_id;
      w = Join(ClassicParams(c));
      EXPECT_TRUE(w.done());
    }
    const JoinGroupResult& r = w.get();
    if (r.error != ErrorCode::kNone) return r.error;
    EXPECT_EQ(r.protocol_type, std::string("consumer"));
    EXPECT_TRUE(r.members.empty());
    EXPECT_NE(r.leader_id, r.member_id);  // a follower: it syncs without an assignment
    c.id = r.member_id;
    c.generation = r.generation_id;
    c.step = ClassicClient::Step::kSync;
    return ErrorCode::kNone;
  }
  ErrorCode ClassicSync(ClassicClient& c) {
    auto w = Sync(c.id, c.generation);
    EXPECT_TRUE(w.done());
    if (!w.done()) return ErrorCode::kUnknownServerError;
    const SyncGroupResult& r = w.get();
    if (r.error == ErrorCode::kNone) {
      auto assigned = DecodeConsumerAssignment(r.assignment);
      EXPECT_TRUE(assigned) << "unreadable ConsumerProtocolAssignment";
      if (!assigned) return ErrorCode::kUnknownServerError;
      // A cooperative client that lost partitions revokes them and rejoins.
      bool lost = false;
      for (const auto& [t, ps] : c.owned) {
        for (int32_t p : ps) lost = lost || assigned->count(t) == 0 || !assigned->at(t).count(p);
      }
      c.owned = *assigned;
      c.step = lost ? ClassicClient::Step::kJoin : ClassicClient::Step::kStable;
    } else {
      Fenced(c, r.error);
    }
    return r.error;
  }
  ErrorCode ClassicBeat(ClassicClient& c) {
    ErrorCode e = coordinator_->Heartbeat("g", c.id, std::nullopt, c.generation);
    if (e == ErrorCode::kRebalanceInProgress) {
      c.step = ClassicClient::Step::kJoin;
    } else if (e != ErrorCode::kNone) {
      Fenced(c, e);
    }
    return e;
  }
  // What a classic client does after an error: rejoin; without its partitions when the
  // coordinator no longer knows it or its generation.
  void Fenced(ClassicClient& c, ErrorCode e) {
    c.step = ClassicClient::Step::kJoin;
    if (e == ErrorCode::kRebalanceInProgress) return;
    c.owned.clear();
    if (e == ErrorCode::kUnknownMemberId) c.id.clear();
  }
  // One action of a classic client, whatever it has to do next.
  ErrorCode ClassicAct(ClassicClient& c) {
    switch (c.step) {
      case ClassicClient::Step::kJoin:
        return ClassicJoin(c);
      case ClassicClient::Step::kSync:
        return ClassicSync(c);
      case ClassicClient::Step::kStable:
        return ClassicBeat(c);
    }
    return ErrorCode::kNone;
  }

  ConsumerHeartbeatResult Beat(const std::string& id, int32_t epoch,
                               std::optional<TopicPartitions> owned = std::nullopt) {
    return BeatT1(*topics_, id, epoch, std::move(owned), 10000);
  }

  // A classic group of `n` eager members on t1 (6 partitions) through one generation, the
  // leader assigning two partitions each with the consumer's embedded protocol.
  std::vector<ClassicClient> ClassicGroup(int n, bool cooperative = false) {
    std::vector<ClassicClient> clients(n);
    std::vector<JoinWaiter> waiters;
    for (auto& c : clients) {
      c.cooperative = cooperative;
      auto first = Join(ClassicParams(c));
      EXPECT_EQ(first.get().error, ErrorCode::kMemberIdRequired);
      c.id = first.get().member_id;
      waiters.push_back(Join(ClassicParams(c)));
    }
    Advance(config_.group_initial_rebalance_delay_ms);
    if (n > 1) Advance(config_.group_initial_rebalance_delay_ms);
    std::string leader;
    for (auto& w : waiters) {
      EXPECT_TRUE(w.done());
      if (!w.done()) return {};
      EXPECT_EQ(w.get().error, ErrorCode::kNone);
      leader = w.get().leader_id;
    }
    std::map<std::string, std::string> assignment;
    int32_t next = 0;
    for (auto& c : clients) {
      c.generation = 1;
      TopicPartitions tp;
      for (int i = 0; i < 6 / n; ++i) tp["t1"].insert(next++);
      assignment[c.id] = EncodeConsumerAssignment(tp, 0);
    }
    std::vector<testing::SyncWaiter> syncs;
    syncs.push_back(Sync(leader, 1, assignment));
    for (auto& c : clients) {
      if (c.id != leader) syncs.push_back(Sync(c.id, 1));
    }
    for (auto& c : clients) {
      c.owned = *DecodeConsumerAssignment(assignment[c.id]);
      c.step = ClassicClient::Step::kStable;
    }
    for (auto& s : syncs) EXPECT_TRUE(s.done() && s.get().error == ErrorCode::kNone);
    EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
    return clients;
  }

  // The coordinator's view: no partition is assigned to, or pending revocation by, two
  // members of the consumer group.
  void ExpectServerExclusive() {
    auto d = coordinator_->DescribeConsumerGroup("g");
    if (d.error != ErrorCode::kNone) return;  // classic: the leader's assignment rules
    std::map<std::pair<std::string, int32_t>, std::string> owner;
    for (const ConsumerMember& m : d.members) {
      for (const TopicPartitions* tp : {&m.assigned, &m.pending_revocation}) {
        for (const auto& [t, ps] : *tp) {
          for (int32_t p : ps) {
            auto [it, fresh] = owner.emplace(std::make_pair(t, p), m.member_id);
            ASSERT_TRUE(fresh) << t << "-" << p << " owned by " << it->second << " and "
                               << m.member_id;
          }
        }
      }
    }
  }
  // The clients' view: what they consume is exclusive too.
  static void ExpectClientsExclusive(const std::map<std::string, const TopicPartitions*>& held) {
    std::map<std::pair<std::string, int32_t>, std::string> owner;
    for (const auto& [id, tp] : held) {
      for (const auto& [t, ps] : *tp) {
        for (int32_t p : ps) {
          auto [it, fresh] = owner.emplace(std::make_pair(t, p), id);
          ASSERT_TRUE(fresh) << t << "-" << p << " held by " << it->second << " and " << id;
        }
      }
    }
  }
  static size_t Count(const TopicPartitions& tp) {
    size_t n = 0;
    for (const auto& [t, ps] : tp) n += ps.size();
    return n;
  }

  std::shared_ptr<Topics> topics_;
};

TEST_F(MigrationTest, ConsumerMembersUpgradeAClassicGroupOneByOne) {
  std::vector<ClassicClient> classic = ClassicGroup(3);
  ASSERT_EQ(classic.size(), 3u);
  EXPECT_EQ(Commit("g", classic[0].id, 1, {{{"t1", 0}, 17}}).at({"t1", 0}), ErrorCode::kNone);

  // The first member of the consumer protocol converts the group: generation 1 becomes
  // epoch 1 and its joining bumps it to 2. Everything is still owned by the classic members.
  auto c1 = Beat("c1", 0);
  ASSERT_EQ(c1.error, ErrorCode::kNone) << c1.error_message;
  EXPECT_EQ(c1.member_epoch, 2);
  ASSERT_TRUE(c1.assignment);
  EXPECT_TRUE(c1.assignment->empty());
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kEmpty);  // classic side
  auto d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.error, ErrorCode::kNone);
  EXPECT_EQ(d.group_epoch, 2);
  ASSERT_EQ(d.members.size(), 4u);
  for (const ConsumerMember& m : d.members) {
    EXPECT_EQ(m.classic.has_value(), m.member_id != "c1") << m.member_id;
    if (m.classic) {
      EXPECT_EQ(Count(m.assigned), 2u) << m.member_id;
      EXPECT_EQ(m.subscribed_topic_names, std::vector<std::string>{"t1"});
    }
  }
  ExpectServerExclusive();
  // Reported as Kafka 4.0 reports a consumer group with classic members.
  auto listed = coordinator_->ListGroups({}, {});
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].group_type, "consumer");
  EXPECT_EQ(listed.groups[0].protocol_type, "consumer");
  EXPECT_EQ(coordinator_->DescribeGroup("g").error, ErrorCode::kGroupIdNotFound);
  // Offsets survive; a classic member commits with its generation (= member epoch).
  EXPECT_EQ(Fetched("g", {"t1", 0}), 17);
  EXPECT_EQ(Commit("g", classic[1].id, 1, {{{"t1", 2}, 5}}).at({"t1", 2}), ErrorCode::kNone);
  EXPECT_EQ(Commit("g", classic[1].id, 7, {{{"t1", 2}, 6}}).at({"t1", 2}),
            ErrorCode::kIllegalGeneration);

  // Classic members learn of epoch 2 by heartbeat and rejoin (eager: owning nothing).
  std::map<std::string, TopicPartitions> consumers = {{"c1", {}}};
  std::map<std::string, int32_t> epochs = {{"c1", c1.member_epoch}};
  auto check = [&] {
    ExpectServerExclusive();
    std::map<std::string, const TopicPartitions*> held;
    for (const auto& c : classic) held[c.id] = &c.owned;
    for (const auto& [id, tp] : consumers) held[id] = &tp;
    ExpectClientsExclusive(held);
  };
  auto settle = [&] {
    for (int round = 0; round < 6; ++round) {
      for (auto& c : classic) {
        ErrorCode e = ClassicAct(c);
        EXPECT_TRUE(e == ErrorCode::kNone || e == ErrorCode::kRebalanceInProgress)
            << protocol::ErrorCodeName(e);
        check();
      }
      for (auto& [id, owned] : consumers) {
        auto r = Beat(id, epochs[id], owned);
        ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_message;
        epochs[id] = r.member_epoch;
        if (r.assignment) owned = *r.assignment;
        check();
      }
      Advance(1000);
    }
  };
  EXPECT_EQ(ClassicBeat(classic[0]), ErrorCode::kRebalanceInProgress);
  settle();
  size_t total = Count(consumers["c1"]);
  for (const auto& c : classic) total += Count(c.owned);
  EXPECT_EQ(total, 6u);
  EXPECT_GE(Count(consumers["c1"]), 1u);

  // A second member of the consumer protocol: the group stays a consumer group and everyone
  // converges again, each partition owned once.
  auto c2 = Beat("c2", 0);
  ASSERT_EQ(c2.error, ErrorCode::kNone) << c2.error_message;
  consumers["c2"] = *c2.assignment;
  epochs["c2"] = c2.member_epoch;
  check();
  settle();
  d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.members.size(), 5u);
  EXPECT_EQ(d.state, "Stable");
  total = 0;
  for (const ConsumerMember& m : d.members) {
    EXPECT_EQ(m.member_epoch, d.group_epoch) << m.member_id;
    EXPECT_GE(Count(m.assigned), 1u) << m.member_id;
    total += Count(m.assigned);
  }
  EXPECT_EQ(total, 6u);
  for (auto& c : classic) EXPECT_EQ(ClassicBeat(c), ErrorCode::kNone);

  // A classic member that stops heartbeating is fenced after its session timeout (6 s).
  ClassicClient gone = classic.back();
  classic.pop_back();
  for (int i = 0; i < 8; ++i) {
    for (auto& c : classic) ClassicAct(c);
    for (auto& [id, owned] : consumers) {
      auto r = Beat(id, epochs[id], owned);
      epochs[id] = r.member_epoch;
      if (r.assignment) owned = *r.assignment;
    }
    Advance(1000);
  }
  d = coordinator_->DescribeConsumerGroup("g");
  EXPECT_EQ(d.members.size(), 4u);
  for (const ConsumerMember& m : d.members) EXPECT_NE(m.member_id, gone.id);
  EXPECT_EQ(coordinator_->Heartbeat("g", gone.id, std::nullopt, gone.generation),
            ErrorCode::kUnknownMemberId);
}

// A cooperative classic member keeps what it may keep: it is asked to rejoin, reports what it
// owns, gets its kept partitions at its old generation, revokes the rest and rejoins; only
// then does the newcomer get them.
TEST_F(MigrationTest, CooperativeClassicMemberRevokesByRejoining) {
  std::vector<ClassicClient> classic = ClassicGroup(2, /*cooperative=*/true);
  ASSERT_EQ(classic.size(), 2u);
  auto c = Beat("c", 0);
  ASSERT_EQ(c.error, ErrorCode::kNone) << c.error_message;
  ASSERT_EQ(c.member_epoch, 2);
  EXPECT_TRUE(c.assignment->empty());
  auto target = coordinator_->DescribeConsumerGroup("g").targets;
  ASSERT_EQ(Count(target["c"]), 2u);

  ClassicClient& a = classic[0];
  const TopicPartitions before = a.owned;  // 3 partitions
  ASSERT_EQ(Count(before), 3u);
  // SyncGroup at the old generation while a newer epoch exists: rejoin first.
  auto early = Sync(a.id, 1);
  ASSERT_TRUE(early.done());
  EXPECT_EQ(early.get().error, ErrorCode::kRebalanceInProgress);
  ASSERT_EQ(ClassicJoin(a), ErrorCode::kNone);
  if (Count(target[a.id]) < 3) {
    // It must give some up: its generation stays 1 until it has.
    EXPECT_EQ(a.generation, 1);
    ASSERT_EQ(ClassicSync(a), ErrorCode::kNone);
    EXPECT_EQ(a.owned, target[a.id]);
    EXPECT_EQ(a.step, ClassicClient::Step::kJoin);  // lost partitions: rejoins at once
    // Still UNREVOKED on the coordinator until the rejoin; its heartbeat says so.
    auto d = coordinator_->DescribeConsumerGroup("g");
    for (const auto& m : d.members) {
      if (m.member_id == a.id) {
        EXPECT_EQ(m.state, ConsumerMemberState::kUnrevokedPartitions);
      }
    }
    EXPECT_EQ(coordinator_->Heartbeat("g", a.id, std::nullopt, 1), ErrorCode::kRebalanceInProgress);
    // The newcomer cannot have a's revoked partition yet.
    auto mid = Beat("c", 2, TopicPartitions{});
    ASSERT_EQ(mid.error, ErrorCode::kNone);
    for (const auto& [t, ps] : before) {
      for (int32_t p : ps) {
        if (!target[a.id]["t1"].count(p)) {
          EXPECT_FALSE(mid.assignment.value_or(TopicPartitions{})["t1"].count(p)) << p;
        }
      }
    }
    ASSERT_EQ(ClassicJoin(a), ErrorCode::kNone);
  }
  EXPECT_EQ(a.generation, 2);
  ASSERT_EQ(ClassicSync(a), ErrorCode::kNone);
  EXPECT_EQ(a.owned, target[a.id]);
  EXPECT_EQ(ClassicBeat(a), ErrorCode::kNone);
  // The other classic member does the same; then the newcomer has its whole target.
  for (int i = 0; i < 6 && classic[1].step != ClassicClient::Step::kStable; ++i) {
    ClassicAct(classic[1]);
  }
  if (classic[1].step == ClassicClient::Step::kStable) ClassicBeat(classic[1]);
  for (int i = 0; i < 6 && classic[1].step != ClassicClient::Step::kStable; ++i) {
    ClassicAct(classic[1]);
  }
  EXPECT_EQ(classic[1].owned, target[classic[1].id]);
  auto done = Beat("c", 2, TopicPartitions{});
  ASSERT_EQ(done.error, ErrorCode::kNone);
  ASSERT_TRUE(done.assignment);
  EXPECT_EQ(*done.assignment, target["c"]);
  ExpectServerExclusive();
}

TEST_F(MigrationTest, LastConsumerMemberLeavingDowngradesTheGroup) {
  std::vector<ClassicClient> classic = ClassicGroup(2);
  ASSERT_EQ(Beat("c", 0).error, ErrorCode::kNone);
  for (int i = 0; i < 4; ++i) {
    for (auto& cl : classic) ClassicAct(cl);
  }
  auto d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.error, ErrorCode::kNone);
  const int32_t epoch = d.group_epoch;
  // The consumer-protocol member leaves: the classic members form a classic group that
  // rebalances (the coordinator assigns nothing any more: the leader does).
  ConsumerHeartbeat leave;
  leave.member_id = "c";
  leave.member_epoch = -1;
  auto left = coordinator_->ConsumerGroupHeartbeat("g", leave, *topics_);
  EXPECT_EQ(left.error, ErrorCode::kNone);
  EXPECT_EQ(left.member_epoch, -1);
  EXPECT_EQ(coordinator_->DescribeConsumerGroup("g").error, ErrorCode::kGroupIdNotFound);
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kPreparingRebalance);
  EXPECT_EQ(coordinator_->GenerationForTest("g"), epoch);
  auto listed = coordinator_->ListGroups({}, {"classic"});
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].state, "PreparingRebalance");
  // Members at the group's generation are told to rejoin, the others learn their generation
  // is gone; either way they rejoin with their ids and the classic rebalance completes.
  std::vector<JoinWaiter> joins;
  for (auto& cl : classic) {
    ErrorCode e = coordinator_->Heartbeat("g", cl.id, std::nullopt, cl.generation);
    EXPECT_TRUE(e == ErrorCode::kRebalanceInProgress || e == ErrorCode::kIllegalGeneration)
        << protocol::ErrorCodeName(e);
    JoinGroupParams p = ClassicParams(cl);
    joins.push_back(Join(p));
  }
  for (auto& w : joins) {
    ASSERT_TRUE(w.done());
    EXPECT_EQ(w.get().error, ErrorCode::kNone);
    EXPECT_EQ(w.get().generation_id, epoch + 1);
  }
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kCompletingRebalance);
  const std::string leader = joins[0].get().leader_id;
  std::map<std::string, std::string> assignment;
  for (auto& cl : classic) assignment[cl.id] = EncodeConsumerAssignment({}, 0);
  auto s = Sync(leader, epoch + 1, assignment);
  ASSERT_TRUE(s.done());
  EXPECT_EQ(s.get().error, ErrorCode::kNone);
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
}

TEST_F(MigrationTest, ConsumerMemberTimingOutDowngradesTheGroup) {
  std::vector<ClassicClient> classic = ClassicGroup(2);
  ASSERT_EQ(Beat("c", 0).error, ErrorCode::kNone);
  // Only the classic members heartbeat (and rejoin when told): after the consumer session
  // timeout (45 s) the consumer-protocol member is fenced and the group is classic again.
  for (int i = 0; i < 50 && coordinator_->DescribeConsumerGroup("g").error == ErrorCode::kNone;
       ++i) {
    for (auto& cl : classic) ClassicAct(cl);
    Advance(1000);
  }
  EXPECT_EQ(coordinator_->DescribeConsumerGroup("g").error, ErrorCode::kGroupIdNotFound);
  auto state = coordinator_->GroupStateForTest("g");
  EXPECT_TRUE(state == GroupState::kPreparingRebalance ||
              state == GroupState::kCompletingRebalance);
}

TEST_F(MigrationTest, PolicyDecidesWhichConversionsHappen) {
  // disabled: a consumer-protocol member cannot join a classic group with members.
  config_.migration_policy = MigrationPolicy::kDisabled;
  MakeCoordinator();
  std::vector<ClassicClient> classic = ClassicGroup(2);
  auto refused = Beat("c", 0);
  EXPECT_EQ(refused.error, ErrorCode::kGroupIdNotFound);
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
  EXPECT_EQ(ClassicBeat(classic[0]), ErrorCode::kNone);
  // downgrade only: no upgrade either.
  config_.migration_policy = MigrationPolicy::kDowngrade;
  MakeCoordinator();
  EXPECT_EQ(Beat("c", 0).error, ErrorCode::kGroupIdNotFound);
  EXPECT_EQ(ParseMigrationPolicy("Upgrade"), MigrationPolicy::kUpgrade);
  EXPECT_EQ(ParseMigrationPolicy("sideways"), std::nullopt);
}

TEST_F(MigrationTest, UpgradeOnlyKeepsAConsumerGroupOfClassicMembers) {
  config_.migration_policy = MigrationPolicy::kUpgrade;
  MakeCoordinator();
  std::vector<ClassicClient> classic = ClassicGroup(2);
  ASSERT_EQ(Beat("c", 0).error, ErrorCode::kNone);
  ConsumerHeartbeat leave;
  leave.member_id = "c";
  leave.member_epoch = -1;
  EXPECT_EQ(coordinator_->ConsumerGroupHeartbeat("g", leave, *topics_).error, ErrorCode::kNone);
  // No downgrade: the classic members stay in the consumer group, which assigns for them.
  auto d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.error, ErrorCode::kNone);
  EXPECT_EQ(d.members.size(), 2u);
  // Rejoin, sync, and rejoin again when partitions the other one held are released.
  for (int i = 0; i < 8; ++i) {
    for (auto& cl : classic) ClassicAct(cl);
  }
  EXPECT_EQ(Count(classic[0].owned) + Count(classic[1].owned), 6u);
  // A classic LeaveGroup removes a classic member (no downgrade on a classic leave).
  auto out = coordinator_->LeaveGroup("g", {{classic[0].id, std::nullopt, std::string("bye")}});
  ASSERT_EQ(out.members.size(), 1u);
  EXPECT_EQ(out.members[0].error, ErrorCode::kNone);
  EXPECT_EQ(coordinator_->DescribeConsumerGroup("g").members.size(), 1u);
  EXPECT_EQ(ClassicBeat(classic[1]), ErrorCode::kRebalanceInProgress);
  for (int i = 0; i < 3; ++i) ClassicAct(classic[1]);
  EXPECT_EQ(Count(classic[1].owned), 6u);
  // A member of the consumer protocol cannot use the classic APIs.
  ASSERT_EQ(Beat("c2", 0).error, ErrorCode::kNone);
  EXPECT_EQ(coordinator_->Heartbeat("g", "c2", std::nullopt, 0), ErrorCode::kUnknownMemberId);
}

TEST_F(MigrationTest, ClassicJoinToAConsumerGroupFollowsItsProtocols) {
  Advance(2 * config_.consumer.heartbeat_interval_ms + 1);  // past the hold after the load
  ASSERT_EQ(Beat("c", 0).error, ErrorCode::kNone);
  // A classic member joins a consumer group formed by the consumer protocol.
  ClassicClient a;
  ASSERT_EQ(ClassicJoin(a), ErrorCode::kNone);
  EXPECT_EQ(a.id.size(), 22u);  // a UUID, like the consumer protocol's member ids
  ASSERT_EQ(ClassicSync(a), ErrorCode::kNone);
  // Another classic member whose protocols the first one does not support is refused.
  JoinGroupParams p = JoinParams("");
  p.protocols = {{"roundrobin", Subscription({"t1"})}};
  p.topics = topics_;
  auto w = Join(p);
  ASSERT_TRUE(w.done());
  EXPECT_EQ(w.get().error, ErrorCode::kInconsistentGroupProtocol);
  // A wrong generation or protocol name is refused as Kafka refuses it.
  EXPECT_EQ(coordinator_->Heartbeat("g", a.id, std::nullopt, a.generation + 5),
            ErrorCode::kIllegalGeneration);
  SyncGroupParams sp;
  sp.group_id = "g";
  sp.member_id = a.id;
  sp.generation_id = a.generation;
  sp.protocol_type = "consumer";
  sp.protocol_name = "roundrobin";
  testing::SyncWaiter sw;
  coordinator_->SyncGroup(sp, sw.Callback());
  ASSERT_TRUE(sw.done());
  EXPECT_EQ(sw.get().error, ErrorCode::kInconsistentGroupProtocol);
  auto d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.members.size(), 2u);
}

// Random mix: classic members (eager and cooperative) and consumer-protocol members join,
// heartbeat, rejoin, sync, leave and time out in a group upgraded from classic. After every
// step no partition is owned twice, on the coordinator or by the clients; at the end, with
// everyone acting, every partition is owned once.
TEST_F(MigrationTest, RandomMixNeverDoubleOwnsAndConverges) {
  std::mt19937 rng(4848);
  topics_->counts = {{"t1", 12}};
  std::vector<ClassicClient> seed = ClassicGroup(3);
  ASSERT_EQ(seed.size(), 3u);
  std::map<std::string, ClassicClient> classic;
  for (auto& c : seed) classic[c.id] = c;
  std::map<std::string, TopicPartitions> consumers;
  std::map<std::string, int32_t> epochs;
  int next = 0;
  auto join_consumer = [&] {
    const std::string id = "c" + std::to_string(next++);
    auto r = Beat(id, 0);
    ASSERT_EQ(r.error, ErrorCode::kNone) << r.error_message;
    consumers[id] = *r.assignment;
    epochs[id] = r.member_epoch;
  };
  join_consumer();
  auto beat_consumer = [&](const std::string& id) {
    auto r = Beat(id, epochs[id], consumers[id]);
    if (r.error == ErrorCode::kNone) {
      epochs[id] = r.member_epoch;
      if (r.assignment) consumers[id] = *r.assignment;
      return;
    }
    // Fenced or forgotten: drop everything and rejoin under the same id.
    ASSERT_TRUE(r.error == ErrorCode::kFencedMemberEpoch || r.error == ErrorCode::kUnknownMemberId)
        << r.error_message;
    consumers[id].clear();
    auto j = Beat(id, 0);
    ASSERT_EQ(j.error, ErrorCode::kNone) << j.error_message;
    epochs[id] = j.member_epoch;
    consumers[id] = *j.assignment;
  };
  auto classic_act = [&](const std::string& id) {
    ClassicClient& c = classic[id];
    ErrorCode e = ClassicAct(c);
    ASSERT_TRUE(e == ErrorCode::kNone || e == ErrorCode::kRebalanceInProgress ||
                e == ErrorCode::kUnknownMemberId || e == ErrorCode::kIllegalGeneration)
        << protocol::ErrorCodeName(e);
    if (c.id != id) {  // forgotten: it rejoins under a new id
      ClassicClient moved = c;
      classic.erase(id);
      if (!moved.id.empty())
        classic[moved.id] = moved;
      else
        classic["pending-" + std::to_string(next++)] = moved;
    }
  };
  auto check = [&] {
    ExpectServerExclusive();
    std::map<std::string, const TopicPartitions*> held;
    for (const auto& [id, c] : classic) held["classic " + id] = &c.owned;
    for (const auto& [id, tp] : consumers) held["consumer " + id] = &tp;
    ExpectClientsExclusive(held);
  };
  // Members fenced while the test looked away are gone: their client stops (a zombie's
  // partitions are what session timeouts are for).
  auto drop_fenced = [&] {
    auto d = coordinator_->DescribeConsumerGroup("g");
    ASSERT_EQ(d.error, ErrorCode::kNone);
    std::set<std::string> live;
    for (const auto& m : d.members) live.insert(m.member_id);
    for (auto it = consumers.begin(); it != consumers.end();) {
      if (live.count(it->first)) {
        ++it;
      } else {
        epochs.erase(it->first);
        it = consumers.erase(it);
      }
    }
    for (auto it = classic.begin(); it != classic.end();) {
      const bool joined =
          it->second.step != ClassicClient::Step::kJoin || !it->second.owned.empty();
      if (joined && !live.count(it->second.id)) {
        it = classic.erase(it);
      } else {
        ++it;
      }
    }
  };
  int classic_next = 0;
  for (int step = 0; step < 3000; ++step) {
    const int action = static_cast<int>(rng() % 12);
    if (action == 0) {
      join_consumer();
    } else if (action == 1 && consumers.size() > 1) {
      // Never the last consumer-protocol member: that would downgrade (tested above).
      auto it = std::next(consumers.begin(), static_cast<long>(rng() % consumers.size()));
      ConsumerHeartbeat leave;
      leave.member_id = it->first;
      leave.member_epoch = -1;
      EXPECT_EQ(coordinator_->ConsumerGroupHeartbeat("g", leave, *topics_).error, ErrorCode::kNone);
      epochs.erase(it->first);
      consumers.erase(it);
    } else if (action == 2) {
      ClassicClient c;
      c.cooperative = rng() % 2 == 0;
      const std::string key = "new-" + std::to_string(classic_next++);
      classic[key] = c;
      classic_act(key);
    } else if (action == 3 && !classic.empty()) {
      auto it = std::next(classic.begin(), static_cast<long>(rng() % classic.size()));
      if (!it->second.id.empty()) {
        coordinator_->LeaveGroup("g", {{it->second.id, std::nullopt, std::nullopt}});
      }
      classic.erase(it);
    } else if (action == 4 && rng() % 30 == 0) {
      topics_->counts["t1"] += 1;
    } else if (action == 5 && rng() % 10 == 0) {
      Advance(2500);
      drop_fenced();
    } else if (action < 9 && !classic.empty()) {
      auto it = std::next(classic.begin(), static_cast<long>(rng() % classic.size()));
      classic_act(it->first);
    } else if (!consumers.empty()) {
      auto it = std::next(consumers.begin(), static_cast<long>(rng() % consumers.size()));
      beat_consumer(it->first);
    }
    if (HasFatalFailure()) return;
    check();
    if (HasFatalFailure()) return;
  }
  // Everyone acts until the group is stable: every partition owned once.
  for (int round = 0; round < 12; ++round) {
    std::vector<std::string> ids;
    for (const auto& [id, c] : classic) ids.push_back(id);
    for (const std::string& id : ids) {
      if (classic.count(id)) classic_act(id);
    }
    std::vector<std::string> cids;
    for (const auto& [id, tp] : consumers) cids.push_back(id);
    for (const std::string& id : cids) beat_consumer(id);
    check();
    if (HasFatalFailure()) return;
  }
  auto d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.error, ErrorCode::kNone);
  EXPECT_EQ(d.state, "Stable");
  size_t held = 0;
  for (const auto& [id, c] : classic) held += Count(c.owned);
  for (const auto& [id, tp] : consumers) held += Count(tp);
  EXPECT_EQ(held, static_cast<size_t>(topics_->counts["t1"]));
  EXPECT_EQ(d.members.size(), classic.size() + consumers.size());
  // Both kinds took part to the end.
  size_t classic_members = 0;
  for (const auto& m : d.members) classic_members += m.classic ? 1 : 0;
  EXPECT_GE(classic_members, 3u);
  EXPECT_GE(d.members.size() - classic_members, 3u);
  std::cerr << "[ churn    ] " << classic_members << " classic and "
            << d.members.size() - classic_members << " consumer-protocol members at epoch "
            << d.group_epoch << "\n";
}

}  // namespace
}  // namespace gregor::group
