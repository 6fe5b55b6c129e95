// KIP-848 consumer groups persisted in __consumer_offsets (GroupConfig::persist_consumer_groups):
// a coordinator runs a random churn of members (joins, leaves, static leaves and returns,
// subscription changes, fencing by timeout, classic members in the group) and a second
// coordinator loading the same log partition must hold an equal group; members carry on with
// their epochs across the move; without the gate nothing of key version >= 3 is written. And
// the ConsumerGroup's own restore API: its delta's records replayed into a new group.
#include <gtest/gtest.h>

#include <random>

#include "gregor/group/consumer_group_records.h"
#include "gregor/group/group_coordinator.h"
#include "group_test_util.h"

namespace gregor::group {
namespace {

using testing::CoordinatorTest;
using testing::Subscription;

class Topics : public testing::MapTopics {
 public:
  Topics() : MapTopics({{"t1", 4}, {"t2", 3}, {"t3", 5}}) {}
};

// A client of the consumer protocol as the test drives it: it owns exactly the partitions of
// the last assignment it was sent (revoking at once what it lost).
struct SimMember {
  std::string id;
  int32_t epoch = 0;
  TopicPartitions owned;
  std::optional<std::string> instance;
  std::vector<std::string> topics;
  std::optional<std::vector<std::string>> new_topics;  // sent with the next heartbeat
};

// A classic member (JoinGroup/SyncGroup/Heartbeat) of the consumer group.
struct SimClassic {
  std::string id;
  int32_t generation = -1;
  std::vector<std::string> topics;
};

// Deadlines are not persisted (they restart at the load): left out of the comparison.
ConsumerMember WithoutDeadlines(ConsumerMember m) {
  m.session_deadline_ms = m.revocation_deadline_ms = m.join_deadline_ms = m.sync_deadline_ms = 0;
  return m;
}

class ConsumerGroupPersistenceTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    CoordinatorTest::SetUp();
    config_.persist_consumer_groups = true;
    config_.consumer.session_timeout_ms = 3000;
    config_.consumer.heartbeat_interval_ms = 500;
    // The group stays a consumer group when only classic members are left.
    config_.migration_policy = MigrationPolicy::kUpgrade;
    topics_ = std::make_shared<Topics>();
    load_topics_ = topics_;
    Restart();
  }

  // The coordinator moves: a new one loads the partition from the log.
  void Restart() {
    coordinator_.reset();
    MakeCoordinator();
  }

  ConsumerHeartbeatResult Beat(SimMember& m) {
    ConsumerHeartbeat hb;
    hb.member_id = m.id;
    hb.member_epoch = m.epoch;
    hb.instance_id = m.instance;
    if (m.epoch == 0) {
      hb.rebalance_timeout_ms = 5000;
      hb.subscribed_topic_names = m.topics;
      hb.owned = TopicPartitions{};
    } else {
      hb.owned = m.owned;
      if (m.new_topics) hb.subscribed_topic_names = *m.new_topics;
    }
    ConsumerHeartbeatResult r = coordinator_->ConsumerGroupHeartbeat("g", hb, *topics_);
    if (r.error == ErrorCode::kNone) {
      m.id = r.member_id;
      m.epoch = r.member_epoch;
      if (r.assignment) m.owned = *r.assignment;
      if (m.new_topics) m.topics = *std::exchange(m.new_topics, std::nullopt);
    }
    return r;
  }

  ConsumerHeartbeatResult LeaveAs(const SimMember& m, int32_t epoch) {
    ConsumerHeartbeat hb;
    hb.member_id = m.id;
    hb.member_epoch = epoch;
    hb.instance_id = m.instance;
    return coordinator_->ConsumerGroupHeartbeat("g", hb, *topics_);
  }

