#include "gregor/security/plain.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

namespace gregor::security {

namespace {

constexpr char kInvalidResponse[] = "Invalid SASL/PLAIN response: ";
constexpr char kInvalidCredentials[] = "Authentication failed: Invalid username or password";

// SHA-256 of `s`. Comparing digests rather than the passwords themselves keeps the comparison
// constant-time even when the lengths differ (CRYPTO_memcmp needs equal lengths).
bool Sha256(std::string_view s, unsigned char out[32]) {
  unsigned int len = 0;
  return EVP_Digest(s.data(), s.size(), out, &len, EVP_sha256(), nullptr) == 1 && len == 32;
}

}  // namespace

Result<PlainMessage> ParsePlainMessage(std::string_view message) {
  if (message.size() > kMaxPlainMessageSize) {
    return Status::InvalidArgument(std::string(kInvalidResponse) + "message of " +
                                   std::to_string(message.size()) + " bytes exceeds the limit of " +
                                   std::to_string(kMaxPlainMessageSize));
  }
  std::vector<std::string_view> tokens;
  size_t start = 0;
  for (;;) {
    size_t nul = message.find('\0', start);
    tokens.push_back(message.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  if (tokens.size() != 3) {
    return Status::InvalidArgument(std::string(kInvalidResponse) + "expected 3 tokens, got " +
                                   std::to_string(tokens.size()));
  }
  PlainMessage m{std::string(tokens[0]), std::string(tokens[1]), std::string(tokens[2])};
  if (m.username.empty()) {
    return Status::InvalidArgument("Authentication failed: username not specified");
  }
  if (m.password.empty()) {
    return Status::InvalidArgument("Authentication failed: password not specified");
  }
  if (!m.authzid.empty() && m.authzid != m.username) {
    return Status::InvalidArgument(
        "Authentication failed: Client requested an authorization id that is different from "
        "username");
  }
  return m;
}

Result<std::string> AuthenticatePlain(std::string_view message,
                                      const std::map<std::string, std::string>& users) {
  Result<PlainMessage> m = ParsePlainMessage(message);
  if (!m.ok()) return m.status();
  auto it = users.find(m->username);
  // An unknown user is compared against an empty expected password (which can never match: an
  // empty password was refused above), so both failures take the same path and time.
  static const std::string kNoPassword;
  const std::string& expected = it == users.end() ? kNoPassword : it->second;
  unsigned char got_digest[32];
  unsigned char expected_digest[32];
  if (!Sha256(m->password, got_digest) || !Sha256(expected, expected_digest)) {
    return Status::Internal("Authentication failed: credentials for user could not be verified");
  }
  const bool match = CRYPTO_memcmp(got_digest, expected_digest, sizeof(got_digest)) == 0;
  if (!match || it == users.end()) return Status::InvalidArgument(kInvalidCredentials);
  return m->username;
}

}  // namespace gregor::security
