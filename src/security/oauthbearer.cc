#include "gregor/security/oauthbearer.h"

#include <glog/logging.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gregor/security/base64.h"

namespace gregor::security {

namespace {

using json = nlohmann::json;

constexpr size_t kMaxTokenBytes = 64 * 1024;

Status Bad(const std::string& why) { return Status::InvalidArgument(why); }

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;

Result<Bn> BnFromB64Url(const json& jwk, const char* field) {
  if (!jwk.contains(field) || !jwk[field].is_string()) {
    return Bad(std::string("JWK without '") + field + "'");
  }
  auto bytes = Base64UrlDecode(jwk[field].get<std::string>());
  if (!bytes.ok() || bytes->empty()) return Bad(std::string("JWK '") + field + "' not base64url");
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                      static_cast<int>(bytes->size()), nullptr));
}

// An EVP_PKEY from OSSL_PARAMs (OpenSSL 3's way to build keys from their numbers).
Result<std::shared_ptr<EVP_PKEY>> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  const bool ok = params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1 &&
                  EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  if (!ok || pkey == nullptr) return Bad(std::string("JWK is not a valid ") + type + " key");
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

Result<std::shared_ptr<EVP_PKEY>> RsaKey(const json& jwk) {
  auto n = BnFromB64Url(jwk, "n");
  if (!n.ok()) return n.status();
  auto e = BnFromB64Url(jwk, "e");
  if (!e.ok()) return e.status();
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n->get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e->get());
  auto key = FromParams("RSA", bld);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

Result<std::shared_ptr<EVP_PKEY>> EcKey(const json& jwk) {
  const std::string crv = jwk.value("crv", "");
  const char* group = crv == "P-256" ? "prime256v1" : crv == "P-384" ? "secp384r1" : nullptr;
  const size_t len = crv == "P-256" ? 32 : 48;
  if (group == nullptr) return Bad("JWK curve '" + crv + "' not supported (P-256, P-384)");
  auto x = Base64UrlDecode(jwk.value("x", ""));
  auto y = Base64UrlDecode(jwk.value("y", ""));
  if (!x.ok() || !y.ok() || x->size() != len || y->size() != len) {
    return Bad("JWK EC coordinates malformed");
  }
  std::string point = "\x04" + *x + *y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  auto key = FromParams("EC", bld);
  OSSL_PARAM_BLD_free(bld);
  return key;
}

// The JWS algorithms gregor verifies (Kafka's jose4j defaults for signed tokens).
struct Alg {
  const EVP_MD* md;
  bool pss;
  size_t ec_len;  // 0: RSA
};
std::optional<Alg> AlgOf(const std::string& name) {
  if (name == "RS256") return Alg{EVP_sha256(), false, 0};
  if (name == "RS384") return Alg{EVP_sha384(), false, 0};
  if (name == "RS512") return Alg{EVP_sha512(), false, 0};
  if (name == "PS256") return Alg{EVP_sha256(), true, 0};
  if (name == "PS384") return Alg{EVP_sha384(), true, 0};
  if (name == "PS512") return Alg{EVP_sha512(), true, 0};
  if (name == "ES256") return Alg{EVP_sha256(), false, 32};
  if (name == "ES384") return Alg{EVP_sha384(), false, 48};
  return std::nullopt;
}

// JWS ECDSA signatures are r || s; OpenSSL verifies DER.
Result<std::string> EcdsaDer(const std::string& raw, size_t len) {
  if (raw.size() != 2 * len) return Bad("ECDSA signature of the wrong length");
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), len, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + len, len, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (n <= 0) return Bad("ECDSA signature not encodable");
  std::string out(reinterpret_cast<char*>(der), n);
  OPENSSL_free(der);
  return out;
}

bool Verify(const Alg& alg, EVP_PKEY* key, std::string_view signed_part, const std::string& sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(ctx, &pctx, alg.md, nullptr, key) == 1;
  if (ok && alg.pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                              reinterpret_cast<const unsigned char*>(signed_part.data()),
                              signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Result<json> DecodePart(std::string_view part, const char* what) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes.ok()) return Bad(std::string("JWT ") + what + " is not base64url");
  json j = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad(std::string("JWT ") + what + " is not a JSON object");
  return j;
}

// A NumericDate claim in seconds; nullopt when absent.
Result<std::optional<double>> DateClaim(const json& claims, const char* name) {
  if (!claims.contains(name)) return std::optional<double>();
  if (!claims[name].is_number()) return Bad(std::string("claim '") + name + "' is not a number");
  return std::optional<double>(claims[name].get<double>());
}

