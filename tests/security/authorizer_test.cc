#include "gregor/security/authorizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace gregor::security {
namespace {

constexpr char kAlice[] = "User:alice";
constexpr char kBob[] = "User:bob";
constexpr char kHost1[] = "192.168.1.1";
constexpr char kHost2[] = "192.168.1.2";

AccessControlEntry Allow(const std::string& principal, AclOperation op,
                         const std::string& host = "*") {
  return {principal, host, op, AclPermissionType::kAllow};
}
AccessControlEntry Deny(const std::string& principal, AclOperation op,
                        const std::string& host = "*") {
  return {principal, host, op, AclPermissionType::kDeny};
}
ResourcePattern Literal(ResourceType type, const std::string& name) {
  return {type, name, PatternType::kLiteral};
}
ResourcePattern Prefixed(ResourceType type, const std::string& name) {
  return {type, name, PatternType::kPrefixed};
}
ResourcePattern Topic(const std::string& name) { return Literal(ResourceType::kTopic, name); }

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() : authz_(AuthorizerOptions{{"User:admin"}, false}) {}

  // Adds ACLs to a resource, as CreateAcls does (the union with what is there).
  void Add(const ResourcePattern& pattern, std::vector<AccessControlEntry> entries) {
    std::vector<AccessControlEntry> all = authz_.cache().Get(pattern);
    all.insert(all.end(), entries.begin(), entries.end());
    authz_.cache().Update(pattern, std::move(all));
  }
  void RemoveAcl(const ResourcePattern& pattern, const AccessControlEntry& entry) {
    std::vector<AccessControlEntry> all = authz_.cache().Get(pattern);
    std::erase(all, entry);
    authz_.cache().Update(pattern, std::move(all));
  }

  bool Can(const std::string& principal, AclOperation op, const std::string& topic,
           const std::string& host = kHost1) const {
    return authz_.Authorize(principal, host, op, ResourceType::kTopic, topic);
  }
  bool CanAny(const std::string& principal, AclOperation op, ResourceType type,
              const std::string& host = kHost1) const {
    return authz_.AuthorizeByResourceType(principal, host, op, type);
  }

  AclAuthorizer authz_;
};

TEST(SuperUsersTest, Parses) {
  auto users = ParseSuperUsers("User:admin; User:kafka ;Group:ops;");
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  EXPECT_EQ((std::vector<std::string>{"User:admin", "User:kafka", "Group:ops"}), *users);
  users = ParseSuperUsers("");
  ASSERT_TRUE(users.ok());
  EXPECT_TRUE(users->empty());
  users = ParseSuperUsers("User:CN=broker,O=x:y");
  ASSERT_TRUE(users.ok());
  EXPECT_EQ("User:CN=broker,O=x:y", (*users)[0]);
  EXPECT_EQ(Status::Code::kInvalidArgument, ParseSuperUsers("admin").status().code());
  EXPECT_FALSE(ParseSuperUsers("User:a;;User:b").ok());
}

TEST(AclCacheTest, UpdateReplacesAndEmptyRemoves) {
  AclCache cache;
  ResourcePattern foo = Topic("foo");
  cache.Update(foo, {Allow(kAlice, AclOperation::kRead), Allow(kAlice, AclOperation::kRead),
                     Allow(kBob, AclOperation::kWrite)});
  EXPECT_EQ(1u, cache.size());
  EXPECT_EQ((std::vector<AccessControlEntry>{Allow(kAlice, AclOperation::kRead),
                                             Allow(kBob, AclOperation::kWrite)}),
            cache.Get(foo));
  cache.Update(foo, {Deny(kBob, AclOperation::kAll)});
  EXPECT_EQ((std::vector<AccessControlEntry>{Deny(kBob, AclOperation::kAll)}), cache.Get(foo));
  // The same name under another pattern type or resource type is another resource.
  EXPECT_TRUE(cache.Get(Prefixed(ResourceType::kTopic, "foo")).empty());
  EXPECT_TRUE(cache.Get(Literal(ResourceType::kGroup, "foo")).empty());
  cache.Update(foo, {});
  EXPECT_EQ(0u, cache.size());
  EXPECT_TRUE(cache.Get(foo).empty());

  cache.Update(foo, {Allow(kAlice, AclOperation::kRead)});
  cache.Update(Prefixed(ResourceType::kTopic, "f"), {Allow(kAlice, AclOperation::kRead)});
  EXPECT_EQ(2u, cache.size());
  cache.Remove(foo);
  EXPECT_EQ((std::vector<ResourcePattern>{Prefixed(ResourceType::kTopic, "f")}), cache.Patterns());
  cache.Clear();
  EXPECT_EQ(0u, cache.size());
}

