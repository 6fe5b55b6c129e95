#pragma once
// SASL/SCRAM-SHA-256 and SCRAM-SHA-512 on the broker (RFC 5802, RFC 7677; Kafka's
// ScramSaslServer, ScramFormatter, ScramCredentialUtils).
//
// ScramCredential is what the broker stores per user and mechanism, never the password:
// a salt, StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword,
// "Server Key") and the PBKDF2 iteration count. Kafka keeps it in ZooKeeper under
// /config/users/<user>, key SCRAM-SHA-256 or SCRAM-SHA-512, in the text form
// `salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=<n>`.
//
// ScramServer runs one server-side exchange: client-first -> server-first, client-final ->
// server-final. One instance per authentication attempt, used by one connection (its strand);
// not thread-safe. The credential lookup is called once, from Evaluate, on the caller's thread;
// it must not block. Supported: gs2 header `n,,` or `n,a=<authzid>,` (the authzid must equal the
// username), no channel binding (`p=` and `y` are refused, as Kafka does), client-first
// extensions are ignored except `tokenauth=true` (delegation tokens are not supported and fail).
//
// Error contract. Evaluate never throws; every failure is kInvalidArgument (kFailedPrecondition
// when called after the exchange ended) and moves the exchange to a failed state:
//   - a malformed message: "Invalid SCRAM client first/final message: <what>", which never
//     depends on whether the user exists;
//   - an authzid other than the username: Kafka's "Authentication failed: Client requested an
//     authorization id that is different from username", at the first step;
//   - refused credentials (unknown user, wrong password, unusable stored credential): exactly
//     ScramAuthenticationFailedMessage(mechanism). An unknown user still gets a server-first
//     message (a salt derived from the username under a per-process secret, so it is stable
//     across attempts, and 4096 iterations) and fails only at the final step, so the exchange
//     does not reveal which users exist. failure_detail() says why, for the broker's log.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "gregor/base/status.h"

namespace gregor::security {

enum class ScramMechanism { kSha256, kSha512 };

// "SCRAM-SHA-256" or "SCRAM-SHA-512".
std::string_view ScramMechanismName(ScramMechanism mechanism);
// The mechanism named exactly `name` (case-sensitive, as Kafka's mechanism names), if any.
std::optional<ScramMechanism> ParseScramMechanism(std::string_view name);

// Kafka's ScramMechanism limits, for both mechanisms.
inline constexpr int32_t kScramMinIterations = 4096;
inline constexpr int32_t kScramMaxIterations = 16384;
// Client messages longer than this are refused.
inline constexpr size_t kScramMaxMessageSize = 8192;
// Length of the salts GenerateScramSalt returns.
inline constexpr size_t kScramSaltSize = 32;

struct ScramCredential {
  std::string salt;        // raw bytes
  std::string stored_key;  // raw bytes, the digest size of the mechanism
  std::string server_key;  // raw bytes, the digest size of the mechanism
  int32_t iterations = 0;

  // Kafka's text form: salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>.
  std::string Format() const;
  // Reads Kafka's text form (fields in any order). Rejects a missing, repeated or unknown field,
  // bad base64, an empty salt or key, and iterations outside [kScramMinIterations,
  // kScramMaxIterations]. The message never echoes the keys.
  static Result<ScramCredential> Parse(std::string_view text);

