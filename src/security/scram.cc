#include "gregor/security/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gregor/security/base64.h"

namespace gregor::security {

namespace {

constexpr size_t kServerNonceSize = 32;

const EVP_MD* Md(ScramMechanism mechanism) {
  return mechanism == ScramMechanism::kSha512 ? EVP_sha512() : EVP_sha256();
}

size_t DigestSize(ScramMechanism mechanism) {
  return static_cast<size_t>(EVP_MD_get_size(Md(mechanism)));
}

Result<std::string> Hmac(ScramMechanism mechanism, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(Md(mechanism), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &len) == nullptr) {
    return Status::Internal("HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

Result<std::string> Hash(ScramMechanism mechanism, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, Md(mechanism), nullptr) != 1) {
    return Status::Internal("digest failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

Status RandomBytes(size_t n, std::string* out) {
  out->assign(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out->data()), static_cast<int>(n)) != 1) {
    return Status::Internal("RAND_bytes failed");
  }
  return Status::Ok();
}

// Printable ASCII without ',' (RFC 5802 `printable`), the characters of a nonce.
bool IsPrintable(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

// RFC 5802 `saslname`: '=' only as "=2C" (',') or "=3D" ('='); no NUL, no ','.
bool DecodeSaslName(std::string_view s, std::string* out) {
  out->clear();
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\0' || c == ',') return false;
    if (c == '=') {
      std::string_view code = s.substr(i + 1, 2);
      if (code == "2C") {
        out->push_back(',');
      } else if (code == "3D") {
        out->push_back('=');
      } else {
        return false;
      }
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

// An attribute "k=value" with a single-letter name `k`; returns the value.
bool Attribute(std::string_view attr, char name, std::string_view* value) {
  if (attr.size() < 2 || attr[0] != name || attr[1] != '=') return false;
  *value = attr.substr(2);
  return true;
}

// An extension "name=value" (Kafka's ScramExtensions: name ALPHA+, value non-empty, no ',').
bool Extension(std::string_view attr, std::string_view* name, std::string_view* value) {
  size_t eq = attr.find('=');
  if (eq == 0 || eq == std::string_view::npos || eq + 1 == attr.size()) return false;
  for (size_t i = 0; i < eq; ++i) {
    char c = attr[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  *name = attr.substr(0, eq);
  *value = attr.substr(eq + 1);
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// A secret drawn once per process, keying the fake salts of unknown users.
Result<std::string> FakeSaltKey() {
  static const std::string* key = [] {
    auto* k = new std::string();
    if (!RandomBytes(32, k).ok()) k->clear();
    return k;
  }();
  if (key->empty()) return Status::Internal("RAND_bytes failed");
  return *key;
}

}  // namespace

std::string_view ScramMechanismName(ScramMechanism mechanism) {
  switch (mechanism) {
    case ScramMechanism::kSha256:
      return "SCRAM-SHA-256";
    case ScramMechanism::kSha512:
      return "SCRAM-SHA-512";
  }
  return "SCRAM-SHA-256";
}

std::optional<ScramMechanism> ParseScramMechanism(std::string_view name) {
  for (ScramMechanism m : {ScramMechanism::kSha256, ScramMechanism::kSha512}) {
    if (name == ScramMechanismName(m)) return m;
  }
  return std::nullopt;
}

std::string ScramAuthenticationFailedMessage(ScramMechanism mechanism) {
  return "Authentication failed during authentication due to invalid credentials with SASL "
         "mechanism " +
         std::string(ScramMechanismName(mechanism));
}

std::string ScramCredential::Format() const {
  return "salt=" + Base64Encode(salt) + ",stored_key=" + Base64Encode(stored_key) +
         ",server_key=" + Base64Encode(server_key) + ",iterations=" + std::to_string(iterations);
}

Result<ScramCredential> ScramCredential::Parse(std::string_view text) {
  ScramCredential c;
  bool has_salt = false, has_stored = false, has_server = false, has_iterations = false;
  for (std::string_view field : Split(text, ',')) {
    size_t eq = field.find('=');
    if (eq == 0 || eq == std::string_view::npos) {
      return Status::InvalidArgument("invalid SCRAM credential: a field is not <name>=<value>");
    }
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    std::string* bytes = nullptr;
    bool* seen = nullptr;
    if (name == "salt") {
      bytes = &c.salt;
      seen = &has_salt;
    } else if (name == "stored_key") {
      bytes = &c.stored_key;
      seen = &has_stored;
    } else if (name == "server_key") {
      bytes = &c.server_key;
      seen = &has_server;
    } else if (name == "iterations") {
      seen = &has_iterations;
    } else {
      return Status::InvalidArgument("invalid SCRAM credential: unknown field '" +
                                     std::string(name) + "'");
    }
    if (*seen) {
      return Status::InvalidArgument("invalid SCRAM credential: repeated field '" +
                                     std::string(name) + "'");
    }
    *seen = true;
    if (bytes != nullptr) {
      Result<std::string> decoded = Base64Decode(value);
      if (!decoded.ok()) {
        return Status::InvalidArgument("invalid SCRAM credential: field '" + std::string(name) +
                                       "': " + decoded.status().message());
      }
      if (decoded->empty()) {
        return Status::InvalidArgument("invalid SCRAM credential: field '" + std::string(name) +
                                       "' is empty");
      }
      *bytes = std::move(*decoded);
    } else {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        return Status::InvalidArgument("invalid SCRAM credential: iterations '" +
                                       std::string(value) + "' is not a number");
      }
      if (n < kScramMinIterations || n > kScramMaxIterations) {
        return Status::InvalidArgument("invalid SCRAM credential: iterations " + std::to_string(n) +
                                       " is outside [" + std::to_string(kScramMinIterations) +
                                       ", " + std::to_string(kScramMaxIterations) + "]");
      }
      c.iterations = static_cast<int32_t>(n);
    }
  }
  const char* missing = !has_salt         ? "salt"
                        : !has_stored     ? "stored_key"
                        : !has_server     ? "server_key"
                        : !has_iterations ? "iterations"
                                          : nullptr;
  if (missing != nullptr) {
    return Status::InvalidArgument(std::string("invalid SCRAM credential: missing field '") +
                                   missing + "'");
  }
  return c;
}

Result<std::string> ScramSaltedPassword(ScramMechanism mechanism, std::string_view password,
                                        std::string_view salt, int32_t iterations) {
  if (salt.empty()) return Status::InvalidArgument("SCRAM salt must not be empty");
  if (iterations < kScramMinIterations || iterations > kScramMaxIterations) {
    return Status::InvalidArgument("SCRAM iterations " + std::to_string(iterations) +
                                   " is outside [" + std::to_string(kScramMinIterations) + ", " +
                                   std::to_string(kScramMaxIterations) + "]");
  }
  std::string salted(DigestSize(mechanism), '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, Md(mechanism),
                        static_cast<int>(salted.size()),
                        reinterpret_cast<unsigned char*>(salted.data())) != 1) {
    return Status::Internal("PBKDF2 failed");
  }
  return salted;
}

Result<ScramCredential> GenerateScramCredential(ScramMechanism mechanism, std::string_view password,
                                                std::string_view salt, int32_t iterations) {
  Result<std::string> salted = ScramSaltedPassword(mechanism, password, salt, iterations);
  if (!salted.ok()) return salted.status();
  Result<ScramCredential> c =
      ScramCredentialFromSaltedPassword(mechanism, salt, *salted, iterations);
  OPENSSL_cleanse(salted->data(), salted->size());
  return c;
}

Result<ScramCredential> ScramCredentialFromSaltedPassword(ScramMechanism mechanism,
                                                          std::string_view salt,
                                                          std::string_view salted_password,
                                                          int32_t iterations) {
  if (salt.empty()) return Status::InvalidArgument("SCRAM salt must not be empty");
  if (salted_password.size() != DigestSize(mechanism)) {
    return Status::InvalidArgument("a " + std::string(ScramMechanismName(mechanism)) +
                                   " salted password has " + std::to_string(DigestSize(mechanism)) +
                                   " bytes, not " + std::to_string(salted_password.size()));
  }
  const std::string salted(salted_password);
  Result<std::string> client_key = Hmac(mechanism, salted, "Client Key");
  if (!client_key.ok()) return client_key.status();
  Result<std::string> stored_key = Hash(mechanism, *client_key);
  if (!stored_key.ok()) return stored_key.status();
  Result<std::string> server_key = Hmac(mechanism, salted, "Server Key");
  if (!server_key.ok()) return server_key.status();
  OPENSSL_cleanse(client_key->data(), client_key->size());
  ScramCredential c;
  c.salt = std::string(salt);
  c.stored_key = std::move(*stored_key);
  c.server_key = std::move(*server_key);
  c.iterations = iterations;
  return c;
}

Result<std::string> GenerateScramSalt() {
  std::string salt;
  GREGOR_RETURN_IF_ERROR(RandomBytes(kScramSaltSize, &salt));
  return salt;
}

ScramServer::ScramServer(ScramMechanism mechanism, CredentialLookup lookup,
                         std::string server_nonce)
    : mechanism_(mechanism), lookup_(std::move(lookup)), server_nonce_(std::move(server_nonce)) {}

Status ScramServer::Fail(std::string message, std::string detail) {
  state_ = State::kFailed;
  failure_detail_ = std::move(detail);
  credential_ = ScramCredential();
  return Status::InvalidArgument(std::move(message));
}

Status ScramServer::FailCredentials(std::string detail) {
  return Fail(ScramAuthenticationFailedMessage(mechanism_), std::move(detail));
}

Result<std::string> ScramServer::Evaluate(std::string_view client_message) {
  switch (state_) {
    case State::kClientFirst:
      return ClientFirst(client_message);
    case State::kClientFinal:
      return ClientFinal(client_message);
    case State::kComplete:
      return Status::FailedPrecondition("SCRAM exchange already complete");
    case State::kFailed:
      return Status::FailedPrecondition("SCRAM exchange already failed");
  }
  return Status::Internal("unreachable");
}

// client-first-message = gs2-header client-first-message-bare
//   gs2-header = "n," [ "a=" saslname ] ","
//   client-first-message-bare = "n=" saslname ",r=" c-nonce ["," extensions]
Result<std::string> ScramServer::ClientFirst(std::string_view message) {
  auto invalid = [this](const std::string& what) {
    std::string m = "Invalid SCRAM client first message: " + what;
    return Fail(m, m);
  };
  if (message.size() > kScramMaxMessageSize) {
    return invalid("size " + std::to_string(message.size()) + " exceeds the limit of " +
                   std::to_string(kScramMaxMessageSize));
  }
  if (message.empty()) return invalid("empty");
  // Kafka supports only the gs2 flag 'n' (the client does not use channel binding).
  if (message[0] == 'p') return invalid("channel binding is not supported");
  if (message[0] == 'y') return invalid("gs2 channel binding flag 'y' is not supported");
  if (message.size() < 3 || message[0] != 'n' || message[1] != ',') {
    return invalid("bad gs2 header (expected \"n,,\" or \"n,a=<authzid>,\")");
  }
  size_t header_end = message.find(',', 2);
  if (header_end == std::string_view::npos) return invalid("bad gs2 header");
  std::string_view authzid_attr = message.substr(2, header_end - 2);
  std::string authzid;
  if (!authzid_attr.empty()) {
    std::string_view raw;
    if (!Attribute(authzid_attr, 'a', &raw) || !DecodeSaslName(raw, &authzid)) {
      return invalid("bad authorization id in the gs2 header");
    }
  }
  gs2_header_ = std::string(message.substr(0, header_end + 1));
  std::string_view bare = message.substr(header_end + 1);
  std::vector<std::string_view> attrs = Split(bare, ',');
  std::string_view value;
  if (attrs[0].size() >= 2 && attrs[0][0] == 'm' && attrs[0][1] == '=') {
    // RFC 5802 section 5.1: a mandatory extension the server does not know fails.
    return invalid("mandatory extension 'm' is not supported");
  }
  if (!Attribute(attrs[0], 'n', &value) || !DecodeSaslName(value, &username_)) {
    return invalid("bad or missing username attribute 'n='");
  }
  if (attrs.size() < 2 || !Attribute(attrs[1], 'r', &value) || !IsPrintable(value)) {
    return invalid("bad or missing nonce attribute 'r='");
  }
  std::string client_nonce(value);
  for (size_t i = 2; i < attrs.size(); ++i) {
    std::string_view name, ext_value;
    if (!Extension(attrs[i], &name, &ext_value)) return invalid("bad extension");
    // KIP-48 delegation tokens authenticate with SCRAM and `tokenauth=true`; gregor has no
    // tokens, so such a client fails instead of being checked as a user named by the token id.
    if (name == "tokenauth" && EqualsIgnoreCase(ext_value, "true")) {
      return Fail(ScramAuthenticationFailedMessage(mechanism_),
                  "delegation token authentication (tokenauth) is not supported");
    }
  }
  client_first_bare_ = std::string(bare);
  if (!authzid.empty() && authzid != username_) {
    // Kafka's own, client-visible wording.
    return Fail(
        "Authentication failed: Client requested an authorization id that is different from "
        "username",
        "authorization id '" + authzid + "' differs from username '" + username_ + "'");
  }

  std::optional<ScramCredential> credential = lookup_(username_);
  known_user_ = false;
  if (!credential) {
    credential_problem_ = "unknown user '" + username_ + "'";
  } else if (credential->iterations < kScramMinIterations ||
             credential->iterations > kScramMaxIterations) {
    credential_problem_ = "the stored credential of user '" + username_ + "' has " +
                          std::to_string(credential->iterations) + " iterations, outside [" +
                          std::to_string(kScramMinIterations) + ", " +
                          std::to_string(kScramMaxIterations) + "]";
  } else if (credential->salt.empty() || credential->stored_key.size() != DigestSize(mechanism_) ||
             credential->server_key.size() != DigestSize(mechanism_)) {
    credential_problem_ = "the stored credential of user '" + username_ + "' is malformed";
  } else {
    known_user_ = true;
    credential_ = std::move(*credential);
  }
  if (!known_user_) {
    // RFC 5802 section 9 / Kafka's intent: do not reveal that the user does not exist. Answer
    // with a salt that is stable per user (an attacker asking twice sees the same one) and
    // fail at the final step, where a wrong password fails too.
    Result<std::string> key = FakeSaltKey();
    if (!key.ok()) return Fail(ScramAuthenticationFailedMessage(mechanism_), "no random source");
    Result<std::string> salt = Hmac(ScramMechanism::kSha256, *key,
                                    std::string(ScramMechanismName(mechanism_)) + '\0' + username_);
    if (!salt.ok()) return Fail(ScramAuthenticationFailedMessage(mechanism_), "HMAC failed");
    credential_ = ScramCredential();
    credential_.salt = std::move(*salt);
    credential_.stored_key.assign(DigestSize(mechanism_), '\0');
    credential_.server_key.assign(DigestSize(mechanism_), '\0');
    credential_.iterations = kScramMinIterations;
  }

  if (server_nonce_.empty()) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    while (server_nonce_.size() < kServerNonceSize) {
      std::string random;
      if (!RandomBytes(kServerNonceSize, &random).ok()) {
        return Fail(ScramAuthenticationFailedMessage(mechanism_), "RAND_bytes failed");
      }
      for (unsigned char b : random) {
        // 62 * 4 = 248: rejecting 248..255 keeps every character equally likely.
        if (b < 248 && server_nonce_.size() < kServerNonceSize) {
          server_nonce_.push_back(kAlphabet[b % 62]);
        }
      }
    }
  }
  nonce_ = client_nonce + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + Base64Encode(credential_.salt) +
                  ",i=" + std::to_string(credential_.iterations);
  state_ = State::kClientFinal;
  return server_first_;
}

// client-final-message = "c=" base64(gs2-header) ",r=" nonce ["," extensions] ",p=" proof
Result<std::string> ScramServer::ClientFinal(std::string_view message) {
  auto invalid = [this](const std::string& what) {
    std::string m = "Invalid SCRAM client final message: " + what;
    return Fail(m, m);
  };
  if (message.size() > kScramMaxMessageSize) {
    return invalid("size " + std::to_string(message.size()) + " exceeds the limit of " +
                   std::to_string(kScramMaxMessageSize));
  }
  std::vector<std::string_view> attrs = Split(message, ',');
  std::string_view value;
  if (attrs.size() < 3) return invalid("expected c=, r= and p= attributes");
  if (!Attribute(attrs[0], 'c', &value)) return invalid("missing channel binding attribute 'c='");
  Result<std::string> binding = Base64Decode(value);
  if (!binding.ok()) return invalid("channel binding attribute 'c=' is not base64");
  // Without channel binding, c= carries the gs2 header of the client-first message.
  if (*binding != gs2_header_) {
    return invalid("channel binding attribute 'c=' does not match the gs2 header");
  }
  if (!Attribute(attrs[1], 'r', &value)) return invalid("missing nonce attribute 'r='");
  // RFC 5802 wants the nonce of server-first back verbatim. librdkafka (to 2.x at least) sends
  // its client nonce once more in front of it, and Kafka does not check the nonce at all, so a
  // nonce that ends with ours is accepted: it still carries this exchange's fresh server nonce,
  // and the proof covers the message exactly as sent.
  if (value.size() < nonce_.size() ||
      value.substr(value.size() - nonce_.size()) != std::string_view(nonce_)) {
    return invalid("nonce does not match the server-first message");
  }
  for (size_t i = 2; i + 1 < attrs.size(); ++i) {
    std::string_view name, ext_value;
    if (!Extension(attrs[i], &name, &ext_value) || name == "p") return invalid("bad extension");
  }
  if (!Attribute(attrs.back(), 'p', &value)) return invalid("missing proof attribute 'p='");
  Result<std::string> proof = Base64Decode(value);
  if (!proof.ok()) return invalid("proof attribute 'p=' is not base64");
  if (proof->size() != DigestSize(mechanism_)) {
    return invalid("proof of " + std::to_string(proof->size()) + " bytes, expected " +
                   std::to_string(DigestSize(mechanism_)));
  }
  const std::string_view without_proof =
      message.substr(0, message.size() - attrs.back().size() - 1);

  // RFC 5802 section 3: AuthMessage = client-first-message-bare "," server-first-message ","
  // client-final-message-without-proof.
  std::string auth_message = client_first_bare_;
  auth_message.append(",").append(server_first_).append(",").append(without_proof);
  Result<std::string> client_signature = Hmac(mechanism_, credential_.stored_key, auth_message);
  if (!client_signature.ok()) return FailCredentials("HMAC failed");
  std::string client_key = *proof;
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= (*client_signature)[i];
  Result<std::string> computed_stored_key = Hash(mechanism_, client_key);
  OPENSSL_cleanse(client_key.data(), client_key.size());
  if (!computed_stored_key.ok()) return FailCredentials("digest failed");
  const bool proof_ok = CRYPTO_memcmp(computed_stored_key->data(), credential_.stored_key.data(),
                                      credential_.stored_key.size()) == 0;
  if (!known_user_) return FailCredentials(credential_problem_);
  if (!proof_ok) return FailCredentials("invalid client proof for user '" + username_ + "'");

  Result<std::string> server_signature = Hmac(mechanism_, credential_.server_key, auth_message);
  if (!server_signature.ok()) return FailCredentials("HMAC failed");
  credential_ = ScramCredential();
  state_ = State::kComplete;
  return "v=" + Base64Encode(*server_signature);
}

ScramClient::ScramClient(ScramMechanism mechanism, std::string username, std::string password,
                         std::string client_nonce)
    : mechanism_(mechanism),
      username_(std::move(username)),
      password_(std::move(password)),
      nonce_(std::move(client_nonce)) {}

std::string ScramClient::First() {
  if (nonce_.empty()) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string random;
    while (nonce_.size() < kServerNonceSize && RandomBytes(kServerNonceSize, &random).ok()) {
      for (unsigned char b : random) {
        if (b < 248 && nonce_.size() < kServerNonceSize) nonce_.push_back(kAlphabet[b % 62]);
      }
    }
  }
  std::string name;  // saslname: ',' and '=' escaped
  for (char c : username_) {
    if (c == ',') {
      name += "=2C";
    } else if (c == '=') {
      name += "=3D";
    } else {
      name += c;
    }
  }
  first_bare_ = "n=" + name + ",r=" + nonce_;
  return "n,," + first_bare_;
}

Result<std::string> ScramClient::Final(std::string_view server_first) {
  std::string nonce, salt_b64;
  int64_t iterations = 0;
  for (std::string_view attr : Split(server_first, ',')) {
    if (attr.size() < 2 || attr[1] != '=') continue;
    std::string_view v = attr.substr(2);
    if (attr[0] == 'r') nonce = std::string(v);
    if (attr[0] == 's') salt_b64 = std::string(v);
    if (attr[0] == 'i') iterations = std::atoll(std::string(v).c_str());
    if (attr[0] == 'm') return Status::InvalidArgument("unsupported mandatory SCRAM extension");
  }
  if (nonce.size() <= nonce_.size() || nonce.compare(0, nonce_.size(), nonce_) != 0) {
    return Status::InvalidArgument("server-first nonce does not start with the client nonce");
  }
  Result<std::string> salt = Base64Decode(salt_b64);
  if (!salt.ok() || salt->empty()) return Status::InvalidArgument("bad salt in server-first");
  if (iterations < kScramMinIterations || iterations > kScramMaxIterations) {
    return Status::InvalidArgument("iterations " + std::to_string(iterations) +
                                   " in server-first outside [4096, 16384]");
  }
  std::string salted(DigestSize(mechanism_), '\0');
  if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                        reinterpret_cast<const unsigned char*>(salt->data()),
                        static_cast<int>(salt->size()), static_cast<int>(iterations),
                        Md(mechanism_), static_cast<int>(salted.size()),
                        reinterpret_cast<unsigned char*>(salted.data())) != 1) {
    return Status::Internal("PBKDF2 failed");
  }
  Result<std::string> client_key = Hmac(mechanism_, salted, "Client Key");
  if (!client_key.ok()) return client_key.status();
  Result<std::string> stored_key = Hash(mechanism_, *client_key);
  if (!stored_key.ok()) return stored_key.status();
  const std::string without_proof = "c=biws,r=" + nonce;
  const std::string auth_message =
      first_bare_ + "," + std::string(server_first) + "," + without_proof;
  Result<std::string> signature = Hmac(mechanism_, *stored_key, auth_message);
  if (!signature.ok()) return signature.status();
  std::string proof = *client_key;
  for (size_t i = 0; i < proof.size(); ++i)
    proof[i] = static_cast<char>(proof[i] ^ (*signature)[i]);
  Result<std::string> server_key = Hmac(mechanism_, salted, "Server Key");
  if (!server_key.ok()) return server_key.status();
  Result<std::string> server_signature = Hmac(mechanism_, *server_key, auth_message);
  if (!server_signature.ok()) return server_signature.status();
  expected_server_signature_ = Base64Encode(*server_signature);
  OPENSSL_cleanse(salted.data(), salted.size());
  OPENSSL_cleanse(client_key->data(), client_key->size());
  return without_proof + ",p=" + Base64Encode(proof);
}

Status ScramClient::Verify(std::string_view server_final) const {
  if (server_final.rfind("e=", 0) == 0) {
    return Status::InvalidArgument("SCRAM server error: " + std::string(server_final.substr(2)));
  }
  if (expected_server_signature_.empty() || server_final.rfind("v=", 0) != 0 ||
      server_final.substr(2) != expected_server_signature_) {
    return Status::InvalidArgument("the server's SCRAM signature does not match");
  }
  return Status::Ok();
}

}  // namespace gregor::security
