#include "gregor/group/group_metadata.h"

#include <gtest/gtest.h>

#include "group_test_util.h"

namespace gregor::group {
namespace {

MemberMetadata Member(const std::string& id, ProtocolList protocols, bool awaiting = true) {
  MemberMetadata m;
  m.member_id = id;
  m.protocol_type = "consumer";
  m.protocols = std::move(protocols);
  if (awaiting) m.awaiting_join = [](JoinGroupResult) {};
  return m;
}

TEST(GroupMetadataTest, ProtocolElectionPicksTheCommonMostPreferred) {
  GroupMetadata g("g", GroupState::kEmpty, 0);
  g.Add(Member("a", {{"roundrobin", ""}, {"range", ""}}));
  g.TransitionTo(GroupState::kPreparingRebalance, 1);
  g.Add(Member("b", {{"range", ""}, {"roundrobin", ""}}));
  g.Add(Member("c", {{"range", ""}, {"sticky", ""}}));
  // roundrobin is not supported by c: only range is a candidate.
  EXPECT_EQ(g.SelectProtocol(), "range");
  EXPECT_TRUE(g.SupportsProtocols("consumer", {"range"}));
  EXPECT_FALSE(g.SupportsProtocols("consumer", {"sticky"}));
  EXPECT_FALSE(g.SupportsProtocols("connect", {"range"}));
  EXPECT_EQ(g.leader_id(), "a");
  EXPECT_TRUE(g.HasAllMembersJoined());
}

TEST(GroupMetadataTest, LeaderSuccessionAndAwaitingCounts) {
  GroupMetadata g("g", GroupState::kEmpty, 0);
  g.Add(Member("a", {{"range", ""}}));
  g.Add(Member("b", {{"range", ""}}, false));
  EXPECT_EQ(g.num_awaiting_join(), 1);
  EXPECT_FALSE(g.HasAllMembersJoined());
  EXPECT_EQ(g.NotYetRejoinedMembers(), std::vector<std::string>{"b"});
  g.Remove("a");
  EXPECT_EQ(g.leader_id(), "b");
  EXPECT_EQ(g.num_awaiting_join(), 0);
  g.Remove("b");
  EXPECT_FALSE(g.leader_id().has_value());
}

TEST(GroupMetadataTest, TransitionsFollowKafkasStateMachine) {
  GroupMetadata g("g", GroupState::kEmpty, 0);
  EXPECT_FALSE(g.TransitionTo(GroupState::kStable, 1));
  EXPECT_FALSE(g.TransitionTo(GroupState::kCompletingRebalance, 1));
  EXPECT_TRUE(g.TransitionTo(GroupState::kPreparingRebalance, 2));
  EXPECT_EQ(g.current_state_timestamp(), 2);
  EXPECT_FALSE(g.TransitionTo(GroupState::kStable, 3));
  EXPECT_TRUE(g.TransitionTo(GroupState::kCompletingRebalance, 3));
  EXPECT_TRUE(g.TransitionTo(GroupState::kStable, 4));
  EXPECT_TRUE(g.TransitionTo(GroupState::kDead, 5));
  EXPECT_EQ(std::string(GroupStateName(GroupState::kCompletingRebalance)), "CompletingRebalance");
  EXPECT_EQ(ParseGroupState("Stable"), GroupState::kStable);
  EXPECT_EQ(ParseGroupState("stable"), std::nullopt);
}

TEST(GroupMetadataTest, SubscribedTopicsFromConsumerMetadata) {
  GroupMetadata g("g", GroupState::kEmpty, 0);
  g.Add(Member("a", {{"range", testing::Subscription({"t1", "t2"})}}));
  g.TransitionTo(GroupState::kPreparingRebalance, 1);
  g.Add(Member("b", {{"range", testing::Subscription({"t3"})}}));
  g.InitNextGeneration(2);
  EXPECT_EQ(g.generation_id(), 1);
  EXPECT_EQ(g.state(), GroupState::kCompletingRebalance);
  ASSERT_TRUE(g.subscribed_topics().has_value());
  EXPECT_EQ(*g.subscribed_topics(), (std::set<std::string>{"t1", "t2", "t3"}));
  EXPECT_FALSE(g.IsSubscribedToTopic("t4"));
  EXPECT_FALSE(ParseSubscriptionTopics("\x00").has_value());
}

TEST(GroupMetadataTest, UnparsableSubscriptionCountsAsSubscribedToEverything) {
  GroupMetadata g("g", GroupState::kEmpty, 0);
  g.Add(Member("a", {{"range", "garbage"}}));
  g.TransitionTo(GroupState::kPreparingRebalance, 1);
  g.InitNextGeneration(2);
  EXPECT_FALSE(g.subscribed_topics().has_value());
  EXPECT_TRUE(g.IsSubscribedToTopic("anything"));
}

TEST(GroupMetadataTest, ExpiredOffsetsOfStandaloneGroupsCountFromCommit) {
  GroupMetadata g("g", GroupState::kEmpty, 0);
  g.offsets()[{"t", 0}] = {1, -1, "", 100, std::nullopt};
  g.offsets()[{"t", 1}] = {2, -1, "", 500, std::nullopt};
  g.offsets()[{"t", 2}] = {3, -1, "", 100, 10000};  // explicit expiry (v1)
  g.pending_offset_commits()[{"t", 0}] = 1;
  EXPECT_TRUE(g.RemoveExpiredOffsets(1000, 600).empty()) << "pending commit is kept";
  g.pending_offset_commits().clear();
  auto expired = g.RemoveExpiredOffsets(1000, 600);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], (TopicPartition{"t", 0}));
  EXPECT_TRUE(g.RemoveExpiredOffsets(1099, 600).empty());
  EXPECT_EQ(g.RemoveExpiredOffsets(1100, 600).size(), 1u);
  EXPECT_EQ(g.RemoveExpiredOffsets(10000, 1 << 30).size(), 1u);
  EXPECT_FALSE(g.HasOffsets());
}

