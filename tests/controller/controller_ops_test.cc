// Controlled shutdown, preferred-leader rebalance and partition reassignment, against a real
// ZooKeeper with simulated brokers (tests/controller/test_cluster.h).
#include <gtest/gtest.h>

#include <future>

#include "controller/test_cluster.h"
#include "gregor/controller/controller.h"
#include "gregor/zk/reassignment.h"
#include "zk/zk_test_server.h"

namespace gregor::controller {
namespace {

using gregor::testing::UniqueConnect;
using gregor::testing::WaitFor;
using protocol::ErrorCode;

[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

using Replicas = std::vector<int32_t>;

struct ShutdownResult {
  ErrorCode error;
  std::vector<TopicPartition> remaining;
};

ShutdownResult Shutdown(Controller* c, int32_t id, int64_t epoch) {
  std::promise<ShutdownResult> p;
  c->ControlledShutdown(id, epoch, [&p](ErrorCode e, std::vector<TopicPartition> remaining) {
    p.set_value({e, std::move(remaining)});
  });
  return p.get_future().get();
}

struct AlterResult {
  ErrorCode error;
  std::map<TopicPartition, Controller::PartitionResult> results;
};

AlterResult Alter(Controller* c,
                  std::map<TopicPartition, std::optional<std::vector<int32_t>>> reassignments) {
  std::promise<AlterResult> p;
  c->AlterPartitionReassignments(
      std::move(reassignments),
      [&p](ErrorCode e, std::map<TopicPartition, Controller::PartitionResult> r) {
        p.set_value({e, std::move(r)});
      });
  return p.get_future().get();
}

struct ListResult {
  ErrorCode error;
  std::map<TopicPartition, Controller::OngoingReassignment> ongoing;
};

ListResult List(Controller* c, std::optional<std::vector<TopicPartition>> tps = std::nullopt) {
  std::promise<ListResult> p;
  c->ListPartitionReassignments(
      std::move(tps),
      [&p](ErrorCode e, std::map<TopicPartition, Controller::OngoingReassignment> o) {
        p.set_value({e, std::move(o)});
      });
  return p.get_future().get();
}

AlterResult Elect(Controller* c, bool unclean, std::optional<std::vector<TopicPartition>> tps) {
  std::promise<AlterResult> p;
  c->ElectLeaders(unclean, std::move(tps),
                  [&p](ErrorCode e, std::map<TopicPartition, Controller::PartitionResult> r) {
                    p.set_value({e, std::move(r)});
                  });
  return p.get_future().get();
}

class ControllerOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connect_ = UniqueConnect("ops");
    brokers_[1] = std::make_unique<TestBroker>(connect_, 1, &channel_, true, Options());
    ASSERT_TRUE(WaitFor([&] { return brokers_[1]->controller->IsActive(); }));
    brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
    brokers_[3] = std::make_unique<TestBroker>(connect_, 3, &channel_, false);
    WaitForLive(3);
  }
  virtual Controller::Options Options() {
    Controller::Options o;
    o.auto_leader_rebalance_enable = false;
    return o;
  }
  zk::KafkaZkClient* kzk() { return brokers_[1]->kzk.get(); }
  Controller* controller() { return brokers_[1]->controller.get(); }

