#include "gregor/zk/kafka_zk_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "zk/zk_test_server.h"

namespace gregor::zk {
namespace {

using gregor::testing::UniqueConnect;
using gregor::testing::WaitFor;
using paths::DesanitizeEntityName;
using paths::SanitizeEntityName;

[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

std::unique_ptr<ZkClient> Connected(const std::string& connect) {
  ZkClientOptions o;
  o.connect = connect;
  o.session_timeout_ms = 4000;
  o.connection_timeout_ms = 10000;
  auto c = std::make_unique<ZkClient>(o);
  EXPECT_TRUE(c->Connect().ok());
  return c;
}

BrokerInfo Broker(int32_t id) {
  BrokerInfo b;
  b.id = id;
  b.endpoints = {{"PLAINTEXT", "localhost", 9090 + id, "PLAINTEXT"}};
  return b;
}

TEST(KafkaZkClientTest, PersistentPathsAndClusterId) {
  auto zk = Connected(UniqueConnect("paths"));
  KafkaZkClient kzk(zk.get());
  ASSERT_TRUE(kzk.EnsurePersistentPaths().ok());
  ASSERT_TRUE(kzk.EnsurePersistentPaths().ok());
  for (const auto& p : paths::PersistentPaths()) EXPECT_TRUE(zk->Exists(p)->has_value()) << p;
  auto id = kzk.GetOrCreateClusterId();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->size(), 22u);
  EXPECT_EQ(*kzk.GetOrCreateClusterId(), *id);
  EXPECT_EQ(zk->Get("/cluster/id")->data, "{\"version\":\"1\",\"id\":\"" + *id + "\"}");
}

TEST(KafkaZkClientTest, ProducerIdBlocksNeverOverlapAcrossBrokers) {
  const std::string connect = UniqueConnect("pids");
  auto zk_a = Connected(connect);
  auto zk_b = Connected(connect);
  KafkaZkClient a(zk_a.get());
  KafkaZkClient b(zk_b.get());
  ASSERT_TRUE(a.EnsurePersistentPaths().ok());  // creates the znode empty, as Kafka does
  auto first = a.AllocateProducerIdBlock(1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, (ProducerIdBlock{1, 0, 999}));
  // Two brokers racing: every block distinct and consecutive.
  std::vector<ProducerIdBlock> got;
  std::mutex mu;
  auto claim = [&](KafkaZkClient* c, int32_t broker) {
    for (int i = 0; i < 10; ++i) {
      auto r = c->AllocateProducerIdBlock(broker);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::lock_guard<std::mutex> lock(mu);
      got.push_back(*r);
    }
  };
  std::thread ta(claim, &a, 1);
  std::thread tb(claim, &b, 2);
  ta.join();
  tb.join();
  ASSERT_EQ(got.size(), 20u);
  std::sort(got.begin(), got.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, 1000 + static_cast<int64_t>(i) * 1000);
    EXPECT_EQ(got[i].last, got[i].first + 999);
  }
  auto stored = DecodeProducerIdBlock(zk_a->Get(paths::kLatestProducerIdBlock)->data);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->last, 20999);
  // Garbage in the znode is an error, not a silent restart at 0.
  ASSERT_TRUE(zk_a->Set(paths::kLatestProducerIdBlock, "not json", -1).ok());
  EXPECT_FALSE(a.AllocateProducerIdBlock(1).ok());
}

TEST(KafkaZkClientTest, RegisterBrokerReturnsCzxidEpoch) {
  std::string connect = UniqueConnect("reg");
  auto zk1 = Connected(connect);
  auto zk2 = Connected(connect);
  KafkaZkClient k1(zk1.get()), k2(zk2.get());
  ASSERT_TRUE(k1.EnsurePersistentPaths().ok());
  auto e1 = k1.RegisterBroker(Broker(1));
  ASSERT_TRUE(e1.ok()) << e1.status().ToString();
  EXPECT_EQ(*e1, zk1->Get("/brokers/ids/1")->stat.czxid);
  ASSERT_TRUE(k2.RegisterBroker(Broker(2)).ok());
  // Another live session cannot take broker 1's id.
  EXPECT_EQ(k2.RegisterBroker(Broker(1)).status().code(), Status::Code::kAlreadyExists);
  auto all = k2.GetAllBrokers();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, 1);
  EXPECT_EQ((*all)[0].epoch, *e1);
  EXPECT_EQ((*all)[1].endpoints[0].port, 9092);
  zk1->Close();
  EXPECT_TRUE(WaitFor([&] { return k2.GetAllBrokers()->size() == 1; }));
}

