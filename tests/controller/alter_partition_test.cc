// AlterPartition (API 56) on the controller: the ISR changes Kafka leaders send instead of
// writing ZooKeeper, against a real ZooKeeper with simulated brokers
// (tests/controller/test_cluster.h). Checks the state znode written, the UpdateMetadata sent,
// the answer at each version, and every refusal of Kafka 3.9's processAlterPartition.
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
using protocol::AlterPartitionRequest;
using protocol::AlterPartitionResponse;
using protocol::ErrorCode;
using Replicas = std::vector<int32_t>;

[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

AlterPartitionResponse Send(Controller* c, AlterPartitionRequest req, int16_t version) {
  std::promise<AlterPartitionResponse> p;
  c->AlterPartition(std::move(req), version,
                    [&p](AlterPartitionResponse r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// What one partition of a request asks.
struct Change {
  int32_t partition = 0;
  int32_t leader_epoch = 0;
  Replicas isr;
  int32_t partition_epoch = 0;
  int8_t recovery = 0;
  std::vector<int64_t> member_epochs;  // v3: one per ISR member (-1 when empty)
};

class AlterPartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connect_ = UniqueConnect("alter-partition");
    Controller::Options o;
    o.auto_leader_rebalance_enable = false;
    brokers_[1] = std::make_unique<TestBroker>(connect_, 1, &channel_, true, o);
    ASSERT_TRUE(WaitFor([&] { return brokers_[1]->controller->IsActive(); }));
    brokers_[2] = std::make_unique<TestBroker>(connect_, 2, &channel_, false);
    brokers_[3] = std::make_unique<TestBroker>(connect_, 3, &channel_, false);
    ASSERT_TRUE(WaitFor([&] {
      auto um = channel_.um();
      return !um.empty() && um.back().live.size() == 3;
    }));
  }
  zk::KafkaZkClient* kzk() { return brokers_[1]->kzk.get(); }
  Controller* controller() { return brokers_[1]->controller.get(); }

  void CreateTopic(const std::string& topic, std::map<int32_t, Replicas> assignment) {
    ASSERT_TRUE(kzk()->CreateTopic(topic, zk::RandomTopicId(), assignment, {}).ok());
    for (const auto& [p, r] : assignment) {
      ASSERT_TRUE(WaitFor([&] { return State(kzk(), {topic, p}).has_value(); }));
    }
  }
  zk::TopicId TopicIdOf(const std::string& topic) {
    auto a = kzk()->GetTopicAssignment(topic);
    EXPECT_TRUE(a.ok());
    return a.ok() ? a->topic_id : zk::TopicId{};
  }

  // A request from `broker` (its current broker epoch) for `topic` at `version`: by name below
  // v2, by id from v2.
  AlterPartitionRequest Request(int32_t broker, const std::string& topic,
                                const std::vector<Change>& changes, int16_t version) {
    AlterPartitionRequest req;
    req.broker_id = broker;
    req.broker_epoch = brokers_[broker]->epoch;
    auto& t = req.topics.emplace_back();
    if (version >= 2) {
      t.topic_id = TopicIdOf(topic);
    } else {
      t.topic_name = topic;
    }
    for (const Change& c : changes) {
      auto& p = t.partitions.emplace_back();
      p.partition_index = c.partition;
      p.leader_epoch = c.leader_epoch;
      p.partition_epoch = c.partition_epoch;
      p.leader_recovery_state = c.recovery;
      if (version >= 3) {
        for (size_t i = 0; i < c.isr.size(); ++i) {
          p.new_isr_with_epochs.push_back(
              {c.isr[i], i < c.member_epochs.size() ? c.member_epochs[i] : -1});
        }
      } else {
        p.new_isr = c.isr;
      }
    }
    return req;
  }
  // The error of the only partition of a one-partition request.
  ErrorCode ErrorOf(const AlterPartitionResponse& r) {
    EXPECT_EQ(r.error_code, ErrorCode::kNone);
    if (r.topics.size() != 1 || r.topics[0].partitions.size() != 1) {
      ADD_FAILURE() << "not one partition in the answer";
      return ErrorCode::kUnknownServerError;
    }
    return r.topics[0].partitions[0].error_code;
  }
  ErrorCode Try(int32_t broker, const std::string& topic, const Change& c, int16_t version) {
    return ErrorOf(Send(controller(), Request(broker, topic, {c}, version), version));
  }

  std::string connect_;
  FakeChannel channel_;
  std::map<int32_t, std::unique_ptr<TestBroker>> brokers_;
};

TEST_F(AlterPartitionTest, ShrinkThenExpandWritesTheStateAndTellsEveryBroker) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  const TopicPartition tp{"t", 0};
  auto before = *State(kzk(), tp);
  ASSERT_EQ(before.leader, 1);
  ASSERT_EQ(before.isr, (Replicas{1, 2, 3}));
  ASSERT_EQ(before.zk_version, 0);

  for (int16_t version : {0, 1, 2, 3}) {
    SCOPED_TRACE(version);
    auto s = *State(kzk(), tp);
    const Replicas isr = s.isr.size() == 3 ? Replicas{1, 2} : Replicas{1, 2, 3};
    AlterPartitionResponse r = Send(
        controller(), Request(1, "t", {{0, s.leader_epoch, isr, s.zk_version}}, version), version);
    ASSERT_EQ(r.error_code, ErrorCode::kNone);
    ASSERT_EQ(r.topics.size(), 1u);
    if (version >= 2) {
      EXPECT_EQ(r.topics[0].topic_id, TopicIdOf("t"));
    } else {
      EXPECT_EQ(r.topics[0].topic_name, "t");
    }
    const auto& p = r.topics[0].partitions.at(0);
    EXPECT_EQ(p.error_code, ErrorCode::kNone);
    EXPECT_EQ(p.leader_id, 1);
    EXPECT_EQ(p.leader_epoch, s.leader_epoch);  // an ISR change keeps the leader epoch
    EXPECT_EQ(p.isr, isr);
    EXPECT_EQ(p.partition_epoch, s.zk_version + 1);
    // In ZooKeeper, under this controller's epoch; the partition epoch is the znode version.
    auto after = *State(kzk(), tp);
    EXPECT_EQ(after.isr, isr);
    EXPECT_EQ(after.leader, 1);
    EXPECT_EQ(after.leader_epoch, s.leader_epoch);
    EXPECT_EQ(after.zk_version, p.partition_epoch);
    EXPECT_EQ(after.controller_epoch, controller()->epoch());
    // Every live broker hears of it.
    for (int32_t b : {1, 2, 3}) {
      auto ps = channel_.LastUpdateMetadata(b, tp);
      ASSERT_TRUE(ps.has_value()) << "broker " << b;
      EXPECT_EQ(ps->isr, isr) << "broker " << b;
      EXPECT_EQ(ps->zk_version, p.partition_epoch) << "broker " << b;
    }
  }
  // No LeaderAndIsr for an ISR change: the leader already knows.
  auto lisr = channel_.LastLeaderAndIsr(2, tp);
  ASSERT_TRUE(lisr.has_value());
  EXPECT_EQ(lisr->zk_version, 0);
}

TEST_F(AlterPartitionTest, ARetryOfAnAppliedChangeIsAnsweredWithTheCurrentState) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  ASSERT_EQ(Try(1, "t", {0, 0, {1, 2}, 0}, 2), ErrorCode::kNone);
  // The leader did not hear the answer and sends the same again (partition epoch 0 is stale
  // now, but the state is what it asks): answered, nothing written.
  AlterPartitionResponse again = Send(controller(), Request(1, "t", {{0, 0, {1, 2}, 0}}, 2), 2);
  ASSERT_EQ(ErrorOf(again), ErrorCode::kNone);
  EXPECT_EQ(again.topics[0].partitions[0].partition_epoch, 1);
  EXPECT_EQ(State(kzk(), {"t", 0})->zk_version, 1);
  // A different ISR from the stale partition epoch is refused.
  EXPECT_EQ(Try(1, "t", {0, 0, {1, 3}, 0}, 2), ErrorCode::kInvalidUpdateVersion);
  EXPECT_EQ(State(kzk(), {"t", 0})->isr, (Replicas{1, 2}));
}

