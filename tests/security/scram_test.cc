#include "gregor/security/scram.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <optional>
#include <string>

#include "gregor/security/base64.h"

namespace gregor::security {
namespace {

using namespace std::string_literals;

const std::string kGeneric256 =
    "Authentication failed during authentication due to invalid credentials with SASL "
    "mechanism SCRAM-SHA-256";
const std::string kGeneric512 =
    "Authentication failed during authentication due to invalid credentials with SASL "
    "mechanism SCRAM-SHA-512";

std::string Decode(const std::string& b64) {
  Result<std::string> r = Base64Decode(b64);
  EXPECT_TRUE(r.ok()) << b64;
  return r.ok() ? *r : "";
}

// An independent SCRAM client (RFC 5802 section 3), written against OpenSSL directly so that it
// does not share the server's code.
class TestClient {
 public:
  TestClient(ScramMechanism mechanism, std::string sasl_name, std::string password,
             std::string nonce, std::string gs2_header = "n,,", std::string extensions = "")
      : md_(mechanism == ScramMechanism::kSha512 ? EVP_sha512() : EVP_sha256()),
        password_(std::move(password)),
        gs2_header_(std::move(gs2_header)),
        nonce_(nonce),
        bare_("n=" + sasl_name + ",r=" + nonce + extensions) {}

  // librdkafka's form of client-final: its client nonce once more in front of the nonce of
  // server-first.
  bool repeat_client_nonce = false;

  std::string First() const { return gs2_header_ + bare_; }

  // The client-final message answering `server_first`; remembers the server signature to
  // expect.
  std::string Final(const std::string& server_first) {
    std::map<char, std::string> attrs;
    size_t start = 0;
    while (start <= server_first.size()) {
      size_t end = server_first.find(',', start);
      if (end == std::string::npos) end = server_first.size();
      attrs[server_first[start]] = server_first.substr(start + 2, end - start - 2);
      start = end + 1;
    }
    std::string salt = Decode(attrs['s']);
    int iterations = std::stoi(attrs['i']);
    std::string salted(EVP_MD_get_size(md_), '\0');
    PKCS5_PBKDF2_HMAC(password_.data(), password_.size(),
                      reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), iterations,
                      md_, salted.size(), reinterpret_cast<unsigned char*>(salted.data()));
    std::string client_key = Hmac(salted, "Client Key");
    std::string stored_key = Digest(client_key);
    std::string without_proof = "c=" + Base64Encode(gs2_header_) +
                                ",r=" + (repeat_client_nonce ? nonce_ : std::string()) + attrs['r'];
    std::string auth_message = bare_ + "," + server_first + "," + without_proof;
    std::string signature = Hmac(stored_key, auth_message);
    std::string proof = client_key;
    for (size_t i = 0; i < proof.size(); ++i) proof[i] ^= signature[i];
    expected_server_final_ = "v=" + Base64Encode(Hmac(Hmac(salted, "Server Key"), auth_message));
    return without_proof + ",p=" + Base64Encode(proof);
  }

  const std::string& expected_server_final() const { return expected_server_final_; }

 private:
  std::string Hmac(const std::string& key, const std::string& data) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md_, key.data(), key.size(), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  }
  std::string Digest(const std::string& data) const {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md_, nullptr);
    return std::string(reinterpret_cast<char*>(out), len);
  }

  const EVP_MD* md_;
  std::string password_;
  std::string gs2_header_;
  std::string nonce_;
  std::string bare_;
  std::string expected_server_final_;
};

// A lookup over a fixed map that records the names it was asked for.
struct Users {
  std::map<std::string, ScramCredential> credentials;
  std::vector<std::string> asked;
  ScramServer::CredentialLookup Lookup() {
    return [this](const std::string& user) -> std::optional<ScramCredential> {
      asked.push_back(user);
      auto it = credentials.find(user);
      if (it == credentials.end()) return std::nullopt;
      return it->second;
    };
  }
};

