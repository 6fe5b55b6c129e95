#pragma once
// JaasConfig: one login module entry of a Kafka `sasl.jaas.config` string (Kafka's
// org.apache.kafka.common.security.JaasConfig), for example
//
//   org.apache.kafka.common.security.plain.PlainLoginModule required
//       username="admin" password="admin-secret" user_admin="admin-secret";
//
// Grammar, as Kafka's tokenizer reads it: <loginModule> <controlFlag> (<key>=<value>)* ';'.
// Tokens are separated by whitespace (bytes 0-32). A token is either bare (any run of bytes
// other than whitespace, ';', '=', quotes and '/') or quoted with '"' or '\'' , where a backslash
// escapes the next character (\n, \t, \r, \b, \f are control characters; any other character
// stands for itself). Comments `// ...` and `/* ... */` are skipped. The control flag is
// required, requisite, sufficient or optional, in any case. When a key repeats, the last value
// wins (as in Kafka). A broker listener's string must hold exactly one entry (Kafka's
// JaasContext rule).
//
// Pure functions and value types; thread-compatible. Malformed input yields kInvalidArgument
// whose message names the 1-based character position of the problem; values are never echoed
// (they are usually passwords).

#include <map>
#include <string>
#include <string_view>

#include "gregor/base/status.h"

namespace gregor::security {

inline constexpr std::string_view kPlainLoginModule =
    "org.apache.kafka.common.security.plain.PlainLoginModule";
inline constexpr std::string_view kScramLoginModule =
    "org.apache.kafka.common.security.scram.ScramLoginModule";

enum class JaasControlFlag { kRequired, kRequisite, kSufficient, kOptional };

// "required", "requisite", "sufficient" or "optional".
std::string_view JaasControlFlagName(JaasControlFlag flag);

struct JaasConfig {
  std::string login_module;
  JaasControlFlag control_flag = JaasControlFlag::kRequired;
  std::map<std::string, std::string> options;
};

// Parses a string holding exactly one login module entry, terminated by ';'.
Result<JaasConfig> ParseJaasConfig(std::string_view text);

// The users of Kafka's PlainLoginModule on a broker: each option `user_<name>="<password>"`
// gives <name> -> <password> (Kafka's PlainServerCallbackHandler). Options with an empty name
// (`user_`) are ignored.
std::map<std::string, std::string> PlainUsers(const JaasConfig& config);

}  // namespace gregor::security