TEST_F(AlterPartitionTest, BrokerEpochMustBeTheRegistrations) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  AlterPartitionRequest req = Request(1, "t", {{0, 0, {1, 2}, 0}}, 2);
  req.broker_epoch = brokers_[1]->epoch - 1;
  AlterPartitionResponse r = Send(controller(), req, 2);
  EXPECT_EQ(r.error_code, ErrorCode::kStaleBrokerEpoch);
  EXPECT_TRUE(r.topics.empty());
  req.broker_epoch = -1;  // unlike ControlledShutdown, no "unknown" epoch
  EXPECT_EQ(Send(controller(), req, 2).error_code, ErrorCode::kStaleBrokerEpoch);
  req.broker_id = 9;  // not registered
  req.broker_epoch = brokers_[1]->epoch;
  EXPECT_EQ(Send(controller(), req, 2).error_code, ErrorCode::kStaleBrokerEpoch);
  EXPECT_EQ(State(kzk(), {"t", 0})->zk_version, 0);  // nothing written
}

TEST_F(AlterPartitionTest, UnknownPartitionsAndTopicIds) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  EXPECT_EQ(Try(1, "t", {7, 0, {1}, 0}, 1), ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(Try(1, "nope", {0, 0, {1}, 0}, 1), ErrorCode::kUnknownTopicOrPartition);
  AlterPartitionRequest req = Request(1, "t", {{0, 0, {1}, 0}}, 2);
  req.topics[0].topic_id = zk::RandomTopicId();
  AlterPartitionResponse r = Send(controller(), req, 2);
  EXPECT_EQ(ErrorOf(r), ErrorCode::kUnknownTopicId);
  EXPECT_EQ(r.topics[0].topic_id, req.topics[0].topic_id);
}