  // JoinGroup (after the KIP-394 round trip for a new one) and SyncGroup; false if refused.
  bool ClassicJoinAndSync(SimClassic& c) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      JoinGroupParams p = JoinParams(c.id, c.topics);
      p.topics = topics_;
      auto join = Join(p);
      if (!join.done()) return false;
      if (join.get().error == ErrorCode::kMemberIdRequired) {
        c.id = join.get().member_id;
        continue;
      }
      if (join.get().error != ErrorCode::kNone) return false;
      c.id = join.get().member_id;
      c.generation = join.get().generation_id;
      auto sync = Sync(c.id, c.generation);
      if (!sync.done()) return false;
      if (sync.get().error == ErrorCode::kNone) return true;
      if (sync.get().error != ErrorCode::kRebalanceInProgress) return false;
    }
    return true;  // joined; it will rejoin on its next heartbeat
  }

  // Every partition is owned by at most one member (what each client believes it owns).
  void ExpectNoPartitionOwnedTwice() {
    std::map<std::pair<std::string, int32_t>, std::string> owner;
    for (const auto& m : members_) {
      for (const auto& [t, ps] : m.owned) {
        for (int32_t p : ps) {
          auto [it, fresh] = owner.emplace(std::make_pair(t, p), m.id);
          EXPECT_TRUE(fresh) << t << "-" << p << " owned by " << it->second << " and " << m.id;
        }
      }
    }
  }

  // A second coordinator loading the partition holds the group this one holds.
  void ExpectLoadedGroupEqual(const std::string& when) {
    SCOPED_TRACE(when);
    ConsumerGroupDescription want = coordinator_->DescribeConsumerGroup("g");
    GroupCoordinator second(config_, log_.get(), &clock_, [this] { return load_topics_; });
    second.OnLeadershipChange(0, true);
    ConsumerGroupDescription got = second.DescribeConsumerGroup("g");
    ASSERT_EQ(got.error, want.error) << got.error_message;
    EXPECT_EQ(got.group_epoch, want.group_epoch);
    EXPECT_EQ(got.assignment_epoch, want.assignment_epoch);
    EXPECT_EQ(got.state, want.state);
    EXPECT_EQ(got.assignor, want.assignor);
    EXPECT_EQ(got.targets, want.targets);
    ASSERT_EQ(got.members.size(), want.members.size());
    for (size_t i = 0; i < got.members.size(); ++i) {
      EXPECT_EQ(WithoutDeadlines(got.members[i]), WithoutDeadlines(want.members[i]))
          << "member " << want.members[i].member_id << " epoch " << want.members[i].member_epoch
          << " loaded at epoch " << got.members[i].member_epoch;
    }
  }

  // One step of churn: a random change, then every live member heartbeats, then time passes
  // (the coordinator's timers fence the members that went silent).
  void Step(std::mt19937& rng) {
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    const std::vector<std::vector<std::string>> subscriptions = {
        {"t1"}, {"t2"}, {"t1", "t2"}, {"t1", "t3"}, {"t3"}};
    const int action = static_cast<int>(pick(100));
    if (action < 12 && members_.size() < 7) {
      SimMember m;
      m.topics = subscriptions[pick(subscriptions.size())];
      if (pick(3) == 0) m.instance = "instance-" + std::to_string(next_instance_++);
      members_.push_back(m);
    } else if (action < 17 && !members_.empty()) {
      const size_t i = pick(members_.size());
      EXPECT_EQ(LeaveAs(members_[i], kLeaveGroupMemberEpoch).error, ErrorCode::kNone);
      members_.erase(members_.begin() + static_cast<long>(i));
    } else if (action < 22 && !members_.empty()) {
      const size_t i = pick(members_.size());
      if (members_[i].instance && members_[i].epoch > 0) {
        // A static member leaves for now (epoch -2); it comes back under its instance id,
        // or its session times out meanwhile.
        EXPECT_EQ(LeaveAs(members_[i], kLeaveGroupStaticMemberEpoch).error, ErrorCode::kNone);
        away_.push_back(members_[i]);
        members_.erase(members_.begin() + static_cast<long>(i));
      }
    } else if (action < 27 && !away_.empty()) {
      SimMember m = away_.front();
      away_.erase(away_.begin());
      m.id.clear();
      m.epoch = 0;
      m.owned.clear();
      members_.push_back(m);
    } else if (action < 33 && !members_.empty()) {
      const size_t i = pick(members_.size());
      if (members_[i].epoch > 0) members_[i].new_topics = subscriptions[pick(subscriptions.size())];
    } else if (action < 36 && !members_.empty()) {
      // Goes silent: fenced once its session times out.
      members_.erase(members_.begin() + static_cast<long>(pick(members_.size())));
    } else if (action < 42 && classics_.size() < 3 && !members_.empty() &&
               coordinator_->DescribeConsumerGroup("g").error == ErrorCode::kNone) {
      SimClassic c;
      c.topics = subscriptions[pick(subscriptions.size())];
      if (ClassicJoinAndSync(c)) classics_.push_back(c);
    } else if (action < 45 && !classics_.empty()) {
      const size_t i = pick(classics_.size());
      auto r = coordinator_->LeaveGroup("g", {{classics_[i].id, std::nullopt, std::nullopt}});
      EXPECT_EQ(r.error, ErrorCode::kNone);
      classics_.erase(classics_.begin() + static_cast<long>(i));
    }
    for (auto& m : members_) {
      ConsumerHeartbeatResult r = Beat(m);
      EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_message;
      if (r.error != ErrorCode::kNone) {
        m.epoch = 0;
        m.owned.clear();
      }
    }
    for (auto it = classics_.begin(); it != classics_.end();) {
      ErrorCode e = coordinator_->Heartbeat("g", it->id, std::nullopt, it->generation);
      if (e == ErrorCode::kRebalanceInProgress) {
        EXPECT_TRUE(ClassicJoinAndSync(*it));
        e = ErrorCode::kNone;
      }
      EXPECT_EQ(e, ErrorCode::kNone) << "classic member " << it->id;
      it = e == ErrorCode::kNone ? std::next(it) : classics_.erase(it);
    }
    ExpectNoPartitionOwnedTwice();
    Advance(300);
  }

  std::shared_ptr<Topics> topics_;
  std::vector<SimMember> members_;
  std::vector<SimMember> away_;
  std::vector<SimClassic> classics_;
  int next_instance_ = 0;
};