  // Waits until the controller told broker `to` about `n` live brokers.
  void WaitForLive(size_t n, int32_t to = 1) {
    ASSERT_TRUE(WaitFor([&] {
      auto um = channel_.um();
      return !um.empty() && um.back().live.size() == n &&
             std::any_of(um.begin(), um.end(),
                         [&](const auto& u) { return u.to == to && u.live.size() == n; });
    }));
  }
  void CreateTopic(const std::string& topic, std::map<int32_t, Replicas> assignment) {
    ASSERT_TRUE(kzk()->CreateTopic(topic, zk::RandomTopicId(), assignment, {}).ok());
    for (const auto& [p, r] : assignment) {
      ASSERT_TRUE(WaitFor([&] { return State(kzk(), {topic, p}).has_value(); }));
    }
  }
  // What a leader does in ZooKeeper mode when its ISR changes: a conditional write of the state
  // znode, optionally followed by an ISR change notification.
  void LeaderSetsIsr(const TopicPartition& tp, Replicas isr, bool notify) {
    for (int attempt = 0; attempt < 10; ++attempt) {
      auto s = State(kzk(), tp);
      ASSERT_TRUE(s.has_value());
      s->isr = isr;
      auto v = kzk()->UpdateLeaderAndIsr(tp, *s);
      if (v.ok()) break;
      ASSERT_EQ(v.status().code(), Status::Code::kStale);
    }
    if (notify) {
      ASSERT_TRUE(kzk()->CreateIsrChangeNotification({tp}).ok());
    }
  }
  zk::TopicAssignment Topic(const std::string& t) {
    auto a = zk::GetTopicAssignmentWatched(brokers_[1]->zk.get(), t);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : zk::TopicAssignment();
  }
  bool StoppedWith(int32_t broker, const TopicPartition& tp, bool del) {
    for (const auto& s : channel_.stop()) {
      if (s.to == broker && s.del == del &&
          std::find(s.partitions.begin(), s.partitions.end(), tp) != s.partitions.end()) {
        return true;
      }
    }
    return false;
  }

  std::string connect_;
  FakeChannel channel_;
  std::map<int32_t, std::unique_ptr<TestBroker>> brokers_;
};

// ---------------------------------------------------------------- controlled shutdown

TEST_F(ControllerOpsTest, ControlledShutdownMovesLeadershipAndReportsWhatRemains) {
  CreateTopic("t", {{0, {2, 3, 1}}, {1, {3, 2}}, {2, {2}}, {3, {2, 3}}});
  // t-3: the leader (2) is alone in the ISR, so nobody can take over.
  LeaderSetsIsr({"t", 3}, {2}, true);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, {"t", 3});
    return ps && ps->isr == Replicas{2};
  }));

  ShutdownResult r = Shutdown(controller(), 2, brokers_[2]->epoch);
  EXPECT_EQ(r.error, ErrorCode::kNone);
  // The single-replica t-2 cannot move and is not reported (so the broker can finish).
  EXPECT_EQ(r.remaining, (std::vector<TopicPartition>{{"t", 3}}));

  auto s0 = *State(kzk(), {"t", 0});
  EXPECT_EQ(s0.leader, 3);
  EXPECT_EQ(s0.isr, (Replicas{3, 1}));
  EXPECT_EQ(s0.leader_epoch, 1);
  auto s1 = *State(kzk(), {"t", 1});
  EXPECT_EQ(s1.leader, 3);
  EXPECT_EQ(s1.isr, Replicas{3});
  EXPECT_EQ(s1.leader_epoch, 1);
  EXPECT_EQ(State(kzk(), {"t", 2})->leader, 2);
  EXPECT_EQ(State(kzk(), {"t", 3})->leader, 2);

  // The old leader learns it follows now; the new leader learns it leads.
  ASSERT_TRUE(WaitFor([&] {
    auto to2 = channel_.LastLeaderAndIsr(2, {"t", 0});
    auto to3 = channel_.LastLeaderAndIsr(3, {"t", 0});
    return to2 && to2->leader == 3 && to2->leader_epoch == 1 && to3 && to3->leader == 3;
  }));
  // The follower replica stops (without deletion) and gets no LeaderAndIsr that would restart it.
  EXPECT_TRUE(StoppedWith(2, {"t", 1}, false));
  EXPECT_FALSE(StoppedWith(2, {"t", 0}, false));
  auto to2 = channel_.LastLeaderAndIsr(2, {"t", 1});
  EXPECT_TRUE(!to2 || to2->leader_epoch == 0);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, {"t", 1});
    return ps && ps->isr == Replicas{3};
  }));

  // A retry (the broker's client does retry) is idempotent.
  ShutdownResult again = Shutdown(controller(), 2, brokers_[2]->epoch);
  EXPECT_EQ(again.error, ErrorCode::kNone);
  EXPECT_EQ(again.remaining, (std::vector<TopicPartition>{{"t", 3}}));
  EXPECT_EQ(State(kzk(), {"t", 0})->leader_epoch, 1);
}

