#pragma once
// ssl.principal.mapping.rules (KIP-371): how an SSL client's certificate subject becomes the
// name of its principal ("User:<name>"), as Kafka's SslPrincipalMapper does it.
//
// The rules are a list separated by commas (and optional whitespace), tried in order:
//   DEFAULT                              the distinguished name itself;
//   RULE:<pattern>/<replacement>/[L|U]   when <pattern> (a regular expression) matches the
//                                        whole DN, the DN with every match of <pattern>
//                                        replaced by <replacement> ($1.. name groups), then
//                                        lower-cased (L) or upper-cased (U).
// A backslash in <pattern> or <replacement> escapes the next character (so "\/" is a slash
// and commas need no escape). The first rule that applies gives the name; when none does the
// client cannot be authenticated. The DN is in RFC 2253 form, as Java's X500Principal.getName()
// writes it: "CN=alice,OU=eng,O=Example,C=US".
//
// Example: RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),.*$/$1/L,DEFAULT
//
// Immutable after Parse; thread-safe.

#include <regex>
#include <string>
#include <vector>

#include "gregor/base/status.h"

namespace gregor::security {

class SslPrincipalMapper {
 public:
  // kInvalidArgument naming the rule that cannot be read (or whose pattern does not compile).
  // An empty string is DEFAULT.
  static Result<SslPrincipalMapper> Parse(const std::string& rules);

  // The principal name for `dn`; kNotFound when no rule applies.
  Result<std::string> Map(const std::string& dn) const;

 private:
  struct Rule {
    bool is_default = true;
    std::string pattern_text;
    std::regex pattern;
    std::string replacement;
    bool lower = false;
    bool upper = false;
  };
  std::vector<Rule> rules_;
};

}  // namespace gregor::security