TEST(AclCacheTest, MatchingAclsAreLiteralWildcardAndPrefixes) {
  AclCache cache;
  cache.Update(Topic("foobar"), {Allow(kAlice, AclOperation::kRead)});
  cache.Update(Topic("*"), {Allow(kAlice, AclOperation::kWrite)});
  cache.Update(Prefixed(ResourceType::kTopic, "f"), {Allow(kAlice, AclOperation::kCreate)});
  cache.Update(Prefixed(ResourceType::kTopic, "foo"), {Allow(kAlice, AclOperation::kDelete)});
  cache.Update(Prefixed(ResourceType::kTopic, "foobarbaz"), {Allow(kAlice, AclOperation::kAlter)});
  cache.Update(Prefixed(ResourceType::kTopic, "g"), {Allow(kAlice, AclOperation::kAlter)});
  cache.Update(Literal(ResourceType::kGroup, "foobar"), {Allow(kAlice, AclOperation::kRead)});
  cache.Update(Prefixed(ResourceType::kGroup, "foo"), {Allow(kAlice, AclOperation::kRead)});

  std::vector<AclOperation> ops;
  for (const AclCache::Entries& list : cache.MatchingAcls(ResourceType::kTopic, "foobar")) {
    for (const AccessControlEntry& e : *list) ops.push_back(e.operation);
  }
  std::sort(ops.begin(), ops.end());
  EXPECT_EQ((std::vector<AclOperation>{AclOperation::kRead, AclOperation::kWrite,
                                       AclOperation::kCreate, AclOperation::kDelete}),
            ops);
  EXPECT_EQ(1u, cache.MatchingAcls(ResourceType::kTopic, "other").size());  // the wildcard
  EXPECT_EQ(1u, cache.MatchingAcls(ResourceType::kTopic, "*").size());
  EXPECT_TRUE(cache.MatchingAcls(ResourceType::kCluster, "kafka-cluster").empty());
}

TEST(AclCacheTest, AclsFilterForDescribe) {
  AclCache cache;
  cache.Update(Topic("foo"), {Allow(kAlice, AclOperation::kRead), Deny(kBob, AclOperation::kRead)});
  cache.Update(Topic("*"), {Allow(kBob, AclOperation::kDescribe)});
  cache.Update(Prefixed(ResourceType::kTopic, "fo"), {Allow(kAlice, AclOperation::kWrite)});
  cache.Update(Literal(ResourceType::kGroup, "foo"), {Allow(kAlice, AclOperation::kRead)});

  EXPECT_EQ(5u, cache.Acls(AclBindingFilter{}).size());

  AclBindingFilter match{{ResourceType::kTopic, "foo", PatternType::kMatch}, {}};
  std::vector<AclBinding> bindings = cache.Acls(match);
  ASSERT_EQ(4u, bindings.size());
  // Ordered by resource type, pattern type, name.
  EXPECT_EQ(Topic("*"), bindings[0].pattern);
  EXPECT_EQ(Topic("foo"), bindings[1].pattern);
  EXPECT_EQ(Topic("foo"), bindings[2].pattern);
  EXPECT_EQ(Prefixed(ResourceType::kTopic, "fo"), bindings[3].pattern);

  AclBindingFilter alice_literal{
      {ResourceType::kAny, std::nullopt, PatternType::kLiteral},
      {kAlice, std::nullopt, AclOperation::kAny, AclPermissionType::kAny}};
  bindings = cache.Acls(alice_literal);
  ASSERT_EQ(2u, bindings.size());
  EXPECT_EQ(ResourceType::kTopic, bindings[0].pattern.type);
  EXPECT_EQ(ResourceType::kGroup, bindings[1].pattern.type);

  AclBindingFilter denies{
      {}, {std::nullopt, std::nullopt, AclOperation::kAny, AclPermissionType::kDeny}};
  bindings = cache.Acls(denies);
  ASSERT_EQ(1u, bindings.size());
  EXPECT_EQ(Deny(kBob, AclOperation::kRead), bindings[0].entry);
}