TEST_F(ConsumerGroupPersistenceTest, LoadedGroupEqualsTheLiveOneThroughRandomChurn) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    for (int step = 1; step <= 240; ++step) {
      Step(rng);
      if (step % 20 == 0) ExpectLoadedGroupEqual("step " + std::to_string(step));
      if (::testing::Test::HasFailure()) return;
    }
    ASSERT_EQ(coordinator_->DescribeConsumerGroup("g").error, ErrorCode::kNone);
    ExpectLoadedGroupEqual("end");
  }
}

TEST_F(ConsumerGroupPersistenceTest, MembersCarryOnWithTheirEpochsAfterTheCoordinatorMoves) {
  std::mt19937 rng(7);
  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    for (int step = 0; step < 60; ++step) Step(rng);
    while (members_.size() < 2) Step(rng);
    const ConsumerGroupDescription before = coordinator_->DescribeConsumerGroup("g");
    ASSERT_EQ(before.error, ErrorCode::kNone);
    Restart();
    // Not fenced: every member heartbeats with the epoch and partitions it had, and is
    // accepted at once (no UNKNOWN_MEMBER_ID, no FENCED_MEMBER_EPOCH, no hold).
    for (auto& m : members_) {
      const int32_t epoch = m.epoch;
      ConsumerHeartbeatResult r = Beat(m);
      ASSERT_EQ(r.error, ErrorCode::kNone) << "member " << m.id << ": " << r.error_message;
      EXPECT_GE(r.member_epoch, epoch);
    }
    const ConsumerGroupDescription after = coordinator_->DescribeConsumerGroup("g");
    ASSERT_EQ(after.error, ErrorCode::kNone);
    std::set<std::string> ids_before, ids_after;
    for (const auto& m : before.members) ids_before.insert(m.member_id);
    for (const auto& m : after.members) ids_after.insert(m.member_id);
    EXPECT_EQ(ids_after, ids_before);
    EXPECT_GE(after.group_epoch, before.group_epoch);
    ExpectNoPartitionOwnedTwice();
  }
}

