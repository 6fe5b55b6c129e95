#include "gregor/controller/controller.h"

#include <gtest/gtest.h>

#include <mutex>

#include "controller/test_cluster.h"
#include "gregor/controller/replica_assignment.h"
#include "zk/zk_test_server.h"

namespace gregor::controller {
namespace {

using gregor::testing::UniqueConnect;
using gregor::testing::WaitFor;

[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

TEST(ControllerTest, OneControllerIsElectedAndFailsOver) {
  std::string connect = UniqueConnect("elect");
  FakeChannel channel;
  auto b1 = std::make_unique<TestBroker>(connect, 1, &channel, true);
  ASSERT_TRUE(WaitFor([&] { return b1->controller->IsActive(); }));
  TestBroker b2(connect, 2, &channel, true);
  ASSERT_TRUE(WaitFor([&] { return b2.controller->active_controller_id() == 1; }));
  EXPECT_FALSE(b2.controller->IsActive());
  EXPECT_EQ(b1->controller->epoch(), 1);
  // Both brokers got UpdateMetadata from controller 1 once it saw broker 2 register.
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& u : channel.um()) {
      if (u.to == 2 && u.live.size() == 2) return true;
    }
    return false;
  }));

  b1->Kill();
  ASSERT_TRUE(WaitFor([&] { return b2.controller->IsActive(); }));
  EXPECT_EQ(b2.controller->epoch(), 2);
  EXPECT_EQ(b2.zk->Get("/controller_epoch")->data, "2");
  b1.reset();
}

TEST(ControllerTest, DeposedControllerIsFencedAndResigns) {
  std::string connect = UniqueConnect("fence");
  FakeChannel channel;
  TestBroker b1(connect, 1, &channel, true);
  ASSERT_TRUE(WaitFor([&] { return b1.controller->IsActive(); }));
  int32_t old_version = b1.zk->Get("/controller_epoch")->stat.version;
  TestBroker b2(connect, 2, &channel, false);
  // Broker 2 takes over behind controller 1's back.
  ASSERT_TRUE(b2.zk->Delete("/controller").ok());
  auto won = b2.kzk->TryElectController(2);
  // Controller 1's watch may re-elect it first; either way the epoch moves on.
  ASSERT_TRUE(won.ok());
  if (won->won) {
    ASSERT_TRUE(WaitFor(
        [&] { return !b1.controller->IsActive() && b1.controller->active_controller_id() == 2; }));
  }
  // A write carrying controller 1's old epoch version is rejected.
  zk::LeaderIsrAndControllerEpoch s;
  s.leader = 1;
  s.isr = {1};
  auto fenced = b1.kzk->CreatePartitionState({"x", 0}, s, old_version);
  EXPECT_EQ(fenced.status().code(), Status::Code::kNotLeader);
  EXPECT_FALSE(b1.zk->Exists("/brokers/topics/x/partitions/0/state")->has_value());
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connect_ = UniqueConnect("cluster");
    brokers_[1] = std::make_unique<TestBroker>(connect_, 1, &channel_, true, Options());
    ASSERT_TRUE(WaitFor([&] { return brokers_[1]->controller->IsActive(); }));
    brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
    brokers_[3] = std::make_unique<TestBroker>(connect_, 3, &channel_, false);
    ASSERT_TRUE(WaitFor([&] {
      for (const auto& u : channel_.um()) {
        if (u.to == 3 && u.live.size() == 3) return true;
      }
      return false;
    }));
  }
  virtual Controller::Options Options() { return {}; }
  zk::KafkaZkClient* kzk() { return brokers_[1]->kzk.get(); }

  std::string connect_;
  FakeChannel channel_;
  std::map<int32_t, std::unique_ptr<TestBroker>> brokers_;
};

TEST_F(ClusterTest, NewTopicGetsLeadersAndRequests) {
  auto assignment = AssignReplicasToBrokers({{1, {}}, {2, {}}, {3, {}}}, 3, 2);
  ASSERT_TRUE(assignment.ok());
  zk::TopicId id = zk::RandomTopicId();
  ASSERT_TRUE(kzk()->CreateTopic("orders", id, *assignment, {}).ok());
  for (const auto& [p, replicas] : *assignment) {
    TopicPartition tp{"orders", p};
    ASSERT_TRUE(WaitFor([&] { return State(kzk(), tp).has_value(); })) << tp.ToString();
    auto s = *State(kzk(), tp);
    EXPECT_EQ(s.leader, replicas[0]);
    EXPECT_EQ(s.isr, replicas);
    EXPECT_EQ(s.leader_epoch, 0);
    EXPECT_EQ(s.controller_epoch, 1);
    for (int32_t r : replicas) {
      ASSERT_TRUE(WaitFor([&] { return channel_.LastLeaderAndIsr(r, tp).has_value(); }));
      auto ps = *channel_.LastLeaderAndIsr(r, tp);
      EXPECT_EQ(ps.leader, replicas[0]);
      EXPECT_EQ(ps.replicas, replicas);
      EXPECT_EQ(ps.topic_id, id);
      EXPECT_TRUE(ps.is_new);
    }
    for (int32_t b = 1; b <= 3; ++b) {
      ASSERT_TRUE(WaitFor([&] { return channel_.LastUpdateMetadata(b, tp).has_value(); }));
      EXPECT_EQ(channel_.LastUpdateMetadata(b, tp)->leader, replicas[0]);
    }
  }
  // No LeaderAndIsr for a partition reached a broker that does not host it.
  for (const auto& r : channel_.lisr()) {
    for (const auto& p : r.partitions) {
      const auto& replicas = assignment->at(p.tp.partition);
      EXPECT_NE(std::find(replicas.begin(), replicas.end(), r.to), replicas.end());
    }
  }
}