std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}

// The key set of a JWKS document; `where` names its source in errors.
Result<std::shared_ptr<const Jwks>> ParseJwksDocument(std::string_view text,
                                                      const std::string& where) {
  auto jwks = Jwks::Parse(text);
  if (!jwks.ok()) return Bad("JWKS " + where + ": " + jwks.status().message());
  if (jwks->size() == 0) return Bad("JWKS " + where + " has no usable key");
  return std::shared_ptr<const Jwks>(std::make_shared<Jwks>(std::move(*jwks)));
}

Result<std::shared_ptr<const Jwks>> ReadJwksFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bad("cannot read the JWKS file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseJwksDocument(ss.str(), "file " + path);
}

Result<std::shared_ptr<const Jwks>> FetchJwks(const OAuthBearerOptions& o) {
  auto doc = o.fetch_jwks();
  if (!doc.ok()) return Bad("fetching the JWKS: " + doc.status().message());
  return ParseJwksDocument(*doc, "from " + o.jwks_url.substr(0, o.jwks_url.find('?')));
}

bool IsHttpUrl(const std::string& url) {
  return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
}

}  // namespace

Result<Jwks> Jwks::Parse(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return Bad("not a JWKS (an object with a 'keys' array)");
  }
  Jwks out;
  for (const json& jwk : doc["keys"]) {
    if (!jwk.is_object()) continue;
    const std::string kid = jwk.value("kid", "");
    const std::string kty = jwk.value("kty", "");
    if (jwk.contains("use") && jwk["use"] != "sig") continue;  // encryption keys
    Result<std::shared_ptr<EVP_PKEY>> key = kty == "RSA"  ? RsaKey(jwk)
                                            : kty == "EC" ? EcKey(jwk)
                                                          : Bad("key type '" + kty + "'");
    if (!key.ok()) {
      LOG(WARNING) << "[OAUTHBEARER] JWKS: skipping key '" << kid
                   << "': " << key.status().message();
      continue;
    }
    out.keys_[kid] = Key{std::move(*key)};
  }
  return out;
}

EVP_PKEY* Jwks::Find(const std::string& kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : it->second.pkey.get();
}

Result<std::string> ParseOAuthBearerClientResponse(std::string_view m) {
  // gs2-header: "n," or "y," then an optional "a=<authzid>", then ",".
  if (m.size() < 3 || (m[0] != 'n' && m[0] != 'y') || m[1] != ',') {
    return Bad("OAUTHBEARER message without a GS2 header");
  }
  auto comma = m.find(',', 2);
  if (comma == std::string_view::npos) return Bad("OAUTHBEARER GS2 header not terminated");
  m.remove_prefix(comma + 1);
  if (m.empty() || m[0] != '\x01') return Bad("OAUTHBEARER message: no key-value separator");
  std::optional<std::string> token;
  while (!m.empty()) {
    m.remove_prefix(1);  // \x01
    auto end = m.find('\x01');
    if (end == std::string_view::npos) return Bad("OAUTHBEARER message not terminated");
    std::string_view kv = m.substr(0, end);
    m.remove_prefix(end);
    if (kv.empty()) {
      if (m.size() != 1) return Bad("OAUTHBEARER message: data after its end");
      break;
    }
    if (kv.rfind("auth=", 0) == 0) {
      std::string_view v = kv.substr(5);
      if (v.size() < 7 || v.substr(0, 7) != "Bearer ") {
        return Bad("OAUTHBEARER auth value is not 'Bearer <token>'");
      }
      token = std::string(v.substr(7));
    }
  }
  if (!token || token->empty()) return Bad("OAUTHBEARER message without auth=Bearer <token>");
  return *token;
}