ScramCredential MakeCredential(ScramMechanism m, const std::string& password,
                               int32_t iterations = 4096) {
  Result<std::string> salt = GenerateScramSalt();
  EXPECT_TRUE(salt.ok());
  Result<ScramCredential> c = GenerateScramCredential(m, password, *salt, iterations);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"},
                                                         {"\xff\xfe\x00"s, "//4A"}};
  for (const auto& [raw, b64] : vectors) {
    EXPECT_EQ(b64, Base64Encode(raw));
    Result<std::string> d = Base64Decode(b64);
    ASSERT_TRUE(d.ok()) << b64;
    EXPECT_EQ(raw, *d);
  }
}

TEST(Base64Test, RejectsMalformed) {
  for (const char* bad : {"Zg=", "Zg", "Zg=a", "Z===", "====", "Zg==Zg==", "Zm9v\n", " Zm9v",
                          "Zm 9", "-_8A", "Zm9v====", "Zm9=v"}) {
    Result<std::string> d = Base64Decode(bad);
    EXPECT_FALSE(d.ok()) << "accepted '" << bad << "'";
    if (!d.ok()) {
      EXPECT_EQ(Status::Code::kInvalidArgument, d.status().code());
    }
  }
}

TEST(ScramTest, MechanismNames) {
  EXPECT_EQ("SCRAM-SHA-256", ScramMechanismName(ScramMechanism::kSha256));
  EXPECT_EQ("SCRAM-SHA-512", ScramMechanismName(ScramMechanism::kSha512));
  EXPECT_EQ(ScramMechanism::kSha256, ParseScramMechanism("SCRAM-SHA-256"));
  EXPECT_EQ(ScramMechanism::kSha512, ParseScramMechanism("SCRAM-SHA-512"));
  EXPECT_FALSE(ParseScramMechanism("scram-sha-256"));
  EXPECT_FALSE(ParseScramMechanism("SCRAM-SHA-1"));
  EXPECT_FALSE(ParseScramMechanism("PLAIN"));
  EXPECT_FALSE(ParseScramMechanism(""));
  EXPECT_EQ(kGeneric512, ScramAuthenticationFailedMessage(ScramMechanism::kSha512));
}

// RFC 7677 section 3: the SCRAM-SHA-256 exchange for user "user", password "pencil".
TEST(ScramTest, Rfc7677TestVector) {
  Result<ScramCredential> c = GenerateScramCredential(ScramMechanism::kSha256, "pencil",
                                                      Decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Users users;
  users.credentials["user"] = *c;
  ScramServer server(ScramMechanism::kSha256, users.Lookup(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

  Result<std::string> first = server.Evaluate("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      *first);
  EXPECT_FALSE(server.complete());

  Result<std::string> final_message = server.Evaluate(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_TRUE(final_message.ok()) << final_message.status().ToString();
  EXPECT_EQ("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", *final_message);
  EXPECT_TRUE(server.complete());
  EXPECT_EQ("user", server.username());
  EXPECT_EQ(std::vector<std::string>{"user"}, users.asked);
  EXPECT_TRUE(server.failure_detail().empty());

  // The exchange is over: a further message is refused.
  Result<std::string> again = server.Evaluate("c=biws");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, again.status().code());
}

TEST(ScramTest, Sha512RoundTripWithRandomNonce) {
  Users users;
  users.credentials["alice"] = MakeCredential(ScramMechanism::kSha512, "alice-secret", 8192);
  ScramServer server(ScramMechanism::kSha512, users.Lookup());
  TestClient client(ScramMechanism::kSha512, "alice", "alice-secret", "fyko+d2lbbFgONRv9qkxdawL");

  Result<std::string> first = server.Evaluate(client.First());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // r=<client nonce><32 random alphanumeric characters>,s=...,i=8192
  const std::string prefix = "r=fyko+d2lbbFgONRv9qkxdawL";
  ASSERT_EQ(0u, first->rfind(prefix, 0)) << *first;
  std::string server_nonce = first->substr(prefix.size(), first->find(',') - prefix.size());
  EXPECT_EQ(32u, server_nonce.size()) << *first;
  for (char ch : server_nonce) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch))) << ch;
  EXPECT_NE(std::string::npos, first->find(",i=8192"));

  Result<std::string> final_message = server.Evaluate(client.Final(*first));
  ASSERT_TRUE(final_message.ok()) << final_message.status().ToString();
  EXPECT_EQ(client.expected_server_final(), *final_message);
  EXPECT_TRUE(server.complete());
  EXPECT_EQ("alice", server.username());

  // Another exchange draws another server nonce.
  ScramServer second(ScramMechanism::kSha512, users.Lookup());
  Result<std::string> other = second.Evaluate(client.First());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*first, *other);
}