TEST_F(ClusterTest, PartitionAdditionIsBroughtOnline) {
  ASSERT_TRUE(kzk()->CreateTopic("t", zk::RandomTopicId(), {{0, {1, 2}}}, {}).ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"t", 0}).has_value(); }));
  auto a = kzk()->GetTopicAssignment("t");
  ASSERT_TRUE(a.ok());
  zk::TopicAssignment more = *a;
  more.partitions[1] = {3, 1};
  ASSERT_TRUE(kzk()->SetTopicAssignment("t", more, a->zk_version).ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"t", 1}).has_value(); }));
  EXPECT_EQ(State(kzk(), {"t", 1})->leader, 3);
  ASSERT_TRUE(WaitFor([&] { return channel_.LastLeaderAndIsr(3, {"t", 1}).has_value(); }));
}

TEST_F(ClusterTest, BrokerDeathMovesLeadershipAndShrinksIsr) {
  ASSERT_TRUE(kzk()->CreateTopic("t", zk::RandomTopicId(), {{0, {2, 3, 1}}, {1, {3, 2}}}, {}).ok());
  ASSERT_TRUE(WaitFor([&] {
    return State(kzk(), {"t", 0}).has_value() && State(kzk(), {"t", 1}).has_value();
  }));
  brokers_[2]->Kill();
  // t-0 was led by 2: the next live in-ISR replica (3) leads, with a new leader epoch.
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"t", 0})->leader == 3; }));
  auto s0 = *State(kzk(), {"t", 0});
  EXPECT_EQ(s0.leader_epoch, 1);
  EXPECT_EQ(s0.isr, (std::vector<int32_t>{3, 1}));
  // t-1 was led by 3: 2 leaves its ISR.
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"t", 1})->isr.size() == 1; }));
  auto s1 = *State(kzk(), {"t", 1});
  EXPECT_EQ(s1.leader, 3);
  EXPECT_EQ(s1.isr, std::vector<int32_t>{3});
  EXPECT_EQ(s1.leader_epoch, 1);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(1, {"t", 0});
    return ps && ps->leader == 3 && ps->leader_epoch == 1;
  }));
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, {"t", 0});
    return ps && ps->leader == 3 && ps->offline_replicas == std::vector<int32_t>{2};
  }));
}

TEST_F(ClusterTest, PartitionWithoutLiveIsrGoesOfflineAndReturns) {
  ASSERT_TRUE(kzk()->CreateTopic("solo", zk::RandomTopicId(), {{0, {3}}}, {}).ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"solo", 0}).has_value(); }));
  brokers_[3]->Kill();
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"solo", 0})->leader == kNoLeader; }));
  EXPECT_EQ(State(kzk(), {"solo", 0})->isr, std::vector<int32_t>{3});  // last ISR kept
  brokers_[3] = std::make_unique<TestBroker>(connect_, 3, &channel_, false);
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"solo", 0})->leader == 3; }));
  EXPECT_EQ(State(kzk(), {"solo", 0})->leader_epoch, 2);
}

TEST_F(ClusterTest, UncleanElectionWhenTopicAllowsIt) {
  ASSERT_TRUE(kzk()
                  ->CreateTopic("u", zk::RandomTopicId(), {{0, {2, 3}}},
                                {{"unclean.leader.election.enable", "true"}})
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"u", 0}).has_value(); }));
  // The leader shrinks the ISR to itself, then dies: 3 is live but out of sync.
  auto s = *State(kzk(), {"u", 0});
  s.isr = {2};
  ASSERT_TRUE(kzk()->UpdateLeaderAndIsr({"u", 0}, s).ok());
  ASSERT_TRUE(kzk()->CreateIsrChangeNotification({{"u", 0}}).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, {"u", 0});
    return ps && ps->isr == std::vector<int32_t>{2};
  }));
  brokers_[2]->Kill();
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"u", 0})->leader == 3; }));
  EXPECT_EQ(State(kzk(), {"u", 0})->isr, std::vector<int32_t>{3});
}

