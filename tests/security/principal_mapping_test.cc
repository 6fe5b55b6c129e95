// ssl.principal.mapping.rules: parsing (Kafka's syntax and its errors) and mapping of RFC 2253
// subjects, with the examples of KIP-371 and Kafka's documentation.
#include "gregor/security/principal_mapping.h"

#include <gtest/gtest.h>

namespace gregor::security {
namespace {

std::string MapWith(const std::string& rules, const std::string& dn) {
  auto m = SslPrincipalMapper::Parse(rules);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (!m.ok()) return "<parse error>";
  auto name = m->Map(dn);
  return name.ok() ? *name : "<" + name.status().message() + ">";
}

TEST(SslPrincipalMapperTest, DefaultIsTheDistinguishedName) {
  EXPECT_EQ(MapWith("DEFAULT", "CN=alice,OU=eng,O=Example,C=US"), "CN=alice,OU=eng,O=Example,C=US");
  EXPECT_EQ(MapWith("", "CN=alice"), "CN=alice");
  EXPECT_EQ(MapWith("  ", "CN=alice"), "CN=alice");
}

TEST(SslPrincipalMapperTest, RulesInOrderWithGroupsAndCase) {
  const std::string rules =
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/, RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),"
      "C=(.*?)$/$1@$2/L,\n RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, DEFAULT";
  EXPECT_EQ(MapWith(rules, "CN=kafka-broker,OU=ServiceUsers,O=Org,C=US"), "kafka-broker");
  EXPECT_EQ(MapWith(rules, "CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Cupertino,ST=CA,C=US"),
            "duke@javasoft");
  EXPECT_EQ(MapWith(rules, "OU=x,cn=bob.smith,O=y"), "BOB.SMITH");
  EXPECT_EQ(MapWith(rules, "O=NoCommonName"), "O=NoCommonName");
  // An escaped slash belongs to the pattern; commas inside a pattern need no escape.
  EXPECT_EQ(MapWith("RULE:^CN=([^,]*)\\/ops,O=(.*)$/$2-$1/", "CN=eve/ops,O=acme"), "acme-eve");
}

TEST(SslPrincipalMapperTest, NoRuleAppliesIsAnError) {
  auto m = SslPrincipalMapper::Parse("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/");
  ASSERT_TRUE(m.ok());
  auto name = m->Map("CN=alice,OU=eng");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), Status::Code::kNotFound);
  EXPECT_NE(name.status().message().find("CN=alice,OU=eng"), std::string::npos);
}

TEST(SslPrincipalMapperTest, InvalidRulesAreRefused) {
  for (const char* bad : {"RULE:^CN=(.*)$", "RULE:^CN=(.*)$/$1", "NONSENSE", "DEFAULT junk",
                          "RULE:^CN=((.*$/$1/", "RULE:a/b/X"}) {
    auto m = SslPrincipalMapper::Parse(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace gregor::security