TEST(ScramTest, AuthzidEscapedNamesAndIgnoredExtensions) {
  Users users;
  users.credentials["a,b=c"] = MakeCredential(ScramMechanism::kSha256, "pw");
  ScramServer server(ScramMechanism::kSha256, users.Lookup());
  TestClient client(ScramMechanism::kSha256, "a=2Cb=3Dc", "pw", "nonce", "n,a=a=2Cb=3Dc,",
                    ",foo=bar,tokenauth=false");
  Result<std::string> first = server.Evaluate(client.First());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(std::vector<std::string>{"a,b=c"}, users.asked);
  Result<std::string> final_message = server.Evaluate(client.Final(*first));
  ASSERT_TRUE(final_message.ok()) << final_message.status().ToString();
  EXPECT_EQ(client.expected_server_final(), *final_message);
  EXPECT_EQ("a,b=c", server.username());
}

TEST(ScramTest, WrongPasswordFailsAtTheFinalStep) {
  Users users;
  users.credentials["alice"] = MakeCredential(ScramMechanism::kSha256, "alice-secret");
  ScramServer server(ScramMechanism::kSha256, users.Lookup());
  TestClient client(ScramMechanism::kSha256, "alice", "wrong", "abc");
  Result<std::string> first = server.Evaluate(client.First());
  ASSERT_TRUE(first.ok());
  Result<std::string> final_message = server.Evaluate(client.Final(*first));
  ASSERT_FALSE(final_message.ok());
  EXPECT_EQ(Status::Code::kInvalidArgument, final_message.status().code());
  EXPECT_EQ(kGeneric256, final_message.status().message());
  EXPECT_FALSE(server.complete());
  EXPECT_NE(std::string::npos, server.failure_detail().find("invalid client proof"));
  Result<std::string> again = server.Evaluate(client.Final(*first));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(Status::Code::kFailedPrecondition, again.status().code());
}

TEST(ScramTest, MechanismMismatchFails) {
  // A SHA-256 credential cannot be used in a SHA-512 exchange.
  Users users;
  users.credentials["alice"] = MakeCredential(ScramMechanism::kSha256, "pw");
  ScramServer server(ScramMechanism::kSha512, users.Lookup());
  TestClient client(ScramMechanism::kSha512, "alice", "pw", "abc");
  Result<std::string> first = server.Evaluate(client.First());
  ASSERT_TRUE(first.ok());
  Result<std::string> final_message = server.Evaluate(client.Final(*first));
  ASSERT_FALSE(final_message.ok());
  EXPECT_EQ(kGeneric512, final_message.status().message());
}

TEST(ScramTest, UnknownUserIsRevealedOnlyAtTheFinalStep) {
  Users users;
  users.credentials["alice"] = MakeCredential(ScramMechanism::kSha256, "alice-secret");
  ScramServer server(ScramMechanism::kSha256, users.Lookup());
  TestClient client(ScramMechanism::kSha256, "mallory", "guess", "abc");
  Result<std::string> first = server.Evaluate(client.First());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_NE(std::string::npos, first->find(",i=4096"));
  Result<std::string> final_message = server.Evaluate(client.Final(*first));
  ASSERT_FALSE(final_message.ok());
  EXPECT_EQ(kGeneric256, final_message.status().message());
  EXPECT_NE(std::string::npos, server.failure_detail().find("unknown user 'mallory'"));

  // The fake salt is stable for a name (asking twice does not tell) and differs between names.
  auto salt_of = [&](const std::string& name) {
    ScramServer s(ScramMechanism::kSha256, users.Lookup(), "servernonce");
    Result<std::string> f = s.Evaluate("n,,n=" + name + ",r=abc");
    EXPECT_TRUE(f.ok());
    return f.ok() ? f->substr(f->find(",s=")) : "";
  };
  EXPECT_EQ(salt_of("mallory"), salt_of("mallory"));
  EXPECT_NE(salt_of("mallory"), salt_of("trudy"));
  std::string fake = salt_of("mallory");  // ",s=<base64>,i=4096"
  EXPECT_EQ(kScramSaltSize, Decode(fake.substr(3, fake.find(",i=") - 3)).size()) << fake;
}

