#include "tools/acl_command.h"

#include <gtest/gtest.h>

#include "tools/command_config.h"
#include "tools/quota_command.h"

namespace gregor::tools {
namespace {

Result<AclCommand> ParseAcl(std::vector<std::string> args) {
  auto r = ParseAclCommand(args, nullptr);
  EXPECT_TRUE(r.has_value());
  return r ? std::move(*r) : Result<AclCommand>(Status::Internal("not an acl command"));
}

TEST(AclCommandTest, NotAnAclCommand) {
  EXPECT_FALSE(ParseAclCommand({"topic", "list"}, nullptr).has_value());
}

TEST(AclCommandTest, AddExpandsPrincipalsHostsOperationsAndResources) {
  auto c = ParseAcl({"-b", "h:1", "acl", "add", "--allow-principal", "User:alice",
                     "--allow-principal", "User:bob", "--operation", "read", "--operation", "Write",
                     "--topic", "orders", "--resource-pattern-type", "prefixed"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->global.bootstrap, "h:1");
  EXPECT_EQ(c->kind, AclCommand::Kind::kAdd);
  ASSERT_EQ(c->bindings.size(), 4u);
  EXPECT_EQ(c->bindings[0], (AclSpec{AclResource::kTopic, "orders", AclPattern::kPrefixed,
                                     "User:alice", "*", 3, AclPermission::kAllow}));
  EXPECT_EQ(c->bindings[3].principal, "User:bob");
  EXPECT_EQ(c->bindings[3].operation, 4);
}

TEST(AclCommandTest, ProducerAndConsumerConveniencesAsKafkaAclsSh) {
  auto c = ParseAcl({"acl", "add", "--allow-principal", "User:a", "--producer", "--consumer",
                     "--topic", "t", "--group", "g", "--transactional-id", "x"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<std::pair<AclResource, int>> got;
  for (const auto& b : c->bindings) got.push_back({b.resource, b.operation});
  EXPECT_EQ(got, (std::vector<std::pair<AclResource, int>>{{AclResource::kTopic, 4},
                                                           {AclResource::kTopic, 8},
                                                           {AclResource::kTopic, 5},
                                                           {AclResource::kTopic, 3},
                                                           {AclResource::kTopic, 8},
                                                           {AclResource::kGroup, 3},
                                                           {AclResource::kTransactionalId, 4},
                                                           {AclResource::kTransactionalId, 8}}));
  auto deny = ParseAcl({"acl", "remove", "--deny-principal", "User:a", "--deny-host", "10.0.0.1",
                        "--operation", "All", "--cluster"});
  ASSERT_TRUE(deny.ok());
  EXPECT_EQ(deny->bindings.at(0),
            (AclSpec{AclResource::kCluster, "kafka-cluster", AclPattern::kLiteral, "User:a",
                     "10.0.0.1", 2, AclPermission::kDeny}));
}

TEST(AclCommandTest, ListFilterAndBadUsage) {
  auto l = ParseAcl({"acl", "list", "--group", "g", "--principal", "User:a"});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->filter.resource, AclResource::kGroup);
  EXPECT_EQ(l->filter.principal, "User:a");
  auto all = ParseAcl({"acl", "list"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->filter.resource, AclResource::kAny);
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"acl", "add", "--operation", "Read", "--topic", "t"},
        {"acl", "add", "--allow-principal", "alice", "--operation", "Read", "--topic", "t"},
        {"acl", "add", "--allow-principal", "User:a", "--operation", "Fly", "--topic", "t"},
        {"acl", "add", "--allow-principal", "User:a", "--operation", "Read"},
        {"acl", "add", "--allow-principal", "User:a", "--operation", "Read", "--topic", "t",
         "--resource-pattern-type", "match"},
        {"acl", "frob"},
        {"acl"}}) {
    EXPECT_FALSE(ParseAcl(bad).ok()) << bad.back();
  }
  EXPECT_EQ(FormatAclTable({{AclResource::kTopic, "t", AclPattern::kLiteral, "User:a", "*", 3,
                             AclPermission::kAllow}}),
            "PRINCIPAL\tHOST\tPERMISSION\tOPERATION\tRESOURCE\tNAME\tPATTERN\n"
            "User:a\t*\tALLOW\tRead\tTopic\tt\tLITERAL\n");
}

TEST(CommandConfigTest, JavaClientPropertiesBecomeLibrdkafkaSettings) {
  std::map<std::string, std::map<std::string, std::string>> files = {
      {"/admin.properties",
       {{"security.protocol", "SASL_SSL"},
        {"sasl.mechanism", "SCRAM-SHA-512"},
        {"sasl.jaas.config",
         "org.apache.kafka.common.security.scram.ScramLoginModule required "
         "username=\"admin\" password=\"s3cret\";"},
        {"ssl.truststore.type", "PEM"},
        {"ssl.truststore.location", "/etc/ca.pem"},
        {"ssl.endpoint.identification.algorithm", ""}}},
      {"/jks.properties", {{"ssl.truststore.type", "JKS"}}}};
  auto read = [&](const std::string& p) -> Result<std::map<std::string, std::string>> {
    auto it = files.find(p);
    if (it == files.end()) return Status::NotFound(p + ": no such file");
    return it->second;
  };
  auto args = ExpandCommandConfig(
      {"acl", "list", "--command-config", "/admin.properties", "-X", "sasl.password=override"},
      read);
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_EQ(*args,
            (std::vector<std::string>{
                "-X", "sasl.username=admin", "-X", "sasl.password=s3cret", "-X",
                "sasl.mechanism=SCRAM-SHA-512", "-X", "security.protocol=sasl_ssl", "-X",
                "ssl.endpoint.identification.algorithm=none", "-X", "ssl.ca.location=/etc/ca.pem",
                "acl", "list", "-X", "sasl.password=override"}));
  EXPECT_FALSE(ExpandCommandConfig({"--command-config=/jks.properties"}, read).ok());
  EXPECT_FALSE(ExpandCommandConfig({"--command-config", "/missing"}, read).ok());
  EXPECT_FALSE(ExpandCommandConfig({"--command-config"}, read).ok());
}

}  // namespace
}  // namespace gregor::tools