TEST_F(ControllerOpsTest, ControlledShutdownErrors) {
  EXPECT_EQ(Shutdown(controller(), 9, -1).error, ErrorCode::kBrokerNotAvailable);
  EXPECT_EQ(Shutdown(controller(), 3, brokers_[3]->epoch - 1).error, ErrorCode::kStaleBrokerEpoch);
  // -1: a broker that does not know its epoch is trusted (KIP-380 compatibility).
  EXPECT_EQ(Shutdown(controller(), 3, -1).error, ErrorCode::kNone);

  // A controller that is not the active one refuses.
  TestBroker b4(connect_, 4, &channel_, true, Options());
  ASSERT_TRUE(WaitFor([&] { return b4.controller->active_controller_id() == 1; }));
  EXPECT_EQ(Shutdown(b4.controller.get(), 4, b4.epoch).error, ErrorCode::kNotController);
  EXPECT_EQ(Alter(b4.controller.get(), {{{"t", 0}, Replicas{1}}}).error, ErrorCode::kNotController);
  EXPECT_EQ(List(b4.controller.get()).error, ErrorCode::kNotController);
  // And so does a stopped one.
  b4.controller->Stop();
  EXPECT_EQ(Shutdown(b4.controller.get(), 4, b4.epoch).error, ErrorCode::kNotController);
}

TEST_F(ControllerOpsTest, ShuttingDownBrokerIsNeverElected) {
  CreateTopic("x", {{0, {3, 2, 1}}});
  ASSERT_EQ(Shutdown(controller(), 2, brokers_[2]->epoch).error, ErrorCode::kNone);
  EXPECT_EQ(State(kzk(), {"x", 0})->isr, (Replicas{3, 1}));
  // Even if the leader lets it back into the ISR before it stops...
  LeaderSetsIsr({"x", 0}, {3, 2, 1}, true);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, {"x", 0});
    return ps && ps->isr == Replicas{3, 2, 1};
  }));
  // ...it is skipped when the leader dies: 1 leads although 2 comes first in the assignment.
  brokers_[3]->Kill();
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"x", 0})->leader != 3; }));
  EXPECT_EQ(State(kzk(), {"x", 0})->leader, 1);
  EXPECT_EQ(State(kzk(), {"x", 0})->isr, Replicas{1});

  // A new partition does not start on it either.
  CreateTopic("y", {{0, {2, 1}}});
  EXPECT_EQ(State(kzk(), {"y", 0})->leader, 1);
  EXPECT_EQ(State(kzk(), {"y", 0})->isr, Replicas{1});

  // Once it restarts (a new registration) it is an ordinary broker again.
  brokers_[2].reset();
  brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(2, {"y", 0});
    return ps && ps->leader == 1 && ps->leader_epoch == 0;
  }));
  CreateTopic("z", {{0, {2, 1}}});
  EXPECT_EQ(State(kzk(), {"z", 0})->leader, 2);
}

// ---------------------------------------------------------------- preferred leaders

class RebalanceTest : public ControllerOpsTest {
 protected:
  Controller::Options Options() override {
    Controller::Options o;
    o.auto_leader_rebalance_enable = true;
    o.leader_imbalance_check_interval_seconds = 1;
    o.leader_imbalance_per_broker_percentage = 10;
    return o;
  }
};

TEST_F(RebalanceTest, PreferredLeaderReturnsOnceBackInSync) {
  CreateTopic("p", {{0, {2, 3}}, {1, {3, 2}}});
  brokers_[2]->Kill();
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"p", 0})->leader == 3; }));
  brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(2, {"p", 0});
    return ps && ps->leader == 3;
  }));
  // Out of sync: not a candidate, however imbalanced the cluster is. Several checks run
  // (interval 1 s) while we watch.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(State(kzk(), {"p", 0})->leader, 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int32_t epoch_before = State(kzk(), {"p", 0})->leader_epoch;
  // The leader lets it back into the ISR: the next check moves leadership home.
  LeaderSetsIsr({"p", 0}, {3, 2}, true);
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"p", 0})->leader == 2; }));
  auto s = *State(kzk(), {"p", 0});
  EXPECT_EQ(s.isr, (Replicas{3, 2}));
  EXPECT_EQ(s.leader_epoch, epoch_before + 1);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(3, {"p", 0});
    return ps && ps->leader == 2 && ps->leader_epoch == epoch_before + 1;
  }));
  // p-1 was led by its preferred replica all along.
  EXPECT_EQ(State(kzk(), {"p", 1})->leader, 3);
}

