#pragma once
// SASL/OAUTHBEARER on the broker (RFC 7628, KIP-255/KIP-768), validating signed JWTs the way
// Kafka's OAuthBearerValidatorCallbackHandler does: a compact JWS whose header names an
// algorithm (RS256/384/512, PS256/384/512, ES256/384) and a key id found in a JWKS; `exp`
// required, `iat` and `nbf` honoured, each within the allowed clock skew; the audience (when
// expected) one of sasl.oauthbearer.expected.audience, the issuer (when expected)
// sasl.oauthbearer.expected.issuer; the principal's name from the subject claim. Unsigned
// tokens (`alg: none`) are refused.
//
// The JWKS comes from sasl.oauthbearer.jwks.endpoint.url, a file (file:///path or a plain
// path): re-read when the file changed, looked at no more often than
// sasl.oauthbearer.jwks.endpoint.refresh.ms, and at once (at most once a second) when a token
// names a key id the keys in memory lack (a key rotation).
//
// Thread-safety: Validate may be called from any thread; the key set is swapped under a mutex.
// Errors: Status kInvalidArgument with the reason (for the broker log and the audit log; the
// client only learns "invalid_token").

#include <openssl/evp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
  std::string jwks_url;               // file:///path or /path
  int64_t jwks_refresh_ms = 3600000;  // sasl.oauthbearer.jwks.endpoint.refresh.ms
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
  // Reads the JWKS once; an unreadable or empty key set fails (a configuration error).
  static Result<std::unique_ptr<OAuthBearerValidator>> Create(OAuthBearerOptions options);

  Result<OAuthBearerToken> Validate(std::string_view jwt, int64_t now_ms);

 private:
  explicit OAuthBearerValidator(OAuthBearerOptions options) : options_(std::move(options)) {}
  // Re-reads the file when it changed (`force`: regardless of the refresh interval).
  void MaybeReload(int64_t now_ms, bool force);

  const OAuthBearerOptions options_;
  std::string path_;
  std::mutex mu_;
  std::shared_ptr<const Jwks> keys_;
  std::string stamp_;          // size and mtime of the file last read
  int64_t last_check_ms_ = 0;  // when the file was last looked at
};

}  // namespace gregor::security
