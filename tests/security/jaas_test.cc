#include "gregor/security/jaas.h"

#include <gtest/gtest.h>

#include <string>

namespace gregor::security {
namespace {

constexpr char kPlainBroker[] =
    "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" "
    "password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";";

// The message of a failed parse; fails the test when the parse succeeds.
std::string ErrorOf(const std::string& text) {
  Result<JaasConfig> r = ParseJaasConfig(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return "";
  EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
  return r.status().message();
}

TEST(JaasTest, ParsesKafkaPlainBrokerExample) {
  Result<JaasConfig> r = ParseJaasConfig(kPlainBroker);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(kPlainLoginModule, r->login_module);
  EXPECT_EQ(JaasControlFlag::kRequired, r->control_flag);
  std::map<std::string, std::string> want = {{"username", "admin"},
                                             {"password", "admin-secret"},
                                             {"user_admin", "admin-secret"},
                                             {"user_alice", "alice-secret"}};
  EXPECT_EQ(want, r->options);
  std::map<std::string, std::string> users = {{"admin", "admin-secret"}, {"alice", "alice-secret"}};
  EXPECT_EQ(users, PlainUsers(*r));
}

TEST(JaasTest, ParsesScramModuleWithoutOptions) {
  Result<JaasConfig> r =
      ParseJaasConfig("org.apache.kafka.common.security.scram.ScramLoginModule required;");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(kScramLoginModule, r->login_module);
  EXPECT_TRUE(r->options.empty());
  EXPECT_TRUE(PlainUsers(*r).empty());
}

TEST(JaasTest, ControlFlagsAnyCase) {
  struct Case {
    const char* text;
    JaasControlFlag flag;
  } cases[] = {{"M REQUIRED;", JaasControlFlag::kRequired},
               {"M Requisite;", JaasControlFlag::kRequisite},
               {"M sufficient;", JaasControlFlag::kSufficient},
               {"M optional;", JaasControlFlag::kOptional}};
  for (const Case& c : cases) {
    Result<JaasConfig> r = ParseJaasConfig(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(c.flag, r->control_flag) << c.text;
  }
  EXPECT_EQ("sufficient", JaasControlFlagName(JaasControlFlag::kSufficient));
}

TEST(JaasTest, BareValuesWhitespaceAndComments) {
  Result<JaasConfig> r = ParseJaasConfig(
      "  // the broker's users\n"
      "org.apache.kafka.common.security.plain.PlainLoginModule\trequired\n"
      "  username = admin   /* bare token */ retries=3\r\n"
      "  user_bob='bob pass' ; ");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ("admin", r->options.at("username"));
  EXPECT_EQ("3", r->options.at("retries"));
  EXPECT_EQ("bob pass", r->options.at("user_bob"));
}

TEST(JaasTest, EscapesInQuotedValues) {
  Result<JaasConfig> r = ParseJaasConfig(
      R"(M required a="pa\"ss\\word" b='it\'s "x"' c="tab\there" d="" e="semi;colon=eq";)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ("pa\"ss\\word", r->options.at("a"));
  EXPECT_EQ("it's \"x\"", r->options.at("b"));
  EXPECT_EQ("tab\there", r->options.at("c"));
  EXPECT_EQ("", r->options.at("d"));
  EXPECT_EQ("semi;colon=eq", r->options.at("e"));
}

TEST(JaasTest, RepeatedKeyLastWinsAsInKafka) {
  Result<JaasConfig> r = ParseJaasConfig("M required user_a=\"one\" user_a=\"two\";");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("two", PlainUsers(*r).at("a"));
}

TEST(JaasTest, PlainUsersIgnoresEmptyName) {
  Result<JaasConfig> r = ParseJaasConfig("M required user_=\"x\" users=\"y\" user_u=\"p\";");
  ASSERT_TRUE(r.ok());
  std::map<std::string, std::string> want = {{"u", "p"}};
  EXPECT_EQ(want, PlainUsers(*r));
}

TEST(JaasTest, MissingSemicolon) {
  std::string text = kPlainBroker;
  text.pop_back();
  std::string e = ErrorOf(text);
  EXPECT_NE(std::string::npos, e.find("not terminated by ';'")) << e;
  EXPECT_NE(std::string::npos, e.find("position " + std::to_string(text.size() + 1))) << e;
}

TEST(JaasTest, UnterminatedQuoteNamesWhereItStarts) {
  //                      1234567890123456789
  std::string e = ErrorOf("M required password=\"secret;");
  EXPECT_NE(std::string::npos, e.find("unterminated quoted string")) << e;
  EXPECT_NE(std::string::npos, e.find("position 21")) << e;
  EXPECT_EQ(std::string::npos, e.find("secret")) << "the value must not be echoed: " << e;
  e = ErrorOf("M required password=\"ends with backslash\\\";");
  EXPECT_NE(std::string::npos, e.find("unterminated quoted string")) << e;
}

TEST(JaasTest, TwoModulesAreRefused) {
  std::string first = "org.apache.kafka.common.security.plain.PlainLoginModule required;";
  std::string e =
      ErrorOf(first + " org.apache.kafka.common.security.scram.ScramLoginModule required;");
  EXPECT_NE(std::string::npos, e.find("exactly one login module")) << e;
  EXPECT_NE(std::string::npos, e.find("position " + std::to_string(first.size() + 2))) << e;
}

TEST(JaasTest, MalformedEntries) {
  EXPECT_NE(std::string::npos, ErrorOf("").find("login module not specified"));
  EXPECT_NE(std::string::npos, ErrorOf("  /* only a comment */ ").find("not specified"));
  EXPECT_NE(std::string::npos,
            ErrorOf("M;").find("control flag not specified in JAAS config at position 2"));
  EXPECT_NE(std::string::npos,
            ErrorOf("M").find("control flag not specified in JAAS config at position 2"));
  EXPECT_NE(std::string::npos,
            ErrorOf("M mandatory;").find("invalid login module control flag 'mandatory'"));
  EXPECT_NE(std::string::npos, ErrorOf("=x required;").find("login module class name"));
  EXPECT_NE(std::string::npos,
            ErrorOf("M required username=;").find("value not specified for option 'username'"));
  EXPECT_NE(std::string::npos,
            ErrorOf("M required username;").find("expected '=' after option 'username'"));
  EXPECT_NE(std::string::npos, ErrorOf("M required =x;").find("expected an option name"));
  EXPECT_NE(std::string::npos, ErrorOf("M required a=b=c;").find("expected an option name"));
  EXPECT_NE(std::string::npos, ErrorOf("M required /* open").find("unterminated comment"));
  EXPECT_NE(std::string::npos, ErrorOf("M required path=/etc/kafka;")
                                   .find("unexpected '/' in JAAS config at "
                                         "position 17"));
  Result<JaasConfig> quoted = ParseJaasConfig("M required path=\"/etc/kafka\";");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ("/etc/kafka", quoted->options.at("path"));
}

}  // namespace
}  // namespace gregor::security
