#pragma once
// Standard base64 (RFC 4648 section 4, alphabet A-Z a-z 0-9 + /, '=' padding), as SCRAM
// messages (RFC 5802) and Kafka's stored SCRAM credentials use it (Java's Base64.getEncoder()).
//
// Pure functions over bytes held in std::string; thread-safe. Decoding is strict and never
// throws: a length that is not a multiple of 4, a character outside the alphabet, whitespace or
// misplaced padding yields kInvalidArgument.

#include <string>
#include <string_view>

#include "gregor/base/status.h"

namespace gregor::security {

// Padded base64 of `bytes`.
std::string Base64Encode(std::string_view bytes);

// The bytes that `text` encodes. The empty string decodes to the empty string.
Result<std::string> Base64Decode(std::string_view text);

// base64url without padding (RFC 4648 section 5, as JWS and JWK use it: '-' and '_' for '+'
// and '/'); padding is accepted too.
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace gregor::security