class HighThresholdRebalanceTest : public RebalanceTest {
 protected:
  Controller::Options Options() override {
    Controller::Options o = RebalanceTest::Options();
    o.leader_imbalance_per_broker_percentage = 60;
    return o;
  }
};

TEST_F(HighThresholdRebalanceTest, ImbalanceBelowThresholdIsTolerated) {
  // Broker 2 prefers both partitions.
  CreateTopic("q", {{0, {2, 3}}, {1, {2, 3}}});
  // Move both away by a controlled shutdown of 2, then bring 2 back (re-registration).
  ASSERT_EQ(Shutdown(controller(), 2, brokers_[2]->epoch).error, ErrorCode::kNone);
  ASSERT_EQ(State(kzk(), {"q", 0})->leader, 3);
  ASSERT_EQ(State(kzk(), {"q", 1})->leader, 3);
  brokers_[2].reset();
  brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(2, {"q", 1});
    return ps && ps->leader == 3;
  }));
  // Only q-0 gets 2 back into its ISR: 2 of 2 not led (100%), one candidate.
  LeaderSetsIsr({"q", 0}, {3, 2}, true);
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), {"q", 0})->leader == 2; }));
  // Now 1 of 2 (50%) is below the threshold: q-1 stays even once 2 is in sync.
  LeaderSetsIsr({"q", 1}, {3, 2}, true);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(State(kzk(), {"q", 1})->leader, 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST_F(ControllerOpsTest, ElectLeadersPreferredAndUnclean) {
  CreateTopic("e", {{0, {2, 3}}, {1, {2, 3}}});
  const TopicPartition e0{"e", 0}, e1{"e", 1}, unknown{"e", 7};
  // e-1: the leader shrinks the ISR to itself.
  LeaderSetsIsr(e1, {2}, true);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, e1);
    return ps && ps->isr == Replicas{2};
  }));
  brokers_[2]->Kill();
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), e0)->leader == 3; }));
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), e1)->leader == kNoLeader; }));

  // Unclean: e-1 has no live leader and no live in-sync replica; 3 takes over.
  AlterResult u = Elect(controller(), true, std::vector<TopicPartition>{e0, e1, unknown});
  ASSERT_EQ(u.error, ErrorCode::kNone);
  EXPECT_EQ(u.results[e0].error, ErrorCode::kElectionNotNeeded);
  EXPECT_EQ(u.results[e1].error, ErrorCode::kNone);
  EXPECT_EQ(u.results[unknown].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(State(kzk(), e1)->leader, 3);
  EXPECT_EQ(State(kzk(), e1)->isr, Replicas{3});

  // Preferred: 2 is back but not in sync, then in sync.
  brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(2, e0);
    return ps && ps->leader == 3;
  }));
  EXPECT_EQ(Elect(controller(), false, std::vector<TopicPartition>{e0}).results[e0].error,
            ErrorCode::kPreferredLeaderNotAvailable);
  LeaderSetsIsr(e0, {3, 2}, true);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, e0);
    return ps && ps->isr == Replicas{3, 2};
  }));
  AlterResult all = Elect(controller(), false, std::nullopt);
  EXPECT_EQ(all.results[e0].error, ErrorCode::kNone);
  EXPECT_EQ(all.results[e1].error, ErrorCode::kPreferredLeaderNotAvailable);
  EXPECT_EQ(State(kzk(), e0)->leader, 2);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastLeaderAndIsr(3, e0);
    return ps && ps->leader == 2;
  }));
  EXPECT_EQ(Elect(controller(), false, std::vector<TopicPartition>{e0}).results[e0].error,
            ErrorCode::kElectionNotNeeded);
}

