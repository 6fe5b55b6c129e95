#include "gregor/security/principal_mapping.h"

#include <cctype>

namespace gregor::security {

namespace {

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Reads up to the next unescaped '/' from s[*pos]; a backslash keeps itself and the character
// after it (the regular expression or the replacement interprets the pair). False when no '/'
// ends the part.
bool ReadPart(const std::string& s, size_t* pos, std::string* out) {
  while (*pos < s.size()) {
    char c = s[*pos];
    if (c == '/') {
      ++*pos;
      return true;
    }
    if (c == '\\' && *pos + 1 < s.size()) {
      // "\/" is a slash; any other pair is left for the regex (e.g. "\." or "\d").
      if (s[*pos + 1] == '/') {
        out->push_back('/');
      } else {
        out->push_back(c);
        out->push_back(s[*pos + 1]);
      }
      *pos += 2;
      continue;
    }
    out->push_back(c);
    ++*pos;
  }
  return false;
}

}  // namespace

Result<SslPrincipalMapper> SslPrincipalMapper::Parse(const std::string& rules) {
  SslPrincipalMapper m;
  size_t pos = 0;
  auto skip_space = [&] {
    while (pos < rules.size() && IsSpace(rules[pos])) ++pos;
  };
  skip_space();
  if (pos == rules.size()) {
    m.rules_.push_back(Rule{});
    return m;
  }
  while (pos < rules.size()) {
    skip_space();
    size_t start = pos;
    Rule r;
    if (rules.compare(pos, 7, "DEFAULT") == 0) {
      pos += 7;
    } else if (rules.compare(pos, 5, "RULE:") == 0) {
      pos += 5;
      r.is_default = false;
      if (!ReadPart(rules, &pos, &r.pattern_text) || !ReadPart(rules, &pos, &r.replacement)) {
        return Status::InvalidArgument("ssl.principal.mapping.rules: invalid rule '" +
                                       rules.substr(start) + "' (RULE:pattern/replacement/[LU])");
      }
      if (pos < rules.size() && (rules[pos] == 'L' || rules[pos] == 'U')) {
        (rules[pos] == 'L' ? r.lower : r.upper) = true;
        ++pos;
      }
      try {
        r.pattern = std::regex(r.pattern_text, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return Status::InvalidArgument("ssl.principal.mapping.rules: pattern '" + r.pattern_text +
                                       "' does not compile: " + e.what());
      }
    } else {
      size_t comma = rules.find(',', pos);
      return Status::InvalidArgument(
          "ssl.principal.mapping.rules: invalid rule '" +
          rules.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos) +
          "' (DEFAULT or RULE:pattern/replacement/[LU])");
    }
    skip_space();
    if (pos < rules.size()) {
      if (rules[pos] != ',') {
        return Status::InvalidArgument("ssl.principal.mapping.rules: unexpected '" +
                                       rules.substr(pos) + "' after rule '" +
                                       rules.substr(start, pos - start) + "'");
      }
      ++pos;
    }
    m.rules_.push_back(std::move(r));
  }
  return m;
}

Result<std::string> SslPrincipalMapper::Map(const std::string& dn) const {
  for (const Rule& r : rules_) {
    if (r.is_default) return dn;
    if (!std::regex_match(dn, r.pattern)) continue;
    std::string name = std::regex_replace(dn, r.pattern, r.replacement);
    for (char& c : name) {
      if (r.lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (r.upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
  }
  return Status::NotFound("no ssl.principal.mapping.rules rule applies to '" + dn + "'");
}

}  // namespace gregor::security