TEST_F(AlterPartitionTest, EpochsAreChecked) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  const TopicPartition tp{"t", 0};
  // Broker 3 dies: the controller takes it out of the ISR with a new leader epoch.
  brokers_[3]->Kill();
  ASSERT_TRUE(WaitFor([&] { return State(kzk(), tp)->leader_epoch == 1; }));
  auto s = *State(kzk(), tp);
  ASSERT_EQ(s.isr, (Replicas{1, 2}));
  // A leader that has not heard of it yet is fenced.
  EXPECT_EQ(Try(1, "t", {0, 0, {1}, 0}, 2), ErrorCode::kFencedLeaderEpoch);
  // A leader ahead of ZooKeeper heard from another controller.
  EXPECT_EQ(Try(1, "t", {0, 2, {1}, s.zk_version}, 2), ErrorCode::kNotController);
  EXPECT_EQ(Try(1, "t", {0, 1, {1}, s.zk_version + 5}, 2), ErrorCode::kNotController);
  EXPECT_EQ(Try(1, "t", {0, 1, {1}, s.zk_version - 1}, 2), ErrorCode::kInvalidUpdateVersion);
  // A dead broker may not join (KIP-841): INELIGIBLE_REPLICA from v2, before it
  // OPERATION_NOT_ATTEMPTED.
  EXPECT_EQ(Try(1, "t", {0, 1, {1, 2, 3}, s.zk_version}, 2), ErrorCode::kIneligibleReplica);
  EXPECT_EQ(Try(1, "t", {0, 1, {1, 2, 3}, s.zk_version}, 1), ErrorCode::kOperationNotAttempted);
  EXPECT_EQ(State(kzk(), tp)->zk_version, s.zk_version);
  EXPECT_EQ(Try(1, "t", {0, 1, {1}, s.zk_version}, 2), ErrorCode::kNone);
}