TEST(ScramTest, UnusableStoredCredentialFailsLikeAWrongPassword) {
  Users users;
  ScramCredential c = MakeCredential(ScramMechanism::kSha256, "pw");
  c.iterations = 100;
  users.credentials["alice"] = c;
  ScramServer server(ScramMechanism::kSha256, users.Lookup());
  TestClient client(ScramMechanism::kSha256, "alice", "pw", "abc");
  Result<std::string> first = server.Evaluate(client.First());
  ASSERT_TRUE(first.ok());
  Result<std::string> final_message = server.Evaluate(client.Final(*first));
  ASSERT_FALSE(final_message.ok());
  EXPECT_EQ(kGeneric256, final_message.status().message());
  EXPECT_NE(std::string::npos, server.failure_detail().find("100 iterations"));
}

TEST(ScramTest, LibrdkafkaRepeatedClientNonceIsAccepted) {
  // librdkafka sends r=<client nonce><client nonce><server nonce>; Kafka accepts it.
  Users users;
  users.credentials["user"] = MakeCredential(ScramMechanism::kSha512, "pencil");
  ScramServer server(ScramMechanism::kSha512, users.Lookup());
  TestClient client(ScramMechanism::kSha512, "user", "pencil", "rdkafkanonce");
  client.repeat_client_nonce = true;
  Result<std::string> first = server.Evaluate(client.First());
  ASSERT_TRUE(first.ok());
  Result<std::string> final_message = server.Evaluate(client.Final(*first));
  ASSERT_TRUE(final_message.ok()) << final_message.status().message();
  EXPECT_EQ(client.expected_server_final(), *final_message);
  EXPECT_TRUE(server.complete());
}

TEST(ScramTest, WrongNonceOrChannelBindingInFinalMessage) {
  Users users;
  users.credentials["user"] = MakeCredential(ScramMechanism::kSha256, "pencil");
  struct Case {
    std::string gs2;
    std::string final_message;  // "%N" is replaced by the combined nonce
    std::string want;
  } cases[] = {
      {"n,,", "c=biws,r=%Nx,p=", "nonce does not match"},
      {"n,,", "c=biws,r=abc,p=", "nonce does not match"},
      {"n,,", "c=eSws,r=%N,p=", "does not match the gs2 header"},        // "y,,"
      {"n,a=user,", "c=biws,r=%N,p=", "does not match the gs2 header"},  // "n,," for "n,a=user,"
      {"n,,", "c=bi,r=%N,p=", "not base64"},
      {"n,,", "r=%N,c=biws,p=", "missing channel binding"},
      {"n,,", "c=biws,r=%N", "expected c=, r= and p="},
      {"n,,", "c=biws,r=%N,x=1", "missing proof"},
      {"n,,", "c=biws,r=%N,p=AAAA", "proof of 3 bytes, expected 32"},
      {"n,,", "c=biws,r=%N,p=!!!!", "not base64"},
      {"n,,", "c=biws,r=%N,1=2,p=", "bad extension"},
      {"n,,", "", "expected c=, r= and p="},
  };
  for (const Case& c : cases) {
    ScramServer server(ScramMechanism::kSha256, users.Lookup(), "SERVERNONCE");
    ASSERT_TRUE(server.Evaluate(c.gs2 + "n=user,r=clientnonce").ok());
    std::string msg = c.final_message;
    if (size_t at = msg.find("%N"); at != std::string::npos) {
      msg.replace(at, 2, "clientnonceSERVERNONCE");
    }
    if (msg.size() >= 3 && msg.compare(msg.size() - 3, 3, ",p=") == 0) {
      msg += Base64Encode(std::string(32, 'x'));
    }
    Result<std::string> r = server.Evaluate(msg);
    ASSERT_FALSE(r.ok()) << msg;
    EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
    EXPECT_EQ(0u, r.status().message().rfind("Invalid SCRAM client final message: ", 0))
        << r.status().message();
    EXPECT_NE(std::string::npos, r.status().message().find(c.want))
        << msg << " -> " << r.status().message();
    EXPECT_FALSE(server.complete());
  }
}