TEST_F(AuthorizerTest, NoAclsDeniesUnlessAllowEveryone) {
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo"));
  AclAuthorizer open(AuthorizerOptions{{}, true});
  EXPECT_TRUE(open.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kTopic, "foo"));
  // Once the resource has an ACL, for anyone, allow.everyone no longer applies to it.
  open.cache().Update(Topic("foo"), {Allow(kBob, AclOperation::kRead)});
  EXPECT_FALSE(open.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kTopic, "foo"));
  EXPECT_TRUE(open.Authorize(kBob, kHost1, AclOperation::kRead, ResourceType::kTopic, "foo"));
  EXPECT_TRUE(open.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kTopic, "bar"));
  // A wildcard ACL gives every topic an ACL.
  open.cache().Update(Topic("*"), {Allow(kBob, AclOperation::kWrite)});
  EXPECT_FALSE(open.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kTopic, "bar"));
  // ... and a prefixed one every topic under it.
  open.cache().Update(Prefixed(ResourceType::kGroup, "app-"), {Allow(kBob, AclOperation::kRead)});
  EXPECT_FALSE(open.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kGroup, "app-1"));
  EXPECT_TRUE(open.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kGroup, "web-1"));
}

TEST_F(AuthorizerTest, AllowMatchesPrincipalOperationAndResource) {
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kRead)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kRead, "foo"));
  EXPECT_FALSE(Can(kBob, AclOperation::kRead, "foo"));
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "foo"));
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo2"));
  EXPECT_FALSE(authz_.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kGroup, "foo"));
}

TEST_F(AuthorizerTest, DenyBeatsAllow) {
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kRead), Deny(kAlice, AclOperation::kRead)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo"));

  // Across patterns too: a wildcard or prefixed DENY beats a literal ALLOW.
  Add(Topic("bar"), {Allow(kAlice, AclOperation::kWrite)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "bar"));
  Add(Prefixed(ResourceType::kTopic, "ba"), {Deny(kAlice, AclOperation::kWrite)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "bar"));
  RemoveAcl(Prefixed(ResourceType::kTopic, "ba"), Deny(kAlice, AclOperation::kWrite));
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "bar"));
  Add(Topic("*"), {Deny("User:*", AclOperation::kWrite, kHost1)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "bar"));
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "bar", kHost2));
}

TEST_F(AuthorizerTest, WildcardPrincipal) {
  Add(Topic("foo"), {Allow("User:*", AclOperation::kRead)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kRead, "foo"));
  EXPECT_TRUE(Can(kBob, AclOperation::kRead, "foo"));
  EXPECT_TRUE(Can("User:ANONYMOUS", AclOperation::kRead, "foo"));
  // AclAuthorizer compares the ACL's principal with User:*, whatever the requester's type.
  EXPECT_TRUE(Can("Group:ops", AclOperation::kRead, "foo"));
  // "Group:*" is no wildcard.
  Add(Topic("foo"), {Allow("Group:*", AclOperation::kWrite)});
  EXPECT_FALSE(Can("Group:ops", AclOperation::kWrite, "foo"));
  Add(Topic("foo"), {Deny("User:*", AclOperation::kRead, kHost2)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo", kHost2));
  EXPECT_TRUE(Can(kAlice, AclOperation::kRead, "foo", kHost1));
}

TEST_F(AuthorizerTest, PrincipalIsExactNotAPattern) {
  Add(Topic("foo"), {Allow("User:ali", AclOperation::kRead), Allow("User:*e", AclOperation::kRead),
                     Allow("user:alice", AclOperation::kRead)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo"));
}

TEST_F(AuthorizerTest, HostMatchesExactlyOrWildcard) {
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kRead, kHost1)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kRead, "foo", kHost1));
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo", kHost2));
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kWrite, "*")});
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "foo", kHost2));
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "foo", "::1"));
  // A DENY from one host only.
  Add(Topic("foo"), {Deny(kAlice, AclOperation::kWrite, kHost2)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "foo", kHost2));
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "foo", kHost1));
}