TEST_F(AlterPartitionTest, InvalidIsrsAreRefused) {
  CreateTopic("t", {{0, {1, 2}}});
  CreateTopic("u", {{0, {2, 1}}});
  // Not the leader (2 leads u-0, 1 leads t-0).
  EXPECT_EQ(Try(2, "t", {0, 0, {1, 2}, 0}, 2), ErrorCode::kInvalidRequest);
  // Not assigned, a duplicate, without the leader.
  EXPECT_EQ(Try(1, "t", {0, 0, {1, 3}, 0}, 2), ErrorCode::kInvalidRequest);
  EXPECT_EQ(Try(1, "t", {0, 0, {1, 1}, 0}, 2), ErrorCode::kInvalidRequest);
  EXPECT_EQ(Try(1, "t", {0, 0, {2}, 0}, 2), ErrorCode::kInvalidRequest);
  EXPECT_EQ(Try(1, "t", {0, 0, {}, 0}, 2), ErrorCode::kInvalidRequest);
  // KIP-704: RECOVERED never goes back to RECOVERING, and a recovering leader is alone.
  EXPECT_EQ(Try(1, "t", {0, 0, {1}, 0, 1}, 2), ErrorCode::kInvalidRequest);
  EXPECT_EQ(Try(1, "t", {0, 0, {1, 2}, 0, 1}, 2), ErrorCode::kInvalidRequest);
  EXPECT_EQ(State(kzk(), {"t", 0})->zk_version, 0);
  EXPECT_EQ(Try(2, "u", {0, 0, {2}, 0}, 2), ErrorCode::kNone);
}

TEST_F(AlterPartitionTest, V3MemberEpochsMustBeCurrent) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  // -1 skips the check (what Kafka's ZooKeeper-mode leaders send).
  ASSERT_EQ(Try(1, "t", {0, 0, {1, 2}, 0, 0, {-1, -1}}, 3), ErrorCode::kNone);
  // KIP-903: a follower that restarted (a new registration) may not rejoin under its old epoch.
  const int64_t old3 = brokers_[3]->epoch;
  EXPECT_EQ(Try(1, "t", {0, 0, {1, 2, 3}, 1, 0, {-1, -1, old3 + 1}}, 3),
            ErrorCode::kIneligibleReplica);
  EXPECT_EQ(Try(1, "t", {0, 0, {1, 2, 3}, 1, 0, {brokers_[1]->epoch, -1, old3}}, 3),
            ErrorCode::kNone);
  EXPECT_EQ(State(kzk(), {"t", 0})->isr, (Replicas{1, 2, 3}));
}

TEST_F(AlterPartitionTest, AShuttingDownBrokerMayNotJoin) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  std::promise<ErrorCode> p;
  controller()->ControlledShutdown(3, brokers_[3]->epoch,
                                   [&p](ErrorCode e, auto) { p.set_value(e); });
  ASSERT_EQ(p.get_future().get(), ErrorCode::kNone);
  auto s = *State(kzk(), {"t", 0});
  ASSERT_EQ(s.isr, (Replicas{1, 2}));
  EXPECT_EQ(Try(1, "t", {0, s.leader_epoch, {1, 2, 3}, s.zk_version}, 2),
            ErrorCode::kIneligibleReplica);
}

// gregord leaders write their ISR to ZooKeeper themselves and notify later: a request made
// after such a write (newer partition epoch than the controller's copy) is judged against
// ZooKeeper.
TEST_F(AlterPartitionTest, AStateWrittenByALeaderBehindTheControllersBackIsReread) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  auto s = *State(kzk(), {"t", 0});
  s.isr = {1, 2};
  auto v = kzk()->UpdateLeaderAndIsr({"t", 0}, s);  // no ISR change notification
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Try(1, "t", {0, 0, {1}, *v}, 2), ErrorCode::kNone);
  EXPECT_EQ(State(kzk(), {"t", 0})->isr, Replicas{1});
  EXPECT_EQ(State(kzk(), {"t", 0})->zk_version, *v + 1);
}