TEST_F(ControllerOpsTest, PreferredReplicaElectionZnodeElectsAndIsDeleted) {
  CreateTopic("p", {{0, {2, 3}}, {1, {3, 2}}});
  const TopicPartition p0{"p", 0}, p1{"p", 1};
  brokers_[2]->Kill();
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), p0)->leader == 3; }));
  brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
  LeaderSetsIsr(p0, {3, 2}, true);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(1, p0);
    return ps && ps->isr == Replicas{3, 2};
  }));
  // What kafka-preferred-replica-election.sh --zookeeper writes; an unknown partition is
  // skipped. The controller elects 2 for p-0 (p-1 already has its preferred leader) and
  // deletes the znode.
  const std::string json =
      R"({"version":1,"partitions":[{"topic":"p","partition":0},{"topic":"p","partition":1},)"
      R"({"topic":"nope","partition":0}]})";
  auto decoded = zk::DecodePreferredReplicaElection(json);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(3u, decoded->size());
  EXPECT_EQ(zk::EncodePreferredReplicaElection(*decoded), json);
  EXPECT_FALSE(zk::DecodePreferredReplicaElection(
                   R"({"version":1,"partitions":[{"topic":"p","partition":0},)"
                   R"({"topic":"p","partition":0}]})")
                   .ok());
  ASSERT_TRUE(brokers_[1]->zk->Create(zk::paths::kPreferredReplicaElection, json).ok());
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), p0)->leader == 2; }));
  EXPECT_EQ(State(kzk(), p1)->leader, 3);
  ASSERT_TRUE(WaitFor([&] {
    auto r = zk::GetPreferredReplicaElection(brokers_[1]->zk.get());
    return r.ok() && !r->has_value();
  }));
  // Unreadable JSON is deleted too, and the watch stays armed for the next request.
  ASSERT_TRUE(brokers_[1]->zk->Create(zk::paths::kPreferredReplicaElection, "{oops").ok());
  ASSERT_TRUE(WaitFor(
      [&] { return !brokers_[1]->zk->Exists(zk::paths::kPreferredReplicaElection)->has_value(); }));
}

// ---------------------------------------------------------------- reassignment

TEST_F(ControllerOpsTest, ReassignmentCompletesOnlyAfterNewReplicasJoinTheIsr) {
  CreateTopic("r", {{0, {1, 2}}});
  TopicPartition tp{"r", 0};
  AlterResult a = Alter(controller(), {{tp, Replicas{2, 3}}});
  ASSERT_EQ(a.error, ErrorCode::kNone);
  EXPECT_EQ(a.results[tp].error, ErrorCode::kNone);

  // RS = TRS + ORS in the topic znode, with the KIP-455 fields.
  auto t = Topic("r");
  EXPECT_EQ(t.partitions[0], (Replicas{2, 3, 1}));
  EXPECT_EQ(t.adding_replicas[0], Replicas{3});
  EXPECT_EQ(t.removing_replicas[0], Replicas{1});
  // A new leader epoch tells every replica; the new one is told it is new.
  auto s = *State(kzk(), tp);
  EXPECT_EQ(s.leader, 1);
  EXPECT_EQ(s.leader_epoch, 1);
  ASSERT_TRUE(WaitFor([&] {
    auto to3 = channel_.LastLeaderAndIsr(3, tp);
    auto to1 = channel_.LastLeaderAndIsr(1, tp);
    return to3 && to3->is_new && to3->replicas == Replicas{2, 3, 1} && to3->leader == 1 && to1 &&
           to1->leader_epoch == 1 && to1->replicas == Replicas{2, 3, 1};
  }));
  EXPECT_EQ(channel_.LastLeaderAndIsr(3, tp)->adding_replicas, Replicas{3});
  EXPECT_EQ(channel_.LastLeaderAndIsr(3, tp)->removing_replicas, Replicas{1});
  ListResult l = List(controller());
  ASSERT_EQ(l.error, ErrorCode::kNone);
  ASSERT_EQ(l.ongoing.size(), 1u);
  EXPECT_EQ(l.ongoing[tp].replicas, (Replicas{2, 3, 1}));
  EXPECT_EQ(l.ongoing[tp].adding, Replicas{3});
  EXPECT_EQ(l.ongoing[tp].removing, Replicas{1});

  // An unrelated ISR change (the ISR shrinks to the leader) completes nothing.
  LeaderSetsIsr(tp, {1}, true);
  ASSERT_TRUE(WaitFor([&] {
    auto ps = channel_.LastUpdateMetadata(2, tp);
    return ps && ps->isr == Replicas{1};
  }));
  EXPECT_EQ(List(controller()).ongoing.size(), 1u);
  EXPECT_EQ(Topic("r").adding_replicas[0], Replicas{3});

  // The leader adds the new replica and 2 back, with no notification: the controller's watch
  // on the state znode of a partition being reassigned sees it.
  LeaderSetsIsr(tp, {1, 2, 3}, false);
  ASSERT_TRUE(WaitFor([&] { return Topic("r").adding_replicas.empty(); }));
  t = Topic("r");
  EXPECT_EQ(t.partitions[0], (Replicas{2, 3}));
  EXPECT_TRUE(t.removing_replicas.empty());
  s = *State(kzk(), tp);
  // The old leader is not a target replica: the first in-sync target replica leads.
  EXPECT_EQ(s.leader, 2);
  EXPECT_EQ(s.isr, (Replicas{2, 3}));
  ASSERT_TRUE(WaitFor([&] { return StoppedWith(1, tp, true); }));
  ASSERT_TRUE(WaitFor([&] {
    auto to3 = channel_.LastLeaderAndIsr(3, tp);
    return to3 && to3->leader == 2 && to3->replicas == Replicas{2, 3} &&
           to3->leader_epoch == s.leader_epoch;
  }));
  EXPECT_TRUE(channel_.LastLeaderAndIsr(3, tp)->adding_replicas.empty());
  EXPECT_TRUE(List(controller()).ongoing.empty());
}