TEST(ScramTest, BadGs2HeaderAndGarbageClientFirst) {
  Users users;
  users.credentials["user"] = MakeCredential(ScramMechanism::kSha256, "pencil");
  const std::pair<std::string, std::string> cases[] = {
      {"p=tls-unique,,n=user,r=abc", "channel binding is not supported"},
      {"y,,n=user,r=abc", "flag 'y' is not supported"},
      {"x,,n=user,r=abc", "bad gs2 header"},
      {"n,n=user,r=abc", "bad authorization id"},
      {"n", "bad gs2 header"},
      {"n,,", "bad or missing username"},
      {"n,a=,n=user,r=abc", "bad authorization id"},
      {"n,a=us=er,n=user,r=abc", "bad authorization id"},
      {"n,,n=user", "bad or missing nonce"},
      {"n,,n=user,r=", "bad or missing nonce"},
      {"n,,n=user,r=a b", "bad or missing nonce"},
      {"n,,n=,r=abc", "bad or missing username"},
      {"n,,n=us=er,r=abc", "bad or missing username"},
      {"n,,n=us=2,r=abc", "bad or missing username"},
      {"n,,r=abc,n=user", "bad or missing username"},
      {"n,,m=ext,n=user,r=abc", "mandatory extension"},
      {"n,,n=user,r=abc,", "bad extension"},
      {"n,,n=user,r=abc,=x", "bad extension"},
      {"n,,n=user,r=abc,ext", "bad extension"},
      {"n,,n=us\0er,r=abc"s, "bad or missing username"},
      {"", "empty"},
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s, "bad gs2 header"},  // a TLS ClientHello
      {"GET / HTTP/1.1\r\n\r\n", "bad gs2 header"},
      {"n,,n=user,r=" + std::string(kScramMaxMessageSize, 'a'), "exceeds the limit of 8192"},
  };
  for (const auto& [message, want] : cases) {
    ScramServer server(ScramMechanism::kSha256, users.Lookup());
    Result<std::string> r = server.Evaluate(message);
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
    EXPECT_EQ(0u, r.status().message().rfind("Invalid SCRAM client first message: ", 0))
        << r.status().message();
    EXPECT_NE(std::string::npos, r.status().message().find(want))
        << message << " -> " << r.status().message();
    EXPECT_FALSE(server.complete());
    EXPECT_TRUE(users.asked.empty()) << "looked up a user for a malformed message";
    EXPECT_FALSE(server.Evaluate("c=biws,r=abc,p=AAAA").ok());
  }
}

TEST(ScramTest, AuthzidDifferentFromUsername) {
  Users users;
  users.credentials["alice"] = MakeCredential(ScramMechanism::kSha256, "pw");
  ScramServer server(ScramMechanism::kSha256, users.Lookup());
  Result<std::string> r = server.Evaluate("n,a=admin,n=alice,r=abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      "Authentication failed: Client requested an authorization id that is different from "
      "username",
      r.status().message());
}

TEST(ScramTest, DelegationTokensAreRefused) {
  Users users;
  users.credentials["tokenid"] = MakeCredential(ScramMechanism::kSha256, "hmac");
  ScramServer server(ScramMechanism::kSha256, users.Lookup());
  Result<std::string> r = server.Evaluate("n,,n=tokenid,r=abc,tokenauth=TRUE");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(kGeneric256, r.status().message());
  EXPECT_NE(std::string::npos, server.failure_detail().find("tokenauth"));
}