Result<OAuthBearerToken> ValidateJwt(std::string_view jwt, const Jwks& keys,
                                     const OAuthBearerOptions& o, int64_t now_ms) {
  if (jwt.size() > kMaxTokenBytes) return Bad("token larger than 64 KiB");
  const auto dot1 = jwt.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : jwt.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || jwt.find('.', dot2 + 1) != std::string_view::npos) {
    return Bad("not a compact JWS (three dot-separated parts)");
  }
  auto header = DecodePart(jwt.substr(0, dot1), "header");
  if (!header.ok()) return header.status();
  auto claims = DecodePart(jwt.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!claims.ok()) return claims.status();
  auto sig = Base64UrlDecode(jwt.substr(dot2 + 1));
  if (!sig.ok()) return Bad("JWT signature is not base64url");

  const std::string alg_name = header->value("alg", "");
  auto alg = AlgOf(alg_name);
  if (!alg) return Bad("JWS algorithm '" + alg_name + "' not accepted");
  const std::string kid = header->value("kid", "");
  EVP_PKEY* key = keys.Find(kid);
  if (key == nullptr) return Status::NotFound("no key with kid '" + kid + "' in the JWKS");
  const bool rsa = EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
  if (rsa != (alg->ec_len == 0)) return Bad("key '" + kid + "' does not fit " + alg_name);
  std::string signature = *sig;
  if (alg->ec_len != 0) {
    auto der = EcdsaDer(signature, alg->ec_len);
    if (!der.ok()) return der.status();
    signature = std::move(*der);
  }
  if (!Verify(*alg, key, jwt.substr(0, dot2), signature)) return Bad("signature does not verify");

  const double now = static_cast<double>(now_ms) / 1000;
  const double skew = static_cast<double>(o.clock_skew_s);
  auto exp = DateClaim(*claims, "exp");
  if (!exp.ok()) return exp.status();
  if (!*exp) return Bad("token without 'exp'");
  if (now - skew >= **exp) return Bad("token expired");
  auto nbf = DateClaim(*claims, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (*nbf && now + skew < **nbf) return Bad("token not valid yet ('nbf')");
  auto iat = DateClaim(*claims, "iat");
  if (!iat.ok()) return iat.status();
  if (*iat && now + skew < **iat) return Bad("token issued in the future ('iat')");
  if (!o.expected_issuer.empty() &&
      (!claims->contains("iss") || (*claims)["iss"] != o.expected_issuer)) {
    return Bad("issuer is not " + o.expected_issuer);
  }
  if (!o.expected_audience.empty()) {
    std::vector<std::string> aud;
    if (claims->contains("aud") && (*claims)["aud"].is_string()) {
      aud.push_back((*claims)["aud"].get<std::string>());
    } else if (claims->contains("aud") && (*claims)["aud"].is_array()) {
      for (const auto& a : (*claims)["aud"]) {
        if (a.is_string()) aud.push_back(a.get<std::string>());
      }
    }
    bool match = false;
    for (const auto& a : aud) {
      match = match || std::find(o.expected_audience.begin(), o.expected_audience.end(), a) !=
                           o.expected_audience.end();
    }
    if (!match) return Bad("audience is not one of the expected ones");
  }
  OAuthBearerToken t;
  if (!claims->contains(o.sub_claim) || !(*claims)[o.sub_claim].is_string() ||
      (*claims)[o.sub_claim].get<std::string>().empty()) {
    return Bad("token without a '" + o.sub_claim + "' claim");
  }
  t.principal_name = (*claims)[o.sub_claim].get<std::string>();
  t.expires_at_ms = static_cast<int64_t>(std::floor(**exp * 1000));
  if (claims->contains(o.scope_claim)) {
    const json& scope = (*claims)[o.scope_claim];
    if (scope.is_string()) {
      std::istringstream words(scope.get<std::string>());
      for (std::string w; words >> w;) t.scopes.push_back(w);
    } else if (scope.is_array()) {
      for (const auto& s : scope) {
        if (s.is_string()) t.scopes.push_back(s.get<std::string>());
      }
    }
  }
  return t;
}

