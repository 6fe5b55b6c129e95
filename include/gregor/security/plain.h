#pragma once
// SASL/PLAIN on the broker (RFC 4616; Kafka's PlainSaslServer and PlainServerCallbackHandler).
//
// The client sends one message, `[authzid] NUL authcid NUL passwd`; the broker checks the
// password against the users of the listener's JAAS string (PlainUsers in jaas.h) and answers
// with an empty token. As in Kafka, the authorization id must be empty or equal the username,
// and the username and password must be non-empty.
//
// Pure functions; thread-safe. Failures are kInvalidArgument:
//   - "Invalid SASL/PLAIN response: ..." for a malformed message;
//   - "Authentication failed: ..." for credentials that are refused; an unknown user and a wrong
//     password give the same message ("Authentication failed: Invalid username or password")
//     and take the same time.
// Messages never contain the password. Kafka answers a client whose message it cannot parse with
// its generic "Authentication failed during authentication due to invalid credentials with SASL
// mechanism PLAIN"; that mapping is the caller's.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "gregor/base/status.h"

namespace gregor::security {

// Larger messages are refused before parsing. RFC 4616 asks servers to accept 255 bytes per
// field; this leaves ample room for UTF-8 names and long passwords.
inline constexpr size_t kMaxPlainMessageSize = 8192;

struct PlainMessage {
  std::string authzid;   // empty when the client sent none
  std::string username;  // authcid
  std::string password;
};

// Splits and checks a client message (size, exactly two NULs, non-empty username and password,
// authzid empty or equal to the username).
Result<PlainMessage> ParsePlainMessage(std::string_view message);

// Parses `message` and verifies its password against `users` (username -> password) with a
// constant-time comparison. Returns the authenticated username.
Result<std::string> AuthenticatePlain(std::string_view message,
                                      const std::map<std::string, std::string>& users);

}  // namespace gregor::security
