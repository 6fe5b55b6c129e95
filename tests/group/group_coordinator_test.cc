#include "gregor/group/group_coordinator.h"

#include <gtest/gtest.h>

#include <thread>

#include "group_test_util.h"

namespace gregor::group {
namespace {

using testing::CoordinatorTest;
using testing::JoinWaiter;
using testing::Subscription;

TEST_F(CoordinatorTest, JoinSyncHeartbeatSingleMember) {
  auto first = Join(JoinParams(""));
  ASSERT_TRUE(first.done());
  EXPECT_EQ(first.get().error, ErrorCode::kMemberIdRequired);
  EXPECT_EQ(first.get().member_id.rfind("client-", 0), 0u) << first.get().member_id;
  const std::string id = first.get().member_id;

  auto join = Join(JoinParams(id));
  EXPECT_FALSE(join.done());  // group.initial.rebalance.delay.ms
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kPreparingRebalance);
  Advance(2999);
  EXPECT_FALSE(join.done());
  Advance(1);
  ASSERT_TRUE(join.done());
  EXPECT_EQ(join.get().error, ErrorCode::kNone);
  EXPECT_EQ(join.get().generation_id, 1);
  EXPECT_EQ(join.get().leader_id, id);
  EXPECT_EQ(join.get().protocol_name, "range");
  ASSERT_EQ(join.get().members.size(), 1u);
  EXPECT_EQ(join.get().members[0].metadata, Subscription({"t1"}));
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kCompletingRebalance);

  auto sync = Sync(id, 1, {{id, "my-assignment"}});
  ASSERT_TRUE(sync.done());
  EXPECT_EQ(sync.get().error, ErrorCode::kNone);
  EXPECT_EQ(sync.get().assignment, "my-assignment");
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
  EXPECT_EQ(coordinator_->Heartbeat("g", id, std::nullopt, 1), ErrorCode::kNone);
  EXPECT_GT(partitions_[0]->log()->HighWatermark(), 0) << "group metadata was not written";
}

TEST_F(CoordinatorTest, SessionTimeoutRemovesSilentMember) {
  auto ids = StableGroup(2);
  ASSERT_EQ(ids.size(), 2u);
  for (int i = 0; i < 3; ++i) {
    Advance(1500);
    EXPECT_EQ(coordinator_->Heartbeat("g", ids[0], std::nullopt, 1), ErrorCode::kNone);
  }
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
  Advance(1500);  // ids[1] silent for the 6 s session timeout
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kPreparingRebalance);
  EXPECT_EQ(coordinator_->Heartbeat("g", ids[0], std::nullopt, 1), ErrorCode::kRebalanceInProgress);
  EXPECT_EQ(coordinator_->Heartbeat("g", ids[1], std::nullopt, 1), ErrorCode::kUnknownMemberId);
  auto rejoin = Join(JoinParams(ids[0]));
  ASSERT_TRUE(rejoin.done());  // every remaining member joined: no waiting
  EXPECT_EQ(rejoin.get().generation_id, 2);
  EXPECT_EQ(rejoin.get().members.size(), 1u);
}

TEST_F(CoordinatorTest, RebalanceTimeoutRemovesMembersThatDoNotRejoin) {
  auto ids = StableGroup(2);
  ASSERT_EQ(ids.size(), 2u);
  auto rejoin = Join(JoinParams(ids[0]));  // the leader rejoining starts a rebalance
  EXPECT_FALSE(rejoin.done());
  for (int i = 0; i < 4; ++i) {
    Advance(2000);
    // Heartbeats keep ids[1] alive but it never rejoins.
    EXPECT_EQ(coordinator_->Heartbeat("g", ids[1], std::nullopt, 1),
              ErrorCode::kRebalanceInProgress);
    EXPECT_FALSE(rejoin.done());
  }
  Advance(2000);  // rebalance timeout: 10 s
  ASSERT_TRUE(rejoin.done());
  EXPECT_EQ(rejoin.get().generation_id, 2);
  ASSERT_EQ(rejoin.get().members.size(), 1u);
  EXPECT_EQ(rejoin.get().members[0].member_id, ids[0]);
  EXPECT_EQ(coordinator_->Heartbeat("g", ids[1], std::nullopt, 2), ErrorCode::kUnknownMemberId);
}

