#include "gregor/zk/zk_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "zk/zk_test_server.h"

namespace gregor::zk {
namespace {

using gregor::testing::UniqueConnect;
using gregor::testing::WaitFor;

[[maybe_unused]] auto* const kZkEnv = gregor::testing::RegisterZkServer();

std::unique_ptr<ZkClient> Connected(const std::string& connect, int session_ms = 4000) {
  ZkClientOptions o;
  o.connect = connect;
  o.session_timeout_ms = session_ms;
  o.connection_timeout_ms = 10000;
  auto c = std::make_unique<ZkClient>(o);
  Status st = c->Connect();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return c;
}

TEST(ZkClientTest, UnreachableServerFailsWithinConnectionTimeout) {
  ZkClientOptions o;
  o.connect = "127.0.0.1:" + std::to_string(gregor::testing::FreePort());
  o.connection_timeout_ms = 700;
  ZkClient c(o);
  auto start = std::chrono::steady_clock::now();
  Status st = c.Connect();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  EXPECT_NE(st.message().find("unreachable"), std::string::npos) << st.message();
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(ZkClientTest, ChrootIsCreatedAndIsolates) {
  std::string connect = UniqueConnect("chroot");
  auto c = Connected(connect);
  ASSERT_TRUE(c->Create("/a", "x").ok());
  std::string root_connect = connect.substr(0, connect.find('/'));
  std::string chroot = connect.substr(connect.find('/'));
  auto root = Connected(root_connect);
  auto got = root->Get(chroot + "/a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->data, "x");
}

TEST(ZkClientTest, CrudAndErrorCodes) {
  auto c = Connected(UniqueConnect("crud"));
  auto created = c->Create("/n", "v1");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(*created, "/n");
  EXPECT_EQ(c->Create("/n", "again").status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(c->Get("/missing").status().code(), Status::Code::kNotFound);
  auto got = c->Get("/n");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "v1");
  EXPECT_EQ(got->stat.version, 0);
  EXPECT_EQ(c->Set("/n", "v2", 5).status().code(), Status::Code::kStale);
  auto set = c->Set("/n", "v2", 0);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->version, 1);
  EXPECT_EQ(c->Delete("/n", 0).code(), Status::Code::kStale);
  EXPECT_TRUE(c->Delete("/n", 1).ok());
  auto exists = c->Exists("/n");
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(exists->has_value());
}

TEST(ZkClientTest, RecursiveCreateDeleteAndSequential) {
  auto c = Connected(UniqueConnect("rec"));
  ASSERT_TRUE(c->CreateRecursive("/a/b/c", "leaf").ok());
  auto s1 = c->Create("/a/seq_", "", CreateMode::kPersistentSequential);
  auto s2 = c->Create("/a/seq_", "", CreateMode::kPersistentSequential);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(*s1, "/a/seq_0000000001");  // /a/b was child 0 of the parent's counter
  EXPECT_LT(*s1, *s2);
  auto children = c->GetChildren("/a");
  ASSERT_TRUE(children.ok());
  EXPECT_EQ(children->size(), 3u);
  ASSERT_TRUE(c->DeleteRecursive("/a").ok());
  EXPECT_FALSE(c->Exists("/a")->has_value());
  EXPECT_TRUE(c->DeleteRecursive("/a").ok());
}

TEST(ZkClientTest, MultiReportsFailingOp) {
  auto c = Connected(UniqueConnect("multi"));
  ASSERT_TRUE(c->Create("/v", "0").ok());
  MultiResult ok =
      c->Multi({ZkOp::Check("/v", 0), ZkOp::Create("/x", "1"), ZkOp::SetData("/v", "1", 0)});
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  EXPECT_EQ(ok.created_paths[1], "/x");
  MultiResult bad = c->Multi({ZkOp::Create("/y", "1"), ZkOp::Check("/v", 0)});
  EXPECT_EQ(bad.status.code(), Status::Code::kStale);
  EXPECT_EQ(bad.failed_op, 1);
  // Atomic: /y was not created.
  EXPECT_FALSE(c->Exists("/y")->has_value());
  MultiResult exists = c->Multi({ZkOp::Delete("/x", -1), ZkOp::Create("/v", "")});
  EXPECT_EQ(exists.status.code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(exists.failed_op, 1);
  EXPECT_TRUE(c->Exists("/x")->has_value());
}

TEST(ZkClientTest, WatchesFireOnceWithEventType) {
  auto c = Connected(UniqueConnect("watch"));
  ASSERT_TRUE(c->Create("/w", "0").ok());
  std::mutex mu;
  std::vector<WatchEvent> events;
  auto record = [&](const WatchEvent& e) {
    std::lock_guard<std::mutex> lk(mu);
    events.push_back(e);
  };
  ASSERT_TRUE(c->Get("/w", record).ok());
  ASSERT_TRUE(c->GetChildren("/w", record).ok());
  ASSERT_TRUE(c->Exists("/later", record).ok());
  ASSERT_TRUE(c->Set("/w", "1").ok());
  ASSERT_TRUE(c->Set("/w", "2").ok());  // one-shot: no second data event
  ASSERT_TRUE(c->Create("/w/child", "").ok());
  ASSERT_TRUE(c->Create("/later", "").ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lk(mu);
    return events.size() >= 3;
  }));
  // Give a spurious extra event a chance to show up: a final marker watch fires after it.
  std::atomic<bool> marker{false};
  ASSERT_TRUE(c->Exists("/marker", [&](const WatchEvent&) { marker = true; }).ok());
  ASSERT_TRUE(c->Create("/marker", "").ok());
  ASSERT_TRUE(WaitFor([&] { return marker.load(); }));
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEvent::Type::kDataChanged);
  EXPECT_EQ(events[0].path, "/w");
  EXPECT_EQ(events[1].type, WatchEvent::Type::kChildrenChanged);
  EXPECT_EQ(events[2].type, WatchEvent::Type::kCreated);
  EXPECT_EQ(events[2].path, "/later");
}

TEST(ZkClientTest, EphemeralVanishesWhenSessionCloses) {
  std::string connect = UniqueConnect("eph");
  auto a = Connected(connect);
  auto b = Connected(connect);
  ASSERT_TRUE(a->Create("/e", "", CreateMode::kEphemeral).ok());
  auto st = b->Exists("/e");
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->ephemeral_owner, a->session_id());
  std::atomic<bool> deleted{false};
  ASSERT_TRUE(b->Exists("/e", [&](const WatchEvent& e) {
                 deleted = e.type == WatchEvent::Type::kDeleted;
               }).ok());
  a->Close();
  EXPECT_TRUE(WaitFor([&] { return deleted.load(); }));
}

TEST(ZkClientTest, SessionExpiryRecreatesSessionAndRunsCallbacks) {
  std::string connect = UniqueConnect("expire");
  auto c = Connected(connect, 2000);
  ASSERT_TRUE(c->Create("/e", "", CreateMode::kEphemeral).ok());
  int64_t old_session = c->session_id();
  std::atomic<int> reestablished{0};
  c->AddSessionReestablishedCallback([&] {
    // Callbacks may use the client synchronously (they run on its event thread).
    if (c->Create("/e", "", CreateMode::kEphemeral).ok()) reestablished++;
  });
  ASSERT_TRUE(c->ExpireSessionForTesting().ok());
  ASSERT_TRUE(WaitFor([&] { return reestablished.load() == 1; }, 20000));
  EXPECT_NE(c->session_id(), old_session);
  auto st = c->Exists("/e");
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((*st)->ephemeral_owner, c->session_id());
}

}  // namespace
}  // namespace gregor::zk
