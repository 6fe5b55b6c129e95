#include "gregor/security/plain.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "gregor/security/jaas.h"

namespace gregor::security {
namespace {

using namespace std::string_literals;

const std::map<std::string, std::string> kUsers = {{"admin", "admin-secret"},
                                                   {"alice", "alice-secret"}};

std::string ErrorOf(const std::string& message) {
  Result<std::string> r = AuthenticatePlain(message, kUsers);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
  return r.status().message();
}

TEST(PlainTest, ParsesTheThreeTokens) {
  Result<PlainMessage> m = ParsePlainMessage("\0alice\0alice-secret"s);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ("", m->authzid);
  EXPECT_EQ("alice", m->username);
  EXPECT_EQ("alice-secret", m->password);
  m = ParsePlainMessage("alice\0alice\0pw with spaces \xc3\xa9"s);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ("alice", m->authzid);
  EXPECT_EQ("pw with spaces \xc3\xa9", m->password);
}

TEST(PlainTest, AuthenticatesAgainstUsers) {
  Result<std::string> r = AuthenticatePlain("\0alice\0alice-secret"s, kUsers);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ("alice", *r);
  r = AuthenticatePlain("admin\0admin\0admin-secret"s, kUsers);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ("admin", *r);
}

TEST(PlainTest, WrongPasswordAndUnknownUserLookTheSame) {
  const std::string kFailed = "Authentication failed: Invalid username or password";
  EXPECT_EQ(kFailed, ErrorOf("\0alice\0wrong"s));
  EXPECT_EQ(kFailed, ErrorOf("\0alice\0alice-secre"s));    // a prefix
  EXPECT_EQ(kFailed, ErrorOf("\0alice\0alice-secretX"s));  // an extension
  EXPECT_EQ(kFailed, ErrorOf("\0alice\0admin-secret"s));   // another user's password
  EXPECT_EQ(kFailed, ErrorOf("\0mallory\0alice-secret"s));
  EXPECT_EQ(kFailed, ErrorOf("\0Alice\0alice-secret"s));  // names are case-sensitive
}

TEST(PlainTest, ErrorsNeverContainThePassword) {
  EXPECT_EQ(std::string::npos, ErrorOf("\0alice\0hunter2"s).find("hunter2"));
  EXPECT_EQ(std::string::npos, ErrorOf("bob\0alice\0hunter2"s).find("hunter2"));
}

TEST(PlainTest, MalformedMessages) {
  EXPECT_EQ("Invalid SASL/PLAIN response: expected 3 tokens, got 2", ErrorOf("alice\0pw"s));
  EXPECT_EQ("Invalid SASL/PLAIN response: expected 3 tokens, got 1", ErrorOf(""));
  EXPECT_EQ("Invalid SASL/PLAIN response: expected 3 tokens, got 4",
            ErrorOf("\0alice\0alice-secret\0"s));
  EXPECT_EQ("Authentication failed: username not specified", ErrorOf("\0\0alice-secret"s));
  EXPECT_EQ("Authentication failed: password not specified", ErrorOf("\0alice\0"s));
}

TEST(PlainTest, AuthorizationIdMustBeTheUsername) {
  EXPECT_EQ(
      "Authentication failed: Client requested an authorization id that is different from "
      "username",
      ErrorOf("admin\0alice\0alice-secret"s));
}

TEST(PlainTest, SizeLimit) {
  std::map<std::string, std::string> users = {{"u", std::string(kMaxPlainMessageSize - 3, 'p')}};
  std::string at_limit = "\0u\0"s + users["u"];
  ASSERT_EQ(kMaxPlainMessageSize, at_limit.size());
  Result<std::string> r = AuthenticatePlain(at_limit, users);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Result<std::string> over = AuthenticatePlain(at_limit + "p", users);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(0u, over.status().message().rfind("Invalid SASL/PLAIN response: message of 8193 "
                                              "bytes exceeds the limit of 8192",
                                              0))
      << over.status().message();
}

TEST(PlainTest, UsersFromJaasConfig) {
  Result<JaasConfig> jaas = ParseJaasConfig(
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" "
      "password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";");
  ASSERT_TRUE(jaas.ok());
  std::map<std::string, std::string> users = PlainUsers(*jaas);
  EXPECT_TRUE(AuthenticatePlain("\0alice\0alice-secret"s, users).ok());
  EXPECT_TRUE(AuthenticatePlain("\0admin\0admin-secret"s, users).ok());
  // `username`/`password` are the broker's own client credentials, not a user entry.
  EXPECT_FALSE(AuthenticatePlain("\0username\0admin"s, users).ok());
}

}  // namespace
}  // namespace gregor::security
