#pragma once
// --command-config FILE on every gregorctl command, as Kafka's tools take it: a Kafka client
// properties file whose settings become librdkafka -X settings placed before the command
// line's own -X (which therefore win). Java client keys are translated: sasl.jaas.config's
// username and password (PlainLoginModule, ScramLoginModule) to sasl.username/sasl.password,
// PEM trust and key stores to ssl.ca.location / ssl.certificate.location + ssl.key.location,
// an empty ssl.endpoint.identification.algorithm to "none"; JKS and PKCS12 stores are refused
// (librdkafka reads PEM). Pure, header-only (tests/tools).

#include <cctype>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "gregor/base/status.h"

namespace gregor::tools {

// The -X settings of a properties file's contents.
inline Result<std::vector<std::string>> CommandConfigSettings(
    const std::map<std::string, std::string>& props) {
  std::vector<std::string> out;
  auto get = [&](const std::string& k) -> std::optional<std::string> {
    auto it = props.find(k);
    if (it == props.end()) return std::nullopt;
    return it->second;
  };
  for (const char* store : {"ssl.truststore.type", "ssl.keystore.type"}) {
    auto t = get(store);
    if (t && *t != "PEM") {
      return Status::InvalidArgument(std::string(store) + "=" + *t +
                                     ": gregorctl (librdkafka) reads PEM files only");
    }
  }
  for (const auto& [k, v] : props) {
    if (k == "sasl.jaas.config") {
      static const std::regex kUser(R"re(username\s*=\s*"([^"]*)")re");
      static const std::regex kPassword(R"re(password\s*=\s*"([^"]*)")re");
      std::smatch m;
      if (std::regex_search(v, m, kUser)) out.push_back("sasl.username=" + m[1].str());
      if (std::regex_search(v, m, kPassword)) out.push_back("sasl.password=" + m[1].str());
    } else if (k == "ssl.truststore.location") {
      out.push_back("ssl.ca.location=" + v);
    } else if (k == "ssl.keystore.location") {
      out.push_back("ssl.certificate.location=" + v);
      out.push_back("ssl.key.location=" + v);
    } else if (k == "ssl.endpoint.identification.algorithm") {
      out.push_back(k + "=" + (v.empty() ? std::string("none") : v));
    } else if (k == "security.protocol") {
      std::string lower = v;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.push_back(k + "=" + lower);
    } else if (k == "ssl.truststore.type" || k == "ssl.keystore.type" ||
               k == "ssl.truststore.password" || k == "ssl.keystore.password") {
      continue;  // PEM files need none of these
    } else {
      out.push_back(k + "=" + v);
    }
  }
  return out;
}

// Replaces `--command-config FILE` (or `--command-config=FILE`) in `args` with -X settings
// placed first. `read` parses a properties file (it may fail with the path in its message).
template <typename ReadProperties>
Result<std::vector<std::string>> ExpandCommandConfig(const std::vector<std::string>& args,
                                                     ReadProperties read) {
  std::vector<std::string> rest, settings;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (args[i] == "--command-config") {
      if (i + 1 >= args.size()) return Status::InvalidArgument("--command-config needs a file");
      path = args[++i];
    } else if (args[i].rfind("--command-config=", 0) == 0) {
      path = args[i].substr(17);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    Result<std::map<std::string, std::string>> props = read(path);
    if (!props.ok()) return props.status();
    auto x = CommandConfigSettings(*props);
    if (!x.ok()) return Status::InvalidArgument(path + ": " + x.status().message());
    for (auto& kv : *x) {
      settings.push_back("-X");
      settings.push_back(std::move(kv));
    }
  }
  settings.insert(settings.end(), rest.begin(), rest.end());
  return settings;
}

}  // namespace gregor::tools