TEST_F(ControllerOpsTest, ReassignmentFromZnodeIsProcessedAndTheZnodeDeleted) {
  CreateTopic("z", {{0, {1}}, {1, {2}}});
  zk::ReassignmentRequest req{{{"z", 0}, {3, 1}}, {{"z", 1}, {2, 9}}};  // 9 is not a broker
  ASSERT_TRUE(brokers_[1]
                  ->zk->Create(zk::paths::kReassignPartitions, zk::EncodeReassignPartitions(req))
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return Topic("z").adding_replicas.count(0) == 1; }));
  EXPECT_EQ(Topic("z").partitions[0], (Replicas{3, 1}));
  // The invalid entry is dropped from the znode; the valid one stays until done.
  ASSERT_TRUE(WaitFor([&] {
    auto r = zk::GetReassignPartitions(brokers_[1]->zk.get());
    return r.ok() && r->has_value() && (*r)->size() == 1 && (*r)->count({"z", 0});
  }));
  EXPECT_EQ(Topic("z").partitions[1], Replicas{2});

  LeaderSetsIsr({"z", 0}, {1, 3}, true);
  ASSERT_TRUE(WaitFor([&] {
    auto r = zk::GetReassignPartitions(brokers_[1]->zk.get());
    return r.ok() && !r->has_value();
  }));
  EXPECT_EQ(Topic("z").partitions[0], (Replicas{3, 1}));
  EXPECT_TRUE(Topic("z").adding_replicas.empty());
  // The current leader is a target replica: it keeps leading, with a new epoch.
  EXPECT_EQ(State(kzk(), {"z", 0})->leader, 1);
  EXPECT_EQ(State(kzk(), {"z", 0})->isr, (Replicas{1, 3}));

  // The watch is re-armed: a second request is picked up too.
  ASSERT_TRUE(brokers_[1]
                  ->zk
                  ->Create(zk::paths::kReassignPartitions,
                           zk::EncodeReassignPartitions({{{"z", 1}, {2, 1}}}))
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return Topic("z").partitions[1] == Replicas{2, 1}; }));
}