TEST_F(CoordinatorTest, InitialDelayExtendsWhileMembersArrive) {
  auto a = JoinNew();
  Advance(2000);
  auto b = JoinNew();
  Advance(1000);  // first delay over, but a member arrived: extended
  EXPECT_FALSE(a.done());
  Advance(2999);
  EXPECT_FALSE(a.done());
  Advance(1);
  ASSERT_TRUE(a.done());
  ASSERT_TRUE(b.done());
  EXPECT_EQ(a.get().generation_id, 1);
  EXPECT_EQ(b.get().generation_id, 1);
  EXPECT_EQ(a.get().leader_id, b.get().leader_id);
}

TEST_F(CoordinatorTest, PendingMemberExpiresAndIsUnknownAfterwards) {
  auto first = Join(JoinParams(""));
  ASSERT_EQ(first.get().error, ErrorCode::kMemberIdRequired);
  Advance(6000);  // session timeout of the pending member
  auto late = Join(JoinParams(first.get().member_id));
  ASSERT_TRUE(late.done());
  EXPECT_EQ(late.get().error, ErrorCode::kUnknownMemberId);
}

TEST_F(CoordinatorTest, OldJoinGroupVersionsJoinWithoutMemberIdRequired) {
  auto p = JoinParams("");
  p.require_known_member_id = false;  // JoinGroup v0-v3
  auto w = Join(p);
  EXPECT_FALSE(w.done());
  Advance(3000);
  ASSERT_TRUE(w.done());
  EXPECT_EQ(w.get().error, ErrorCode::kNone);
  EXPECT_FALSE(w.get().member_id.empty());
}

TEST_F(CoordinatorTest, InvalidSessionTimeoutAndGroupId) {
  auto p = JoinParams("");
  p.session_timeout_ms = 5;
  EXPECT_EQ(Join(p).get().error, ErrorCode::kInvalidSessionTimeout);
  p = JoinParams("");
  p.group_id = "";
  EXPECT_EQ(Join(p).get().error, ErrorCode::kInvalidGroupId);
}

TEST_F(CoordinatorTest, InconsistentProtocolIsRejected) {
  auto ids = StableGroup(1);
  auto p = JoinParams("");
  p.protocols = {{"roundrobin", Subscription({"t1"})}};
  auto w = Join(p);
  ASSERT_TRUE(w.done());
  EXPECT_EQ(w.get().error, ErrorCode::kInconsistentGroupProtocol);
}