TEST_F(ClusterTest, TopicDeletionStopsReplicasThenRemovesZnodes) {
  ASSERT_TRUE(kzk()
                  ->CreateTopic("gone", zk::RandomTopicId(), {{0, {1, 2}}, {1, {2, 3}}},
                                {{"retention.ms", "1"}})
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"gone", 1}).has_value(); }));
  channel_.FailStopReplica(protocol::ErrorCode::kKafkaStorageError,
                           1);  // first answer fails: retried
  ASSERT_TRUE(kzk()->MarkTopicForDeletion("gone").ok());
  ASSERT_TRUE(WaitFor([&] {
    return kzk()->GetAllTopics()->empty() && kzk()->GetTopicsMarkedForDeletion()->empty();
  }));
  EXPECT_FALSE(brokers_[1]->zk->Exists("/config/topics/gone")->has_value());
  std::set<int32_t> stopped;
  for (const auto& s : channel_.stop()) {
    EXPECT_TRUE(s.del);
    stopped.insert(s.to);
  }
  EXPECT_EQ(stopped, (std::set<int32_t>{1, 2, 3}));
  EXPECT_GT(channel_.stop().size(), 3u);  // the failed round was retried
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(3, {"gone", 1});
    return ps && ps->leader == kLeaderDuringDelete;
  }));
}

class NoDeleteClusterTest : public ClusterTest {
 protected:
  Controller::Options Options() override {
    Controller::Options o;
    o.delete_topic_enable = false;
    return o;
  }
};

TEST_F(NoDeleteClusterTest, MarkerIsRemovedAndTopicKept) {
  ASSERT_TRUE(kzk()->CreateTopic("keep", zk::RandomTopicId(), {{0, {1}}}, {}).ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"keep", 0}).has_value(); }));
  ASSERT_TRUE(kzk()->MarkTopicForDeletion("keep").ok());
  ASSERT_TRUE(WaitFor([&] { return kzk()->GetTopicsMarkedForDeletion()->empty(); }));
  EXPECT_EQ(*kzk()->GetAllTopics(), std::vector<std::string>{"keep"});
  EXPECT_TRUE(channel_.stop().empty());
}

TEST_F(ClusterTest, NewControllerLoadsStateAndResendsLeaderAndIsr) {
  ASSERT_TRUE(kzk()->CreateTopic("t", zk::RandomTopicId(), {{0, {2, 3}}}, {}).ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"t", 0}).has_value(); }));
  // Broker 3 runs a controller too; the current one (1) dies.
  brokers_[3].reset();
  brokers_[3] = std::make_unique<TestBroker>(connect_, 3, &channel_, true);
  // Broker 3's restart shrank the ISR (epoch 1); wait until controller 1 re-sent it its roles.
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(3, {"t", 0});
    return ps && ps->leader_epoch == 1;
  }));
  int32_t epoch_before = State(kzk(), {"t", 0})->leader_epoch;
  brokers_[1]->Kill();
  ASSERT_TRUE(WaitFor([&] { return brokers_[3]->controller->IsActive(); }));
  EXPECT_EQ(brokers_[3]->controller->epoch(), 2);
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& r : channel_.lisr()) {
      if (r.controller_id == 3 && r.controller_epoch == 2 && r.to == 2 &&
          r.partitions.size() == 1 && r.partitions[0].leader == 2) {
        return true;
      }
    }
    return false;
  }));
  // State untouched: leader 2 is alive, so no new election.
  EXPECT_EQ(State(brokers_[3]->kzk.get(), {"t", 0})->leader_epoch, epoch_before);
}

// Brokers that died while no controller was watching (here: with the controller) are offline
// to the next one from its first moment (Kafka's replica state machine start-up): they leave the
// ISR of partitions whose leader lives, with a new leader epoch, so that those leaders' acks=all
// produce and high watermark do not wait for replica.lag.time.max.ms.
TEST_F(ClusterTest, NewControllerRemovesBrokersAbsentAtFailoverFromIsrs) {
  ASSERT_TRUE(kzk()->CreateTopic("t", zk::RandomTopicId(), {{0, {3, 2, 1}}}, {}).ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"t", 0}).has_value(); }));
  ASSERT_EQ(State(kzk(), {"t", 0})->isr, (std::vector<int32_t>{3, 2, 1}));
  int32_t epoch_before = State(kzk(), {"t", 0})->leader_epoch;
  // The controller dies first, then broker 2: nobody is controller to see 2 go.
  brokers_[1]->Kill();
  brokers_[2]->Kill();
  brokers_[4] = std::make_unique<TestBroker>(connect_, 4, &channel_, true);
  ASSERT_TRUE(WaitFor([&] { return brokers_[4]->controller->IsActive(); }));
  auto* zk4 = brokers_[4]->kzk.get();
  ASSERT_TRUE(WaitFor([&] { return State(zk4, {"t", 0})->isr == std::vector<int32_t>{3}; }));
  auto s = *State(zk4, {"t", 0});
  EXPECT_EQ(s.leader, 3);
  EXPECT_EQ(s.leader_epoch, epoch_before + 1);
  EXPECT_EQ(s.controller_epoch, 2);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(3, {"t", 0});
    return ps && ps->leader == 3 && ps->isr == std::vector<int32_t>{3} &&
           ps->leader_epoch == epoch_before + 1;
  }));
}

}  // namespace
}  // namespace gregor::controller
