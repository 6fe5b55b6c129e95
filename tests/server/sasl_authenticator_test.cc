// SaslAuthenticator's state machine, with real PLAIN and SCRAM exchanges: what is admitted
// before, during and after authentication, Kafka's error codes, v0 raw tokens, re-authentication
// (KIP-368) and session expiry.
#include "server/sasl_authenticator.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gregor/protocol/api_key.h"
#include "gregor/security/base64.h"

namespace gregor::server {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

constexpr int16_t Key(ApiKey k) { return static_cast<int16_t>(k); }

class SaslAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.connections_max_reauth_ms = 60000;
    auto& l = config_.listener_sasl["SASL_PLAINTEXT"];
    l.mechanisms = {"GSSAPI", "PLAIN", "SCRAM-SHA-256"};
    l.jaas["PLAIN"] =
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        "user_alice=\"alice-secret\" user_bob=\"bob-secret\";";
    auto cred = security::GenerateScramCredential(security::ScramMechanism::kSha256, "carol-secret",
                                                  "0123456789abcdef", 4096);
    ASSERT_TRUE(cred.ok());
    scram_.Update("carol", {{"SCRAM-SHA-256", cred->Format()}});
    auto a = SaslAuthenticator::Create(config_, &scram_, &clock_);
    ASSERT_TRUE(a.ok()) << a.status().message();
    sasl_ = std::move(*a);
  }
  network::ConnectionContext Conn(const std::string& protocol = "SASL_PLAINTEXT") {
    network::ConnectionContext c;
    c.listener_name = protocol;
    c.security_protocol = protocol;
    c.client_address = "127.0.0.1:5555";
    c.authenticated = protocol.rfind("SASL_", 0) != 0;
    return c;
  }
  // A SCRAM-SHA-256 client (RFC 5802) for `password`, run through the authenticator.
  SaslAuthenticator::StepResult Scram(network::ConnectionContext& c, const std::string& user,
                                      const std::string& password) {
    const std::string bare = "n=" + user + ",r=clientnonce";
    auto first = sasl_->Authenticate(c, "n,," + bare);
    if (first.error != ErrorCode::kNone) return first;
    std::string server_first = first.token;
    std::string nonce = server_first.substr(2, server_first.find(',') - 2);
    size_t s_at = server_first.find(",s=") + 3;
    auto salt = security::Base64Decode(server_first.substr(s_at, server_first.find(",i=") - s_at));
    int iterations = std::stoi(server_first.substr(server_first.find(",i=") + 3));
    unsigned char salted[32], client_key[32], stored_key[32], signature[32];
    unsigned int n = 0;
    PKCS5_PBKDF2_HMAC(password.data(), password.size(),
                      reinterpret_cast<const unsigned char*>(salt->data()), salt->size(),
                      iterations, EVP_sha256(), 32, salted);
    HMAC(EVP_sha256(), salted, 32, reinterpret_cast<const unsigned char*>("Client Key"), 10,
         client_key, &n);
    EVP_Digest(client_key, 32, stored_key, &n, EVP_sha256(), nullptr);
    const std::string without_proof = "c=biws,r=" + nonce;
    const std::string auth = bare + "," + server_first + "," + without_proof;
    HMAC(EVP_sha256(), stored_key, 32, reinterpret_cast<const unsigned char*>(auth.data()),
         auth.size(), signature, &n);
    std::string proof(32, '\0');
    for (int i = 0; i < 32; ++i) proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
    return sasl_->Authenticate(c, without_proof + ",p=" + security::Base64Encode(proof));
  }

  config::BrokerConfig config_;
  ScramCredentialCache scram_;
  FakeClock clock_;
  std::unique_ptr<SaslAuthenticator> sasl_;
};

