// Pure topic-administration logic: name rules, Kafka's replica assignment,
// manual assignment checks, incremental config ops, and the metadata-cache
// waits behind CreateTopics / DeleteTopics.
#include "server/topic_admin.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "gregor/zk/kafka_zk_client.h"
#include "gregor/zk/zk_client.h"
#include "zk/zk_test_server.h"

namespace gregor::server {
namespace {

using protocol::ErrorCode;

BrokerList Brokers(std::vector<int32_t> ids) {
  BrokerList out;
  for (int32_t id : ids) out.push_back({id, std::nullopt});
  return out;
}

TEST(TopicAdminTest, ValidTopicNamesPass) {
  EXPECT_TRUE(ValidateTopicName("orders").ok());
  EXPECT_TRUE(ValidateTopicName("a.b_c-D9").ok());
  EXPECT_TRUE(ValidateTopicName("...").ok());
  EXPECT_TRUE(ValidateTopicName(std::string(249, 'x')).ok());
}

TEST(TopicAdminTest, InvalidTopicNamesFail) {
  EXPECT_FALSE(ValidateTopicName("").ok());
  EXPECT_FALSE(ValidateTopicName(".").ok());
  EXPECT_FALSE(ValidateTopicName("..").ok());
  EXPECT_FALSE(ValidateTopicName(std::string(250, 'x')).ok());
  EXPECT_FALSE(ValidateTopicName("has space").ok());
  EXPECT_FALSE(ValidateTopicName("slash/").ok());
  EXPECT_FALSE(ValidateTopicName("é").ok());
  EXPECT_FALSE(ValidateTopicName(std::string("nul\0x", 5)).ok());
  EXPECT_NE(ValidateTopicName("a b").message().find("illegal"), std::string::npos);
}

TEST(TopicAdminTest, DotAndUnderscoreCollide) {
  EXPECT_TRUE(TopicNamesCollide("a.b", "a_b"));
  EXPECT_TRUE(TopicNamesCollide("a_b", "a.b"));
  EXPECT_FALSE(TopicNamesCollide("a.b", "a.b"));
  EXPECT_FALSE(TopicNamesCollide("a.b", "a-b"));
  EXPECT_FALSE(TopicNamesCollide("a.b", "a.bc"));
}

// Kafka's ReplicaAssignmentTest expectation for 5 brokers, 10 partitions,
// replication factor 3 and a fixed start index 0.
TEST(TopicAdminTest, AssignReplicasMatchesKafkaWithFixedStart) {
  ReplicaAssignment got;
  AdminResult r = AssignReplicas(Brokers({0, 1, 2, 3, 4}), 10, 3, 0, 0, &got);
  ASSERT_TRUE(r.ok()) << r.message;
  ReplicaAssignment want = {{0, {0, 1, 2}}, {1, {1, 2, 3}}, {2, {2, 3, 4}}, {3, {3, 4, 0}},
                            {4, {4, 0, 1}}, {5, {0, 2, 3}}, {6, {1, 3, 4}}, {7, {2, 4, 0}},
                            {8, {3, 0, 1}}, {9, {4, 1, 2}}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(r.num_partitions, 10);
  EXPECT_EQ(r.replication_factor, 3);
}

TEST(TopicAdminTest, RandomAssignmentIsBalancedAndDistinct) {
  for (int round = 0; round < 20; ++round) {
    ReplicaAssignment got;
    ASSERT_TRUE(AssignReplicas(Brokers({1, 2, 3, 4, 5}), 10, 3, -1, 0, &got).ok());
    ASSERT_EQ(got.size(), 10u);
    std::map<int32_t, int> leaders;
    std::map<int32_t, int> replicas;
    for (const auto& [p, rs] : got) {
      ASSERT_EQ(rs.size(), 3u);
      EXPECT_EQ(std::set<int32_t>(rs.begin(), rs.end()).size(), 3u);
      ++leaders[rs.front()];
      for (int32_t b : rs) ++replicas[b];
    }
    for (int32_t b = 1; b <= 5; ++b) {
      EXPECT_EQ(leaders[b], 2) << "broker " << b;
      EXPECT_EQ(replicas[b], 6) << "broker " << b;
    }
  }
}

TEST(TopicAdminTest, AssignReplicasRejectsBadCounts) {
  ReplicaAssignment got;
  EXPECT_EQ(AssignReplicas(Brokers({0, 1}), 3, 3, -1, 0, &got).error,
            ErrorCode::kInvalidReplicationFactor);
  EXPECT_EQ(AssignReplicas(Brokers({0, 1}), 3, 0, -1, 0, &got).error,
            ErrorCode::kInvalidReplicationFactor);
  EXPECT_EQ(AssignReplicas(Brokers({0, 1}), 0, 1, -1, 0, &got).error,
            ErrorCode::kInvalidPartitions);
  EXPECT_EQ(AssignReplicas(Brokers({}), 1, 1, -1, 0, &got).error,
            ErrorCode::kInvalidReplicationFactor);
  EXPECT_EQ(AssignReplicas(Brokers({0}), 0x7fffffff, 1, -1, 0, &got).error,
            ErrorCode::kInvalidPartitions);
  EXPECT_EQ(AssignReplicas(Brokers({0}), 10, 1, -1, 0x7ffffff0, &got).error,
            ErrorCode::kInvalidPartitions);
  EXPECT_TRUE(got.empty());
  AdminResult r = AssignReplicas(Brokers({0}), 1, 2, -1, 0, &got);
  EXPECT_EQ(r.message, "Replication factor: 2 larger than available brokers: 1.");
}

TEST(TopicAdminTest, RackAwareAssignmentSpreadsRacks) {
  BrokerList brokers{{0, "a"}, {1, "a"}, {2, "b"}, {3, "b"}};
  ReplicaAssignment got;
  ASSERT_TRUE(AssignReplicas(brokers, 8, 2, -1, 0, &got).ok());
  for (const auto& [p, rs] : got) {
    ASSERT_EQ(rs.size(), 2u);
    EXPECT_NE(brokers[rs[0]].rack, brokers[rs[1]].rack) << "partition " << p;
  }
  BrokerList partial{{0, "a"}, {1, std::nullopt}};
  EXPECT_EQ(AssignReplicas(partial, 1, 1, -1, 0, &got).error, ErrorCode::kInvalidReplicationFactor);
}

TEST(TopicAdminTest, ManualAssignmentChecks) {
  std::set<int32_t> brokers{1, 2, 3};
  AdminResult ok = ValidateManualAssignment({{0, {1, 2}}, {1, {2, 3}}}, brokers);
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(ok.num_partitions, 2);
  EXPECT_EQ(ok.replication_factor, 2);
  EXPECT_EQ(ValidateManualAssignment({{0, {1}}, {2, {2}}}, brokers).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(ValidateManualAssignment({{0, {1, 2}}, {1, {2}}}, brokers).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(ValidateManualAssignment({{0, {1, 1}}}, brokers).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(ValidateManualAssignment({{0, {1, 9}}}, brokers).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(ValidateManualAssignment({{0, {}}}, brokers).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(ValidateManualAssignment({}, brokers).error, ErrorCode::kInvalidReplicaAssignment);
}

TEST(TopicAdminTest, NewPartitionsContinueTheAssignment) {
  ReplicaAssignment existing{{0, {1, 2}}, {1, {2, 0}}};
  ReplicaAssignment added;
  AdminResult r = AssignNewPartitions("t", existing, 4, std::nullopt, Brokers({0, 1, 2}), &added);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.num_partitions, 4);
  EXPECT_EQ(r.replication_factor, 2);
  ASSERT_EQ(added.size(), 2u);
  ASSERT_TRUE(added.count(2) && added.count(3));
  for (const auto& [p, rs] : added) {
    ASSERT_EQ(rs.size(), 2u);
    EXPECT_NE(rs[0], rs[1]);
  }
  // Kafka starts at partition 0's leader (broker 1, index 1) with a fixed
  // shift: partition 2 -> index (2+1)%3 = 0.
  EXPECT_EQ(added[2].front(), 0);
  EXPECT_EQ(added[3].front(), 1);
}

TEST(TopicAdminTest, NewPartitionsRejectShrinkAndBadManualAssignments) {
  ReplicaAssignment existing{{0, {1, 2}}, {1, {2, 1}}};
  ReplicaAssignment added;
  BrokerList brokers = Brokers({1, 2, 3});
  EXPECT_EQ(AssignNewPartitions("t", existing, 2, std::nullopt, brokers, &added).error,
            ErrorCode::kInvalidPartitions);
  EXPECT_EQ(AssignNewPartitions("t", existing, 1, std::nullopt, brokers, &added).error,
            ErrorCode::kInvalidPartitions);
  using Manual = std::vector<std::vector<int32_t>>;
  EXPECT_EQ(AssignNewPartitions("t", existing, 3, Manual{{1, 9}}, brokers, &added).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(AssignNewPartitions("t", existing, 4, Manual{{1, 2}}, brokers, &added).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(AssignNewPartitions("t", existing, 3, Manual{{1}}, brokers, &added).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_EQ(AssignNewPartitions("t", existing, 3, Manual{{3, 3}}, brokers, &added).error,
            ErrorCode::kInvalidReplicaAssignment);
  EXPECT_TRUE(added.empty());
  AdminResult ok = AssignNewPartitions("t", existing, 3, Manual{{3, 1}}, brokers, &added);
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(added, (ReplicaAssignment{{2, {3, 1}}}));
  EXPECT_EQ(AssignNewPartitions("t", existing, 0x7fffffff, std::nullopt, brokers, &added).error,
            ErrorCode::kInvalidPartitions);
  ReplicaAssignment none;
  EXPECT_FALSE(AssignNewPartitions("t", none, 3, std::nullopt, brokers, &added).ok());
}

TEST(TopicAdminTest, IncrementalSetAndDelete) {
  config::BrokerConfig broker;
  std::map<std::string, std::string> o{{"retention.ms", "1000"}, {"segment.bytes", "1048576"}};
  AdminResult r = ApplyIncrementalConfigOps(
      broker, {{"retention.ms", 0, "2000"}, {"segment.bytes", 1, std::nullopt}}, &o);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(o, (std::map<std::string, std::string>{{"retention.ms", "2000"}}));
}

TEST(TopicAdminTest, IncrementalAppendAndSubtractOnListKeys) {
  config::BrokerConfig broker;  // log.cleanup.policy defaults to delete
  std::map<std::string, std::string> o;
  ASSERT_TRUE(ApplyIncrementalConfigOps(broker, {{"cleanup.policy", 2, "compact"}}, &o).ok());
  EXPECT_EQ(o["cleanup.policy"], "delete,compact");
  ASSERT_TRUE(ApplyIncrementalConfigOps(broker, {{"cleanup.policy", 2, "compact"}}, &o).ok());
  EXPECT_EQ(o["cleanup.policy"], "delete,compact");
  ASSERT_TRUE(ApplyIncrementalConfigOps(broker, {{"cleanup.policy", 3, "delete"}}, &o).ok());
  EXPECT_EQ(o["cleanup.policy"], "compact");
}

TEST(TopicAdminTest, IncrementalRejectsBadOperations) {
  config::BrokerConfig broker;
  std::map<std::string, std::string> o;
  EXPECT_EQ(ApplyIncrementalConfigOps(broker, {{"retention.ms", 2, "5"}}, &o).error,
            ErrorCode::kInvalidConfig);
  EXPECT_EQ(ApplyIncrementalConfigOps(broker, {{"no.such.key", 3, "5"}}, &o).error,
            ErrorCode::kInvalidConfig);
  EXPECT_EQ(ApplyIncrementalConfigOps(broker, {{"retention.ms", 0, std::nullopt}}, &o).error,
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(ApplyIncrementalConfigOps(broker, {{"retention.ms", 7, "1"}}, &o).error,
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(
      ApplyIncrementalConfigOps(broker, {{"retention.ms", 0, "1"}, {"retention.ms", 1, {}}}, &o)
          .error,
      ErrorCode::kInvalidRequest);
  EXPECT_TRUE(o.empty());
}

// The waits poll the metadata cache on the caller's executor.
class TopicAdminWaitTest : public ::testing::Test {
 protected:
  void SetUp() override { ctx_.metadata = &cache_; }

  void Publish(const std::string& topic, int partitions, int32_t leader) {
    std::vector<cluster::PartitionUpdate> updates;
    for (int p = 0; p < partitions; ++p) {
      cluster::PartitionUpdate u;
      u.topic = topic;
      u.partition = p;
      u.state.leader = leader;
      u.state.replicas = {0};
      u.state.isr = {0};
      updates.push_back(u);
    }
    cluster::CachedBroker b;
    b.id = 0;
    cache_.Update(0, {b}, updates);
  }

  template <typename F>
  std::vector<std::string> Run(F make) {
    std::vector<std::string> result;
    bool done = false;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          result = co_await make();
          done = true;
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(done);
    return result;
  }

  asio::io_context io_;
  cluster::MetadataCache cache_;
  ServerContext ctx_;
};

TEST_F(TopicAdminWaitTest, OnlineTimesOutWhenTopicMissing) {
  auto start = std::chrono::steady_clock::now();
  auto late = Run([&] { return WaitForTopicsOnline(ctx_, {"t"}, 60); });
  EXPECT_EQ(late, std::vector<std::string>{"t"});
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(60));
}

TEST_F(TopicAdminWaitTest, OnlineRequiresLiveLeadersAndCount) {
  Publish("t", 2, 0);
  EXPECT_TRUE(Run([&] { return WaitForTopicsOnline(ctx_, {"t"}, 1000); }).empty());
  EXPECT_EQ(Run([&] {
              return WaitForPartitionsOnline(ctx_, {{"t", 3}}, 40);
            }),
            std::vector<std::string>{"t"});
  Publish("u", 1, 7);  // leader 7 is not a live broker
  EXPECT_EQ(Run([&] {
              return WaitForTopicsOnline(ctx_, {"t", "u"}, 40);
            }),
            std::vector<std::string>{"u"});
}

TEST_F(TopicAdminWaitTest, OnlineWakesWhenMetadataArrives) {
  asio::steady_timer later(io_);
  later.expires_after(std::chrono::milliseconds(50));
  later.async_wait([&](const boost::system::error_code&) { Publish("t", 1, 0); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Run([&] { return WaitForTopicsOnline(ctx_, {"t"}, 5000); }).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(TopicAdminWaitTest, GoneWaitsForRemoval) {
  Publish("t", 1, 0);
  EXPECT_EQ(Run([&] { return WaitForTopicsGone(ctx_, {"t"}, 40); }), std::vector<std::string>{"t"});
  asio::steady_timer later(io_);
  later.expires_after(std::chrono::milliseconds(50));
  later.async_wait([&](const boost::system::error_code&) {
    cluster::PartitionUpdate u;
    u.topic = "t";
    u.partition = 0;
    u.state.leader = cluster::kLeaderDuringDelete;
    cluster::CachedBroker b;
    b.id = 0;
    cache_.Update(0, {b}, {u});
  });
  EXPECT_TRUE(Run([&] { return WaitForTopicsGone(ctx_, {"t"}, 5000); }).empty());
}

// The ZooKeeper writes, against a real ZooKeeper (zk/zk-server.sh).
[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

class TopicAdminZkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    zk::ZkClientOptions o;
    o.connect = gregor::testing::UniqueConnect("topic_admin");
    o.session_timeout_ms = 4000;
    o.connection_timeout_ms = 10000;
    zk_ = std::make_unique<zk::ZkClient>(o);
    ASSERT_TRUE(zk_->Connect().ok());
    kzk_ = std::make_unique<zk::KafkaZkClient>(zk_.get());
    ASSERT_TRUE(kzk_->EnsurePersistentPaths().ok());
    for (int32_t id : {0, 1, 2}) {
      zk::BrokerInfo b;
      b.id = id;
      b.endpoints = {{"PLAINTEXT", "localhost", 9090 + id, "PLAINTEXT"}};
      ASSERT_TRUE(kzk_->RegisterBroker(b).ok());
    }
    ctx_.config = &config_;
    ctx_.broker_id = 0;
    ctx_.metadata = &cache_;
    ctx_.zk = kzk_.get();
    ctx_.reload_topic_config = [this](const std::string& t) { reloaded_.push_back(t); };
  }

  // Makes the metadata cache know `topic` (as UpdateMetadata would).
  void Publish(const std::string& topic) {
    cluster::PartitionUpdate u;
    u.topic = topic;
    u.state.leader = 0;
    cluster::CachedBroker b;
    b.id = 0;
    cache_.Update(0, {b}, {u});
  }

  config::BrokerConfig config_;
  cluster::MetadataCache cache_;
  std::unique_ptr<zk::ZkClient> zk_;
  std::unique_ptr<zk::KafkaZkClient> kzk_;
  std::vector<std::string> reloaded_;
  ServerContext ctx_;
};

TEST_F(TopicAdminZkTest, CreateTopicWritesAssignmentAndConfig) {
  TopicCreation tc{"orders", 3, 2, {}, {{"retention.ms", "1000"}}};
  AdminResult r = CreateTopic(ctx_, tc, false);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.num_partitions, 3);
  EXPECT_EQ(r.replication_factor, 2);
  auto a = kzk_->GetTopicAssignment("orders");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->has_topic_id);
  EXPECT_EQ(a->topic_id, r.topic_id);
  ASSERT_EQ(a->partitions.size(), 3u);
  for (const auto& [p, replicas] : a->partitions) {
    ASSERT_EQ(replicas.size(), 2u);
    EXPECT_NE(replicas[0], replicas[1]);
    for (int32_t b : replicas) EXPECT_TRUE(b >= 0 && b <= 2);
  }
  auto cfg = kzk_->GetTopicConfig("orders");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(*cfg, tc.configs);

  AdminResult again = CreateTopic(ctx_, tc, false);
  EXPECT_EQ(again.error, ErrorCode::kTopicAlreadyExists);
  EXPECT_EQ(again.message, "Topic 'orders' already exists.");
}

TEST_F(TopicAdminZkTest, CreateTopicDefaultsAndManualAssignment) {
  config_.num_partitions = 4;
  AdminResult r = CreateTopic(ctx_, TopicCreation{"d", -1, -1, {}, {}}, false);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.num_partitions, 4);
  EXPECT_EQ(r.replication_factor, 1);
  TopicCreation manual{"m", -1, -1, {{0, {2, 1}}, {1, {1, 0}}}, {}};
  ASSERT_TRUE(CreateTopic(ctx_, manual, false).ok());
  auto a = kzk_->GetTopicAssignment("m");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->partitions, manual.assignment);
  TopicCreation both{"both", 2, -1, {{0, {1}}}, {}};
  EXPECT_EQ(CreateTopic(ctx_, both, false).error, ErrorCode::kInvalidRequest);
  TopicCreation unknown_broker{"u", -1, -1, {{0, {7}}}, {}};
  EXPECT_EQ(CreateTopic(ctx_, unknown_broker, false).error, ErrorCode::kInvalidReplicaAssignment);
}

TEST_F(TopicAdminZkTest, ReplicationFactorAboveTheBrokersLimitIsRefused) {
  ctx_.max_replication_factor = 1;
  AdminResult r = CreateTopic(ctx_, {"rf2", 1, 2, {}, {}}, false);
  EXPECT_EQ(r.error, ErrorCode::kInvalidReplicationFactor);
  EXPECT_FALSE(kzk_->GetTopicAssignment("rf2").ok());
  TopicCreation manual{"rf2m", -1, -1, {{0, {0, 1}}}, {}};
  EXPECT_EQ(CreateTopic(ctx_, manual, false).error, ErrorCode::kInvalidReplicationFactor);
  EXPECT_TRUE(CreateTopic(ctx_, {"rf1", 2, 1, {}, {}}, false).ok());
}

TEST_F(TopicAdminZkTest, CreateTopicRejectsWithoutWriting) {
  EXPECT_EQ(CreateTopic(ctx_, {"bad name", 1, 1, {}, {}}, false).error,
            ErrorCode::kInvalidTopicException);
  EXPECT_EQ(CreateTopic(ctx_, {"big", 1, 4, {}, {}}, false).error,
            ErrorCode::kInvalidReplicationFactor);
  EXPECT_EQ(CreateTopic(ctx_, {"zero", 0, 1, {}, {}}, false).error, ErrorCode::kInvalidPartitions);
  AdminResult bad = CreateTopic(ctx_, {"cfg", 1, 1, {}, {{"retention.ms", "soon"}}}, false);
  EXPECT_EQ(bad.error, ErrorCode::kInvalidConfig);
  EXPECT_NE(bad.message.find("retention.ms"), std::string::npos);
  AdminResult dry = CreateTopic(ctx_, {"dry", 2, 3, {}, {}}, true);
  EXPECT_TRUE(dry.ok()) << dry.message;
  EXPECT_EQ(dry.num_partitions, 2);
  for (const char* t : {"big", "zero", "cfg", "dry"}) {
    EXPECT_EQ(kzk_->GetTopicAssignment(t).status().code(), Status::Code::kNotFound) << t;
  }
  // Known to the metadata cache only (ZooKeeper not yet read): exists.
  Publish("cached");
  EXPECT_EQ(CreateTopic(ctx_, {"cached", 1, 1, {}, {}}, false).error,
            ErrorCode::kTopicAlreadyExists);
  ASSERT_TRUE(CreateTopic(ctx_, {"a_b", 1, 1, {}, {}}, false).ok());
  EXPECT_EQ(CreateTopic(ctx_, {"a.b", 1, 1, {}, {}}, false).error,
            ErrorCode::kInvalidTopicException);
}

TEST_F(TopicAdminZkTest, CreatePartitionsExtendsTheAssignment) {
  ASSERT_TRUE(CreateTopic(ctx_, {"grow", 2, 2, {}, {}}, false).ok());
  auto before = kzk_->GetTopicAssignment("grow");
  ASSERT_TRUE(before.ok());
  AdminResult dry = CreatePartitions(ctx_, "grow", 4, std::nullopt, true);
  ASSERT_TRUE(dry.ok()) << dry.message;
  EXPECT_EQ(kzk_->GetTopicAssignment("grow")->partitions.size(), 2u);
  AdminResult r = CreatePartitions(ctx_, "grow", 4, std::nullopt, false);
  ASSERT_TRUE(r.ok()) << r.message;
  auto after = kzk_->GetTopicAssignment("grow");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->partitions.size(), 4u);
  EXPECT_EQ(after->topic_id, before->topic_id);
  EXPECT_EQ(after->partitions.at(0), before->partitions.at(0));
  EXPECT_EQ(after->partitions.at(3).size(), 2u);
  EXPECT_EQ(CreatePartitions(ctx_, "grow", 3, std::nullopt, false).error,
            ErrorCode::kInvalidPartitions);
  EXPECT_EQ(CreatePartitions(ctx_, "nope", 3, std::nullopt, false).error,
            ErrorCode::kUnknownTopicOrPartition);
  std::vector<std::vector<int32_t>> manual{{2, 0}};
  ASSERT_TRUE(CreatePartitions(ctx_, "grow", 5, manual, false).ok());
  EXPECT_EQ(kzk_->GetTopicAssignment("grow")->partitions.at(4), manual[0]);
}

TEST_F(TopicAdminZkTest, DeleteTopicMarksOnceAndBlocksRecreation) {
  ASSERT_TRUE(CreateTopic(ctx_, {"gone", 1, 1, {}, {}}, false).ok());
  ASSERT_TRUE(DeleteTopic(ctx_, "gone").ok());
  EXPECT_TRUE(DeleteTopic(ctx_, "gone").ok());  // already marked: still waits
  auto marked = kzk_->GetTopicsMarkedForDeletion();
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(*marked, std::vector<std::string>{"gone"});
  EXPECT_EQ(DeleteTopic(ctx_, "never").error, ErrorCode::kUnknownTopicOrPartition);
  EXPECT_EQ(CreateTopic(ctx_, {"gone", 1, 1, {}, {}}, false).error, ErrorCode::kTopicAlreadyExists);
  EXPECT_EQ(CreatePartitions(ctx_, "gone", 3, std::nullopt, false).error,
            ErrorCode::kInvalidTopicException);
}

TEST_F(TopicAdminZkTest, AlterTopicConfigReplacesOverridesAndReloads) {
  ASSERT_TRUE(CreateTopic(ctx_, {"conf", 1, 1, {}, {{"retention.ms", "1000"}}}, false).ok());
  EXPECT_EQ(AlterTopicConfig(ctx_, "conf", {{"segment.bytes", "1048576"}}, false).error,
            ErrorCode::kUnknownTopicOrPartition);  // not in the metadata cache yet
  Publish("conf");
  std::map<std::string, std::string> next{{"segment.bytes", "1048576"}};
  ASSERT_TRUE(AlterTopicConfig(ctx_, "conf", next, true).ok());
  EXPECT_TRUE(reloaded_.empty());
  EXPECT_EQ(kzk_->GetTopicConfig("conf")->count("retention.ms"), 1u);
  AdminResult r = AlterTopicConfig(ctx_, "conf", next, false);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(*kzk_->GetTopicConfig("conf"), next);
  EXPECT_EQ(reloaded_, std::vector<std::string>{"conf"});
  AdminResult bad = AlterTopicConfig(ctx_, "conf", {{"cleanup.policy", "shred"}}, false);
  EXPECT_EQ(bad.error, ErrorCode::kInvalidConfig);
  EXPECT_NE(bad.message.find("cleanup.policy"), std::string::npos);
  EXPECT_EQ(*kzk_->GetTopicConfig("conf"), next);
  EXPECT_EQ(AlterTopicConfig(ctx_, "", next, false).error, ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace gregor::server

namespace gregor::server {
namespace {

TEST(TopicAdminTest, TopicAndBrokerConfigsAreAlterable) {
  EXPECT_TRUE(CheckAlterableResource(kTopicResource).ok());
  EXPECT_TRUE(CheckAlterableResource(kBrokerResource).ok());
  AdminResult other = CheckAlterableResource(7);
  EXPECT_EQ(other.error, protocol::ErrorCode::kInvalidRequest);
  EXPECT_NE(other.message.find("only supported for topics and brokers"), std::string::npos);
  // BROKER_LOGGER has its own path (IncrementalAlterConfigs), not this one.
  EXPECT_EQ(CheckAlterableResource(kBrokerLoggerResource).error,
            protocol::ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace gregor::server