TEST_F(ControllerOpsTest, CancelledReassignmentRevertsToTheOriginalReplicas) {
  CreateTopic("c", {{0, {1, 2}}});
  TopicPartition tp{"c", 0};
  EXPECT_EQ(Alter(controller(), {{tp, std::nullopt}}).results[tp].error,
            ErrorCode::kNoReassignmentInProgress);
  ASSERT_EQ(Alter(controller(), {{tp, Replicas{1, 3}}}).results[tp].error, ErrorCode::kNone);
  EXPECT_EQ(Topic("c").partitions[0], (Replicas{1, 3, 2}));
  AlterResult cancel = Alter(controller(), {{tp, std::nullopt}});
  ASSERT_EQ(cancel.results[tp].error, ErrorCode::kNone);
  auto t = Topic("c");
  EXPECT_EQ(t.partitions[0], (Replicas{1, 2}));
  EXPECT_TRUE(t.adding_replicas.empty());
  EXPECT_TRUE(t.removing_replicas.empty());
  // The replica that was being added is stopped and deleted.
  ASSERT_TRUE(WaitFor([&] { return StoppedWith(3, tp, true); }));
  EXPECT_FALSE(StoppedWith(2, tp, true));
  EXPECT_TRUE(List(controller()).ongoing.empty());
  EXPECT_EQ(State(kzk(), tp)->leader, 1);
}

TEST_F(ControllerOpsTest, ReassignmentRequestsAreValidated) {
  CreateTopic("v", {{0, {1, 2}}});
  TopicPartition tp{"v", 0};
  AlterResult a =
      Alter(controller(), {{tp, Replicas{}}, {{"v", 1}, Replicas{1}}, {{"nope", 0}, Replicas{1}}});
  EXPECT_EQ(a.results[tp].error, ErrorCode::kInvalidReplicaAssignment);
  const TopicPartition missing_partition{"v", 1}, missing_topic{"nope", 0};
  EXPECT_EQ(a.results[missing_partition].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(a.results[missing_topic].error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(Alter(controller(), {{tp, Replicas{1, 1}}}).results[tp].error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(Alter(controller(), {{tp, Replicas{1, -3}}}).results[tp].error,
            ErrorCode::kInvalidReplicaAssignment);
  AlterResult dead = Alter(controller(), {{tp, Replicas{1, 7}}});
  EXPECT_EQ(dead.results[tp].error, ErrorCode::kInvalidReplicaAssignment);
  EXPECT_NE(dead.results[tp].message.find("not alive"), std::string::npos);
  EXPECT_EQ(Topic("v").partitions[0], (Replicas{1, 2}));
  EXPECT_TRUE(List(controller()).ongoing.empty());
}

TEST_F(ControllerOpsTest, NewControllerResumesAReassignment) {
  CreateTopic("f", {{0, {2, 1}}});
  TopicPartition tp{"f", 0};
  ASSERT_EQ(Alter(controller(), {{tp, Replicas{2, 3}}}).results[tp].error, ErrorCode::kNone);
  // Broker 3 runs a controller too; the current one (1) dies.
  brokers_[3].reset();
  brokers_[3] = std::make_unique<TestBroker>(connect_, 3, &channel_, true, Options());
  brokers_[1]->Kill();
  ASSERT_TRUE(WaitFor([&] { return brokers_[3]->controller->IsActive(); }));
  Controller* c3 = brokers_[3]->controller.get();
  ListResult l = List(c3);
  ASSERT_EQ(l.error, ErrorCode::kNone);
  ASSERT_EQ(l.ongoing.size(), 1u);
  EXPECT_EQ(l.ongoing[tp].adding, Replicas{3});
  zk::KafkaZkClient* k3 = brokers_[3]->kzk.get();
  // The leader (2) adds 3 to the ISR.
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto s = *State(k3, tp);
    s.isr = {2, 3};
    if (k3->UpdateLeaderAndIsr(tp, s).ok()) break;
  }
  ASSERT_TRUE(k3->CreateIsrChangeNotification({tp}).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto a = zk::GetTopicAssignmentWatched(brokers_[3]->zk.get(), "f");
    return a.ok() && a->adding_replicas.empty() && a->partitions[0] == Replicas{2, 3};
  }));
  EXPECT_TRUE(List(c3).ongoing.empty());
  EXPECT_EQ(State(k3, tp)->leader, 2);
}

// ---------------------------------------------------------------- znodes and fencing