TEST_F(ConsumerGroupPersistenceTest, RecordsOfEveryTypeAreWrittenAndOnlyWithTheGate) {
  auto key_versions = [&] {
    std::map<int16_t, int> out;
    EXPECT_TRUE(
        log_->Load(
                0,
                [&](const protocol::RecordBatchHeader& h, const protocol::Record& r) {
                  if (h.is_control() || !r.key || r.key->size() < 2) return;
                  ++out[static_cast<int16_t>((uint8_t((*r.key)[0]) << 8) | uint8_t((*r.key)[1]))];
                })
            .ok());
    return out;
  };
  std::mt19937 rng(11);
  for (int step = 0; step < 80; ++step) Step(rng);
  auto written = key_versions();
  for (int16_t v = 3; v <= 8; ++v) EXPECT_GT(written[v], 0) << "key version " << v;

  // Without the gate: the same churn writes no record of key version >= 3 (the offsets log
  // of a cluster that may roll back to a Kafka older than 3.5).
  TearDown();
  members_.clear();
  away_.clear();
  classics_.clear();
  CoordinatorTest::SetUp();
  config_.persist_consumer_groups = false;
  config_.consumer.session_timeout_ms = 3000;
  config_.migration_policy = MigrationPolicy::kUpgrade;
  load_topics_ = topics_;
  Restart();
  std::mt19937 rng2(11);
  for (int step = 0; step < 80; ++step) Step(rng2);
  ASSERT_FALSE(members_.empty());
  Commit("g", members_.front().id, members_.front().epoch, {{{"t1", 0}, 5}});
  for (const auto& [v, n] : key_versions()) EXPECT_LT(v, 3) << n << " records of key version " << v;
  // And as before, a new coordinator knows no member.
  Restart();
  ConsumerHeartbeatResult r = Beat(members_.front());
  EXPECT_EQ(r.error, ErrorCode::kUnknownMemberId);
}

TEST_F(ConsumerGroupPersistenceTest, DeletedAndDowngradedGroupsLeaveNoConsumerGroupBehind) {
  // Deleted: the last member leaves, DeleteGroups; a new coordinator has no group.
  SimMember a;
  a.topics = {"t1"};
  ASSERT_EQ(Beat(a).error, ErrorCode::kNone);
  ASSERT_EQ(LeaveAs(a, kLeaveGroupMemberEpoch).error, ErrorCode::kNone);
  EXPECT_EQ(coordinator_->DeleteGroups({"g"})["g"], ErrorCode::kNone);
  Restart();
  EXPECT_EQ(coordinator_->DescribeConsumerGroup("g").error, ErrorCode::kGroupIdNotFound);

  // Downgraded: a classic member and a consumer member; the consumer one leaves.
  config_.migration_policy = MigrationPolicy::kBidirectional;
  Restart();
  members_.clear();
  SimMember b;
  b.topics = {"t1"};
  ASSERT_EQ(Beat(b).error, ErrorCode::kNone);
  SimClassic c;
  c.topics = {"t1"};
  ASSERT_TRUE(ClassicJoinAndSync(c));
  ExpectLoadedGroupEqual("with a classic member");
  ASSERT_EQ(LeaveAs(b, kLeaveGroupMemberEpoch).error, ErrorCode::kNone);
  EXPECT_EQ(coordinator_->DescribeConsumerGroup("g").error, ErrorCode::kGroupIdNotFound);
  Restart();
  // The classic group with its member, no consumer group.
  EXPECT_EQ(coordinator_->DescribeConsumerGroup("g").error, ErrorCode::kGroupIdNotFound);
  GroupSummary classic = coordinator_->DescribeGroup("g");
  EXPECT_EQ(classic.error, ErrorCode::kNone);
  ASSERT_EQ(classic.members.size(), 1u);
  EXPECT_EQ(classic.members[0].member_id, c.id);
}