TEST_F(AlterPartitionTest, OnlyTheActiveControllerAnswers) {
  CreateTopic("t", {{0, {1, 2, 3}}});
  Controller::Options o;
  o.broker_id = 2;
  o.auto_leader_rebalance_enable = false;
  Controller standby(o, brokers_[2]->kzk.get(), &channel_, SystemClock::Get());
  standby.Start();
  ASSERT_TRUE(WaitFor([&] { return standby.active_controller_id() == 1; }));
  EXPECT_EQ(Send(&standby, Request(1, "t", {{0, 0, {1, 2}, 0}}, 2), 2).error_code,
            ErrorCode::kNotController);
  standby.Stop();
  EXPECT_EQ(Send(&standby, Request(1, "t", {{0, 0, {1, 2}, 0}}, 2), 2).error_code,
            ErrorCode::kNotController);
  EXPECT_EQ(State(kzk(), {"t", 0})->zk_version, 0);
}

TEST_F(AlterPartitionTest, ManyPartitionsEachAnswered) {
  CreateTopic("t", {{0, {1, 2}}, {1, {1, 3}}, {2, {2, 1}}});
  AlterPartitionResponse r =
      Send(controller(),
           Request(1, "t", {{0, 0, {1}, 0}, {1, 0, {1}, 3}, {2, 0, {1}, 0}, {5, 0, {1}, 0}}, 2), 2);
  ASSERT_EQ(r.error_code, ErrorCode::kNone);
  ASSERT_EQ(r.topics.size(), 1u);
  const auto& ps = r.topics[0].partitions;
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0].error_code, ErrorCode::kNone);
  EXPECT_EQ(ps[1].error_code, ErrorCode::kNotController);   // partition epoch 3 is ahead
  EXPECT_EQ(ps[2].error_code, ErrorCode::kInvalidRequest);  // 2 leads t-2
  EXPECT_EQ(ps[3].error_code, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(ps[3].partition_index, 5);
  EXPECT_EQ(State(kzk(), {"t", 0})->isr, Replicas{1});
  EXPECT_EQ(State(kzk(), {"t", 1})->isr, (Replicas{1, 3}));
}

TEST_F(AlterPartitionTest, AnIsrExpansionCompletesAReassignment) {
  CreateTopic("r", {{0, {1, 2}}});
  const TopicPartition tp{"r", 0};
  std::promise<ErrorCode> started;
  controller()->AlterPartitionReassignments(
      {{tp, Replicas{1, 3}}},
      [&](ErrorCode e, std::map<TopicPartition, Controller::PartitionResult> r) {
        started.set_value(e == ErrorCode::kNone ? r[tp].error : e);
      });
  ASSERT_EQ(started.get_future().get(), ErrorCode::kNone);
  auto s = *State(kzk(), tp);
  ASSERT_TRUE(WaitFor([&] {
    auto a = kzk()->GetTopicAssignment("r");
    return a.ok() && a->adding_replicas.count(0) == 1;
  }));
  // The leader (1) lets the new replica in.
  ASSERT_EQ(Try(1, "r", {0, s.leader_epoch, {1, 2, 3}, s.zk_version}, 2), ErrorCode::kNone);
  ASSERT_TRUE(WaitFor([&] {
    auto a = kzk()->GetTopicAssignment("r");
    return a.ok() && a->partitions[0] == Replicas{1, 3} && a->adding_replicas.empty();
  }));
  EXPECT_EQ(State(kzk(), tp)->isr, (Replicas{1, 3}));
}

}  // namespace
}  // namespace gregor::controller