namespace gregor::tools {
namespace {

TEST(QuotaCommandTest, ParsesKafkaConfigsStyleEntities) {
  EXPECT_FALSE(ParseQuotaCommand({"topic", "list"}, nullptr).has_value());
  auto c = ParseQuotaCommand(
      {"quota", "set", "--user", "alice", "--client-default", "--add",
       "producer_byte_rate=1024,request_percentage=12.5", "--delete", "consumer_byte_rate"},
      nullptr);
  ASSERT_TRUE(c.has_value() && c->ok()) << (c ? c->status().ToString() : "");
  const QuotaCommand& q = **c;
  EXPECT_TRUE(q.set);
  EXPECT_EQ(q.user, (QuotaEntityPart{true, std::string("alice")}));
  EXPECT_EQ(q.client, (QuotaEntityPart{true, std::nullopt}));
  EXPECT_EQ(q.add, (std::vector<std::pair<std::string, double>>{{"producer_byte_rate", 1024},
                                                                {"request_percentage", 12.5}}));
  EXPECT_EQ(q.remove, std::vector<std::string>{"consumer_byte_rate"});
  EXPECT_FALSE(q.ip.present);
  // KIP-612: --ip / --ip-default, alone.
  auto ip = ParseQuotaCommand(
      {"quota", "set", "--ip", "1.2.3.4", "--add", "connection_creation_rate=10"}, nullptr);
  ASSERT_TRUE(ip.has_value() && ip->ok()) << (ip ? ip->status().ToString() : "");
  EXPECT_EQ((*ip)->ip, (QuotaEntityPart{true, std::string("1.2.3.4")}));
  auto ip_default = ParseQuotaCommand({"quota", "describe", "--ip-default"}, nullptr);
  ASSERT_TRUE(ip_default.has_value() && ip_default->ok());
  EXPECT_EQ((*ip_default)->ip, (QuotaEntityPart{true, std::nullopt}));
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"quota", "set", "--add", "producer_byte_rate=1"},
        {"quota", "set", "--user", "a"},
        {"quota", "set", "--user", "a", "--user", "b", "--add", "x=1"},
        {"quota", "set", "--user", "a", "--add", "x=lots"},
        {"quota", "describe", "--add", "x=1"},
        {"quota", "frob"},
        {"quota", "set", "--ip", "1.2.3.4", "--user", "a", "--add", "connection_creation_rate=1"},
        {"quota", "describe", "--ip-default", "--ip", "1.2.3.4"},
        {"-X", "security.protocol=sasl_ssl", "quota", "describe"}}) {  // no username
    auto r = ParseQuotaCommand(bad, nullptr);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->ok()) << bad.back();
  }
}

}  // namespace
}  // namespace gregor::tools
