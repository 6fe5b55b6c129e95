#include "gregor/config/properties.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace gregor::config {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Splits into natural lines on \n, \r or \r\n, as java.util.Properties does.
std::vector<std::string> NaturalLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n' || c == '\r') {
      lines.push_back(std::move(cur));
      cur.clear();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) lines.push_back(std::move(cur));
  return lines;
}

size_t TrailingBackslashes(const std::string& s) {
  size_t n = 0;
  for (size_t i = s.size(); i > 0 && s[i - 1] == '\\'; --i) ++n;
  return n;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes escapes of a key or value. A \u escape with fewer than four hex digits
// is an error in Java too ("Malformed \uxxxx encoding").
std::string Unescape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      if (s[i] != '\\') out.push_back(s[i]);
      continue;
    }
    char c = s[++i];
    switch (c) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u': {
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) {
          if (i + 1 >= s.size() || !isxdigit(static_cast<unsigned char>(s[i + 1]))) {
            throw ConfigError("malformed \\uxxxx escape in properties near '" + s + "'");
          }
          char h = s[++i];
          cp = cp * 16 +
               (isdigit(static_cast<unsigned char>(h)) ? h - '0' : (tolower(h) - 'a' + 10));
        }
        AppendUtf8(cp, &out);
        break;
      }
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseProperties(const std::string& text) {
  std::map<std::string, std::string> props;
  std::vector<std::string> lines = NaturalLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = lines[i];
    size_t start = 0;
    while (start < line.size() && IsBlank(line[start])) ++start;
    if (start == line.size()) continue;
    if (line[start] == '#' || line[start] == '!') continue;  // comments never continue
    line = line.substr(start);
    // Join continuation lines: an odd number of trailing backslashes escapes the newline.
    while (TrailingBackslashes(line) % 2 == 1) {
      line.pop_back();
      if (++i >= lines.size()) break;
      const std::string& next = lines[i];
      size_t s = 0;
      while (s < next.size() && IsBlank(next[s])) ++s;
      line += next.substr(s);
    }
    // Key ends at the first unescaped '=', ':' or blank.
    size_t k = 0;
    while (k < line.size()) {
      char c = line[k];
      if (c == '\\') {
        k += 2;
        continue;
      }
      if (c == '=' || c == ':' || IsBlank(c)) break;
      ++k;
    }
    if (k > line.size()) k = line.size();
    std::string key = line.substr(0, k);
    size_t v = k;
    while (v < line.size() && IsBlank(line[v])) ++v;
    if (v < line.size() && (line[v] == '=' || line[v] == ':')) ++v;
    while (v < line.size() && IsBlank(line[v])) ++v;
    std::string value = line.substr(v);
    // Trim trailing blanks, unless escaped ("\ " keeps a meaningful space).
    while (!value.empty() && IsBlank(value.back()) &&
           TrailingBackslashes(value.substr(0, value.size() - 1)) % 2 == 0) {
      value.pop_back();
    }
    props[Unescape(key)] = Unescape(value);
  }
  return props;
}

std::map<std::string, std::string> ReadPropertiesFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    throw ConfigError("cannot read config file '" + path + "': it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError("error reading config file '" + path + "'");
  return ParseProperties(ss.str());
}

}  // namespace gregor::config
