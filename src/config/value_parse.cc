#include "config/value_parse.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "gregor/base/compression_codec.h"

namespace gregor::config::internal {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string ParseInteger(const std::string& value, int64_t min, int64_t max, int64_t* out) {
  std::string v = Trim(value);
  // Java's Long.parseLong accepts a leading '+'; from_chars does not.
  const char* b = v.data();
  const char* e = v.data() + v.size();
  if (b != e && *b == '+') ++b;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(b, e, n);
  if (v.empty() || ec == std::errc::invalid_argument || p != e) return "not an integer";
  if (ec == std::errc::result_out_of_range) return "out of range";
  if (n < min) return "must be at least " + std::to_string(min);
  if (n > max) return "must be at most " + std::to_string(max);
  *out = n;
  return "";
}

std::string ParseCompressionLevel(int codec, const std::string& value, int32_t* out) {
  int64_t n = 0;
  std::string why = ParseInteger(value, std::numeric_limits<int32_t>::min(),
                                 std::numeric_limits<int32_t>::max(), &n);
  if (!why.empty()) return why;
  if (!IsValidCompressionLevel(codec, static_cast<int>(n))) {
    const CompressionLevels l = CompressionLevelsOf(codec);
    why = std::string(CompressionName(codec)) + " levels go from " + std::to_string(l.min) +
          " to " + std::to_string(l.max);
    if (l.default_level < l.min || l.default_level > l.max) {
      why += ", or " + std::to_string(l.default_level) + " for the library's default";
    }
    return why;
  }
  *out = static_cast<int32_t>(n);
  return "";
}

namespace {

// The versions Kafka 3.9's MetadataVersion knows: a release, how many "-IV<n>" sub-versions it
// has (0: none, the release is the version), and whether it is a production release (only
// those are accepted by their bare release name, which means their last sub-version).
struct KafkaRelease {
  const char* release;
  int sub_versions;
  bool production;
};
constexpr KafkaRelease kKafkaReleases[] = {
    {"0.8.0", 0, true},  {"0.8.1", 0, true},  {"0.8.2", 0, true},  {"0.9.0", 0, true},
    {"0.10.0", 2, true}, {"0.10.1", 3, true}, {"0.10.2", 1, true}, {"0.11.0", 3, true},
    {"1.0", 1, true},    {"1.1", 1, true},    {"2.0", 2, true},    {"2.1", 3, true},
    {"2.2", 2, true},    {"2.3", 2, true},    {"2.4", 2, true},    {"2.5", 1, true},
    {"2.6", 1, true},    {"2.7", 3, true},    {"2.8", 2, true},    {"3.0", 2, true},
    {"3.1", 1, true},    {"3.2", 1, true},    {"3.3", 4, true},    {"3.4", 1, true},
    {"3.5", 3, true},    {"3.6", 3, true},    {"3.7", 5, true},    {"3.8", 1, true},
    {"3.9", 1, true},    {"4.0", 2, false},
};

bool IsKafkaVersionName(const std::string& name) {
  for (const auto& r : kKafkaReleases) {
    const std::string release = r.release;
    if (name == release) return r.production || r.sub_versions == 0;
    if (name.compare(0, release.size() + 3, release + "-IV") != 0) continue;
    const std::string sub = name.substr(release.size() + 3);
    for (int i = 0; i < r.sub_versions; ++i) {
      if (sub == std::to_string(i)) return true;
    }
  }
  return false;
}

}  // namespace

std::string CheckKafkaVersion(const std::string& value) {
  // MetadataVersion.fromVersionString: a version is looked up by its first three dot-separated
  // parts when it starts with "0." and by its first two otherwise, so "0.10.2.1" is 0.10.2 and
  // "1.0.1" is 1.0; a string with no more parts than that is looked up whole. The parts are
  // those of Java's String.split, which drops empty trailing parts.
  const std::string v = Trim(value);
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = v.find('.', start);
    parts.push_back(v.substr(start, dot == std::string::npos ? dot : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  const size_t wanted = v.compare(0, 2, "0.") == 0 ? 3 : 2;
  std::string key = v;
  if (parts.size() > wanted) {
    key = parts[0];
    for (size_t i = 1; i < wanted; ++i) key += "." + parts[i];
  }
  if (IsKafkaVersionName(key)) return "";
  return "not a Kafka version (such as 0.10.2, 2.8 or 3.0-IV1)";
}

std::string ParseBoolean(const std::string& value, bool* out) {
  std::string v = ToUpper(Trim(value));
  if (v == "TRUE") {
    *out = true;
  } else if (v == "FALSE") {
    *out = false;
  } else {
    return "expected true or false";
  }
  return "";
}

std::string ParseDouble(const std::string& value, double min, double max, double* out) {
  std::string v = Trim(value);
  if (v.empty()) return "not a number";
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size() || std::isnan(d)) return "not a number";
  if (d < min) return "must be at least " + FormatDouble(min);
  if (d > max) return "must be at most " + FormatDouble(max);
  *out = d;
  return "";
}

std::vector<std::string> ParseList(const std::string& value) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = Trim(value.substr(start, comma - start));
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += items[i];
  }
  return out;
}

std::string CheckIn(const std::string& value, const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (value == a) return "";
  }
  return "must be one of " + JoinList(allowed);
}

std::string CheckListIn(const std::vector<std::string>& items,
                        const std::vector<std::string>& allowed, bool allow_empty) {
  if (items.empty() && !allow_empty) return "must not be empty";
  for (const auto& item : items) {
    std::string why = CheckIn(item, allowed);
    if (!why.empty()) return "'" + item + "' " + why;
  }
  return "";
}

std::string FormatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // The shortest decimal that reads back as `d`, as d.ddde[+-]x.
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string e_form(buf);
  std::string sign;
  if (e_form[0] == '-') {
    sign = "-";
    e_form.erase(0, 1);
  }
  size_t e = e_form.find('e');
  int exponent = std::atoi(e_form.c_str() + e + 1);
  std::string digits = e_form.substr(0, 1) + (e > 1 ? e_form.substr(2, e - 2) : "");
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  // Java's Double.toString: plain notation in [1e-3, 1e7), else computerized
  // scientific notation ("1.7976931348623157E308"); always a digit after the point.
  double a = std::fabs(d);
  if (a >= 1e-3 && a < 1e7) {
    if (exponent >= 0) {
      size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() < int_len) digits.append(int_len - digits.size(), '0');
      std::string frac = digits.size() > int_len ? digits.substr(int_len) : "0";
      return sign + digits.substr(0, int_len) + "." + frac;
    }
    return sign + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  }
  return sign + digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" +
         std::to_string(exponent);
}

}  // namespace gregor::config::internal