TEST_F(AuthorizerTest, WildcardResource) {
  Add(Topic("*"), {Allow(kAlice, AclOperation::kRead)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kRead, "foo"));
  EXPECT_TRUE(Can(kAlice, AclOperation::kRead, "anything.at-all"));
  EXPECT_TRUE(Can(kAlice, AclOperation::kRead, "*"));
  EXPECT_FALSE(authz_.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kGroup, "foo"));
  // A prefixed pattern named "*" is not a wildcard: it matches names starting with '*'.
  Add(Prefixed(ResourceType::kGroup, "*"), {Allow(kAlice, AclOperation::kRead)});
  EXPECT_FALSE(authz_.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kGroup, "g"));
  EXPECT_TRUE(authz_.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kGroup, "*g"));
}

TEST_F(AuthorizerTest, PrefixedPatterns) {
  Add(Prefixed(ResourceType::kTopic, "orders-"), {Allow(kAlice, AclOperation::kWrite)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "orders-"));
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "orders-eu"));
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "orders"));
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "xorders-eu"));
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "Orders-eu"));
  // A longer prefixed DENY carves out a subset.
  Add(Prefixed(ResourceType::kTopic, "orders-secret"), {Deny(kAlice, AclOperation::kWrite)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kWrite, "orders-secret-1"));
  EXPECT_TRUE(Can(kAlice, AclOperation::kWrite, "orders-public"));
  // A literal ACL for the prefix's own name is not a prefix.
  Add(Topic("logs"), {Allow(kAlice, AclOperation::kRead)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "logs-1"));
}

TEST_F(AuthorizerTest, ImpliedDescribe) {
  const std::vector<AclOperation> implying = {AclOperation::kRead, AclOperation::kWrite,
                                              AclOperation::kDelete, AclOperation::kAlter};
  for (AclOperation op : implying) {
    std::string topic = "t" + std::to_string(ToCode(op));
    Add(Topic(topic), {Allow(kAlice, op)});
    EXPECT_TRUE(Can(kAlice, op, topic));
    EXPECT_TRUE(Can(kAlice, AclOperation::kDescribe, topic)) << AclOperationName(op);
    EXPECT_FALSE(Can(kAlice, AclOperation::kDescribeConfigs, topic)) << AclOperationName(op);
  }
  const std::vector<AclOperation> not_implying = {
      AclOperation::kCreate, AclOperation::kDescribeConfigs, AclOperation::kAlterConfigs,
      AclOperation::kClusterAction, AclOperation::kIdempotentWrite};
  for (AclOperation op : not_implying) {
    std::string topic = "n" + std::to_string(ToCode(op));
    Add(Topic(topic), {Allow(kAlice, op)});
    EXPECT_FALSE(Can(kAlice, AclOperation::kDescribe, topic)) << AclOperationName(op);
  }
  // Implication is one way: DESCRIBE does not grant READ.
  Add(Topic("d"), {Allow(kAlice, AclOperation::kDescribe)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kDescribe, "d"));
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "d"));
}

TEST_F(AuthorizerTest, ImpliedDescribeConfigs) {
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kAlterConfigs)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kAlterConfigs, "foo"));
  EXPECT_TRUE(Can(kAlice, AclOperation::kDescribeConfigs, "foo"));
  EXPECT_FALSE(Can(kAlice, AclOperation::kDescribe, "foo"));
  Add(Topic("bar"), {Allow(kAlice, AclOperation::kDescribeConfigs)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kAlterConfigs, "bar"));
}

TEST_F(AuthorizerTest, DenyIsNotImplied) {
  // DENY READ with ALLOW READ: READ refused, but DESCRIBE is only refused by DENY DESCRIBE or
  // DENY ALL, and the ALLOW READ still implies it.
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kRead), Deny(kAlice, AclOperation::kRead)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo"));
  EXPECT_TRUE(Can(kAlice, AclOperation::kDescribe, "foo"));
  Add(Topic("foo"), {Deny(kAlice, AclOperation::kDescribe)});
  EXPECT_FALSE(Can(kAlice, AclOperation::kDescribe, "foo"));
}