TEST(KafkaZkClientTest, ElectionIncrementsEpochAndFencesDeposedController) {
  std::string connect = UniqueConnect("elect");
  auto zk1 = Connected(connect);
  auto zk2 = Connected(connect);
  KafkaZkClient k1(zk1.get()), k2(zk2.get());
  ASSERT_TRUE(k1.EnsurePersistentPaths().ok());
  auto r1 = k1.TryElectController(1);
  ASSERT_TRUE(r1.ok() && r1->won);
  EXPECT_EQ(r1->epoch, 1);
  EXPECT_EQ(zk1->Get("/controller_epoch")->data, "1");
  auto lost = k2.TryElectController(2);
  ASSERT_TRUE(lost.ok());
  EXPECT_FALSE(lost->won);
  EXPECT_EQ(lost->controller_id, 1);
  EXPECT_EQ(**k2.GetControllerId(), 1);

  TopicPartition tp{"t", 0};
  ASSERT_TRUE(k1.CreateTopic("t", RandomTopicId(), {{0, {1}}}, {}).ok());
  LeaderIsrAndControllerEpoch s;
  s.leader = 1;
  s.isr = {1};
  s.controller_epoch = r1->epoch;
  auto created = k1.CreatePartitionState(tp, s, r1->epoch_zk_version);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  // Controller 1 loses its session's /controller (deposed); 2 wins with epoch 2.
  ASSERT_TRUE(zk1->Delete("/controller").ok());
  auto r2 = k2.TryElectController(2);
  ASSERT_TRUE(r2.ok() && r2->won);
  EXPECT_EQ(r2->epoch, 2);

  LeaderIsrAndControllerEpoch stale = *created;
  stale.leader_epoch = 1;
  auto fenced = k1.UpdatePartitionState(tp, stale, r1->epoch_zk_version);
  EXPECT_EQ(fenced.status().code(), Status::Code::kNotLeader) << fenced.status().ToString();
  EXPECT_EQ(k1.GetPartitionState(tp)->leader_epoch, 0);

  LeaderIsrAndControllerEpoch fresh = *created;
  fresh.leader_epoch = 1;
  fresh.controller_epoch = 2;
  auto v = k2.UpdatePartitionState(tp, fresh, r2->epoch_zk_version);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 1);
  // A state write with a stale znode version is kStale, not "controller moved".
  EXPECT_EQ(k2.UpdatePartitionState(tp, fresh, r2->epoch_zk_version).status().code(),
            Status::Code::kStale);
  EXPECT_TRUE(k2.DeleteControllerIfOwned(2).ok());
  EXPECT_FALSE(k2.GetControllerId()->has_value());
}

TEST(KafkaZkClientTest, TopicLifecycle) {
  auto zk = Connected(UniqueConnect("topic"));
  KafkaZkClient kzk(zk.get());
  ASSERT_TRUE(kzk.EnsurePersistentPaths().ok());
  TopicId id = RandomTopicId();
  ASSERT_TRUE(kzk.CreateTopic("t", id, {{0, {1, 2}}, {1, {2, 1}}}, {{"retention.ms", "5"}}).ok());
  EXPECT_EQ(kzk.CreateTopic("t", id, {{0, {1}}}, {}).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(*kzk.GetAllTopics(), std::vector<std::string>{"t"});
  auto a = kzk.GetTopicAssignment("t");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->topic_id, id);
  EXPECT_EQ(a->partitions.at(1), (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(kzk.GetTopicConfig("t")->at("retention.ms"), "5");
  EXPECT_TRUE(kzk.GetTopicConfig("nope")->empty());

  // Partition addition is conditional on the znode version.
  TopicAssignment more = *a;
  more.partitions[2] = {1, 2};
  ASSERT_TRUE(kzk.SetTopicAssignment("t", more, a->zk_version).ok());
  EXPECT_EQ(kzk.SetTopicAssignment("t", more, a->zk_version).code(), Status::Code::kStale);
  EXPECT_EQ(kzk.GetTopicAssignment("t")->partitions.size(), 3u);

  ASSERT_TRUE(kzk.MarkTopicForDeletion("t").ok());
  EXPECT_EQ(*kzk.GetTopicsMarkedForDeletion(), std::vector<std::string>{"t"});
  auto won = kzk.TryElectController(1);
  ASSERT_TRUE(won.ok() && won->won);
  LeaderIsrAndControllerEpoch s;
  s.leader = 1;
  s.isr = {1, 2};
  ASSERT_TRUE(kzk.CreatePartitionState({"t", 0}, s, won->epoch_zk_version).ok());
  ASSERT_TRUE(kzk.DeleteTopicZnodes("t", won->epoch_zk_version).ok());
  EXPECT_TRUE(kzk.GetAllTopics()->empty());
  EXPECT_TRUE(kzk.GetTopicsMarkedForDeletion()->empty());
  EXPECT_FALSE(zk->Exists("/config/topics/t")->has_value());
}

TEST(KafkaZkClientTest, LeaderIsrUpdateAndNotification) {
  auto zk = Connected(UniqueConnect("isr"));
  KafkaZkClient kzk(zk.get());
  ASSERT_TRUE(kzk.EnsurePersistentPaths().ok());
  auto won = kzk.TryElectController(1);
  ASSERT_TRUE(won.ok() && won->won);
  // No topic znode: the state is not created (a deleted topic is not resurrected).
  LeaderIsrAndControllerEpoch s;
  s.leader = 1;
  s.isr = {1, 2};
  EXPECT_EQ(kzk.CreatePartitionState({"t", 0}, s, won->epoch_zk_version).status().code(),
            Status::Code::kNotFound);
  ASSERT_TRUE(kzk.CreateTopic("t", RandomTopicId(), {{0, {1, 2}}}, {}).ok());
  auto created = kzk.CreatePartitionState({"t", 0}, s, won->epoch_zk_version);
  ASSERT_TRUE(created.ok());
  LeaderIsrAndControllerEpoch shrunk = *created;
  shrunk.isr = {1};
  auto v = kzk.UpdateLeaderAndIsr({"t", 0}, shrunk);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 1);
  EXPECT_EQ(kzk.UpdateLeaderAndIsr({"t", 0}, shrunk).status().code(), Status::Code::kStale);
  ASSERT_TRUE(kzk.CreateIsrChangeNotification({{"t", 0}}).ok());
  auto children = zk->GetChildren("/isr_change_notification");
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].rfind("isr_change_", 0), 0u);
}