Result<std::unique_ptr<OAuthBearerValidator>> OAuthBearerValidator::Create(
    OAuthBearerOptions options) {
  if (IsHttpUrl(options.jwks_url)) {
    if (!options.fetch_jwks) return Bad("sasl.oauthbearer.jwks.endpoint.url: no HTTP client");
    // The first fetch, retried with doubling backoff for at most retry.backoff.max.ms.
    const auto start = std::chrono::steady_clock::now();
    int64_t backoff = std::max<int64_t>(1, options.jwks_retry_backoff_ms);
    Result<std::shared_ptr<const Jwks>> keys = FetchJwks(options);
    while (!keys.ok()) {
      const int64_t waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
      if (waited + backoff > options.jwks_retry_backoff_max_ms) return keys.status();
      LOG(WARNING) << "[OAUTHBEARER] " << keys.status().message() << "; retrying in " << backoff
                   << " ms";
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff = std::min(backoff * 2, std::max<int64_t>(1, options.jwks_retry_backoff_max_ms));
      keys = FetchJwks(options);
    }
    std::unique_ptr<OAuthBearerValidator> v(new OAuthBearerValidator(std::move(options)));
    v->keys_ = std::move(*keys);
    v->refresher_ = std::thread([raw = v.get()] { raw->RefreshLoop(); });
    return v;
  }
  std::string path = options.jwks_url;
  if (path.rfind("file://", 0) == 0) {
    path = path.substr(7);
  } else if (path.find("://") != std::string::npos) {
    return Bad(
        "sasl.oauthbearer.jwks.endpoint.url: expected https://, http://, file:// or a "
        "path, not " +
        path.substr(0, path.find("://") + 3));
  }
  if (path.empty() || path[0] != '/') {
    return Bad("sasl.oauthbearer.jwks.endpoint.url must name an absolute file path");
  }
  auto keys = ReadJwksFile(path);
  if (!keys.ok()) return keys.status();
  std::unique_ptr<OAuthBearerValidator> v(new OAuthBearerValidator(std::move(options)));
  v->path_ = path;
  v->keys_ = std::move(*keys);
  v->stamp_ = FileStamp(path);
  return v;
}

OAuthBearerValidator::~OAuthBearerValidator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

int64_t OAuthBearerValidator::reloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reloads_;
}

std::shared_ptr<const Jwks> OAuthBearerValidator::Keys() {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_;
}

void OAuthBearerValidator::RefreshLoop() {
  const int64_t min_backoff = std::max<int64_t>(1, options_.jwks_retry_backoff_ms);
  int64_t backoff = min_backoff;
  auto next =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.jwks_refresh_ms);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_until(lock, next, [this] { return stop_ || expedite_; });
    if (stop_) return;
    expedite_ = false;
    lock.unlock();
    auto keys = FetchJwks(options_);  // the network, outside the lock
    lock.lock();
    const auto now = std::chrono::steady_clock::now();
    if (keys.ok()) {
      keys_ = std::move(*keys);
      ++reloads_;
      backoff = min_backoff;
      next = now + std::chrono::milliseconds(options_.jwks_refresh_ms);
      VLOG(1) << "[OAUTHBEARER] JWKS fetched: " << keys_->size() << " keys";
    } else {
      LOG(WARNING) << "[OAUTHBEARER] keeping the previous keys: " << keys.status().message()
                   << "; retrying in " << backoff << " ms";
      next = now + std::chrono::milliseconds(backoff);
      backoff = std::min(backoff * 2, std::max(min_backoff, options_.jwks_retry_backoff_max_ms));
    }
  }
}

void OAuthBearerValidator::Expedite(int64_t now_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now_ms - last_check_ms_ < 1000) return;
    last_check_ms_ = now_ms;
    expedite_ = true;
  }
  cv_.notify_all();
}

void OAuthBearerValidator::MaybeReload(int64_t now_ms, bool force) {
  if (path_.empty()) return;  // URLs: the refresher's job
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t interval = force ? 1000 : options_.jwks_refresh_ms;
  if (now_ms - last_check_ms_ < interval) return;
  last_check_ms_ = now_ms;
  const std::string stamp = FileStamp(path_);
  if (stamp == stamp_) return;
  auto keys = ReadJwksFile(path_);
  if (!keys.ok()) {
    LOG(WARNING) << "[OAUTHBEARER] keeping the previous keys: " << keys.status().message();
    return;
  }
  keys_ = std::move(*keys);
  stamp_ = stamp;
  ++reloads_;
  LOG(INFO) << "[OAUTHBEARER] JWKS reloaded from " << path_ << ": " << keys_->size() << " keys";
}

Result<OAuthBearerToken> OAuthBearerValidator::Validate(std::string_view jwt, int64_t now_ms) {
  MaybeReload(now_ms, false);
  auto t = ValidateJwt(jwt, *Keys(), options_, now_ms);
  if (t.ok() || t.status().code() != Status::Code::kNotFound) return t;
  // An unknown key id: the keys may have rotated.
  if (path_.empty()) {
    Expedite(now_ms);
    return Bad(t.status().message() + " (the JWKS is being fetched again)");
  }
  MaybeReload(now_ms, true);
  t = ValidateJwt(jwt, *Keys(), options_, now_ms);
  if (!t.ok() && t.status().code() == Status::Code::kNotFound) {
    return Bad(t.status().message());
  }
  return t;
}

}  // namespace gregor::security
