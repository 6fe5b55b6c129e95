// AclStore against a real ZooKeeper (zk/zk-server.sh): Kafka's znode layout and JSON, the
// read-modify-write per resource, and a second store (another broker) following the change
// notifications.
#include "server/acl_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gregor/zk/zk_client.h"
#include "server/errors.h"
#include "zk/zk_test_server.h"

namespace gregor::server {
namespace {

using security::AccessControlEntry;
using security::AclBinding;
using security::AclBindingFilter;
using security::AclOperation;
using security::AclPermissionType;
using security::PatternType;
using security::ResourcePattern;
using security::ResourceType;

[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

AclBinding Binding(ResourceType type, const std::string& name, PatternType pt,
                   const std::string& principal, AclOperation op,
                   AclPermissionType perm = AclPermissionType::kAllow,
                   const std::string& host = "*") {
  return AclBinding{ResourcePattern{type, name, pt}, AccessControlEntry{principal, host, op, perm}};
}

std::unique_ptr<zk::ZkClient> Connect(const std::string& connect) {
  zk::ZkClientOptions o;
  o.connect = connect;
  o.session_timeout_ms = 4000;
  o.connection_timeout_ms = 10000;
  auto zk = std::make_unique<zk::ZkClient>(o);
  EXPECT_TRUE(zk->Connect().ok());
  return zk;
}

class AclStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connect_ = gregor::testing::UniqueConnect("acl_store");
    zk_ = Connect(connect_);
    store_ = std::make_unique<AclStore>(zk_.get(), &cache_);
    ASSERT_TRUE(store_->Load().ok());
  }

  std::string Data(const std::string& path) {
    auto got = zk_->Get(path);
    return got.ok() ? got->data : "<" + got.status().ToString() + ">";
  }
  std::vector<std::string> Changes(const std::string& store) {
    std::vector<std::string> out;
    auto children = zk_->GetChildren(store);
    if (!children.ok()) return out;
    for (const auto& c : *children) out.push_back(Data(store + "/" + c));
    return out;
  }