TEST(KafkaZkClientTest, ConfigChangeNotificationsReachWatcher) {
  std::string connect = UniqueConnect("cfg");
  auto zk1 = Connected(connect);
  auto zk2 = Connected(connect);
  KafkaZkClient writer(zk1.get()), broker(zk2.get());
  ASSERT_TRUE(writer.EnsurePersistentPaths().ok());
  ASSERT_TRUE(writer.SetTopicConfig("old", {{"a", "1"}}).ok());
  std::mutex mu;
  std::vector<std::string> seen;
  ASSERT_TRUE(broker
                  .WatchConfigChanges([&](const std::string& type, const std::string& t) {
                    std::lock_guard<std::mutex> lk(mu);
                    seen.push_back(type == "topics" ? t : type + "/" + t);
                  })
                  .ok());
  {
    std::lock_guard<std::mutex> lk(mu);
    EXPECT_EQ(seen, std::vector<std::string>{"old"});  // existing ones processed at start
  }
  ASSERT_TRUE(writer.SetTopicConfig("t1", {{"retention.ms", "1"}}).ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() == 2;
  }));
  ASSERT_TRUE(writer.SetTopicConfig("t2", {}).ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() == 3;
  }));
  ASSERT_TRUE(writer.SetEntityConfig("users", SanitizeEntityName("bob smith"), {{"a", "1"}}).ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() == 4;
  }));
  {
    std::lock_guard<std::mutex> lk(mu);
    EXPECT_EQ(seen, (std::vector<std::string>{"old", "t1", "t2", "users/bob%20smith"}));
  }
  EXPECT_EQ(writer.GetEntityConfig("users", "bob%20smith")->at("a"), "1");
  EXPECT_EQ(*writer.GetEntityNames("users"), std::vector<std::string>{"bob%20smith"});
  ASSERT_TRUE(writer.SetEntityConfig("users", "bob%20smith", {}, true).ok());
  EXPECT_TRUE(writer.GetEntityNames("users")->empty());
  // The removal is notified too; wait for it, so the watcher is idle before `seen` goes.
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() == 5;
  }));
}

TEST(ZkDataTest, EntityNamesAreSanitizedAsKafkaDoes) {
  EXPECT_EQ(SanitizeEntityName("alice"), "alice");
  EXPECT_EQ(SanitizeEntityName("CN=a b,O=x*"), "CN%3Da%20b%2CO%3Dx%2A");
  EXPECT_EQ(SanitizeEntityName("user@EXAMPLE.COM"), "user%40EXAMPLE.COM");
  EXPECT_EQ(*DesanitizeEntityName("CN%3Da%20b%2CO%3Dx%2A"), "CN=a b,O=x*");
  EXPECT_EQ(*DesanitizeEntityName("a+b"), "a b");
  EXPECT_FALSE(DesanitizeEntityName("bad%2").ok());
  EXPECT_FALSE(DesanitizeEntityName("bad%zz").ok());
}

TEST(KafkaZkClientTest, BrokerReRegistersAfterSessionExpiry) {
  std::string connect = UniqueConnect("rereg");
  ZkClientOptions o;
  o.connect = connect;
  o.session_timeout_ms = 2000;
  o.connection_timeout_ms = 10000;
  ZkClient zk(o);
  ASSERT_TRUE(zk.Connect().ok());
  KafkaZkClient kzk(&zk);
  ASSERT_TRUE(kzk.EnsurePersistentPaths().ok());
  auto e1 = kzk.RegisterBroker(Broker(7));
  ASSERT_TRUE(e1.ok());
  std::atomic<int64_t> e2{0};
  zk.AddSessionReestablishedCallback([&] {
    auto e = kzk.RegisterBroker(Broker(7));
    if (e.ok()) e2 = *e;
  });
  ASSERT_TRUE(zk.ExpireSessionForTesting().ok());
  ASSERT_TRUE(WaitFor([&] { return e2.load() != 0; }, 20000));
  EXPECT_GT(e2.load(), *e1);  // a new czxid: the broker epoch increased
  EXPECT_EQ(kzk.GetBroker(7)->epoch, e2.load());
}

}  // namespace
}  // namespace gregor::zk