  bool operator==(const ScramCredential&) const = default;
};

// The credential for `password` (RFC 5802 section 3): SaltedPassword = PBKDF2-HMAC-H(password,
// salt, iterations). Fails for an empty salt or iterations outside Kafka's limits. CPU-bound
// (thousands of HMACs): call it off the network threads.
Result<ScramCredential> GenerateScramCredential(ScramMechanism mechanism, std::string_view password,
                                                std::string_view salt, int32_t iterations);

// SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations) (RFC 5802's Hi()), the mechanism's
// digest size: what a client sends in AlterUserScramCredentials. Same limits and cost as
// GenerateScramCredential.
Result<std::string> ScramSaltedPassword(ScramMechanism mechanism, std::string_view password,
                                        std::string_view salt, int32_t iterations);

// The credential from a SaltedPassword the client computed (AlterUserScramCredentials, KIP-554):
// StoredKey and ServerKey as RFC 5802 derives them. The salted password must have the
// mechanism's digest size; the salt must not be empty.
Result<ScramCredential> ScramCredentialFromSaltedPassword(ScramMechanism mechanism,
                                                          std::string_view salt,
                                                          std::string_view salted_password,
                                                          int32_t iterations);

// kScramSaltSize bytes from OpenSSL's CSPRNG.
Result<std::string> GenerateScramSalt();

// What a client is told when SCRAM authentication fails (Kafka's generic wording):
// "Authentication failed during authentication due to invalid credentials with SASL mechanism
// SCRAM-SHA-256".
std::string ScramAuthenticationFailedMessage(ScramMechanism mechanism);

class ScramServer {
 public:
  // Returns the user's credential for this mechanism, or nullopt for an unknown user.
  using CredentialLookup =
      std::function<std::optional<ScramCredential>(const std::string& username)>;

  // `server_nonce`: for tests only (RFC test vectors); empty, the default, draws 32 random
  // alphanumeric characters per exchange.
  ScramServer(ScramMechanism mechanism, CredentialLookup lookup, std::string server_nonce = {});

  ScramServer(const ScramServer&) = delete;
  ScramServer& operator=(const ScramServer&) = delete;

  // Takes the client-first message and returns server-first, then takes the client-final
  // message and returns server-final (`v=<ServerSignature>`), after which complete() is true.
  Result<std::string> Evaluate(std::string_view client_message);

  // Whether the exchange succeeded.
  bool complete() const { return state_ == State::kComplete; }
  // The authenticated username (SASL name decoded) once complete(); before that, the name the
  // client claims, or empty.
  const std::string& username() const { return username_; }
  ScramMechanism mechanism() const { return mechanism_; }
  // Why the exchange failed, for the broker's log (may name the user; never send it to the
  // client). Empty unless it failed.
  const std::string& failure_detail() const { return failure_detail_; }

 private:
  enum class State { kClientFirst, kClientFinal, kComplete, kFailed };

  Result<std::string> ClientFirst(std::string_view message);
  Result<std::string> ClientFinal(std::string_view message);
  // Moves to kFailed; returns kInvalidArgument with `message`, remembering `detail`.
  Status Fail(std::string message, std::string detail);
  // Fail() with the generic credentials message.
  Status FailCredentials(std::string detail);

  const ScramMechanism mechanism_;
  const CredentialLookup lookup_;
  std::string server_nonce_;
  State state_ = State::kClientFirst;
  std::string username_;
  std::string failure_detail_;
  // From the client-first step.
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
  ScramCredential credential_;
  bool known_user_ = false;
  std::string credential_problem_;  // why the user cannot succeed, when !known_user_
};

// The client side of one SCRAM exchange (RFC 5802), for brokers authenticating to each other
// (sasl.mechanism.inter.broker.protocol). First() gives client-first (gs2 header "n,,"),
// Final() answers server-first with client-final, Verify() checks the server's signature in
// server-final, so the client knows it spoke to a broker that holds the credential.
class ScramClient {
 public:
  // `client_nonce`: for tests; empty draws 32 random alphanumeric characters.
  ScramClient(ScramMechanism mechanism, std::string username, std::string password,
              std::string client_nonce = {});
  std::string First();
  Result<std::string> Final(std::string_view server_first);
  Status Verify(std::string_view server_final) const;

 private:
  const ScramMechanism mechanism_;
  const std::string username_;
  const std::string password_;
  std::string nonce_;
  std::string first_bare_;
  std::string expected_server_signature_;  // base64, once Final() ran
};

}  // namespace gregor::security
