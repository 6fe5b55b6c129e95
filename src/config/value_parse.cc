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
