#include "gregor/security/jaas.h"

#include <cctype>
#include <string>
#include <utility>

namespace gregor::security {

namespace {

constexpr std::string_view kUserPrefix = "user_";

struct Token {
  enum class Kind { kWord, kSemicolon, kEquals, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // kWord: the value, unquoted and unescaped
  size_t pos = 0;    // 1-based position of the token's first character
};

std::string At(size_t pos) { return " at position " + std::to_string(pos); }

// Kafka's JaasConfig tokenizer: a java.io.StreamTokenizer with every byte above ' ' a word
// character except ';', '=', the two quotes and the comment character '/'.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Status Next(Token* token) {
    GREGOR_RETURN_IF_ERROR(SkipSpaceAndComments());
    token->text.clear();
    token->pos = i_ + 1;
    if (i_ == text_.size()) {
      token->kind = Token::Kind::kEnd;
      return Status::Ok();
    }
    char c = text_[i_];
    if (c == ';' || c == '=') {
      token->kind = c == ';' ? Token::Kind::kSemicolon : Token::Kind::kEquals;
      ++i_;
      return Status::Ok();
    }
    token->kind = Token::Kind::kWord;
    if (c == '"' || c == '\'') return Quoted(token);
    while (i_ < text_.size() && IsWordChar(text_[i_])) token->text.push_back(text_[i_++]);
    return Status::Ok();
  }

 private:
  static bool IsSpace(char c) { return static_cast<unsigned char>(c) <= ' '; }
  static bool IsWordChar(char c) {
    return !IsSpace(c) && c != ';' && c != '=' && c != '"' && c != '\'' && c != '/';
  }

  Status SkipSpaceAndComments() {
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (IsSpace(c)) {
        ++i_;
      } else if (c == '/' && i_ + 1 < text_.size() && text_[i_ + 1] == '/') {
        while (i_ < text_.size() && text_[i_] != '\n') ++i_;
      } else if (c == '/' && i_ + 1 < text_.size() && text_[i_ + 1] == '*') {
        size_t end = text_.find("*/", i_ + 2);
        if (end == std::string_view::npos) {
          return Status::InvalidArgument("unterminated comment in JAAS config" + At(i_ + 1));
        }
        i_ = end + 2;
      } else if (c == '/') {
        // Kafka would silently drop the rest of the line here; a value holding '/' must be
        // quoted.
        return Status::InvalidArgument("unexpected '/' in JAAS config" + At(i_ + 1) +
                                       " (quote values that contain '/')");
      } else {
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Status Quoted(Token* token) {
    const size_t start = i_ + 1;
    const char quote = text_[i_++];
    while (i_ < text_.size()) {
      char c = text_[i_++];
      if (c == quote) return Status::Ok();
      if (c == '\\' && i_ < text_.size()) {
        char e = text_[i_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          default:
            c = e;  // \\, \", \' and any other escaped character stand for themselves
        }
      }
      token->text.push_back(c);
    }
    return Status::InvalidArgument("unterminated quoted string in JAAS config starting" +
                                   At(start));
  }

  std::string_view text_;
  size_t i_ = 0;
};

bool ParseControlFlag(std::string_view word, JaasControlFlag* flag) {
  std::string lower;
  for (char c : word)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (JaasControlFlag f : {JaasControlFlag::kRequired, JaasControlFlag::kRequisite,
                            JaasControlFlag::kSufficient, JaasControlFlag::kOptional}) {
    if (lower == JaasControlFlagName(f)) {
      *flag = f;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view JaasControlFlagName(JaasControlFlag flag) {
  switch (flag) {
    case JaasControlFlag::kRequired:
      return "required";
    case JaasControlFlag::kRequisite:
      return "requisite";
    case JaasControlFlag::kSufficient:
      return "sufficient";
    case JaasControlFlag::kOptional:
      return "optional";
  }
  return "required";
}

Result<JaasConfig> ParseJaasConfig(std::string_view text) {
  Lexer lexer(text);
  Token tok;
  GREGOR_RETURN_IF_ERROR(lexer.Next(&tok));
  if (tok.kind == Token::Kind::kEnd) {
    return Status::InvalidArgument("login module not specified in JAAS config");
  }
  if (tok.kind != Token::Kind::kWord || tok.text.empty()) {
    return Status::InvalidArgument("expected a login module class name in JAAS config" +
                                   At(tok.pos));
  }
  JaasConfig config;
  config.login_module = tok.text;

  GREGOR_RETURN_IF_ERROR(lexer.Next(&tok));
  if (tok.kind != Token::Kind::kWord) {
    return Status::InvalidArgument("login module control flag not specified in JAAS config" +
                                   At(tok.pos));
  }
  if (!ParseControlFlag(tok.text, &config.control_flag)) {
    return Status::InvalidArgument("invalid login module control flag '" + tok.text +
                                   "' in JAAS config" + At(tok.pos) +
                                   " (expected required, requisite, sufficient or optional)");
  }

  for (;;) {
    GREGOR_RETURN_IF_ERROR(lexer.Next(&tok));
    if (tok.kind == Token::Kind::kSemicolon) break;
    if (tok.kind == Token::Kind::kEnd) {
      return Status::InvalidArgument("JAAS config entry not terminated by ';'" + At(tok.pos) +
                                     " (end of input)");
    }
    if (tok.kind != Token::Kind::kWord || tok.text.empty()) {
      return Status::InvalidArgument("expected an option name in JAAS config" + At(tok.pos));
    }
    std::string key = tok.text;
    const size_t key_pos = tok.pos;
    GREGOR_RETURN_IF_ERROR(lexer.Next(&tok));
    if (tok.kind != Token::Kind::kEquals) {
      return Status::InvalidArgument("expected '=' after option '" + key + "' (" +
                                     At(key_pos).substr(1) + ") in JAAS config" + At(tok.pos));
    }
    GREGOR_RETURN_IF_ERROR(lexer.Next(&tok));
    if (tok.kind != Token::Kind::kWord) {
      return Status::InvalidArgument("value not specified for option '" + key + "' in JAAS config" +
                                     At(tok.pos));
    }
    config.options[std::move(key)] = std::move(tok.text);
  }

  GREGOR_RETURN_IF_ERROR(lexer.Next(&tok));
  if (tok.kind != Token::Kind::kEnd) {
    // Kafka's JaasContext: "JAAS config property contains N login modules, should be 1 module".
    return Status::InvalidArgument(
        "JAAS config must contain exactly one login module; more input follows the ';'" +
        At(tok.pos));
  }
  return config;
}

std::map<std::string, std::string> PlainUsers(const JaasConfig& config) {
  std::map<std::string, std::string> users;
  for (const auto& [key, value] : config.options) {
    if (key.size() > kUserPrefix.size() && key.compare(0, kUserPrefix.size(), kUserPrefix) == 0) {
      users.emplace(key.substr(kUserPrefix.size()), value);
    }
  }
  return users;
}

}  // namespace gregor::security