TEST_F(AuthorizerTest, AllowAllAndDenyAll) {
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kAll)});
  for (int8_t code = 2; code <= 14; ++code) {
    EXPECT_TRUE(Can(kAlice, AclOperationFromCode(code), "foo")) << int{code};
  }
  Add(Topic("foo"), {Deny(kAlice, AclOperation::kAll)});
  for (int8_t code = 2; code <= 14; ++code) {
    EXPECT_FALSE(Can(kAlice, AclOperationFromCode(code), "foo")) << int{code};
  }
  // DENY ALL for everyone on every topic, over a specific ALLOW.
  Add(Topic("bar"), {Allow(kBob, AclOperation::kRead)});
  EXPECT_TRUE(Can(kBob, AclOperation::kRead, "bar"));
  Add(Topic("*"), {Deny("User:*", AclOperation::kAll)});
  EXPECT_FALSE(Can(kBob, AclOperation::kRead, "bar"));
  EXPECT_FALSE(Can(kBob, AclOperation::kDescribe, "bar"));
}

TEST_F(AuthorizerTest, SuperUsersBypassAcls) {
  EXPECT_TRUE(authz_.IsSuperUser("User:admin"));
  EXPECT_FALSE(authz_.IsSuperUser("User:Admin"));
  EXPECT_TRUE(Can("User:admin", AclOperation::kAlter, "no-acls"));
  Add(Topic("*"), {Deny("User:*", AclOperation::kAll)});
  Add(Topic("foo"), {Deny("User:admin", AclOperation::kAll)});
  EXPECT_TRUE(Can("User:admin", AclOperation::kRead, "foo"));
  EXPECT_TRUE(authz_.Authorize("User:admin", kHost2, AclOperation::kClusterAction,
                               ResourceType::kCluster, kClusterResourceName));
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo"));
}

TEST_F(AuthorizerTest, UnknownAclsNeverMatchButStillCountAsAcls) {
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kUnknown),
                     {kAlice, "*", AclOperation::kRead, AclPermissionType::kUnknown}});
  EXPECT_FALSE(Can(kAlice, AclOperation::kRead, "foo"));
  AclAuthorizer open(AuthorizerOptions{{}, true});
  open.cache().Update(Topic("foo"), {Deny(kAlice, AclOperation::kUnknown)});
  EXPECT_FALSE(open.Authorize(kAlice, kHost1, AclOperation::kRead, ResourceType::kTopic, "foo"));
}

TEST_F(AuthorizerTest, ClusterResource) {
  Add(Literal(ResourceType::kCluster, kClusterResourceName),
      {Allow(kAlice, AclOperation::kClusterAction), Allow(kBob, AclOperation::kAlter)});
  auto can_cluster = [&](const std::string& p, AclOperation op) {
    return authz_.Authorize(p, kHost1, op, ResourceType::kCluster, kClusterResourceName);
  };
  EXPECT_TRUE(can_cluster(kAlice, AclOperation::kClusterAction));
  EXPECT_FALSE(can_cluster(kAlice, AclOperation::kAlter));
  EXPECT_TRUE(can_cluster(kBob, AclOperation::kDescribe));  // implied by ALTER
  EXPECT_FALSE(can_cluster(kBob, AclOperation::kIdempotentWrite));
}

// --- KIP-679: AuthorizeByResourceType (BaseAuthorizerTest scenarios). ---

TEST_F(AuthorizerTest, ByResourceTypeAllowThenDeny) {
  ResourcePattern r = Topic("sb1");
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));
  Add(r, {Allow(kAlice, AclOperation::kRead, kHost1)});
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kWrite, ResourceType::kTopic));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic, kHost2));
  EXPECT_FALSE(CanAny(kBob, AclOperation::kRead, ResourceType::kTopic));
  Add(r, {Deny(kAlice, AclOperation::kRead, kHost1)});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));
  RemoveAcl(r, Deny(kAlice, AclOperation::kRead, kHost1));
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));
  RemoveAcl(r, Allow(kAlice, AclOperation::kRead, kHost1));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));
}