TEST_F(CoordinatorTest, StaticMemberRejoinsWithoutRebalanceAndFencesOldId) {
  auto a1 = Join(JoinParams("", {"t1"}, "instance-a"));  // static: no MEMBER_ID_REQUIRED
  auto b = JoinNew();
  Advance(3000);
  Advance(3000);
  ASSERT_TRUE(a1.done());
  ASSERT_TRUE(b.done());
  const std::string old_a = a1.get().member_id;
  EXPECT_EQ(old_a.rfind("instance-a-", 0), 0u);
  const std::string leader = a1.get().leader_id;
  auto s1 = Sync(leader, 1, {{old_a, "A"}, {b.get().member_id, "B"}},
                 leader == old_a ? std::optional<std::string>("instance-a") : std::nullopt);
  Sync(leader == old_a ? b.get().member_id : old_a, 1, {},
       leader == old_a ? std::nullopt : std::optional<std::string>("instance-a"));
  ASSERT_TRUE(s1.done());
  ASSERT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);

  // The static member restarts: unknown member id, same instance id.
  auto a2 = Join(JoinParams("", {"t1"}, "instance-a"));
  ASSERT_TRUE(a2.done());
  EXPECT_EQ(a2.get().error, ErrorCode::kNone);
  EXPECT_NE(a2.get().member_id, old_a);
  EXPECT_EQ(a2.get().generation_id, 1);
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
  EXPECT_EQ(coordinator_->GenerationForTest("g"), 1);
  auto s2 = Sync(a2.get().member_id, 1, {}, "instance-a");
  ASSERT_TRUE(s2.done());
  EXPECT_EQ(s2.get().assignment, "A");

  // The old incarnation is fenced.
  EXPECT_EQ(coordinator_->Heartbeat("g", old_a, "instance-a", 1), ErrorCode::kFencedInstanceId);
  EXPECT_EQ(coordinator_->Heartbeat("g", a2.get().member_id, "instance-a", 1), ErrorCode::kNone);
  EXPECT_EQ(Sync(old_a, 1, {}, "instance-a").get().error, ErrorCode::kFencedInstanceId);
}

TEST_F(CoordinatorTest, StaticMemberKeepsItsPlaceWhenNotRejoining) {
  auto a = Join(JoinParams("", {"t1"}, "instance-a"));
  auto b = JoinNew();
  Advance(3000);
  Advance(3000);
  ASSERT_TRUE(a.done() && b.done());
  const std::string leader = a.get().leader_id;
  const std::string bid = b.get().member_id;
  Sync(a.get().member_id, 1, {}, "instance-a");
  Sync(bid, 1);
  ASSERT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
  // b changes its subscription: a rebalance the static member sits out.
  auto rejoin_b = Join(JoinParams(bid, {"t1", "t2"}));
  EXPECT_FALSE(rejoin_b.done());
  Advance(5000);
  EXPECT_EQ(coordinator_->Heartbeat("g", a.get().member_id, "instance-a", 1),
            ErrorCode::kRebalanceInProgress);
  Advance(5000);  // rebalance timeout
  ASSERT_TRUE(rejoin_b.done());
  EXPECT_EQ(rejoin_b.get().generation_id, 2);
  EXPECT_EQ(rejoin_b.get().leader_id, bid) << "the joined member leads";
  EXPECT_EQ(rejoin_b.get().members.size(), 2u) << "the static member must stay";
  EXPECT_NE(coordinator_->Heartbeat("g", a.get().member_id, "instance-a", 2),
            ErrorCode::kUnknownMemberId);
}

TEST_F(CoordinatorTest, GenerationFencing) {
  auto ids = StableGroup(1);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(coordinator_->Heartbeat("g", ids[0], std::nullopt, 0), ErrorCode::kIllegalGeneration);
  EXPECT_EQ(coordinator_->Heartbeat("g", "nobody", std::nullopt, 1), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(Sync(ids[0], 7).get().error, ErrorCode::kIllegalGeneration);
  TopicPartition tp{"t1", 0};
  EXPECT_EQ(Commit("g", ids[0], 0, {{tp, 5}})[tp], ErrorCode::kIllegalGeneration);
  EXPECT_EQ(Commit("g", "nobody", 1, {{tp, 5}})[tp], ErrorCode::kUnknownMemberId);
  // Without a member id, an active group refuses commits.
  EXPECT_EQ(Commit("g", "", -1, {{tp, 5}})[tp], ErrorCode::kUnknownMemberId);
  EXPECT_EQ(Commit("g", ids[0], 1, {{tp, 5}})[tp], ErrorCode::kNone);
  EXPECT_EQ(Fetched("g", tp), 5);
}

TEST_F(CoordinatorTest, LeaveGroupBatch) {
  auto s = Join(JoinParams("", {"t1"}, "instance-s"));
  auto a = JoinNew();
  auto b = JoinNew();
  Advance(3000);
  Advance(3000);
  ASSERT_TRUE(s.done() && a.done() && b.done());
  auto r = coordinator_->LeaveGroup("g", {{a.get().member_id, std::nullopt, "bye"},
                                          {"", std::string("instance-s"), std::nullopt},
                                          {"unknown", std::nullopt, std::nullopt}});
  EXPECT_EQ(r.error, ErrorCode::kNone);
  ASSERT_EQ(r.members.size(), 3u);
  EXPECT_EQ(r.members[0].error, ErrorCode::kNone);
  EXPECT_EQ(r.members[1].error, ErrorCode::kNone);
  EXPECT_EQ(r.members[2].error, ErrorCode::kUnknownMemberId);
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kPreparingRebalance);
  auto rejoin = Join(JoinParams(b.get().member_id));
  ASSERT_TRUE(rejoin.done());
  EXPECT_EQ(rejoin.get().generation_id, 2);
  EXPECT_EQ(rejoin.get().members.size(), 1u);
  EXPECT_EQ(coordinator_->LeaveGroup("nope", {{"x", std::nullopt, std::nullopt}}).members[0].error,
            ErrorCode::kUnknownMemberId);
}

