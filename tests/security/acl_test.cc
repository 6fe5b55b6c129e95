#include "gregor/security/acl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gregor::security {
namespace {

AccessControlEntry Ace(const std::string& principal, const std::string& host, AclOperation op,
                       AclPermissionType permission) {
  return AccessControlEntry{principal, host, op, permission};
}

TEST(AclTest, EnumsCarryKafkaWireCodes) {
  EXPECT_EQ(0, ToCode(ResourceType::kUnknown));
  EXPECT_EQ(1, ToCode(ResourceType::kAny));
  EXPECT_EQ(2, ToCode(ResourceType::kTopic));
  EXPECT_EQ(3, ToCode(ResourceType::kGroup));
  EXPECT_EQ(4, ToCode(ResourceType::kCluster));
  EXPECT_EQ(5, ToCode(ResourceType::kTransactionalId));
  EXPECT_EQ(6, ToCode(ResourceType::kDelegationToken));
  EXPECT_EQ(7, ToCode(ResourceType::kUser));
  EXPECT_EQ(2, ToCode(PatternType::kMatch));
  EXPECT_EQ(3, ToCode(PatternType::kLiteral));
  EXPECT_EQ(4, ToCode(PatternType::kPrefixed));
  EXPECT_EQ(2, ToCode(AclOperation::kAll));
  EXPECT_EQ(9, ToCode(AclOperation::kClusterAction));
  EXPECT_EQ(12, ToCode(AclOperation::kIdempotentWrite));
  EXPECT_EQ(14, ToCode(AclOperation::kDescribeTokens));
  EXPECT_EQ(2, ToCode(AclPermissionType::kDeny));
  EXPECT_EQ(3, ToCode(AclPermissionType::kAllow));

  EXPECT_EQ(ResourceType::kUser, ResourceTypeFromCode(7));
  EXPECT_EQ(ResourceType::kUnknown, ResourceTypeFromCode(8));
  EXPECT_EQ(ResourceType::kUnknown, ResourceTypeFromCode(-1));
  EXPECT_EQ(PatternType::kPrefixed, PatternTypeFromCode(4));
  EXPECT_EQ(PatternType::kUnknown, PatternTypeFromCode(5));
  EXPECT_EQ(AclOperation::kDescribeTokens, AclOperationFromCode(14));
  EXPECT_EQ(AclOperation::kUnknown, AclOperationFromCode(15));
  EXPECT_EQ(AclPermissionType::kAllow, AclPermissionTypeFromCode(3));
  EXPECT_EQ(AclPermissionType::kUnknown, AclPermissionTypeFromCode(4));
}

TEST(AclTest, SecurityUtilsNamesRoundTrip) {
  const std::vector<std::pair<ResourceType, std::string>> types = {
      {ResourceType::kTopic, "Topic"},
      {ResourceType::kGroup, "Group"},
      {ResourceType::kCluster, "Cluster"},
      {ResourceType::kTransactionalId, "TransactionalId"},
      {ResourceType::kDelegationToken, "DelegationToken"},
      {ResourceType::kUser, "User"}};
  for (const auto& [type, name] : types) {
    EXPECT_EQ(name, ResourceTypeName(type));
    EXPECT_EQ(type, ResourceTypeFromName(name));
  }
  const std::vector<std::pair<AclOperation, std::string>> ops = {
      {AclOperation::kAll, "All"},
      {AclOperation::kRead, "Read"},
      {AclOperation::kWrite, "Write"},
      {AclOperation::kCreate, "Create"},
      {AclOperation::kDelete, "Delete"},
      {AclOperation::kAlter, "Alter"},
      {AclOperation::kDescribe, "Describe"},
      {AclOperation::kClusterAction, "ClusterAction"},
      {AclOperation::kDescribeConfigs, "DescribeConfigs"},
      {AclOperation::kAlterConfigs, "AlterConfigs"},
      {AclOperation::kIdempotentWrite, "IdempotentWrite"},
      {AclOperation::kCreateTokens, "CreateTokens"},
      {AclOperation::kDescribeTokens, "DescribeTokens"}};
  for (const auto& [op, name] : ops) {
    EXPECT_EQ(name, AclOperationName(op));
    EXPECT_EQ(op, AclOperationFromName(name));
  }
  EXPECT_EQ("Allow", AclPermissionTypeName(AclPermissionType::kAllow));
  EXPECT_EQ("Deny", AclPermissionTypeName(AclPermissionType::kDeny));
  EXPECT_EQ(AclPermissionType::kAllow, AclPermissionTypeFromName("Allow"));
  EXPECT_EQ(AclPermissionType::kDeny, AclPermissionTypeFromName("Deny"));
}

TEST(AclTest, SecurityUtilsLookupIgnoresCaseButNotUnderscores) {
  EXPECT_EQ(ResourceType::kTopic, ResourceTypeFromName("TOPIC"));
  EXPECT_EQ(ResourceType::kTopic, ResourceTypeFromName("topic"));
  EXPECT_EQ(ResourceType::kTransactionalId, ResourceTypeFromName("TRANSACTIONALID"));
  EXPECT_EQ(ResourceType::kUnknown, ResourceTypeFromName("TRANSACTIONAL_ID"));
  EXPECT_EQ(ResourceType::kUnknown, ResourceTypeFromName("Topics"));
  EXPECT_EQ(AclOperation::kClusterAction, AclOperationFromName("CLUSTERACTION"));
  EXPECT_EQ(AclOperation::kUnknown, AclOperationFromName("CLUSTER_ACTION"));
  EXPECT_EQ(AclOperation::kUnknown, AclOperationFromName(""));
  EXPECT_EQ(AclPermissionType::kAllow, AclPermissionTypeFromName("ALLOW"));
  EXPECT_EQ(AclPermissionType::kUnknown, AclPermissionTypeFromName("Permit"));
}

TEST(AclTest, JavaEnumNames) {
  EXPECT_EQ("TOPIC", ResourceTypeEnumName(ResourceType::kTopic));
  EXPECT_EQ("TRANSACTIONAL_ID", ResourceTypeEnumName(ResourceType::kTransactionalId));
  EXPECT_EQ("DELEGATION_TOKEN", ResourceTypeEnumName(ResourceType::kDelegationToken));
  // ResourceType.fromString upper-cases then valueOf: the enum name in any case.
  EXPECT_EQ(ResourceType::kTransactionalId, ResourceTypeFromEnumName("transactional_id"));
  EXPECT_EQ(ResourceType::kGroup, ResourceTypeFromEnumName("Group"));
  EXPECT_EQ(ResourceType::kUnknown, ResourceTypeFromEnumName("TransactionalId"));
  // PatternType.fromString is exact.
  EXPECT_EQ("PREFIXED", PatternTypeName(PatternType::kPrefixed));
  EXPECT_EQ("LITERAL", PatternTypeName(PatternType::kLiteral));
  EXPECT_EQ(PatternType::kPrefixed, PatternTypeFromName("PREFIXED"));
  EXPECT_EQ(PatternType::kMatch, PatternTypeFromName("MATCH"));
  EXPECT_EQ(PatternType::kUnknown, PatternTypeFromName("Prefixed"));
  EXPECT_EQ(PatternType::kUnknown, PatternTypeFromName("prefixed"));
}

TEST(AclTest, ZooKeeperPaths) {
  EXPECT_EQ("/kafka-acl", *acl_paths::AclStore(PatternType::kLiteral));
  EXPECT_EQ("/kafka-acl-extended/prefixed", *acl_paths::AclStore(PatternType::kPrefixed));
  EXPECT_EQ("/kafka-acl/Topic",
            *acl_paths::AclResourceType(PatternType::kLiteral, ResourceType::kTopic));
  EXPECT_EQ("/kafka-acl-extended/prefixed/Topic",
            *acl_paths::AclResourceType(PatternType::kPrefixed, ResourceType::kTopic));
  EXPECT_EQ(
      "/kafka-acl/TransactionalId/tx-1",
      *acl_paths::AclResource({ResourceType::kTransactionalId, "tx-1", PatternType::kLiteral}));
  EXPECT_EQ("/kafka-acl/Cluster/kafka-cluster",
            *acl_paths::AclResource(
                {ResourceType::kCluster, kClusterResourceName, PatternType::kLiteral}));
  EXPECT_EQ("/kafka-acl-extended/prefixed/Group/app-",
            *acl_paths::AclResource({ResourceType::kGroup, "app-", PatternType::kPrefixed}));
  EXPECT_EQ("/kafka-acl/Topic/*",
            *acl_paths::AclResource({ResourceType::kTopic, "*", PatternType::kLiteral}));
  EXPECT_EQ("/kafka-acl-changes", *acl_paths::AclChangeStore(PatternType::kLiteral));
  EXPECT_EQ("/kafka-acl-extended-changes", *acl_paths::AclChangeStore(PatternType::kPrefixed));
  for (PatternType bad : {PatternType::kAny, PatternType::kMatch, PatternType::kUnknown}) {
    EXPECT_EQ(Status::Code::kInvalidArgument, acl_paths::AclStore(bad).status().code());
    EXPECT_FALSE(acl_paths::AclResource({ResourceType::kTopic, "t", bad}).ok());
    EXPECT_FALSE(acl_paths::AclChangeStore(bad).ok());
  }
  // Every parent comes before its children.
  const std::vector<std::string>& paths = acl_paths::AclPersistentPaths();
  ASSERT_EQ(5u, paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    for (size_t j = i + 1; j < paths.size(); ++j) {
      EXPECT_FALSE(paths[i].starts_with(paths[j] + "/")) << paths[i] << " before " << paths[j];
    }
  }
}

TEST(AclTest, EncodesAclsAsKafkaDoes) {
  std::vector<AccessControlEntry> acls = {
      Ace("User:alice", "*", AclOperation::kRead, AclPermissionType::kAllow),
      Ace("User:bob", "10.0.0.1", AclOperation::kIdempotentWrite, AclPermissionType::kDeny)};
  EXPECT_EQ(
      "{\"version\":1,\"acls\":["
      "{\"principal\":\"User:alice\",\"permissionType\":\"Allow\",\"operation\":\"Read\","
      "\"host\":\"*\"},"
      "{\"principal\":\"User:bob\",\"permissionType\":\"Deny\",\"operation\":\"IdempotentWrite\","
      "\"host\":\"10.0.0.1\"}]}",
      EncodeAcls(acls));
  EXPECT_EQ("{\"version\":1,\"acls\":[]}", EncodeAcls({}));
}

TEST(AclTest, AclsRoundTrip) {
  std::vector<AccessControlEntry> acls;
  for (int8_t code = 2; code <= 14; ++code) {
    acls.push_back(Ace("User:u" + std::to_string(code), code % 2 ? "*" : "192.168.1.1",
                       AclOperationFromCode(code),
                       code % 3 ? AclPermissionType::kAllow : AclPermissionType::kDeny));
  }
  acls.push_back(Ace("User:*", "*", AclOperation::kAll, AclPermissionType::kAllow));
  acls.push_back(Ace("Group:CN=writer,O=Example \"x\"", "::1", AclOperation::kWrite,
                     AclPermissionType::kAllow));
  auto decoded = DecodeAcls(EncodeAcls(acls));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(acls, *decoded);
}

TEST(AclTest, DecodesKafkaDocumentedSample) {
  // ZkData.scala's example: spaces, another field order.
  auto decoded = DecodeAcls(
      "{\"version\": 1, \"acls\": [ { \"host\":\"host1\", \"permissionType\": \"Allow\","
      "\"operation\": \"Read\",\"principal\": \"User:alice\"}]}");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(1u, decoded->size());
  EXPECT_EQ(Ace("User:alice", "host1", AclOperation::kRead, AclPermissionType::kAllow),
            (*decoded)[0]);
}

TEST(AclTest, DecodeAclsEmptyDataIsNoAcls) {
  auto decoded = DecodeAcls("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

TEST(AclTest, DecodeAclsDropsDuplicates) {
  auto decoded = DecodeAcls(
      "{\"version\":1,\"acls\":["
      "{\"principal\":\"User:a\",\"permissionType\":\"Allow\",\"operation\":\"Read\",\"host\":\"*"
      "\"},"
      "{\"principal\":\"User:b\",\"permissionType\":\"Allow\",\"operation\":\"Read\",\"host\":\"*"
      "\"},"
      "{\"principal\":\"User:a\",\"permissionType\":\"ALLOW\",\"operation\":\"READ\",\"host\":\"*"
      "\"}"
      "]}");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(2u, decoded->size());
  EXPECT_EQ("User:a", (*decoded)[0].principal);
  EXPECT_EQ("User:b", (*decoded)[1].principal);
}

TEST(AclTest, DecodeAclsKeepsUnknownNamesAsUnknown) {
  auto decoded = DecodeAcls(
      "{\"version\":1,\"acls\":["
      "{\"principal\":\"User:a\",\"permissionType\":\"Allow\",\"operation\":\"Teleport\","
      "\"host\":\"*\"},"
      "{\"principal\":\"User:a\",\"permissionType\":\"Maybe\",\"operation\":\"Read\","
      "\"host\":\"*\"},"
      "{\"principal\":\"User:a\",\"permissionType\":\"Deny\",\"operation\":\"Write\","
      "\"host\":\"*\"}]}");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(3u, decoded->size());
  EXPECT_EQ(AclOperation::kUnknown, (*decoded)[0].operation);
  EXPECT_EQ(AclPermissionType::kUnknown, (*decoded)[1].permission);
  EXPECT_EQ(AclOperation::kWrite, (*decoded)[2].operation);
}

TEST(AclTest, DecodeAclsRejectsMalformed) {
  const std::string ok_acl =
      "{\"principal\":\"User:a\",\"permissionType\":\"Allow\",\"operation\":\"Read\","
      "\"host\":\"*\"}";
  const std::vector<std::string> bad = {
      "not json",
      "{\"version\":1,\"acls\":[",
      "[]",
      "\"text\"",
      "{\"acls\":[" + ok_acl + "]}",
      "{\"version\":2,\"acls\":[" + ok_acl + "]}",
      "{\"version\":\"1\",\"acls\":[" + ok_acl + "]}",
      "{\"version\":1}",
      "{\"version\":1,\"acls\":{}}",
      "{\"version\":1,\"acls\":[1]}",
      "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Allow\","
      "\"operation\":\"Read\"}]}",
      "{\"version\":1,\"acls\":[{\"principal\":\"alice\",\"permissionType\":\"Allow\","
      "\"operation\":\"Read\",\"host\":\"*\"}]}",
      "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Allow\","
      "\"operation\":3,\"host\":\"*\"}]}",
      "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Allow\","
      "\"operation\":\"Any\",\"host\":\"*\"}]}",
      "{\"version\":1,\"acls\":[{\"principal\":\"User:a\",\"permissionType\":\"Any\","
      "\"operation\":\"Read\",\"host\":\"*\"}]}",
      "{\"version\":1,\"acls\":[{\"principal\":null,\"permissionType\":\"Allow\","
      "\"operation\":\"Read\",\"host\":\"*\"}]}",
  };
  for (const std::string& data : bad) {
    auto decoded = DecodeAcls(data);
    // An ok Result carries an OK status, so this also fails when decoding succeeds.
    EXPECT_EQ(Status::Code::kCorruption, decoded.status().code()) << data;
  }
}

TEST(AclTest, LiteralChangeNotification) {
  auto node = EncodeAclChange({ResourceType::kTopic, "orders", PatternType::kLiteral});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ("/kafka-acl-changes/acl_changes_", node->path);
  EXPECT_EQ("TOPIC:orders", node->data);

  node = EncodeAclChange({ResourceType::kTransactionalId, "tx:1", PatternType::kLiteral});
  ASSERT_TRUE(node.ok());
  EXPECT_EQ("TRANSACTIONAL_ID:tx:1", node->data);
  auto decoded = DecodeLiteralAclChange(node->data);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ((ResourcePattern{ResourceType::kTransactionalId, "tx:1", PatternType::kLiteral}),
            *decoded);
}

TEST(AclTest, LiteralChangeDecodesTwoPartsOnly) {
  // LiteralAclStoreTest.shouldDecodeResourceUsingTwoPartLogic.
  const std::string name = "PREFIXED:this, including the PREFIXED part, is a valid two part group";
  auto decoded = DecodeLiteralAclChange("GROUP:" + name);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ((ResourcePattern{ResourceType::kGroup, name, PatternType::kLiteral}), *decoded);
  // Any case of the enum name; an empty name is kept.
  decoded = DecodeLiteralAclChange("Topic:");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ((ResourcePattern{ResourceType::kTopic, "", PatternType::kLiteral}), *decoded);
}

TEST(AclTest, LiteralChangeRejectsMalformed) {
  for (const std::string data : {"", "TOPIC", "Widget:x", "TransactionalId:x", "ANY:x", ":x"}) {
    auto decoded = DecodeLiteralAclChange(data);
    EXPECT_EQ(Status::Code::kCorruption, decoded.status().code()) << data;
  }
}

TEST(AclTest, ExtendedChangeNotification) {
  ResourcePattern prefixed{ResourceType::kTopic, "some-topic", PatternType::kPrefixed};
  auto node = EncodeAclChange(prefixed);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ("/kafka-acl-extended-changes/acl_changes_", node->path);
  EXPECT_EQ(
      "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"some-topic\","
      "\"patternType\":\"PREFIXED\"}",
      node->data);
  auto decoded = DecodeExtendedAclChange(node->data);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(prefixed, *decoded);

  // Field order and spacing do not matter; a LITERAL pattern type is readable too.
  decoded = DecodeExtendedAclChange(
      "{ \"patternType\" : \"LITERAL\", \"name\" : \"g\", \"resourceType\" : \"group\", "
      "\"version\" : 1 }");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ((ResourcePattern{ResourceType::kGroup, "g", PatternType::kLiteral}), *decoded);
}

TEST(AclTest, ExtendedChangeRejectsMalformed) {
  const std::vector<std::string> bad = {
      "",
      "TOPIC:x",
      "{\"version\":2,\"resourceType\":\"TOPIC\",\"name\":\"x\",\"patternType\":\"PREFIXED\"}",
      "{\"resourceType\":\"TOPIC\",\"name\":\"x\",\"patternType\":\"PREFIXED\"}",
      "{\"version\":1,\"name\":\"x\",\"patternType\":\"PREFIXED\"}",
      "{\"version\":1,\"resourceType\":\"TOPIC\",\"patternType\":\"PREFIXED\"}",
      "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"x\"}",
      "{\"version\":1,\"resourceType\":\"WIDGET\",\"name\":\"x\",\"patternType\":\"PREFIXED\"}",
      "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"x\",\"patternType\":\"Prefixed\"}",
      "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":\"x\",\"patternType\":\"MATCH\"}",
      "{\"version\":1,\"resourceType\":\"TOPIC\",\"name\":7,\"patternType\":\"PREFIXED\"}",
  };
  for (const std::string& data : bad) {
    auto decoded = DecodeExtendedAclChange(data);
    // An ok Result carries an OK status, so this also fails when decoding succeeds.
    EXPECT_EQ(Status::Code::kCorruption, decoded.status().code()) << data;
  }
}

TEST(AclTest, EncodeChangeRejectsFilterValues) {
  EXPECT_FALSE(EncodeAclChange({ResourceType::kAny, "x", PatternType::kLiteral}).ok());
  EXPECT_FALSE(EncodeAclChange({ResourceType::kUnknown, "x", PatternType::kPrefixed}).ok());
  EXPECT_FALSE(EncodeAclChange({ResourceType::kTopic, "x", PatternType::kMatch}).ok());
  EXPECT_FALSE(EncodeAclChange({ResourceType::kTopic, "x", PatternType::kAny}).ok());
}

TEST(AclTest, DecodeChangeByStore) {
  auto literal = DecodeAclChange("/kafka-acl-changes", "GROUP:g");
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(PatternType::kLiteral, literal->pattern_type);
  auto extended = DecodeAclChange(
      "/kafka-acl-extended-changes",
      "{\"version\":1,\"resourceType\":\"USER\",\"name\":\"u\",\"patternType\":\"PREFIXED\"}");
  ASSERT_TRUE(extended.ok()) << extended.status().ToString();
  EXPECT_EQ((ResourcePattern{ResourceType::kUser, "u", PatternType::kPrefixed}), *extended);
  EXPECT_FALSE(DecodeAclChange("/kafka-acl", "GROUP:g").ok());
}

// --- Filters. ---

const ResourcePattern kLiteralFoo{ResourceType::kTopic, "foo", PatternType::kLiteral};
const ResourcePattern kLiteralWildcard{ResourceType::kTopic, "*", PatternType::kLiteral};
const ResourcePattern kPrefixedFo{ResourceType::kTopic, "fo", PatternType::kPrefixed};
const ResourcePattern kPrefixedFoo{ResourceType::kTopic, "foo", PatternType::kPrefixed};
const ResourcePattern kPrefixedFoobar{ResourceType::kTopic, "foobar", PatternType::kPrefixed};
const ResourcePattern kLiteralBar{ResourceType::kTopic, "bar", PatternType::kLiteral};
const ResourcePattern kGroupFoo{ResourceType::kGroup, "foo", PatternType::kLiteral};

TEST(AclFilterTest, AnyFilterMatchesEverything) {
  ResourcePatternFilter any;
  for (const ResourcePattern& p : {kLiteralFoo, kLiteralWildcard, kPrefixedFo, kGroupFoo}) {
    EXPECT_TRUE(any.Matches(p)) << ToString(p);
  }
  EXPECT_TRUE(AclBindingFilter{}.Matches(
      {kLiteralFoo, Ace("User:a", "*", AclOperation::kRead, AclPermissionType::kAllow)}));
  EXPECT_FALSE(any.MatchesAtMostOne());
  EXPECT_FALSE(any.IsUnknown());
}

TEST(AclFilterTest, ResourceTypeMustMatchUnlessAny) {
  ResourcePatternFilter f{ResourceType::kGroup, std::nullopt, PatternType::kAny};
  EXPECT_TRUE(f.Matches(kGroupFoo));
  EXPECT_FALSE(f.Matches(kLiteralFoo));
}

TEST(AclFilterTest, LiteralFilterMatchesExactLiteralOnly) {
  ResourcePatternFilter f{ResourceType::kTopic, "foo", PatternType::kLiteral};
  EXPECT_TRUE(f.Matches(kLiteralFoo));
  EXPECT_FALSE(f.Matches(kLiteralWildcard));
  EXPECT_FALSE(f.Matches(kPrefixedFoo));
  EXPECT_FALSE(f.Matches(kPrefixedFo));
  EXPECT_FALSE(f.Matches(kGroupFoo));
  EXPECT_TRUE(f.MatchesAtMostOne());
  // A literal filter for "*" matches the wildcard pattern itself.
  EXPECT_TRUE((ResourcePatternFilter{ResourceType::kTopic, "*", PatternType::kLiteral})
                  .Matches(kLiteralWildcard));
}

TEST(AclFilterTest, PrefixedFilterMatchesExactPrefixedOnly) {
  ResourcePatternFilter f{ResourceType::kTopic, "foo", PatternType::kPrefixed};
  EXPECT_TRUE(f.Matches(kPrefixedFoo));
  EXPECT_FALSE(f.Matches(kPrefixedFo));
  EXPECT_FALSE(f.Matches(kPrefixedFoobar));
  EXPECT_FALSE(f.Matches(kLiteralFoo));
  // Without a name: every prefixed pattern of the type.
  ResourcePatternFilter all{ResourceType::kTopic, std::nullopt, PatternType::kPrefixed};
  EXPECT_TRUE(all.Matches(kPrefixedFo));
  EXPECT_FALSE(all.Matches(kLiteralFoo));
  EXPECT_FALSE(all.MatchesAtMostOne());
}

TEST(AclFilterTest, AnyPatternTypeMatchesLiteralAndPrefixedWithTheSameName) {
  ResourcePatternFilter f{ResourceType::kTopic, "foo", PatternType::kAny};
  EXPECT_TRUE(f.Matches(kLiteralFoo));
  EXPECT_TRUE(f.Matches(kPrefixedFoo));
  EXPECT_FALSE(f.Matches(kLiteralWildcard));
  EXPECT_FALSE(f.Matches(kPrefixedFo));
  // Kafka counts an ANY pattern type as definite (DeleteAcls looks up both patterns).
  EXPECT_TRUE(f.MatchesAtMostOne());
}

TEST(AclFilterTest, MatchFilterMatchesPatternsThatApplyToTheName) {
  ResourcePatternFilter f{ResourceType::kTopic, "foo", PatternType::kMatch};
  EXPECT_TRUE(f.Matches(kLiteralFoo));
  EXPECT_TRUE(f.Matches(kLiteralWildcard));
  EXPECT_TRUE(f.Matches(kPrefixedFo));
  EXPECT_TRUE(f.Matches(kPrefixedFoo));
  EXPECT_FALSE(f.Matches(kPrefixedFoobar));
  EXPECT_FALSE(f.Matches(kLiteralBar));
  EXPECT_FALSE(f.Matches(kGroupFoo));
  EXPECT_FALSE(f.MatchesAtMostOne());
  // Without a name, MATCH matches every pattern of the type.
  ResourcePatternFilter all{ResourceType::kTopic, std::nullopt, PatternType::kMatch};
  EXPECT_TRUE(all.Matches(kLiteralBar));
  EXPECT_TRUE(all.Matches(kPrefixedFoobar));
  EXPECT_FALSE(all.Matches(kGroupFoo));
}

TEST(AclFilterTest, EntryFilter) {
  AccessControlEntry e =
      Ace("User:alice", "10.0.0.1", AclOperation::kRead, AclPermissionType::kAllow);
  EXPECT_TRUE(AccessControlEntryFilter{}.Matches(e));
  EXPECT_TRUE((AccessControlEntryFilter{"User:alice", std::nullopt, AclOperation::kAny,
                                        AclPermissionType::kAny})
                  .Matches(e));
  EXPECT_FALSE((AccessControlEntryFilter{"User:bob", std::nullopt, AclOperation::kAny,
                                         AclPermissionType::kAny})
                   .Matches(e));
  // Values are compared literally: a User:* filter does not mean "any principal".
  EXPECT_FALSE((AccessControlEntryFilter{"User:*", std::nullopt, AclOperation::kAny,
                                         AclPermissionType::kAny})
                   .Matches(e));
  EXPECT_FALSE(
      (AccessControlEntryFilter{std::nullopt, "*", AclOperation::kAny, AclPermissionType::kAny})
          .Matches(e));
  EXPECT_TRUE((AccessControlEntryFilter{std::nullopt, "10.0.0.1", AclOperation::kRead,
                                        AclPermissionType::kAllow})
                  .Matches(e));
  EXPECT_FALSE((AccessControlEntryFilter{std::nullopt, std::nullopt, AclOperation::kDescribe,
                                         AclPermissionType::kAny})
                   .Matches(e));
  EXPECT_FALSE((AccessControlEntryFilter{std::nullopt, std::nullopt, AclOperation::kAny,
                                         AclPermissionType::kDeny})
                   .Matches(e));
  AccessControlEntryFilter exact{"User:alice", "10.0.0.1", AclOperation::kRead,
                                 AclPermissionType::kAllow};
  EXPECT_TRUE(exact.MatchesAtMostOne());
  EXPECT_FALSE(AccessControlEntryFilter{}.MatchesAtMostOne());
}

TEST(AclFilterTest, BindingFilterNeedsBothParts) {
  AclBinding b{kPrefixedFo, Ace("User:alice", "*", AclOperation::kWrite, AclPermissionType::kDeny)};
  AclBindingFilter f{{ResourceType::kTopic, "foo", PatternType::kMatch},
                     {"User:alice", std::nullopt, AclOperation::kWrite, AclPermissionType::kAny}};
  EXPECT_TRUE(f.Matches(b));
  f.entry.principal = "User:bob";
  EXPECT_FALSE(f.Matches(b));
  f.entry.principal.reset();
  f.pattern.name = "bar";
  EXPECT_FALSE(f.Matches(b));
}

TEST(AclFilterTest, UnknownFields) {
  EXPECT_TRUE(
      (AclBindingFilter{{ResourceType::kUnknown, "x", PatternType::kLiteral}, {}}).IsUnknown());
  EXPECT_TRUE(
      (AclBindingFilter{{ResourceType::kTopic, "x", PatternType::kUnknown}, {}}).IsUnknown());
  AclBindingFilter op_unknown;
  op_unknown.entry.operation = AclOperation::kUnknown;
  EXPECT_TRUE(op_unknown.IsUnknown());
  AclBindingFilter permission_unknown;
  permission_unknown.entry.permission = AclPermissionType::kUnknown;
  EXPECT_TRUE(permission_unknown.IsUnknown());
  EXPECT_FALSE(AclBindingFilter{}.IsUnknown());
}

TEST(AclTest, ValidateAclBinding) {
  AccessControlEntry ok_entry = Ace("User:a", "*", AclOperation::kRead, AclPermissionType::kAllow);
  EXPECT_TRUE(ValidateAclBinding({kLiteralFoo, ok_entry}).ok());
  EXPECT_TRUE(ValidateAclBinding({kPrefixedFo, ok_entry}).ok());
  EXPECT_TRUE(ValidateAclBinding({kLiteralWildcard, ok_entry}).ok());
  EXPECT_TRUE(ValidateAclBinding(
                  {{ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral}, ok_entry})
                  .ok());

  auto invalid = [](const AclBinding& b) {
    Status s = ValidateAclBinding(b);
    return !s.ok() && s.code() == Status::Code::kInvalidArgument;
  };
  EXPECT_TRUE(invalid({{ResourceType::kUnknown, "x", PatternType::kLiteral}, ok_entry}));
  EXPECT_TRUE(invalid({{ResourceType::kAny, "x", PatternType::kLiteral}, ok_entry}));
  EXPECT_TRUE(invalid({{ResourceType::kTopic, "x", PatternType::kMatch}, ok_entry}));
  EXPECT_TRUE(invalid({{ResourceType::kTopic, "x", PatternType::kAny}, ok_entry}));
  EXPECT_TRUE(invalid({{ResourceType::kTopic, "x", PatternType::kUnknown}, ok_entry}));
  EXPECT_TRUE(invalid({{ResourceType::kTopic, "", PatternType::kLiteral}, ok_entry}));
  EXPECT_TRUE(invalid({{ResourceType::kTopic, "a/b", PatternType::kLiteral}, ok_entry}));
  EXPECT_TRUE(invalid({{ResourceType::kCluster, "other", PatternType::kLiteral}, ok_entry}));
  EXPECT_TRUE(
      invalid({kLiteralFoo, Ace("User:a", "*", AclOperation::kAny, AclPermissionType::kAllow)}));
  EXPECT_TRUE(invalid(
      {kLiteralFoo, Ace("User:a", "*", AclOperation::kUnknown, AclPermissionType::kAllow)}));
  EXPECT_TRUE(
      invalid({kLiteralFoo, Ace("User:a", "*", AclOperation::kRead, AclPermissionType::kAny)}));
  EXPECT_TRUE(
      invalid({kLiteralFoo, Ace("alice", "*", AclOperation::kRead, AclPermissionType::kAllow)}));
}

TEST(AclTest, ParseKafkaPrincipal) {
  auto p = ParseKafkaPrincipal("User:CN=a:b");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ("User", p->type);
  EXPECT_EQ("CN=a:b", p->name);
  EXPECT_FALSE(ParseKafkaPrincipal("").ok());
  EXPECT_FALSE(ParseKafkaPrincipal("alice").ok());
}

TEST(AclTest, ToStringForLogs) {
  EXPECT_EQ("ResourcePattern(resourceType=TOPIC, name=foo, patternType=LITERAL)",
            ToString(kLiteralFoo));
  EXPECT_EQ("(principal=User:a, host=*, operation=CLUSTER_ACTION, permissionType=DENY)",
            ToString(Ace("User:a", "*", AclOperation::kClusterAction, AclPermissionType::kDeny)));
}

}  // namespace
}  // namespace gregor::security