TEST_F(AuthorizerTest, ByResourceTypeUnrelatedDenyDoesNotDominateAllow) {
  ResourcePattern r1 = Topic("sb1");
  ResourcePattern r2 = Topic("sb2");
  Add(r1, {Deny(kAlice, AclOperation::kRead, kHost1), Deny(kBob, AclOperation::kRead, kHost1),
           Deny(kAlice, AclOperation::kWrite, kHost2), Deny(kBob, AclOperation::kRead, kHost2),
           Allow(kAlice, AclOperation::kRead, kHost2)});
  Add(r2, {Deny(kAlice, AclOperation::kRead, kHost2)});
  Add(Prefixed(ResourceType::kGroup, "s"), {Deny(kAlice, AclOperation::kRead, kHost2)});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic, kHost1));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup, kHost1));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTransactionalId, kHost1));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kCluster, kHost1));
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic, kHost2));
}

TEST_F(AuthorizerTest, ByResourceTypePrefixedDenyDominates) {
  auto group = [](const std::string& name) { return Prefixed(ResourceType::kGroup, name); };
  AccessControlEntry allow = Allow(kAlice, AclOperation::kRead, kHost1);
  AccessControlEntry deny = Deny(kAlice, AclOperation::kRead, kHost1);
  Add(group("abcde"), {allow});
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
  Add(group("abcd"), {deny});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
  Add(group("abc"), {allow});
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
  Add(group("a"), {deny});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
  Add(group("ab"), {allow});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
  // A literal ALLOW outside the denied prefix is enough.
  Add(Literal(ResourceType::kGroup, "zzz"), {allow});
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
  // A literal DENY of that very name refuses it again.
  Add(Literal(ResourceType::kGroup, "zzz"), {deny});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kGroup));
}

TEST_F(AuthorizerTest, ByResourceTypeWildcardDenyDominates) {
  AccessControlEntry allow = Allow(kAlice, AclOperation::kWrite, kHost1);
  AccessControlEntry deny = Deny(kAlice, AclOperation::kWrite, kHost1);
  Add(Prefixed(ResourceType::kGroup, "hello"), {allow});
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kWrite, ResourceType::kGroup));
  Add(Literal(ResourceType::kGroup, "*"), {deny});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kWrite, ResourceType::kGroup));
  Add(Literal(ResourceType::kGroup, "*"), {allow});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kWrite, ResourceType::kGroup));
  Add(Literal(ResourceType::kGroup, "aloha"), {allow});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kWrite, ResourceType::kGroup));
}

TEST_F(AuthorizerTest, ByResourceTypeWildcardAllowSurvivesOtherDenies) {
  Add(Topic("*"), {Allow(kAlice, AclOperation::kRead)});
  Add(Prefixed(ResourceType::kTopic, "a"), {Deny(kAlice, AclOperation::kRead)});
  Add(Topic("b"), {Deny(kAlice, AclOperation::kRead)});
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));
}

TEST_F(AuthorizerTest, ByResourceTypeAllOperationAndWildcards) {
  ResourcePattern r = Topic("sb1");
  Add(r, {Deny(kAlice, AclOperation::kWrite, kHost1), Allow(kAlice, AclOperation::kAll, kHost1)});
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));
  Add(r, {Deny(kAlice, AclOperation::kAll, kHost1)});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kTopic));

  // Wildcard host and principal.
  ResourcePattern r2 = Topic("sb2");
  Add(r2, {Allow("User:*", AclOperation::kDelete, "*")});
  EXPECT_TRUE(CanAny(kBob, AclOperation::kDelete, ResourceType::kTopic, kHost2));
  Add(r2, {Deny(kBob, AclOperation::kDelete, "*")});
  EXPECT_FALSE(CanAny(kBob, AclOperation::kDelete, ResourceType::kTopic, kHost2));
  EXPECT_TRUE(CanAny(kAlice, AclOperation::kDelete, ResourceType::kTopic, kHost2));
}

TEST_F(AuthorizerTest, ByResourceTypeHasNoImpliedOperations) {
  Add(Topic("foo"), {Allow(kAlice, AclOperation::kRead)});
  EXPECT_TRUE(Can(kAlice, AclOperation::kDescribe, "foo"));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kDescribe, ResourceType::kTopic));
}