// The ConsumerGroup's restore API on its own: the records of its deltas, replayed, rebuild it.
TEST(ConsumerGroupRestoreTest, DeltaRecordsReplayedRestoreAnEqualGroup) {
  Topics topics;
  ConsumerGroupConfig cfg;
  ConsumerGroup live("g");
  ConsumerGroupReplay replay;
  int64_t offset = 0;
  auto persist = [&] {
    for (const GroupRecord& rec : ConsumerGroupDeltaRecords(live, live.TakeDelta())) {
      GroupRecordKey key;
      ASSERT_TRUE(DecodeGroupRecordKey(rec.key, &key));
      std::optional<std::string_view> value;
      if (rec.value) value = *rec.value;
      ASSERT_TRUE(replay.Apply(key, value, offset++));
    }
  };
  auto beat = [&](const std::string& id, int32_t epoch, std::optional<TopicPartitions> owned,
                  std::vector<std::string> subscribed) {
    ConsumerHeartbeat hb;
    hb.member_id = id;
    hb.member_epoch = epoch;
    hb.rebalance_timeout_ms = 5000;
    hb.subscribed_topic_names = std::move(subscribed);
    hb.owned = epoch == 0 ? TopicPartitions{} : std::move(owned);
    ConsumerHeartbeatResult r = live.Heartbeat(hb, topics, cfg, 1000, id);
    EXPECT_EQ(r.error, ErrorCode::kNone) << r.error_message;
    persist();
    return r;
  };
  auto a = beat("a", 0, std::nullopt, {"t1", "t2"});
  beat("a", a.member_epoch, a.assignment, {"t1", "t2"});
  // b joins: a must revoke (UNREVOKED_PARTITIONS, partitions pending revocation), b waits.
  auto b = beat("b", 0, std::nullopt, {"t1"});
  auto a2 = beat("a", a.member_epoch, a.assignment, {"t1", "t2"});
  ASSERT_EQ(live.members().at("a").state, ConsumerMemberState::kUnrevokedPartitions);
  ASSERT_FALSE(live.members().at("a").pending_revocation.empty());

  ConsumerGroup restored("g");
  auto snap = replay.Snapshot("g", topics);
  ASSERT_TRUE(snap);
  restored.Restore(std::move(*snap), topics, cfg, 5000);
  EXPECT_EQ(restored.group_epoch(), live.group_epoch());
  EXPECT_EQ(restored.assignment_epoch(), live.assignment_epoch());
  EXPECT_EQ(restored.target_assignment(), live.target_assignment());
  EXPECT_EQ(restored.subscription_metadata(), live.subscription_metadata());
  ASSERT_EQ(restored.members().size(), 2u);
  for (const auto& [id, m] : live.members()) {
    EXPECT_EQ(WithoutDeadlines(restored.members().at(id)), WithoutDeadlines(m)) << id;
    EXPECT_EQ(restored.members().at(id).session_deadline_ms, 5000 + cfg.session_timeout_ms);
  }
  // The member revoking has its revocation deadline from the load and its rebalance timeout.
  EXPECT_EQ(restored.members().at("a").revocation_deadline_ms, 5000 + 5000);
  for (const auto& [topic, ps] : live.members().at("a").assigned) {
    for (int32_t p : ps)
      EXPECT_EQ(restored.PartitionEpoch(topic, p), live.PartitionEpoch(topic, p));
  }
  EXPECT_TRUE(restored.TakeDelta().empty());
  (void)b;
  (void)a2;

  // A topic deleted meanwhile: its partitions are dropped from the restored assignments.
  Topics fewer;
  fewer.counts.erase("t2");
  ConsumerGroup without_t2("g");
  auto snap2 = replay.Snapshot("g", fewer);
  ASSERT_TRUE(snap2);
  without_t2.Restore(std::move(*snap2), fewer, cfg, 5000);
  for (const auto& [id, m] : without_t2.members()) {
    EXPECT_FALSE(m.assigned.count("t2")) << id;
    EXPECT_FALSE(m.pending_revocation.count("t2")) << id;
  }
  EXPECT_FALSE(without_t2.subscription_metadata().count("t2"));
}

}  // namespace
}  // namespace gregor::group