TEST_F(CoordinatorTest, GroupMaxSize) {
  config_.group_max_size = 2;
  MakeCoordinator();
  auto a = JoinNew();
  auto b = JoinNew();
  auto c = Join(JoinParams(""));
  ASSERT_TRUE(c.done());
  EXPECT_EQ(c.get().error, ErrorCode::kGroupMaxSizeReached);
  Advance(3000);
  Advance(3000);
  ASSERT_TRUE(a.done() && b.done());
  EXPECT_EQ(a.get().generation_id, 1);
}

TEST_F(CoordinatorTest, SyncTimeoutRemovesMembersThatNeverSync) {
  auto ids = StableGroup(1);
  ASSERT_EQ(ids.size(), 1u);
  auto b = JoinNew();  // starts a rebalance; the leader must rejoin
  auto a = Join(JoinParams(ids[0]));
  ASSERT_TRUE(a.done() && b.done());
  EXPECT_EQ(a.get().generation_id, 2);
  auto sa = Sync(a.get().leader_id, 2, {});
  const std::string other = a.get().leader_id == ids[0] ? b.get().member_id : ids[0];
  // `other` never syncs: after the rebalance timeout it is removed.
  Advance(10000);
  EXPECT_EQ(coordinator_->Heartbeat("g", other, std::nullopt, 2), ErrorCode::kUnknownMemberId);
}

TEST_F(CoordinatorTest, NotCoordinatorBeforeLeadershipAndAfterResigning) {
  MakeCoordinator(false);
  EXPECT_EQ(Join(JoinParams("")).get().error, ErrorCode::kNotCoordinator);
  coordinator_->OnLeadershipChange(0, true);
  auto first = Join(JoinParams(""));
  EXPECT_EQ(first.get().error, ErrorCode::kMemberIdRequired);
  auto waiting = Join(JoinParams(first.get().member_id));
  EXPECT_FALSE(waiting.done());
  coordinator_->OnLeadershipChange(0, false);
  ASSERT_TRUE(waiting.done());
  EXPECT_EQ(waiting.get().error, ErrorCode::kNotCoordinator);
  EXPECT_EQ(coordinator_->FetchOffsets("g", std::nullopt).error, ErrorCode::kNotCoordinator);
}