TEST(ReassignmentZnodeTest, TopicZnodeRoundTripsAndReadsKafkaJson) {
  // As Kafka 3.7 writes it during a reassignment.
  const std::string kafka =
      R"({"version":3,"partitions":{"0":[2,3,1],"1":[1,2]},"adding_replicas":{"0":[3]},)"
      R"("removing_replicas":{"0":[1]},"topic_id":"AAAAAAAAAAAAAAAAAAAAAQ"})";
  auto a = zk::DecodeTopicAssignment(kafka);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->partitions.at(0), (Replicas{2, 3, 1}));
  EXPECT_EQ(a->adding_replicas.at(0), Replicas{3});
  EXPECT_EQ(a->removing_replicas.at(0), Replicas{1});
  EXPECT_EQ(a->adding_replicas.count(1), 0u);
  EXPECT_TRUE(a->has_topic_id);
  EXPECT_EQ(zk::EncodeTopicAssignment(*a), kafka);
  // Version 1 (no KIP-455 fields) and garbage.
  auto v1 = zk::DecodeTopicAssignment(R"({"version":1,"partitions":{"0":[1]}})");
  ASSERT_TRUE(v1.ok());
  EXPECT_TRUE(v1->adding_replicas.empty());
  EXPECT_FALSE(v1->has_topic_id);
  EXPECT_EQ(zk::DecodeTopicAssignment(R"({"partitions":{"x":[1]}})").status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(zk::DecodeTopicAssignment("{").status().code(), Status::Code::kCorruption);

  const std::string legacy =
      R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]})";
  auto r = zk::DecodeReassignPartitions(legacy);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at({"t", 0}), (Replicas{1, 2, 3}));
  EXPECT_EQ(zk::EncodeReassignPartitions(*r), legacy);
  EXPECT_FALSE(zk::DecodeReassignPartitions(R"({"version":1,"partitions":[{"topic":"t"}]})").ok());
  EXPECT_FALSE(zk::DecodeReassignPartitions(R"({"version":1})").ok());
}

TEST(ReassignmentZnodeTest, DeposedControllerWritesAreFenced) {
  std::string connect = UniqueConnect("reassign_fence");
  FakeChannel channel;
  TestBroker b1(connect, 1, &channel, false);
  auto won = b1.kzk->TryElectController(1);
  ASSERT_TRUE(won.ok() && won->won);
  const int32_t old_version = won->epoch_zk_version;
  ASSERT_TRUE(b1.kzk->CreateTopic("t", zk::RandomTopicId(), {{0, {1}}}, {}).ok());
  ASSERT_TRUE(
      b1.zk->Create(zk::paths::kReassignPartitions, zk::EncodeReassignPartitions({{{"t", 0}, {1}}}))
          .ok());
  auto before = zk::GetTopicAssignmentWatched(b1.zk.get(), "t");
  ASSERT_TRUE(before.ok());

  // Another controller takes over: the epoch znode's version moves on.
  ASSERT_TRUE(b1.zk->Delete("/controller").ok());
  auto again = b1.kzk->TryElectController(2);
  ASSERT_TRUE(again.ok() && again->won);

  zk::TopicAssignment changed = *before;
  changed.partitions[0] = {1, 2};
  changed.adding_replicas[0] = {2};
  EXPECT_EQ(zk::SetTopicAssignmentFenced(b1.zk.get(), "t", changed, old_version).code(),
            Status::Code::kNotLeader);
  EXPECT_EQ(zk::GetTopicAssignmentWatched(b1.zk.get(), "t")->partitions, before->partitions);
  EXPECT_EQ(zk::SetReassignPartitions(b1.zk.get(), {}, old_version).code(),
            Status::Code::kNotLeader);
  EXPECT_TRUE(b1.zk->Exists(zk::paths::kReassignPartitions)->has_value());

  // The current controller's writes go through.
  EXPECT_TRUE(
      zk::SetTopicAssignmentFenced(b1.zk.get(), "t", changed, again->epoch_zk_version).ok());
  EXPECT_EQ(zk::GetTopicAssignmentWatched(b1.zk.get(), "t")->adding_replicas.at(0), Replicas{2});
  EXPECT_TRUE(zk::SetReassignPartitions(b1.zk.get(), {}, again->epoch_zk_version).ok());
  EXPECT_FALSE(b1.zk->Exists(zk::paths::kReassignPartitions)->has_value());
}

}  // namespace
}  // namespace gregor::controller