TEST(GroupMetadataTest, PendingTransactionalOffsets) {
  GroupMetadata g("g", GroupState::kEmpty, 0);
  const TopicPartition tp{"t", 0};
  OffsetAndMetadata a{5, -1, "", 1, std::nullopt}, b{6, -1, "", 2, std::nullopt};
  g.PrepareTxnOffsetCommit(7, tp, a);
  EXPECT_TRUE(g.HasOffsets());
  EXPECT_TRUE(g.HasPendingOffsetCommits(tp));
  EXPECT_TRUE(g.HasPendingTxnOffsetsFrom(7));
  g.OnTxnOffsetCommitAppend(7, tp, a, 100);
  // A second commit of the same transaction whose append fails falls back on the first.
  g.PrepareTxnOffsetCommit(7, tp, b);
  g.FailPendingTxnOffsetCommit(7, tp, b);
  ASSERT_TRUE(g.HasPendingTxnOffsetsFrom(7));
  EXPECT_EQ(g.pending_txn_offsets().at(7).at(tp).offset, a);
  EXPECT_EQ(g.pending_txn_offsets().at(7).at(tp).batch_offset, 100);
  // A regular commit later in the log (offset 200) beats the transaction's (100).
  EXPECT_TRUE(g.PutOffsetIfNewer(tp, b, 200));
  EXPECT_EQ(g.CompletePendingTxnOffsetCommit(7, true), 0u);
  EXPECT_EQ(g.offsets().at(tp), b);
  EXPECT_FALSE(g.HasPendingOffsetCommits(tp));
  // An earlier one does not; a removed offset takes its pending commits with it.
  g.LoadPendingTxnOffset(8, tp, a, 300);
  EXPECT_EQ(g.CompletePendingTxnOffsetCommit(8, true), 1u);
  EXPECT_EQ(g.offsets().at(tp), a);
  EXPECT_FALSE(g.PutOffsetIfNewer(tp, b, 250));
  g.PrepareTxnOffsetCommit(9, tp, b);
  EXPECT_TRUE(g.RemoveOffset(tp));
  EXPECT_FALSE(g.HasPendingTxnOffsetsFrom(9));
  EXPECT_FALSE(g.HasOffsets());
}

}  // namespace
}  // namespace gregor::group
