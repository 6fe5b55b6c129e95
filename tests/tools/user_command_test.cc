#include "tools/user_command.h"

#include <gtest/gtest.h>

#include "tools/client_security.h"

namespace gregor::tools {
namespace {

using security::ScramMechanism;

Result<UserCommand> ParseUser(std::vector<std::string> args) {
  auto r = ParseUserCommand(args, nullptr);
  EXPECT_TRUE(r.has_value());
  return r ? std::move(*r) : Result<UserCommand>(Status::Internal("not a user command"));
}

std::string ErrorOf(const Result<UserCommand>& r) { return r.ok() ? "<ok>" : r.status().message(); }

TEST(UserCommandTest, NotAUserCommand) {
  EXPECT_FALSE(ParseUserCommand({"quota", "describe"}, nullptr).has_value());
}

TEST(UserCommandTest, SetWithBothMechanisms) {
  auto c =
      ParseUser({"user", "scram", "set", "alice", "--mechanism", "SCRAM-SHA-256", "--mechanism",
                 "SCRAM-SHA-512", "--iterations", "8192", "--password", "pw", "-b", "h:1"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(UserCommand::Kind::kSet, c->kind);
  EXPECT_EQ("h:1", c->global.bootstrap);
  EXPECT_EQ(std::vector<std::string>{"alice"}, c->users);
  EXPECT_EQ((std::vector<ScramMechanism>{ScramMechanism::kSha256, ScramMechanism::kSha512}),
            c->mechanisms);
  EXPECT_EQ(8192, c->iterations);
  EXPECT_EQ("pw", c->password.value_or(""));
  EXPECT_EQ(1, ScramMechanismCode(ScramMechanism::kSha256));
  EXPECT_EQ(2, ScramMechanismCode(ScramMechanism::kSha512));
  EXPECT_EQ(ScramMechanism::kSha512, ScramMechanismFromCode(2));
  EXPECT_FALSE(ScramMechanismFromCode(0).has_value());
}

TEST(UserCommandTest, ListAndDelete) {
  auto all = ParseUser({"user", "scram", "list"});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->users.empty());
  auto some = ParseUser({"user", "scram", "list", "a", "b"});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ((std::vector<std::string>{"a", "b"}), some->users);
  auto del = ParseUser({"user", "scram", "delete", "a", "--mechanism", "SCRAM-SHA-512"});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ(UserCommand::Kind::kDelete, del->kind);
}

TEST(UserCommandTest, BadUsage) {
  const std::vector<std::vector<std::string>> cases = {
      {"user", "scram"},
      {"user", "plain", "list"},
      {"user", "scram", "rename"},
      {"user", "scram", "set", "a", "--password", "p"},               // mechanism
      {"user", "scram", "set", "a", "--mechanism", "SCRAM-SHA-256"},  // password
      {"user", "scram", "set", "a", "b", "--mechanism", "SCRAM-SHA-256", "--password", "p"},
      {"user", "scram", "set", "a", "--mechanism", "SCRAM-SHA-1", "--password", "p"},
      {"user", "scram", "set", "a", "--mechanism", "SCRAM-SHA-256", "--mechanism", "SCRAM-SHA-256",
       "--password", "p"},
      {"user", "scram", "set", "a", "--mechanism", "SCRAM-SHA-256", "--password", "p",
       "--password-file", "f"},
      {"user", "scram", "set", "a", "--mechanism", "SCRAM-SHA-256", "--password", "p",
       "--iterations", "100"},
      {"user", "scram", "list", "--password", "p"},
      {"user", "scram", "delete", "a"},
      {"user", "scram", "delete", "a", "--mechanism"},
  };
  for (const auto& args : cases) {
    auto r = ParseUser(args);
    EXPECT_FALSE(r.ok()) << testing::PrintToString(args);
    if (!r.ok()) {
      EXPECT_NE(std::string::npos, r.status().message().find("usage:"));
    }
  }
  EXPECT_NE(std::string::npos,
            ErrorOf(ParseUser({"user", "scram", "set", "a", "--mechanism", "SCRAM-SHA-256",
                               "--password", "p", "--iterations", "100"}))
                .find("--iterations"));
}

TEST(UserCommandTest, Help) {
  auto h = ParseUser({"user", "--help"});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->help);
  EXPECT_NE(std::string::npos, h->usage.find("user scram set"));
}

TEST(ClientSecurityTest, DefaultsArePlaintext) {
  auto s = ParseClientSecurity({});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(ClientSecurity{}, *s);
  EXPECT_FALSE(s->tls);
  EXPECT_FALSE(s->sasl);
}

TEST(ClientSecurityTest, SaslSslAsLibrdkafkaTakesIt) {
  auto s = ParseClientSecurity({{"security.protocol", "SASL_SSL"},
                                {"sasl.mechanisms", "SCRAM-SHA-256"},
                                {"sasl.username", "u"},
                                {"sasl.password", "p"},
                                {"ssl.ca.location", "/ca.pem"},
                                {"ssl.endpoint.identification.algorithm", "none"},
                                {"linger.ms", "5"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->tls && s->sasl);
  EXPECT_EQ("SCRAM-SHA-256", s->sasl_mechanism);
  EXPECT_EQ("u", s->sasl_username);
  EXPECT_EQ("/ca.pem", s->ca_location);
  EXPECT_FALSE(s->verify_hostname);
  EXPECT_TRUE(s->verify_certificate);

  auto mtls = ParseClientSecurity({{"security.protocol", "ssl"},
                                   {"ssl.certificate.location", "/c.pem"},
                                   {"ssl.key.location", "/k.pem"},
                                   {"ssl.key.password", "kp"},
                                   {"enable.ssl.certificate.verification", "false"}});
  ASSERT_TRUE(mtls.ok());
  EXPECT_TRUE(mtls->tls);
  EXPECT_FALSE(mtls->sasl);
  EXPECT_FALSE(mtls->verify_certificate);
  EXPECT_EQ("kp", mtls->key_password);
}

TEST(ClientSecurityTest, Refusals) {
  const std::vector<std::vector<KeyValue>> cases = {
      {{"security.protocol", "tls"}},
      {{"security.protocol", "sasl_plaintext"}, {"sasl.username", "u"}},  // GSSAPI default
      {{"security.protocol", "sasl_plaintext"},
       {"sasl.mechanism", "OAUTHBEARER"},
       {"sasl.username", "u"}},
      {{"security.protocol", "sasl_ssl"}, {"sasl.mechanism", "PLAIN"}},  // no username
      {{"security.protocol", "ssl"}, {"ssl.certificate.location", "/c.pem"}},
      {{"enable.ssl.certificate.verification", "maybe"}},
      {{"ssl.endpoint.identification.algorithm", "ldap"}},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(ParseClientSecurity(c).ok()) << c.front().key << "=" << c.front().value;
  }
}

}  // namespace
}  // namespace gregor::tools