// An OffsetsLog whose Load blocks until released: observes the loading window.
class GatedLoadLog final : public OffsetsLog {
 public:
  explicit GatedLoadLog(OffsetsLog* inner) : inner_(inner) {}
  void Append(int32_t p, std::string batch, std::optional<log::VerificationGuard> verification,
              AppendCallback done) override {
    inner_->Append(p, std::move(batch), verification, std::move(done));
  }
  Status Load(int32_t p, const LoadVisitor& v) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
    return inner_->Load(p, v);
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  OffsetsLog* inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

TEST_F(CoordinatorTest, LoadInProgressUntilLoaded) {
  GatedLoadLog gated(log_.get());
  coordinator_ = std::make_unique<GroupCoordinator>(config_, &gated, &clock_);
  coordinator_->Start();
  coordinator_->OnLeadershipChange(0, true);
  EXPECT_TRUE(coordinator_->IsLoading(0));
  EXPECT_EQ(Join(JoinParams("")).get().error, ErrorCode::kCoordinatorLoadInProgress);
  EXPECT_EQ(coordinator_->FetchOffsets("g", std::nullopt).error,
            ErrorCode::kCoordinatorLoadInProgress);
  gated.Open();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (coordinator_->IsLoading(0) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_FALSE(coordinator_->IsLoading(0));
  EXPECT_EQ(Join(JoinParams("")).get().error, ErrorCode::kMemberIdRequired);
  coordinator_.reset();
}

TEST_F(CoordinatorTest, CommitFailsWhenNoLongerLeader) {
  cluster::PartitionRole role;
  role.leader = 2;
  role.leader_epoch = 1;
  role.isr = {2, 1};
  role.replicas = {2, 1};
  ASSERT_TRUE(partitions_[0]->ApplyRole(role).ok());
  TopicPartition tp{"t1", 0};
  EXPECT_EQ(Commit("solo", "", -1, {{tp, 1}})[tp], ErrorCode::kNotCoordinator);
  EXPECT_EQ(Fetched("solo", tp), -1);
}

TEST_F(CoordinatorTest, CommitTimesOutWithoutFollowerReplication) {
  OpenPartition(1, {1, 2}, {1, 2});  // a follower in the ISR that never fetches
  TopicPartition tp{"t1", 0};
  OffsetCommitParams p;
  p.group_id = "solo";
  p.offsets[tp].offset = 9;
  auto out = std::make_shared<std::optional<std::map<TopicPartition, ErrorCode>>>();
  coordinator_->CommitOffsets(p, [out](std::map<TopicPartition, ErrorCode> r) { *out = r; });
  EXPECT_FALSE(out->has_value());
  EXPECT_EQ(log_->pending(), 1u);
  Advance(5000);  // offsets.commit.timeout.ms
  ASSERT_TRUE(out->has_value());
  EXPECT_EQ((**out)[tp], ErrorCode::kCoordinatorNotAvailable);
  EXPECT_EQ(Fetched("solo", tp), -1);
}

TEST_F(CoordinatorTest, StandaloneCommitAndFetch) {
  TopicPartition a{"t1", 0}, b{"t1", 1};
  auto r = Commit("solo", "", -1, {{a, 10}, {b, 20}}, "meta");
  EXPECT_EQ(r[a], ErrorCode::kNone);
  EXPECT_EQ(r[b], ErrorCode::kNone);
  auto all = coordinator_->FetchOffsets("solo", std::nullopt);
  ASSERT_EQ(all.offsets.size(), 2u);
  EXPECT_EQ(all.offsets[a].offset, 10);
  EXPECT_EQ(all.offsets[b].metadata, "meta");
  EXPECT_EQ(Fetched("solo", {"t2", 0}), -1);
  EXPECT_EQ(Fetched("unknown-group", a), -1);
  EXPECT_EQ(coordinator_->GroupStateForTest("solo"), GroupState::kEmpty);
  // Too much metadata.
  auto big = Commit("solo", "", -1, {{a, 11}}, std::string(5000, 'x'));
  EXPECT_EQ(big[a], ErrorCode::kOffsetMetadataTooLarge);
  EXPECT_EQ(Fetched("solo", a), 10);
}

TEST_F(CoordinatorTest, RetentionExpiresOffsetsOfEmptyGroups) {
  config_.offsets_retention_ms = 60000;
  MakeCoordinator();
  TopicPartition tp{"t1", 0};
  ASSERT_EQ(Commit("solo", "", -1, {{tp, 3}})[tp], ErrorCode::kNone);  // t = 0
  auto ids = StableGroup(1);                                           // t = 3 s
  ASSERT_EQ(Commit("g", ids[0], 1, {{tp, 4}})[tp], ErrorCode::kNone);
  auto alive = [&](int64_t ms) {
    for (int64_t t = 0; t < ms; t += 1000) {
      Advance(1000);
      ASSERT_EQ(coordinator_->Heartbeat("g", ids[0], std::nullopt, 1), ErrorCode::kNone);
    }
  };
  alive(56000);  // t = 59 s
  EXPECT_EQ(Fetched("solo", tp), 3);
  alive(1000);  // t = 60 s: a standalone group's offset expires from its commit
  EXPECT_EQ(Fetched("solo", tp), -1);
  EXPECT_EQ(coordinator_->GroupStateForTest("solo"), std::nullopt) << "empty and offset-less";
  alive(5000);  // 62 s after g's commit: kept, the stable group consumes t1
  EXPECT_EQ(Fetched("g", tp), 4);
  // Once the group is empty, retention counts from that moment (KIP-211).
  coordinator_->LeaveGroup("g", {{ids[0], std::nullopt, std::nullopt}});
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kEmpty);
  Advance(59000);
  EXPECT_EQ(Fetched("g", tp), 4);
  Advance(1000);
  EXPECT_EQ(Fetched("g", tp), -1);
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), std::nullopt);
}