TEST_F(AuthorizerTest, ByResourceTypeSuperUserAndAllowEveryone) {
  for (ResourceType t : {ResourceType::kTopic, ResourceType::kCluster, ResourceType::kGroup,
                         ResourceType::kTransactionalId}) {
    Add(Literal(t, "*"), {Deny("User:*", AclOperation::kAll)});
    EXPECT_TRUE(CanAny("User:admin", AclOperation::kRead, t));
    EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, t));
  }
  AclAuthorizer open(AuthorizerOptions{{}, true});
  EXPECT_TRUE(
      open.AuthorizeByResourceType(kAlice, kHost1, AclOperation::kWrite, ResourceType::kTopic));
  // Kafka's AclAuthorizer: allow.everyone.if.no.acl.found lets it through unless a literal
  // wildcard DENY matches, even when other DENYs exist.
  open.cache().Update(Topic("foo"), {Deny(kAlice, AclOperation::kWrite)});
  EXPECT_TRUE(
      open.AuthorizeByResourceType(kAlice, kHost1, AclOperation::kWrite, ResourceType::kTopic));
  open.cache().Update(Topic("*"), {Deny(kAlice, AclOperation::kWrite)});
  EXPECT_FALSE(
      open.AuthorizeByResourceType(kAlice, kHost1, AclOperation::kWrite, ResourceType::kTopic));
}

TEST_F(AuthorizerTest, ByResourceTypeRefusesFilterArguments) {
  Add(Topic("*"), {Allow("User:*", AclOperation::kAll)});
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kAny, ResourceType::kTopic));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kUnknown, ResourceType::kTopic));
  EXPECT_FALSE(CanAny(kAlice, AclOperation::kRead, ResourceType::kAny));
  EXPECT_FALSE(CanAny("User:admin", AclOperation::kRead, ResourceType::kUnknown));
}

TEST_F(AuthorizerTest, IdempotentWrite) {
  // No ACL: refused.
  EXPECT_FALSE(authz_.AuthorizeIdempotentWrite(kAlice, kHost1));
  // WRITE on some topic (KIP-679).
  Add(Prefixed(ResourceType::kTopic, "alice-"), {Allow(kAlice, AclOperation::kWrite)});
  EXPECT_TRUE(authz_.AuthorizeIdempotentWrite(kAlice, kHost1));
  EXPECT_FALSE(authz_.AuthorizeIdempotentWrite(kBob, kHost1));
  // Or IDEMPOTENT_WRITE on the cluster.
  Add(Literal(ResourceType::kCluster, kClusterResourceName),
      {Allow(kBob, AclOperation::kIdempotentWrite)});
  EXPECT_TRUE(authz_.AuthorizeIdempotentWrite(kBob, kHost1));
  // The Authorize check alone has no such implication.
  EXPECT_FALSE(authz_.Authorize(kAlice, kHost1, AclOperation::kIdempotentWrite,
                                ResourceType::kCluster, kClusterResourceName));
  EXPECT_TRUE(authz_.AuthorizeIdempotentWrite("User:admin", kHost2));
}

TEST_F(AuthorizerTest, ConcurrentUpdatesAndChecks) {
  // The writer replaces the resource's ACLs over and over; readers must always see one whole
  // version: Alice's ALLOW is in every version, and each version holds exactly two ACLs.
  ResourcePattern r = Topic("foo");
  authz_.cache().Update(r, {Allow(kAlice, AclOperation::kRead), Allow(kBob, AclOperation::kRead)});
  std::atomic<bool> stop{false};
  std::atomic<int> checks{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (!Can(kAlice, AclOperation::kRead, "foo")) failures.fetch_add(1);
        if (authz_.Acls(AclBindingFilter{}).size() != 2) failures.fetch_add(1);
        checks.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    bool bob_allowed = i % 2 == 0;
    authz_.cache().Update(
        r, {Allow(kAlice, AclOperation::kRead),
            bob_allowed ? Allow(kBob, AclOperation::kRead) : Deny(kBob, AclOperation::kAll)});
    EXPECT_EQ(bob_allowed, Can(kBob, AclOperation::kRead, "foo"));
  }
  while (checks.load() < 100) std::this_thread::yield();
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(0, failures.load());
}

}  // namespace
}  // namespace gregor::security
