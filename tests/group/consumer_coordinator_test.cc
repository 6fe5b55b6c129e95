// GroupCoordinator with KIP-848 groups: the hold after a partition load, the classic APIs
// meeting a consumer group (and back), offsets under member epochs, administration, timers.
#include <gtest/gtest.h>

#include "gregor/group/group_coordinator.h"
#include "group_test_util.h"

namespace gregor::group {
namespace {

using testing::CoordinatorTest;

class Topics : public testing::MapTopics {
 public:
  Topics() : MapTopics({{"t1", 4}}) {}
};

class ConsumerCoordinatorTest : public CoordinatorTest {
 protected:
  ConsumerHeartbeatResult Beat(const std::string& id, int32_t epoch,
                               std::optional<TopicPartitions> owned = std::nullopt) {
    return BeatT1(topics_, id, epoch, std::move(owned), 5000);
  }
  // Past the hold that follows the partition load in SetUp.
  void PastHold() { Advance(2 * config_.consumer.heartbeat_interval_ms + 1); }
  Topics topics_;
};

TEST_F(ConsumerCoordinatorTest, GroupFormedRightAfterLoadGetsPartitionsOnlyAfterTheHold) {
  auto r = Beat("a", 0);
  ASSERT_EQ(r.error, ErrorCode::kNone);
  EXPECT_EQ(r.member_epoch, 1);
  ASSERT_TRUE(r.assignment);
  EXPECT_TRUE(r.assignment->empty());  // members of the previous coordinator may still hold them
  EXPECT_EQ(r.heartbeat_interval_ms, config_.consumer.heartbeat_interval_ms);
  Advance(6000);
  auto held = Beat("a", 1, TopicPartitions{});
  EXPECT_FALSE(held.assignment.value_or(TopicPartitions{}).count("t1"));
  // Asked back when the hold ends (10 s after the load), not a whole interval later.
  EXPECT_EQ(held.heartbeat_interval_ms, 4050);
  Advance(4050);
  auto after = Beat("a", 1, TopicPartitions{});
  ASSERT_TRUE(after.assignment);
  EXPECT_EQ(after.assignment->at("t1").size(), 4u);
  EXPECT_EQ(after.heartbeat_interval_ms, config_.consumer.heartbeat_interval_ms);
}

TEST_F(ConsumerCoordinatorTest, ClassicApisMeetConsumerGroupsAndEmptyGroupsConvert) {
  PastHold();
  ASSERT_EQ(Beat("a", 0).error, ErrorCode::kNone);
  // A classic member joins a consumer group with members as a member of it (Kafka 4.0; the
  // whole story is in consumer_group_migration_test.cc): first the KIP-394 round trip...
  auto join = Join(JoinParams(""));
  ASSERT_TRUE(join.done());
  EXPECT_EQ(join.get().error, ErrorCode::kMemberIdRequired);
  // ...while a member of the consumer protocol cannot use the classic APIs.
  EXPECT_EQ(coordinator_->Heartbeat("g", "a", std::nullopt, 1), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(coordinator_->DescribeGroup("g").error, ErrorCode::kGroupIdNotFound);
  auto listed = coordinator_->ListGroups({}, {"consumer"});
  ASSERT_EQ(listed.groups.size(), 1u);
  EXPECT_EQ(listed.groups[0].group_type, "consumer");
  EXPECT_EQ(listed.groups[0].state, "Stable");
  EXPECT_TRUE(coordinator_->ListGroups({}, {"classic"}).groups.empty());
  EXPECT_EQ(coordinator_->DeleteGroups({"g"})["g"], ErrorCode::kNonEmptyGroup);
  // Once it is empty, it becomes classic again, its offsets kept.
  EXPECT_EQ(Commit("g", "a", 1, {{{"t1", 0}, 42}}).at({"t1", 0}), ErrorCode::kNone);
  ConsumerHeartbeat leave;
  leave.member_id = "a";
  leave.member_epoch = -1;
  EXPECT_EQ(coordinator_->ConsumerGroupHeartbeat("g", leave, topics_).error, ErrorCode::kNone);
  auto classic = JoinNew();
  Advance(3000);
  ASSERT_TRUE(classic.done());
  EXPECT_EQ(classic.get().error, ErrorCode::kNone);
  EXPECT_EQ(Fetched("g", {"t1", 0}), 42);
  // And a classic group with members is upgraded (group.consumer.migration.policy's default,
  // bidirectional) by a joining member of the consumer protocol.
  EXPECT_EQ(Beat("b", 0).error, ErrorCode::kNone);
  auto d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_EQ(d.members[0].classic.has_value(), d.members[0].member_id != "b");
}

TEST_F(ConsumerCoordinatorTest, OffsetsFollowMemberEpochs) {
  PastHold();
  auto a = Beat("a", 0);
  ASSERT_EQ(a.member_epoch, 1);
  EXPECT_EQ(Commit("g", "a", 1, {{{"t1", 1}, 7}}).at({"t1", 1}), ErrorCode::kNone);
  EXPECT_EQ(Commit("g", "a", 0, {{{"t1", 1}, 8}}).at({"t1", 1}), ErrorCode::kStaleMemberEpoch);
  EXPECT_EQ(Commit("g", "zz", 1, {{{"t1", 1}, 8}}).at({"t1", 1}), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(Commit("g", "", -1, {{{"t1", 1}, 8}}).at({"t1", 1}), ErrorCode::kUnknownMemberId);
  EXPECT_EQ(Fetched("g", {"t1", 1}), 7);
  auto stale = coordinator_->FetchOffsets("g", std::nullopt, false, std::string("a"), 9);
  EXPECT_EQ(stale.error, ErrorCode::kStaleMemberEpoch);
  auto mine = coordinator_->FetchOffsets("g", std::nullopt, false, std::string("a"), 1);
  EXPECT_EQ(mine.error, ErrorCode::kNone);
}

TEST_F(ConsumerCoordinatorTest, OffsetDeleteKeepsSubscribedTopicsAndTheGroup) {
  PastHold();
  ASSERT_EQ(Beat("a", 0).member_epoch, 1);
  // The group's only offset deleted: its member stays (the group is not dead).
  ASSERT_EQ(Commit("g", "a", 1, {{{"t9", 0}, 5}}).at({"t9", 0}), ErrorCode::kNone);
  EXPECT_EQ(coordinator_->DeleteOffsets("g", {{"t9", 0}}).partitions.at({"t9", 0}),
            ErrorCode::kNone);
  ASSERT_EQ(coordinator_->DescribeConsumerGroup("g").members.size(), 1u);
  EXPECT_EQ(Beat("a", 1, TopicPartitions{}).error, ErrorCode::kNone);
  // t1 is what the member consumes: refused; t9 is not: deleted.
  ASSERT_EQ(Commit("g", "a", 1, {{{"t1", 0}, 6}}).at({"t1", 0}), ErrorCode::kNone);
  ASSERT_EQ(Commit("g", "a", 1, {{{"t9", 1}, 7}}).at({"t9", 1}), ErrorCode::kNone);
  auto del = coordinator_->DeleteOffsets("g", {{"t1", 0}, {"t9", 1}});
  EXPECT_EQ(del.error, ErrorCode::kNone);
  EXPECT_EQ(del.partitions.at({"t1", 0}), ErrorCode::kGroupSubscribedToTopic);
  EXPECT_EQ(del.partitions.at({"t9", 1}), ErrorCode::kNone);
  EXPECT_EQ(Fetched("g", {"t1", 0}), 6);
}

TEST_F(ConsumerCoordinatorTest, DescribeAndSessionExpiry) {
  PastHold();
  Beat("a", 0);
  Beat("b", 0);
  auto d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.error, ErrorCode::kNone);
  EXPECT_EQ(d.group_epoch, 2);
  EXPECT_EQ(d.assignor, "uniform");
  EXPECT_EQ(d.members.size(), 2u);
  EXPECT_EQ(d.state, "Reconciling");
  EXPECT_EQ(coordinator_->DescribeConsumerGroup("nope").error, ErrorCode::kGroupIdNotFound);
  // Only a heartbeats (acknowledging what it is told): b is fenced after the session timeout.
  int32_t epoch = 1;
  TopicPartitions owned = {{"t1", {0, 1, 2, 3}}};
  for (int i = 0; i < 12; ++i) {
    Advance(4000);
    auto r = Beat("a", epoch, owned);
    ASSERT_EQ(r.error, ErrorCode::kNone) << i;
    epoch = r.member_epoch;
    if (r.assignment) owned = *r.assignment;
  }
  d = coordinator_->DescribeConsumerGroup("g");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(d.members[0].member_id, "a");
  EXPECT_EQ(Beat("b", 2).error, ErrorCode::kUnknownMemberId);
}

TEST_F(ConsumerCoordinatorTest, SwitchedOffByConfig) {
  config_.consumer_protocol = false;
  MakeCoordinator();
  EXPECT_EQ(Beat("a", 0).error, ErrorCode::kUnsupportedVersion);
}

}  // namespace
}  // namespace gregor::group