TEST(ScramTest, OversizedClientFinalIsRefused) {
  Users users;
  users.credentials["user"] = MakeCredential(ScramMechanism::kSha256, "pencil");
  ScramServer server(ScramMechanism::kSha256, users.Lookup(), "S");
  ASSERT_TRUE(server.Evaluate("n,,n=user,r=c").ok());
  Result<std::string> r =
      server.Evaluate("c=biws,r=cS,e=" + std::string(kScramMaxMessageSize, 'x') + ",p=AAAA");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("exceeds the limit"));
}

TEST(ScramCredentialTest, FormatParseRoundTrip) {
  ScramCredential c;
  c.salt = "salt\x01\xff"s;
  c.stored_key = std::string(32, '\x11');
  c.server_key = std::string(32, '\x22');
  c.iterations = 4096;
  EXPECT_EQ(
      "salt=c2FsdAH/,stored_key=ERERERERERERERERERERERERERERERERERERERERERE=,"
      "server_key=IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=,iterations=4096",
      c.Format());
  Result<ScramCredential> parsed = ScramCredential::Parse(c.Format());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(c, *parsed);

  ScramCredential generated = MakeCredential(ScramMechanism::kSha512, "pw", 16384);
  EXPECT_EQ(64u, generated.stored_key.size());
  EXPECT_EQ(64u, generated.server_key.size());
  parsed = ScramCredential::Parse(generated.Format());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(generated, *parsed);

  // Kafka's Properties-based parser does not care about the order of the fields.
  parsed = ScramCredential::Parse("iterations=8192,server_key=IiI=,stored_key=ERE=,salt=c2FsdA==");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ("salt", parsed->salt);
  EXPECT_EQ(8192, parsed->iterations);
}

TEST(ScramCredentialTest, ParseRejects) {
  const std::string kSalt = "salt=c2FsdA==", kStored = "stored_key=ERE=",
                    kServer = "server_key=IiI=", kIter = "iterations=4096";
  const std::pair<std::string, std::string> cases[] = {
      {"", "not <name>=<value>"},
      {kStored + "," + kServer + "," + kIter, "missing field 'salt'"},
      {kSalt + "," + kServer + "," + kIter, "missing field 'stored_key'"},
      {kSalt + "," + kStored + "," + kIter, "missing field 'server_key'"},
      {kSalt + "," + kStored + "," + kServer, "missing field 'iterations'"},
      {kSalt + "," + kSalt + "," + kStored + "," + kServer + "," + kIter, "repeated field 'salt'"},
      {kSalt + "," + kStored + "," + kServer + "," + kIter + ",extra=1", "unknown field 'extra'"},
      {kSalt + "," + kStored + "," + kServer + "," + kIter + ",", "not <name>=<value>"},
      {"salt=c2FsdA=,stored_key=ERE=,server_key=IiI=,iterations=4096", "field 'salt'"},
      {"salt=c2FsdA==,stored_key=ER!=,server_key=IiI=,iterations=4096", "field 'stored_key'"},
      {"salt=,stored_key=ERE=,server_key=IiI=,iterations=4096", "field 'salt' is empty"},
      {kSalt + "," + kStored + "," + kServer + ",iterations=4095", "iterations 4095 is outside"},
      {kSalt + "," + kStored + "," + kServer + ",iterations=16385", "iterations 16385 is outside"},
      {kSalt + "," + kStored + "," + kServer + ",iterations=-4096", "outside"},
      {kSalt + "," + kStored + "," + kServer + ",iterations=4096x", "not a number"},
      {kSalt + "," + kStored + "," + kServer + ",iterations=", "not a number"},
      {kSalt + "," + kStored + "," + kServer + ",iterations=99999999999999999999", "not a number"},
  };
  for (const auto& [text, want] : cases) {
    Result<ScramCredential> r = ScramCredential::Parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(Status::Code::kInvalidArgument, r.status().code());
    EXPECT_NE(std::string::npos, r.status().message().find(want))
        << text << " -> " << r.status().message();
    EXPECT_EQ(std::string::npos, r.status().message().find("ERE=")) << "echoed a key";
  }
  // The limits themselves are accepted.
  EXPECT_TRUE(
      ScramCredential::Parse(kSalt + "," + kStored + "," + kServer + ",iterations=16384").ok());
}