TEST_F(CoordinatorTest, DeleteGroupsRules) {
  TopicPartition tp{"t1", 0};
  ASSERT_EQ(Commit("solo", "", -1, {{tp, 3}})[tp], ErrorCode::kNone);
  auto ids = StableGroup(1);
  auto r = coordinator_->DeleteGroups({"solo", "g", "missing"});
  EXPECT_EQ(r["solo"], ErrorCode::kNone);
  EXPECT_EQ(r["g"], ErrorCode::kNonEmptyGroup);
  EXPECT_EQ(r["missing"], ErrorCode::kGroupIdNotFound);
  EXPECT_EQ(Fetched("solo", tp), -1);
  EXPECT_EQ(coordinator_->DeleteGroups({"solo"})["solo"], ErrorCode::kGroupIdNotFound);
}

TEST_F(CoordinatorTest, OffsetDeleteRules) {
  TopicPartition t1{"t1", 0}, t2{"t2", 0};
  auto ids = StableGroup(1, {"t1"});
  ASSERT_EQ(Commit("g", ids[0], 1, {{t1, 1}, {t2, 2}})[t2], ErrorCode::kNone);
  auto r = coordinator_->DeleteOffsets("g", {t1, t2});
  EXPECT_EQ(r.error, ErrorCode::kNone);
  EXPECT_EQ(r.partitions[t1], ErrorCode::kGroupSubscribedToTopic);
  EXPECT_EQ(r.partitions[t2], ErrorCode::kNone);
  EXPECT_EQ(Fetched("g", t1), 1);
  EXPECT_EQ(Fetched("g", t2), -1);
  EXPECT_EQ(coordinator_->DeleteOffsets("missing", {t1}).error, ErrorCode::kGroupIdNotFound);

  // A non-consumer protocol type cannot tell what it consumes: NON_EMPTY_GROUP.
  auto p = JoinParams("");
  p.group_id = "connect";
  p.protocol_type = "connect";
  p.require_known_member_id = false;
  auto w = Join(p);
  Advance(3000);
  ASSERT_TRUE(w.done());
  EXPECT_EQ(coordinator_->DeleteOffsets("connect", {t1}).error, ErrorCode::kNonEmptyGroup);
}

