#include "gregor/security/oauthbearer.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "gregor/security/base64.h"

namespace gregor::security {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1800000000000;  // ms

std::string B64Url(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::string BnBytes(EVP_PKEY* key, const char* name, size_t pad = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1);
  std::string out(std::max<size_t>(pad, BN_num_bytes(bn)), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

struct Key {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string kid;
  bool ec = false;
  json Jwk() const {
    if (!ec) {
      return {{"kty", "RSA"},
              {"kid", kid},
              {"use", "sig"},
              {"n", B64Url(BnBytes(pkey.get(), OSSL_PKEY_PARAM_RSA_N))},
              {"e", B64Url(BnBytes(pkey.get(), OSSL_PKEY_PARAM_RSA_E))}};
    }
    return {{"kty", "EC"},
            {"kid", kid},
            {"crv", "P-256"},
            {"x", B64Url(BnBytes(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
            {"y", B64Url(BnBytes(pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
  }
};

Key Rsa(const std::string& kid) {
  return {std::shared_ptr<EVP_PKEY>(EVP_RSA_gen(2048), EVP_PKEY_free), kid, false};
}
Key Ec(const std::string& kid) {
  return {std::shared_ptr<EVP_PKEY>(EVP_EC_gen("P-256"), EVP_PKEY_free), kid, true};
}

std::string Sign(const Key& k, const std::string& alg, const json& claims) {
  const std::string header = B64Url(json{{"alg", alg}, {"kid", k.kid}, {"typ", "JWT"}}.dump());
  const std::string input = header + "." + B64Url(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, k.pkey.get());
  if (alg == "PS256") {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (k.ec) {  // DER -> r || s
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    sig = raw;
  }
  return input + "." + B64Url(sig);
}

json Claims(int64_t exp_s = kNow / 1000 + 600) {
  return {{"sub", "alice"},
          {"exp", exp_s},
          {"iat", kNow / 1000},
          {"iss", "https://idp"},
          {"aud", json::array({"kafka", "other"})},
          {"scope", "read write"}};
}

Jwks Set(std::initializer_list<const Key*> keys) {
  json doc{{"keys", json::array()}};
  for (const Key* k : keys) doc["keys"].push_back(k->Jwk());
  auto j = Jwks::Parse(doc.dump());
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return std::move(*j);
}

OAuthBearerOptions Options() {
  OAuthBearerOptions o;
  o.expected_audience = {"kafka"};
  o.expected_issuer = "https://idp";
  return o;
}

TEST(OAuthBearerTest, ValidTokensOfEachKeyType) {
  Key rsa = Rsa("r1"), ec = Ec("e1");
  Jwks keys = Set({&rsa, &ec});
  for (const auto& [key, alg] : {std::pair{&rsa, "RS256"}, {&rsa, "PS256"}, {&ec, "ES256"}}) {
    auto t = ValidateJwt(Sign(*key, alg, Claims()), keys, Options(), kNow);
    ASSERT_TRUE(t.ok()) << alg << ": " << t.status().ToString();
    EXPECT_EQ(t->principal_name, "alice");
    EXPECT_EQ(t->expires_at_ms, kNow + 600000);
    EXPECT_EQ(t->scopes, (std::vector<std::string>{"read", "write"}));
  }
}

TEST(OAuthBearerTest, RefusesWhatKafkaRefuses) {
  Key rsa = Rsa("r1"), other = Rsa("r1");
  Jwks keys = Set({&rsa});
  auto refused = [&](const std::string& jwt, const OAuthBearerOptions& o = Options()) {
    auto t = ValidateJwt(jwt, keys, o, kNow);
    return !t.ok();
  };
  EXPECT_TRUE(refused(Sign(other, "RS256", Claims()))) << "signed by another key";
  EXPECT_TRUE(refused(Sign(rsa, "RS256", Claims(kNow / 1000 - 31)))) << "expired beyond skew";
  EXPECT_FALSE(refused(Sign(rsa, "RS256", Claims(kNow / 1000 - 29)))) << "expired within skew";
  json no_exp = Claims();
  no_exp.erase("exp");
  EXPECT_TRUE(refused(Sign(rsa, "RS256", no_exp))) << "no exp";
  json future = Claims();
  future["nbf"] = kNow / 1000 + 60;
  EXPECT_TRUE(refused(Sign(rsa, "RS256", future))) << "nbf in the future";
  json aud = Claims();
  aud["aud"] = "somebody-else";
  EXPECT_TRUE(refused(Sign(rsa, "RS256", aud))) << "audience";
  json iss = Claims();
  iss["iss"] = "https://evil";
  EXPECT_TRUE(refused(Sign(rsa, "RS256", iss))) << "issuer";
  json no_sub = Claims();
  no_sub.erase("sub");
  EXPECT_TRUE(refused(Sign(rsa, "RS256", no_sub))) << "no subject";
  // alg none, an unknown kid, garbage, tampered payload.
  const std::string none =
      B64Url(R"({"alg":"none","kid":"r1"})") + "." + B64Url(Claims().dump()) + ".";
  EXPECT_TRUE(refused(none)) << "alg none";
  Key stranger = Rsa("r2");
  EXPECT_TRUE(refused(Sign(stranger, "RS256", Claims()))) << "unknown kid";
  EXPECT_TRUE(refused("garbage")) << "garbage";
  EXPECT_TRUE(refused("a.b.c.d")) << "four parts";
  std::string jwt = Sign(rsa, "RS256", Claims());
  auto dot = jwt.find('.');
  json admin = Claims();
  admin["sub"] = "admin";
  std::string tampered = jwt.substr(0, dot + 1) + B64Url(admin.dump()) + jwt.substr(jwt.rfind('.'));
  EXPECT_TRUE(refused(tampered)) << "tampered payload";
  EXPECT_TRUE(refused(std::string(70000, 'a') + ".b.c")) << "oversized";
  // Without expectations, audience and issuer are not checked.
  EXPECT_FALSE(refused(Sign(rsa, "RS256", aud), OAuthBearerOptions{}));
}

TEST(OAuthBearerTest, ClientResponseParsing) {
  auto t = ParseOAuthBearerClientResponse(
      "n,,\x01"
      "auth=Bearer abc.def.ghi\x01\x01");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, "abc.def.ghi");
  t = ParseOAuthBearerClientResponse(
      "n,a=alice,\x01host=h\x01"
      "auth=Bearer x.y.z\x01\x01");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "x.y.z");
  for (const char* bad : {"", "n,,", "n,,\x01\x01",
                          "n,,\x01"
                          "auth=Basic x\x01\x01",
                          "n,,\x01"
                          "auth=Bearer x",
                          "p,,\x01"
                          "auth=Bearer x\x01\x01"}) {
    EXPECT_FALSE(ParseOAuthBearerClientResponse(bad).ok()) << bad;
  }
}

TEST(OAuthBearerTest, JwksFileReloadedOnKeyRotation) {
  char path[] = "/tmp/gregor-jwks-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  Key first = Rsa("k1"), second = Ec("k2");
  auto write = [&](const Key& k) {
    std::ofstream(path) << json{{"keys", json::array({k.Jwk()})}}.dump();
  };
  write(first);
  OAuthBearerOptions o = Options();
  o.jwks_url = std::string("file://") + path;
  auto v = OAuthBearerValidator::Create(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE((*v)->Validate(Sign(first, "RS256", Claims()), kNow).ok());
  // The issuer rotates to a new key: a token naming it triggers a re-read.
  write(second);
  auto t = (*v)->Validate(Sign(second, "ES256", Claims()), kNow + 2000);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*v)->Validate(Sign(first, "RS256", Claims()), kNow + 4000).ok());
  // A broken file keeps the keys in use.
  std::ofstream(path) << "{ not json";
  EXPECT_TRUE((*v)->Validate(Sign(second, "ES256", Claims()), kNow + 6000).ok());
  std::remove(path);
  EXPECT_FALSE(OAuthBearerValidator::Create(o).ok()) << "a missing JWKS is a config error";
  o.jwks_url = "https://idp/jwks";
  EXPECT_FALSE(OAuthBearerValidator::Create(o).ok());
}

TEST(OAuthBearerTest, JwksEndpointFetchedRetriedAndRefreshedOnRotation) {
  // The endpoint, as the fetch function sees it: a document that can change, and failures.
  std::mutex mu;
  std::string document;
  int failures_left = 2;
  int fetches = 0;
  Key first = Rsa("k1"), second = Ec("k2");
  auto publish = [&](const Key& k) {
    std::lock_guard<std::mutex> lock(mu);
    document = json{{"keys", json::array({k.Jwk()})}}.dump();
  };
  publish(first);
  OAuthBearerOptions o = Options();
  o.jwks_url = "https://idp.example/certs";
  o.jwks_retry_backoff_ms = 10;
  o.jwks_retry_backoff_max_ms = 2000;
  o.fetch_jwks = [&]() -> Result<std::string> {
    std::lock_guard<std::mutex> lock(mu);
    ++fetches;
    if (failures_left > 0) {
      --failures_left;
      return Status::Unavailable("connection refused");
    }
    return document;
  };
  // Two failures at startup are retried with backoff.
  auto v = OAuthBearerValidator::Create(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(3, fetches);
  EXPECT_TRUE((*v)->Validate(Sign(first, "RS256", Claims()), kNow).ok());

  // Rotation: the first token with the new key fails and asks the refresher for a fetch; once
  // it ran, the new key is accepted and the old one is not.
  publish(second);
  auto t = (*v)->Validate(Sign(second, "ES256", Claims()), kNow + 2000);
  EXPECT_FALSE(t.ok());
  for (int i = 0; i < 500 && (*v)->reloads() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(1, (*v)->reloads());
  EXPECT_TRUE((*v)->Validate(Sign(second, "ES256", Claims()), kNow + 2000).ok());
  EXPECT_FALSE((*v)->Validate(Sign(first, "RS256", Claims()), kNow + 2000).ok());
  // Unknown key ids at a high rate cause at most one fetch a second.
  const int before = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return fetches;
  }();
  Key stranger = Rsa("k9");
  for (int i = 0; i < 50; ++i) (*v)->Validate(Sign(stranger, "RS256", Claims()), kNow + 2100 + i);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(before, [&] {
    std::lock_guard<std::mutex> lock(mu);
    return fetches;
  }());

  // An endpoint that stays down past the backoff budget fails startup with its reason.
  o.fetch_jwks = [] { return Result<std::string>(Status::Unavailable("connection refused")); };
  o.jwks_retry_backoff_max_ms = 100;
  auto down = OAuthBearerValidator::Create(o);
  ASSERT_FALSE(down.ok());
  EXPECT_NE(std::string::npos, down.status().message().find("connection refused"));
  // So does one that serves no usable key.
  o.fetch_jwks = [] { return Result<std::string>(std::string(R"({"keys":[]})")); };
  EXPECT_FALSE(OAuthBearerValidator::Create(o).ok());
}

}  // namespace
}  // namespace gregor::security
