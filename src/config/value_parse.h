#pragma once
// Value parsers shared by broker and topic configs, with Kafka's ConfigDef
// semantics: values are trimmed, numbers are decimal with an optional sign,
// booleans are true/false in any case, lists are comma-separated with blanks
// around items dropped. Non-throwing: each returns the problem as a string
// ("" = ok) so topic validation can build a Status and broker parsing a
// ConfigError.

#include <cstdint>
#include <string>
#include <vector>

namespace gregor::config::internal {

std::string Trim(const std::string& s);
std::string ToUpper(std::string s);

// Sets *out and returns "" on success; otherwise a reason such as
// "must be at least 1".
std::string ParseInteger(const std::string& value, int64_t min, int64_t max, int64_t* out);
std::string ParseBoolean(const std::string& value, bool* out);
std::string ParseDouble(const std::string& value, double min, double max, double* out);
std::vector<std::string> ParseList(const std::string& value);
std::string JoinList(const std::vector<std::string>& items);
// Every item of `items` is one of `allowed`; at least one item when !allow_empty.
std::string CheckListIn(const std::vector<std::string>& items,
                        const std::vector<std::string>& allowed, bool allow_empty);
std::string CheckIn(const std::string& value, const std::vector<std::string>& allowed);

// compression.<codec>.level: sets *out and returns "" when `value` is an integer that `codec`
// accepts as its level (gregor/base/compression_codec.h), else the reason.
std::string ParseCompressionLevel(int codec, const std::string& value, int32_t* out);

// Formats a double like Java's Double.toString (0.5 -> "0.5", 1 -> "1.0",
// 1e7 -> "1.0E7", DBL_MAX -> "1.7976931348623157E308"), as Kafka prints DOUBLE
// configs.
std::string FormatDouble(double d);

}  // namespace gregor::config::internal