TEST_F(CoordinatorTest, ListAndDescribeGroups) {
  TopicPartition tp{"t1", 0};
  Commit("solo", "", -1, {{tp, 3}});
  auto ids = StableGroup(1);
  auto all = coordinator_->ListGroups({});
  EXPECT_EQ(all.error, ErrorCode::kNone);
  EXPECT_EQ(all.groups.size(), 2u);
  auto stable = coordinator_->ListGroups({"Stable"});
  ASSERT_EQ(stable.groups.size(), 1u);
  EXPECT_EQ(stable.groups[0].group_id, "g");
  EXPECT_EQ(stable.groups[0].protocol_type, "consumer");
  EXPECT_EQ(stable.groups[0].group_type, "classic");
  // ListGroups v5 (KIP-848): every group is classic; type names are case-insensitive, and a
  // filter without "classic" (another type or an unknown name) lists nothing, without error.
  EXPECT_EQ(coordinator_->ListGroups({}, {"Classic"}).groups.size(), 2u);
  EXPECT_EQ(coordinator_->ListGroups({"Stable"}, {"consumer", "CLASSIC"}).groups.size(), 1u);
  auto consumer = coordinator_->ListGroups({}, {"consumer"});
  EXPECT_EQ(consumer.error, ErrorCode::kNone);
  EXPECT_TRUE(consumer.groups.empty());
  EXPECT_TRUE(coordinator_->ListGroups({}, {"bogus"}).groups.empty());
  auto d = coordinator_->DescribeGroup("g");
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol, "range");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].assignment, "assignment-" + ids[0]);
  EXPECT_EQ(d.members[0].metadata, Subscription({"t1"}));
  EXPECT_EQ(coordinator_->DescribeGroup("missing").state, "Dead");
}

TEST_F(CoordinatorTest, NewCoordinatorLoadsGroupsAndOffsetsFromTheLog) {
  TopicPartition a{"t1", 0}, b{"t1", 1};
  ASSERT_EQ(Commit("solo", "", -1, {{a, 10}, {b, 20}})[a], ErrorCode::kNone);
  ASSERT_EQ(Commit("solo", "", -1, {{a, 11}})[a], ErrorCode::kNone);
  ASSERT_EQ(coordinator_->DeleteOffsets("solo", {b}).partitions[b], ErrorCode::kNone);
  ASSERT_EQ(Commit("gone", "", -1, {{a, 1}})[a], ErrorCode::kNone);
  ASSERT_EQ(coordinator_->DeleteGroups({"gone"})["gone"], ErrorCode::kNone);
  auto ids = StableGroup(1);
  ASSERT_EQ(Commit("g", ids[0], 1, {{a, 7}})[a], ErrorCode::kNone);

  // Another broker takes over: a fresh coordinator, the log reopened from disk.
  coordinator_.reset();
  OpenPartition(1);
  MakeCoordinator();
  EXPECT_EQ(Fetched("solo", a), 11);
  EXPECT_EQ(Fetched("solo", b), -1) << "tombstoned offset came back";
  EXPECT_EQ(coordinator_->GroupStateForTest("gone"), std::nullopt) << "deleted group came back";
  EXPECT_EQ(Fetched("g", a), 7);
  EXPECT_EQ(coordinator_->GroupStateForTest("g"), GroupState::kStable);
  EXPECT_EQ(coordinator_->GenerationForTest("g"), 1);
  // The member carries on with its generation...
  EXPECT_EQ(coordinator_->Heartbeat("g", ids[0], std::nullopt, 1), ErrorCode::kNone);
  auto s = Sync(ids[0], 1);
  ASSERT_TRUE(s.done());
  EXPECT_EQ(s.get().assignment, "assignment-" + ids[0]);
  // ...and expires if it went away with the old coordinator.
  Advance(6000);
  EXPECT_EQ(coordinator_->Heartbeat("g", ids[0], std::nullopt, 1), ErrorCode::kUnknownMemberId);
}

}  // namespace
}  // namespace gregor::group