TEST(ScramCredentialTest, GenerationChecksItsInputs) {
  EXPECT_FALSE(GenerateScramCredential(ScramMechanism::kSha256, "pw", "salt", 4095).ok());
  EXPECT_FALSE(GenerateScramCredential(ScramMechanism::kSha256, "pw", "salt", 16385).ok());
  EXPECT_FALSE(GenerateScramCredential(ScramMechanism::kSha256, "pw", "", 4096).ok());
  Result<ScramCredential> a = GenerateScramCredential(ScramMechanism::kSha256, "pw", "s", 4096);
  Result<ScramCredential> b = GenerateScramCredential(ScramMechanism::kSha256, "pw", "t", 4096);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(32u, a->stored_key.size());
  EXPECT_NE(a->stored_key, b->stored_key);
  EXPECT_NE(a->stored_key, a->server_key);

  Result<std::string> s1 = GenerateScramSalt();
  Result<std::string> s2 = GenerateScramSalt();
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(kScramSaltSize, s1->size());
  EXPECT_NE(*s1, *s2);
}

TEST(ScramTest, CredentialFromAClientsSaltedPassword) {
  // AlterUserScramCredentials sends Hi(password, salt, i); the broker derives the same keys.
  for (auto m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    const EVP_MD* md = m == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
    std::string salted(EVP_MD_get_size(md), '\0');
    PKCS5_PBKDF2_HMAC("pencil", 6, reinterpret_cast<const unsigned char*>("saltsalt"), 8, 4096, md,
                      salted.size(), reinterpret_cast<unsigned char*>(salted.data()));
    Result<ScramCredential> from_salted =
        ScramCredentialFromSaltedPassword(m, "saltsalt", salted, 4096);
    ASSERT_TRUE(from_salted.ok()) << from_salted.status().message();
    EXPECT_EQ(*GenerateScramCredential(m, "pencil", "saltsalt", 4096), *from_salted);
    EXPECT_FALSE(ScramCredentialFromSaltedPassword(m, "saltsalt", "short", 4096).ok());
    EXPECT_FALSE(ScramCredentialFromSaltedPassword(m, "", salted, 4096).ok());
  }
}

TEST(ScramTest, ClientAndServerAgree) {
  for (auto m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    Users users;
    users.credentials["broker,one"] = MakeCredential(m, "secret");
    ScramServer server(m, users.Lookup());
    ScramClient client(m, "broker,one", "secret");
    Result<std::string> first = server.Evaluate(client.First());
    ASSERT_TRUE(first.ok()) << first.status().message();
    Result<std::string> final_message = client.Final(*first);
    ASSERT_TRUE(final_message.ok()) << final_message.status().message();
    Result<std::string> server_final = server.Evaluate(*final_message);
    ASSERT_TRUE(server_final.ok()) << server_final.status().message();
    EXPECT_TRUE(server.complete());
    EXPECT_EQ("broker,one", server.username());
    EXPECT_TRUE(client.Verify(*server_final).ok());
    EXPECT_FALSE(client.Verify("v=" + Base64Encode(std::string(32, 'x'))).ok());

    ScramServer server2(m, users.Lookup());
    ScramClient wrong(m, "broker,one", "not-the-secret");
    Result<std::string> first2 = server2.Evaluate(wrong.First());
    ASSERT_TRUE(first2.ok());
    Result<std::string> final2 = wrong.Final(*first2);
    ASSERT_TRUE(final2.ok());
    EXPECT_FALSE(server2.Evaluate(*final2).ok());
  }
  // A server-first that does not extend the client nonce is refused.
  ScramClient c(ScramMechanism::kSha256, "u", "p", "abc");
  c.First();
  EXPECT_FALSE(c.Final("r=xyz123,s=" + Base64Encode("salt") + ",i=4096").ok());
  EXPECT_FALSE(c.Final("r=abc123,s=" + Base64Encode("salt") + ",i=10").ok());
}

}  // namespace
}  // namespace gregor::security
