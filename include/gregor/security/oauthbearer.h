#pragma once
// SASL/OAUTHBEARER on the broker (RFC 7628, KIP-255/KIP-768), validating signed JWTs the way
// Kafka's OAuthBearerValidatorCallbackHandler does: a compact JWS whose header names an
// algorithm (RS256/384/512, PS256/384/512, ES256/384) and a key id found in a JWKS; `exp`
// required, `iat` and `nbf` honoured, each within the allowed clock skew; the audience (when
// expected) one of sasl.oauthbearer.expected.audience, the issuer (when expected)
// sasl.oauthbearer.expected.issuer; the principal's name from the subject claim. Unsigned
// tokens (`alg: none`) are refused.
//
// The JWKS comes from sasl.oauthbearer.jwks.endpoint.url:
//  - a file (file:///path or a plain path): re-read when the file changed, looked at no more
//    often than sasl.oauthbearer.jwks.endpoint.refresh.ms, and at once (at most once a second)
//    when a token names a key id the keys in memory lack (a key rotation);
//  - an http(s):// endpoint, fetched through `fetch_jwks` (the server's HTTP client; this
//    module opens no sockets): once in Create, retried with backoff
//    (sasl.oauthbearer.jwks.endpoint.retry.backoff.ms doubling up to .max.ms, the total wait
//    bounded by the max), then by a refresher thread every refresh.ms, and sooner (at most
//    once a second) when a token names an unknown key id; that token fails, as in Kafka,
//    and the client's next attempt sees the new keys. A failed refresh keeps the old keys
//    and is retried with backoff. Validate never waits for the network.
//
// Thread-safety: Validate may be called from any thread; the key set is swapped under a mutex.
// Errors: Status kInvalidArgument with the reason (for the broker log and the audit log; the
// client only learns "invalid_token").

#include <openssl/evp.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gregor/base/status.h"

namespace gregor::security {

// A JSON Web Key Set (RFC 7517): the RSA and EC (P-256, P-384) public keys by key id.
class Jwks {
 public:
  static Result<Jwks> Parse(std::string_view json);
  // The key with this id; null when none.
  EVP_PKEY* Find(const std::string& kid) const;
  size_t size() const { return keys_.size(); }

 private:
  struct Key {
    std::shared_ptr<EVP_PKEY> pkey;
  };
  std::map<std::string, Key> keys_;
};

struct OAuthBearerOptions {
  std::string jwks_url;                       // file:///path, /path, http(s)://...
  int64_t jwks_refresh_ms = 3600000;          // sasl.oauthbearer.jwks.endpoint.refresh.ms
  int64_t jwks_retry_backoff_ms = 100;        // ...endpoint.retry.backoff.ms
  int64_t jwks_retry_backoff_max_ms = 10000;  // ...endpoint.retry.backoff.max.ms
  // Fetches the JWKS document of an http(s) URL (blocking; called from Create and from the
  // refresher thread). Required for those URLs, unused for files.
  std::function<Result<std::string>()> fetch_jwks;
  std::vector<std::string> expected_audience;
  std::string expected_issuer;
  int64_t clock_skew_s = 30;
  std::string sub_claim = "sub";
  std::string scope_claim = "scope";
};

struct OAuthBearerToken {
  std::string principal_name;  // the subject claim
  int64_t expires_at_ms = 0;   // `exp`
  std::vector<std::string> scopes;
};

// The token of an OAUTHBEARER client-first message: a GS2 header ("n,," or "n,a=<authzid>,"),
// then key=value pairs separated by \x01, one of them auth=Bearer <token>, ending in
// \x01\x01. kInvalidArgument when malformed.
Result<std::string> ParseOAuthBearerClientResponse(std::string_view message);

// Validates a compact JWS against `keys` and the options, at `now_ms` (Unix time).
Result<OAuthBearerToken> ValidateJwt(std::string_view jwt, const Jwks& keys,
                                     const OAuthBearerOptions& options, int64_t now_ms);

class OAuthBearerValidator {
 public:
  // Reads (or fetches) the JWKS once; an unreadable or empty key set fails (a configuration
  // error). For an http(s) URL, starts the refresher thread.
  static Result<std::unique_ptr<OAuthBearerValidator>> Create(OAuthBearerOptions options);
  ~OAuthBearerValidator();  // stops and joins the refresher thread

  Result<OAuthBearerToken> Validate(std::string_view jwt, int64_t now_ms);

  // How many key sets were installed after the first (file reloads and fetches): for tests.
  int64_t reloads() const;

 private:
  explicit OAuthBearerValidator(OAuthBearerOptions options) : options_(std::move(options)) {}
  // Files: re-reads the file when it changed (`force`: regardless of the refresh interval).
  void MaybeReload(int64_t now_ms, bool force);
  // URLs: asks the refresher for a fetch now (at most once a second).
  void Expedite(int64_t now_ms);
  void RefreshLoop();
  std::shared_ptr<const Jwks> Keys();

  const OAuthBearerOptions options_;
  std::string path_;  // empty for URLs
  mutable std::mutex mu_;
  std::shared_ptr<const Jwks> keys_;
  std::string stamp_;          // files: size and mtime of the file last read
  int64_t last_check_ms_ = 0;  // files: when the file was last looked at; URLs: last expedite
  int64_t reloads_ = 0;
  std::condition_variable cv_;  // wakes the refresher: stop_ or expedite_
  bool stop_ = false;
  bool expedite_ = false;
  std::thread refresher_;
};

}  // namespace gregor::security