  std::string connect_;
  std::unique_ptr<zk::ZkClient> zk_;
  security::AclCache cache_;
  std::unique_ptr<AclStore> store_;
};

TEST_F(AclStoreTest, LoadCreatesKafkasPaths) {
  for (const char* p :
       {"/kafka-acl", "/kafka-acl-changes", "/kafka-acl-extended", "/kafka-acl-extended-changes"}) {
    auto st = zk_->Exists(p);
    ASSERT_TRUE(st.ok());
    EXPECT_TRUE(st->has_value()) << p;
  }
}

TEST_F(AclStoreTest, AddWritesKafkasZnodesAndNotifications) {
  auto results = store_->Add({
      Binding(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:alice",
              AclOperation::kRead),
      Binding(ResourceType::kGroup, "app-", PatternType::kPrefixed, "User:bob",
              AclOperation::kDescribe, AclPermissionType::kDeny, "10.0.0.1"),
      Binding(ResourceType::kTransactionalId, "tx", PatternType::kLiteral, "User:carol",
              AclOperation::kIdempotentWrite),
  });
  ASSERT_EQ(results.size(), 3u);
  for (const auto& st : results) EXPECT_TRUE(st.ok()) << st.ToString();

  EXPECT_EQ(Data("/kafka-acl/Topic/orders"),
            R"({"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow",)"
            R"("operation":"Read","host":"*"}]})");
  EXPECT_EQ(Data("/kafka-acl-extended/prefixed/Group/app-"),
            R"({"version":1,"acls":[{"principal":"User:bob","permissionType":"Deny",)"
            R"("operation":"Describe","host":"10.0.0.1"}]})");
  EXPECT_EQ(Data("/kafka-acl/TransactionalId/tx"),
            R"({"version":1,"acls":[{"principal":"User:carol","permissionType":"Allow",)"
            R"("operation":"IdempotentWrite","host":"*"}]})");

  auto literal = Changes("/kafka-acl-changes");
  std::sort(literal.begin(), literal.end());
  EXPECT_EQ(literal, (std::vector<std::string>{"TOPIC:orders", "TRANSACTIONAL_ID:tx"}));
  EXPECT_EQ(Changes("/kafka-acl-extended-changes"),
            std::vector<std::string>{
                R"({"version":1,"resourceType":"GROUP","name":"app-","patternType":"PREFIXED"})"});
  auto children = zk_->GetChildren("/kafka-acl-changes");
  ASSERT_TRUE(children.ok());
  ASSERT_FALSE(children->empty());
  EXPECT_EQ(children->front(), "acl_changes_0000000000");

  EXPECT_EQ(store_->cache().size(), 3u);
  EXPECT_EQ(store_->cache().Acls(AclBindingFilter{}).size(), 3u);
}

TEST_F(AclStoreTest, AddMergesIntoTheResourceAndIgnoresDuplicates) {
  auto a = Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:a", AclOperation::kRead);
  auto b =
      Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:b", AclOperation::kWrite);
  ASSERT_TRUE(store_->Add({a})[0].ok());
  auto r = store_->Add({b, a, b});
  for (const auto& st : r) EXPECT_TRUE(st.ok());
  auto acls = security::DecodeAcls(Data("/kafka-acl/Topic/t"));
  ASSERT_TRUE(acls.ok());
  EXPECT_EQ(*acls, (std::vector<AccessControlEntry>{a.entry, b.entry}));
  // A no-op write leaves the znode and the notifications alone.
  auto before = zk_->Get("/kafka-acl/Topic/t");
  ASSERT_TRUE(store_->Add({a})[0].ok());
  EXPECT_EQ(zk_->Get("/kafka-acl/Topic/t")->stat.version, before->stat.version);
  EXPECT_EQ(Changes("/kafka-acl-changes").size(), 2u);
}

TEST_F(AclStoreTest, InvalidBindingsAreRefusedOneByOne) {
  auto r = store_->Add({
      Binding(ResourceType::kCluster, "other", PatternType::kLiteral, "User:a",
              AclOperation::kAlter),
      Binding(ResourceType::kTopic, "", PatternType::kLiteral, "User:a", AclOperation::kRead),
      Binding(ResourceType::kTopic, "ok", PatternType::kLiteral, "User:a", AclOperation::kRead),
      Binding(ResourceType::kTopic, "x", PatternType::kMatch, "User:a", AclOperation::kRead),
      Binding(ResourceType::kTopic, "x", PatternType::kLiteral, "nocolon", AclOperation::kRead),
  });
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r[0].message(), "The only valid name for the CLUSTER resource is kafka-cluster");
  EXPECT_EQ(r[1].code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(r[2].ok());
  EXPECT_EQ(r[3].code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r[4].code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(AclError(r[0]), protocol::ErrorCode::kInvalidRequest);
  auto topics = zk_->GetChildren("/kafka-acl/Topic");
  ASSERT_TRUE(topics.ok());
  EXPECT_EQ(*topics, std::vector<std::string>{"ok"});
}

TEST_F(AclStoreTest, RemoveReturnsWhatEachFilterDeletedAndDropsEmptyResources) {
  auto read =
      Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:a", AclOperation::kRead);
  auto write =
      Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:b", AclOperation::kWrite);
  auto prefixed =
      Binding(ResourceType::kTopic, "t", PatternType::kPrefixed, "User:a", AclOperation::kRead);
  for (const auto& st : store_->Add({read, write, prefixed})) ASSERT_TRUE(st.ok());

  AclBindingFilter by_principal;
  by_principal.entry.principal = "User:a";
  AclBindingFilter everything;  // also matches User:a's ACLs: reported by the first filter only
  AclBindingFilter none;
  none.pattern.type = ResourceType::kGroup;
  auto r = store_->Remove({by_principal, everything, none});
  ASSERT_EQ(r.size(), 3u);
  std::vector<AclBinding> first;
  for (const auto& d : r[0]) {
    EXPECT_TRUE(d.status.ok());
    first.push_back(d.binding);
  }
  std::sort(first.begin(), first.end());
  std::vector<AclBinding> want{read, prefixed};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(first, want);
  ASSERT_EQ(r[1].size(), 1u);
  EXPECT_EQ(r[1][0].binding, write);
  EXPECT_TRUE(r[2].empty());

  EXPECT_EQ(store_->cache().size(), 0u);
  auto gone = zk_->Exists("/kafka-acl/Topic/t");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  gone = zk_->Exists("/kafka-acl-extended/prefixed/Topic/t");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(AclStoreTest, RemoveByExactPatternReachesZnodesNotYetCached) {
  // Written by another tool, no notification: only ZooKeeper knows it.
  ASSERT_TRUE(zk_->CreateRecursive("/kafka-acl/Group/g",
                                   R"({"version":1,"acls":[{"principal":"User:x",)"
                                   R"("permissionType":"Allow","operation":"Read","host":"*"}]})")
                  .ok());
  AclBindingFilter f;
  f.pattern.type = ResourceType::kGroup;
  f.pattern.name = "g";
  f.pattern.pattern_type = PatternType::kAny;
  auto r = store_->Remove({f});
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0].size(), 1u);
  EXPECT_EQ(r[0][0].binding, Binding(ResourceType::kGroup, "g", PatternType::kLiteral, "User:x",
                                     AclOperation::kRead));
  auto gone = zk_->Exists("/kafka-acl/Group/g");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(AclStoreTest, LoadReadsZnodesWrittenByKafka) {
  ASSERT_TRUE(zk_->CreateRecursive("/kafka-acl/Topic/*",
                                   R"({"version":1,"acls":[{"principal":"User:*",)"
                                   R"("permissionType":"Allow","operation":"Describe",)"
                                   R"("host":"*"}]})")
                  .ok());
  ASSERT_TRUE(zk_->CreateRecursive("/kafka-acl-extended/prefixed/Cluster/kafka-cluster",
                                   R"({"version":1,"acls":[{"principal":"User:ops",)"
                                   R"("permissionType":"Deny","operation":"ClusterAction",)"
                                   R"("host":"1.2.3.4"}]})")
                  .ok());
  ASSERT_TRUE(zk_->CreateRecursive("/kafka-acl/Topic/broken", "not json").ok());
  security::AclCache other_cache;
  AclStore other(zk_.get(), &other_cache);
  ASSERT_TRUE(other.Load().ok());
  auto all = other.cache().Acls(AclBindingFilter{});
  std::sort(all.begin(), all.end());
  std::vector<AclBinding> want{
      Binding(ResourceType::kTopic, "*", PatternType::kLiteral, "User:*", AclOperation::kDescribe),
      Binding(ResourceType::kCluster, "kafka-cluster", PatternType::kPrefixed, "User:ops",
              AclOperation::kClusterAction, AclPermissionType::kDeny, "1.2.3.4")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(all, want);
}

TEST_F(AclStoreTest, SecondBrokerFollowsTheNotifications) {
  auto zk2 = Connect(connect_);
  security::AclCache other_cache;
  AclStore other(zk2.get(), &other_cache);
  ASSERT_TRUE(other.Load().ok());
  ASSERT_TRUE(other.Watch().ok());
  auto lit = Binding(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:a",
                     AclOperation::kWrite);
  auto pre =
      Binding(ResourceType::kGroup, "g-", PatternType::kPrefixed, "User:a", AclOperation::kRead);
  for (const auto& st : store_->Add({lit, pre})) ASSERT_TRUE(st.ok());
  EXPECT_TRUE(gregor::testing::WaitFor([&] { return other.cache().size() == 2; }));
  EXPECT_EQ(other.cache().Get(lit.pattern), std::vector<AccessControlEntry>{lit.entry});
  EXPECT_EQ(other.cache().Get(pre.pattern), std::vector<AccessControlEntry>{pre.entry});

  AclBindingFilter f;
  f.pattern.type = ResourceType::kGroup;
  ASSERT_EQ(store_->Remove({f})[0].size(), 1u);
  EXPECT_TRUE(gregor::testing::WaitFor([&] { return other.cache().size() == 1; }));
  EXPECT_TRUE(other.cache().Get(pre.pattern).empty());

  // A notification written by Kafka's tools (the type in any case), after the znode.
  ASSERT_TRUE(zk_->CreateRecursive("/kafka-acl/Topic/kafka-written",
                                   R"({"version":1,"acls":[{"principal":"User:k",)"
                                   R"("permissionType":"Allow","operation":"All","host":"*"}]})")
                  .ok());
  ASSERT_TRUE(zk_->Create("/kafka-acl-changes/acl_changes_", "Topic:kafka-written",
                          zk::CreateMode::kPersistentSequential)
                  .ok());
  EXPECT_TRUE(gregor::testing::WaitFor([&] { return other.cache().size() == 2; }));

  // After a session expiry the watch is registered again.
  ASSERT_TRUE(zk2->ExpireSessionForTesting().ok());
  EXPECT_TRUE(gregor::testing::WaitFor([&] { return zk2->connected(); }));
  for (const auto& st : store_->Add({pre})) ASSERT_TRUE(st.ok());
  EXPECT_TRUE(gregor::testing::WaitFor([&] { return other.cache().size() == 3; }, 20000));
}

TEST_F(AclStoreTest, ConcurrentWritersOnOneResourceLoseNothing) {
  auto zk2 = Connect(connect_);
  security::AclCache other_cache;
  AclStore other(zk2.get(), &other_cache);
  ASSERT_TRUE(other.Load().ok());
  constexpr int kEach = 8;
  auto add = [](AclStore* s, const std::string& who) {
    for (int i = 0; i < kEach; ++i) {
      auto st = s->Add({Binding(ResourceType::kTopic, "shared", PatternType::kLiteral,
                                "User:" + who + std::to_string(i), AclOperation::kRead)});
      EXPECT_TRUE(st[0].ok()) << st[0].ToString();
    }
  };
  std::thread t1(add, store_.get(), "a");
  std::thread t2(add, &other, "b");
  t1.join();
  t2.join();
  auto acls = security::DecodeAcls(Data("/kafka-acl/Topic/shared"));
  ASSERT_TRUE(acls.ok());
  EXPECT_EQ(acls->size(), 2u * kEach);
}

}  // namespace
}  // namespace gregor::server