TEST_F(SaslAuthenticatorTest, OnlyApiVersionsAndTheExchangeBeforeAuthentication) {
  auto c = Conn();
  EXPECT_TRUE(sasl_->Admits(c, Key(ApiKey::kApiVersions)));
  EXPECT_TRUE(sasl_->Admits(c, Key(ApiKey::kSaslHandshake)));
  EXPECT_FALSE(sasl_->Admits(c, Key(ApiKey::kMetadata)));
  EXPECT_FALSE(sasl_->Admits(c, Key(ApiKey::kSaslAuthenticate)));  // before the handshake
  auto h = sasl_->Handshake(c, 1, "PLAIN");
  EXPECT_EQ(ErrorCode::kNone, h.error);
  EXPECT_EQ((std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"}), h.mechanisms);  // served only
  EXPECT_TRUE(sasl_->Admits(c, Key(ApiKey::kSaslAuthenticate)));
  EXPECT_FALSE(sasl_->Admits(c, Key(ApiKey::kApiVersions)));
  EXPECT_FALSE(sasl_->ExpectsRawToken(c));
  auto r = sasl_->Authenticate(c, std::string("\0alice\0alice-secret", 19));
  EXPECT_EQ(ErrorCode::kNone, r.error);
  EXPECT_TRUE(c.authenticated);
  EXPECT_EQ("User:alice", c.principal);
  EXPECT_EQ(60000, r.session_lifetime_ms);
  EXPECT_TRUE(sasl_->Admits(c, Key(ApiKey::kMetadata)));
  // Another SaslAuthenticate without a handshake: ILLEGAL_SASL_STATE, the connection stays.
  auto again = sasl_->Authenticate(c, std::string("\0alice\0alice-secret", 19));
  EXPECT_EQ(ErrorCode::kIllegalSaslState, again.error);
  EXPECT_FALSE(again.close);
}

TEST_F(SaslAuthenticatorTest, FailuresAndUnsupportedMechanisms) {
  auto c = Conn();
  auto h = sasl_->Handshake(c, 1, "GSSAPI");  // enabled but not served
  EXPECT_EQ(ErrorCode::kUnsupportedSaslMechanism, h.error);
  EXPECT_TRUE(h.close);
  auto c2 = Conn();
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c2, 1, "PLAIN").error);
  auto r = sasl_->Authenticate(c2, std::string("\0alice\0wrong", 12));
  EXPECT_EQ(ErrorCode::kSaslAuthenticationFailed, r.error);
  EXPECT_TRUE(r.close);
  EXPECT_NE(std::string::npos, r.message.find("PLAIN"));
  EXPECT_FALSE(c2.authenticated);
  auto c3 = Conn();
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c3, 1, "SCRAM-SHA-256").error);
  EXPECT_EQ(ErrorCode::kSaslAuthenticationFailed, Scram(c3, "carol", "wrong").error);
  auto c4 = Conn();
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c4, 1, "SCRAM-SHA-256").error);
  EXPECT_EQ(ErrorCode::kSaslAuthenticationFailed, Scram(c4, "nobody", "x").error);
  // On a PLAINTEXT listener the SASL APIs are answered ILLEGAL_SASL_STATE, as Kafka does.
  auto plain = Conn("PLAINTEXT");
  EXPECT_TRUE(sasl_->Admits(plain, Key(ApiKey::kMetadata)));
  EXPECT_EQ(ErrorCode::kIllegalSaslState, sasl_->Handshake(plain, 1, "PLAIN").error);
}

TEST_F(SaslAuthenticatorTest, ScramAndV0RawTokens) {
  auto c = Conn();
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c, 0, "SCRAM-SHA-256").error);
  EXPECT_TRUE(sasl_->ExpectsRawToken(c));
  auto r = Scram(c, "carol", "carol-secret");
  EXPECT_EQ(ErrorCode::kNone, r.error) << r.message;
  EXPECT_EQ("v=", r.token.substr(0, 2));
  EXPECT_TRUE(c.authenticated);
  EXPECT_EQ("User:carol", c.principal);
  EXPECT_FALSE(sasl_->ExpectsRawToken(c));
  // Credentials removed: a new connection can no longer log in.
  scram_.Update("carol", {});
  auto c2 = Conn();
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c2, 1, "SCRAM-SHA-256").error);
  EXPECT_EQ(ErrorCode::kSaslAuthenticationFailed, Scram(c2, "carol", "carol-secret").error);
}

TEST_F(SaslAuthenticatorTest, ReauthenticationKeepsThePrincipalAndExpiredSessionsAreRefused) {
  auto c = Conn();
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c, 1, "PLAIN").error);
  ASSERT_EQ(ErrorCode::kNone,
            sasl_->Authenticate(c, std::string("\0alice\0alice-secret", 19)).error);
  clock_.AdvanceMs(59999);
  EXPECT_TRUE(sasl_->Admits(c, Key(ApiKey::kProduce)));
  clock_.AdvanceMs(1);
  EXPECT_FALSE(sasl_->Admits(c, Key(ApiKey::kProduce)));  // expired: only re-authentication
  EXPECT_TRUE(sasl_->Admits(c, Key(ApiKey::kSaslHandshake)));
  // Re-authentication as the same user renews the session.
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c, 1, "PLAIN").error);
  ASSERT_EQ(ErrorCode::kNone,
            sasl_->Authenticate(c, std::string("\0alice\0alice-secret", 19)).error);
  EXPECT_TRUE(sasl_->Admits(c, Key(ApiKey::kProduce)));
  // As another user: refused and closed.
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c, 1, "PLAIN").error);
  auto r = sasl_->Authenticate(c, std::string("\0bob\0bob-secret", 15));
  EXPECT_EQ(ErrorCode::kSaslAuthenticationFailed, r.error);
  EXPECT_TRUE(r.close);
  EXPECT_EQ("User:alice", c.principal);
  // Re-authentication with another mechanism is refused too.
  auto c2 = Conn();
  ASSERT_EQ(ErrorCode::kNone, sasl_->Handshake(c2, 1, "PLAIN").error);
  ASSERT_EQ(ErrorCode::kNone, sasl_->Authenticate(c2, std::string("\0bob\0bob-secret", 15)).error);
  EXPECT_NE(ErrorCode::kNone, sasl_->Handshake(c2, 1, "SCRAM-SHA-256").error);
}

TEST_F(SaslAuthenticatorTest, UnreadableJaasIsAConfigurationError) {
  config_.listener_sasl["SASL_PLAINTEXT"].jaas["PLAIN"] = "PlainLoginModule required user_a=\"x";
  EXPECT_FALSE(SaslAuthenticator::Create(config_, &scram_, &clock_).ok());
}

}  // namespace
}  // namespace gregor::server
