// AuthenticateSaslClient against the broker's own PLAIN and SCRAM servers, through a step
// function standing in for SaslAuthenticate round trips.
#include "gregor/security/sasl_client.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "gregor/security/plain.h"
#include "gregor/security/scram.h"

namespace gregor::security {
namespace {

TEST(SaslClientTest, PlainSendsOneTokenTheServerAccepts) {
  const std::map<std::string, std::string> users = {{"alice", "alice-secret"}};
  std::vector<std::string> sent;
  auto step = [&](const std::string& token) -> Result<std::string> {
    sent.push_back(token);
    Result<std::string> who = AuthenticatePlain(token, users);
    if (!who.ok()) return who.status();
    return std::string();
  };
  EXPECT_TRUE(AuthenticateSaslClient("PLAIN", "alice", "alice-secret", step).ok());
  ASSERT_EQ(1u, sent.size());
  EXPECT_EQ(std::string("\0alice\0alice-secret", 19), sent[0]);
  EXPECT_FALSE(AuthenticateSaslClient("PLAIN", "alice", "wrong", step).ok());
}

TEST(SaslClientTest, ScramBothMechanismsAgainstTheServer) {
  for (auto m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    Result<std::string> salt = GenerateScramSalt();
    ASSERT_TRUE(salt.ok());
    Result<std::string> salted = ScramSaltedPassword(m, "s3cret", *salt, 4096);
    ASSERT_TRUE(salted.ok());
    // A credential stored from the client's salted password (AlterUserScramCredentials) is the
    // one a password derives.
    Result<ScramCredential> stored = ScramCredentialFromSaltedPassword(m, *salt, *salted, 4096);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(*GenerateScramCredential(m, "s3cret", *salt, 4096), *stored);
    for (const char* password : {"s3cret", "not-it"}) {
      ScramServer server(m, [&](const std::string& user) -> std::optional<ScramCredential> {
        if (user != "bob") return std::nullopt;
        return *stored;
      });
      int rounds = 0;
      Status st = AuthenticateSaslClient(ScramMechanismName(m), "bob", password,
                                         [&](const std::string& token) {
                                           ++rounds;
                                           return server.Evaluate(token);
                                         });
      EXPECT_EQ(std::string(password) == "s3cret", st.ok()) << st.message();
      EXPECT_EQ(2, rounds);
      EXPECT_EQ(st.ok(), server.complete());
    }
  }
}

TEST(SaslClientTest, AServerThatCannotSignIsRefused) {
  // The server answers server-first properly and then a signature from another key.
  int rounds = 0;
  Status st = AuthenticateSaslClient("SCRAM-SHA-256", "u", "p", [&](const std::string& token) {
    ++rounds;
    if (rounds == 1) {
      const std::string nonce = token.substr(token.find("r=") + 2);
      return Result<std::string>("r=" + nonce + "xyz,s=c2FsdHNhbHQ=,i=4096");
    }
    return Result<std::string>(std::string("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(2, rounds);
}

TEST(SaslClientTest, UnsupportedMechanismsAndStepErrors) {
  EXPECT_TRUE(IsClientSaslMechanism("PLAIN"));
  EXPECT_TRUE(IsClientSaslMechanism("SCRAM-SHA-512"));
  EXPECT_FALSE(IsClientSaslMechanism("GSSAPI"));
  EXPECT_FALSE(IsClientSaslMechanism("scram-sha-256"));
  int calls = 0;
  auto never = [&](const std::string&) -> Result<std::string> {
    ++calls;
    return std::string();
  };
  EXPECT_FALSE(AuthenticateSaslClient("OAUTHBEARER", "u", "p", never).ok());
  EXPECT_EQ(0, calls);
  Status st = AuthenticateSaslClient("SCRAM-SHA-512", "u", "p", [](const std::string&) {
    return Result<std::string>(Status::InvalidArgument("SASL_AUTHENTICATION_FAILED: nope"));
  });
  EXPECT_EQ("SASL_AUTHENTICATION_FAILED: nope", st.message());
}

}  // namespace
}  // namespace gregor::security
