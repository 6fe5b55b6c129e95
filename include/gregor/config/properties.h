#pragma once
// Java .properties parsing, the format of Kafka's server.properties.
//
// Free functions, no state; safe from any thread. Used once at start-up, so
// failures throw ConfigError (the one place where the broker uses exceptions:
// gregord's main() catches it, prints the message and exits non-zero).

#include <map>
#include <stdexcept>
#include <string>

namespace gregor::config {

// A bad configuration: the message names the key and the offending value (or
// the file). Thrown only at start-up / config parsing.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message) : std::runtime_error(message) {}
};

// Parses .properties text with java.util.Properties rules: lines starting with
// '#' or '!' (after leading blanks) are comments; `key=value`, `key: value` and
// `key value` are all accepted; a line ending in an odd number of backslashes
// continues on the next line (whose leading blanks are dropped); escapes \t \n
// \r \f \\ \uXXXX (encoded as UTF-8) and \<any> = <any>. Unlike Java, trailing
// whitespace of a value is trimmed (Kafka trims every value it parses anyway).
// A later duplicate key wins. Never throws except for a malformed \u escape.
std::map<std::string, std::string> ParseProperties(const std::string& text);

// Reads and parses a file. Throws ConfigError naming the path when it is
// missing or unreadable.
std::map<std::string, std::string> ReadPropertiesFile(const std::string& path);

}  // namespace gregor::config
