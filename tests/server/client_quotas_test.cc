#include "server/client_quotas.h"

#include <gtest/gtest.h>

namespace gregor::server {
namespace {

using P = QuotaEntity::Part;

QuotaEntity User(const std::string& u) { return {P::kNamed, u, P::kNone, {}}; }
QuotaEntity Client(const std::string& c) { return {P::kNone, {}, P::kNamed, c}; }
QuotaEntity UserClient(const std::string& u, const std::string& c) {
  return {P::kNamed, u, P::kNamed, c};
}
QuotaEntity UserDefault() { return {P::kDefault, {}, P::kNone, {}}; }
QuotaEntity ClientDefault() { return {P::kNone, {}, P::kDefault, {}}; }

TEST(ClientQuotasTest, KeysAreKafkas) {
  EXPECT_STREQ(QuotaKey(QuotaType::kProduce), "producer_byte_rate");
  EXPECT_STREQ(QuotaKey(QuotaType::kFetch), "consumer_byte_rate");
  EXPECT_STREQ(QuotaKey(QuotaType::kRequest), "request_percentage");
  EXPECT_STREQ(QuotaKey(QuotaType::kControllerMutation), "controller_mutation_rate");
  EXPECT_EQ(ParseQuotaKey("consumer_byte_rate"), QuotaType::kFetch);
  EXPECT_FALSE(ParseQuotaKey("SCRAM-SHA-256").has_value());
}

TEST(ClientQuotasTest, EntityPathsRoundTripSanitized) {
  struct Case {
    QuotaEntity entity;
    std::string path;
  } cases[] = {
      {User("alice"), "users/alice"},
      {UserDefault(), "users/<default>"},
      {Client("c 1*"), "clients/c%201%2A"},
      {ClientDefault(), "clients/<default>"},
      {UserClient("alice", "c1"), "users/alice/clients/c1"},
      {{P::kDefault, {}, P::kDefault, {}}, "users/<default>/clients/<default>"},
      {{P::kNamed, "bob", P::kDefault, {}}, "users/bob/clients/<default>"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.entity.EntityPath(), c.path);
    auto back = QuotaEntity::FromEntityPath(c.path);
    ASSERT_TRUE(back.has_value()) << c.path;
    EXPECT_EQ(*back, c.entity) << c.path;
  }
  for (const char* bad : {"topics/t", "users", "users/", "users/a/clients", "clients/a/users/b",
                          "users/a/b/c", "users/%zz", ""}) {
    EXPECT_FALSE(QuotaEntity::FromEntityPath(bad).has_value()) << bad;
  }
}

TEST(ClientQuotasTest, MostSpecificEntityWinsPerType) {
  ClientQuotas q({11, 1000}, {11, 1000});
  EXPECT_FALSE(q.Enabled(QuotaType::kProduce));
  q.Set(ClientDefault(), {{QuotaType::kProduce, 8}});
  q.Set(Client("c1"), {{QuotaType::kProduce, 7}});
  q.Set(UserDefault(), {{QuotaType::kProduce, 6}, {QuotaType::kFetch, 60}});
  q.Set({P::kDefault, {}, P::kNamed, "c1"}, {{QuotaType::kProduce, 4}});
  q.Set(User("alice"), {{QuotaType::kProduce, 3}});
  q.Set({P::kNamed, "alice", P::kDefault, {}}, {{QuotaType::kProduce, 2}});
  q.Set(UserClient("alice", "c1"), {{QuotaType::kProduce, 1}});
  EXPECT_TRUE(q.Enabled(QuotaType::kProduce));
  EXPECT_EQ(q.QuotaFor(QuotaType::kProduce, "alice", "c1"), 1);
  EXPECT_EQ(q.QuotaFor(QuotaType::kProduce, "alice", "c2"), 2);
  EXPECT_EQ(q.QuotaFor(QuotaType::kProduce, "bob", "c1"), 4);
  EXPECT_EQ(q.QuotaFor(QuotaType::kProduce, "bob", "c2"), 6);
  // Per type: alice has no fetch quota of her own, the user default applies.
  EXPECT_EQ(q.QuotaFor(QuotaType::kFetch, "alice", "c1"), 60);
  EXPECT_FALSE(q.QuotaFor(QuotaType::kRequest, "alice", "c1").has_value());
  q.Set(UserDefault(), {});
  EXPECT_EQ(q.QuotaFor(QuotaType::kProduce, "bob", "c2"), 8);
  EXPECT_FALSE(q.QuotaFor(QuotaType::kFetch, "alice", "c1").has_value());
  EXPECT_FALSE(q.Enabled(QuotaType::kFetch));
  auto all = q.Entities();
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(all[UserClient("alice", "c1")][QuotaType::kProduce], 1);
}

TEST(ClientQuotasTest, NoQuotaNoThrottleAndNoState) {
  ClientQuotas q({11, 1000}, {11, 1000});
  EXPECT_EQ(q.Record(QuotaType::kProduce, "alice", "c1", 1e9, 0), 0);
  q.Set(User("bob"), {{QuotaType::kProduce, 100}});
  EXPECT_EQ(q.Record(QuotaType::kProduce, "alice", "c1", 1e9, 0), 0);
  EXPECT_EQ(q.sensor_count(QuotaType::kProduce), 0u);
}

TEST(ClientQuotasTest, ThrottleBringsTheRateBackToTheQuota) {
  // 11 samples of 1 s: the rate divides by at least 10 s.
  ClientQuotas q({11, 1000}, {11, 1000});
  q.Set(User("alice"), {{QuotaType::kProduce, 1000}});
  // 10,000 bytes at t=0: 1,000 B/s over the 10 s minimum window: at the quota, no throttle.
  EXPECT_EQ(q.Record(QuotaType::kProduce, "alice", "c1", 10000, 0), 0);
  // 5,000 more: 1,500 B/s; X = (O - T) / T * W = 0.5 * 10 s.
  EXPECT_EQ(q.Record(QuotaType::kProduce, "alice", "c1", 5000, 0), 5000);
  // Another client of alice shares the user quota; another user does not.
  EXPECT_GT(q.Record(QuotaType::kProduce, "alice", "c2", 1, 0), 0);
  EXPECT_EQ(q.Record(QuotaType::kProduce, "bob", "c1", 1e9, 0), 0);
  // The rate divides by at least 10 s, so it stays over the quota until the sample expires,
  // 11 windows after it started.
  EXPECT_GT(q.OwedThrottleMs(QuotaType::kProduce, "alice", "c1", 5001), 0);
  EXPECT_GT(q.OwedThrottleMs(QuotaType::kProduce, "alice", "c1", 10999), 0);
  EXPECT_EQ(q.OwedThrottleMs(QuotaType::kProduce, "alice", "c1", 11000), 0);
}

TEST(ClientQuotasTest, ClientDefaultIsPerClient) {
  ClientQuotas q({2, 1000}, {11, 1000});
  q.Set(ClientDefault(), {{QuotaType::kFetch, 100}});
  EXPECT_GT(q.Record(QuotaType::kFetch, "alice", "c1", 1000, 0), 0);
  // c2 has a rate of its own under the same default.
  EXPECT_EQ(q.Record(QuotaType::kFetch, "alice", "c2", 50, 0), 0);
  // So does the same client id of another user (the match names only the client)? No: a
  // client-only entity keys the rate by client id alone, whoever the user.
  EXPECT_GT(q.Record(QuotaType::kFetch, "bob", "c1", 1, 0), 0);
}

TEST(ClientQuotasTest, UnrecordTakesBackAThrottledFetch) {
  ClientQuotas q({2, 1000}, {11, 1000});
  q.Set(User("alice"), {{QuotaType::kFetch, 100}});
  EXPECT_EQ(q.Record(QuotaType::kFetch, "alice", "c", 100, 0), 0);
  EXPECT_GT(q.Record(QuotaType::kFetch, "alice", "c", 1000, 0), 0);
  q.Unrecord(QuotaType::kFetch, "alice", "c", 1000, 0);
  EXPECT_EQ(q.OwedThrottleMs(QuotaType::kFetch, "alice", "c", 0), 0);
}

TEST(ClientQuotasTest, RequestThrottleIsCappedAtOneWindow) {
  ClientQuotas q({11, 1000}, {11, 1000});
  q.Set(User("alice"), {{QuotaType::kRequest, 10}});  // 10% of a thread
  EXPECT_EQ(q.Record(QuotaType::kRequest, "alice", "c", 1e6, 0), 1000);
}

TEST(ClientQuotasTest, OldSamplesExpire) {
  ClientQuotas q({3, 1000}, {11, 1000});
  q.Set(User("alice"), {{QuotaType::kProduce, 10}});
  EXPECT_GT(q.Record(QuotaType::kProduce, "alice", "c", 1000, 0), 0);
  // Three windows later the sample is gone.
  EXPECT_EQ(q.OwedThrottleMs(QuotaType::kProduce, "alice", "c", 3000), 0);
  EXPECT_EQ(q.Record(QuotaType::kProduce, "alice", "c", 10, 3000), 0);
}

TEST(ClientQuotasTest, ControllerMutationsUseATokenBucket) {
  ClientQuotas q({11, 1000}, {2, 1000});
  q.Set(User("alice"), {{QuotaType::kControllerMutation, 10}});  // 10 partitions/s, burst 20
  EXPECT_EQ(q.OwedThrottleMs(QuotaType::kControllerMutation, "alice", "c", 0), 0);
  EXPECT_EQ(q.Record(QuotaType::kControllerMutation, "alice", "c", 20, 0), 0);
  // 30 more: 30 tokens owed, 3 s to refill.
  EXPECT_EQ(q.Record(QuotaType::kControllerMutation, "alice", "c", 30, 0), 3000);
  EXPECT_EQ(q.OwedThrottleMs(QuotaType::kControllerMutation, "alice", "c", 1000), 2000);
  EXPECT_EQ(q.OwedThrottleMs(QuotaType::kControllerMutation, "alice", "c", 3000), 0);
}

TEST(ClientQuotasTest, IdlePartiesAreForgottenSoClientIdsCannotGrowMemory) {
  ClientQuotas q({2, 1000}, {11, 1000});
  q.Set(ClientDefault(), {{QuotaType::kProduce, 1e9}});
  for (int i = 0; i < 5000; ++i) {
    q.Record(QuotaType::kProduce, "u", "client-" + std::to_string(i), 1, i * 10);
  }
  // At most what was active within the last 2 s (200 client ids) plus one prune interval.
  EXPECT_LT(q.sensor_count(QuotaType::kProduce), 2500u);
}

}  // namespace
}  // namespace gregor::server
