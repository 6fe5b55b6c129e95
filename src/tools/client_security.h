#pragma once
// How gregorctl's raw protocol client (protocol_client.h: the transactions, quota and user
// commands) secures its connections, read from the same -X settings librdkafka takes (and
// --command-config turns into), so one set of options serves every gregorctl command:
//   security.protocol  plaintext | ssl | sasl_plaintext | sasl_ssl (any case)
//   sasl.mechanism(s)  PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (librdkafka's default, GSSAPI, and
//                      OAUTHBEARER are refused: the raw client does not speak them)
//   sasl.username, sasl.password
//   ssl.ca.location (a PEM file or a directory; unset: the system's trust store),
//   ssl.certificate.location, ssl.key.location, ssl.key.password,
//   enable.ssl.certificate.verification (true), ssl.endpoint.identification.algorithm
//   (https, librdkafka 2.0's default, checks the broker's name; none does not).
// Other settings are librdkafka's business and ignored here. Pure, header-only (tests/tools).

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "tools/args.h"

namespace gregor::tools {

struct ClientSecurity {
  bool tls = false;
  bool sasl = false;
  std::string sasl_mechanism;  // when sasl
  std::string sasl_username, sasl_password;
  std::string ca_location, certificate_location, key_location, key_password;
  bool verify_certificate = true;
  bool verify_hostname = true;
  bool operator==(const ClientSecurity&) const = default;
};

inline Result<ClientSecurity> ParseClientSecurity(const std::vector<KeyValue>& settings) {
  ClientSecurity s;
  std::string protocol = "plaintext", mechanism = "GSSAPI";
  auto lower = [](std::string v) {
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  auto boolean = [&](const KeyValue& kv, bool* out) {
    const std::string v = lower(kv.value);
    if (v == "true") {
      *out = true;
    } else if (v == "false") {
      *out = false;
    } else {
      return Status::InvalidArgument(kv.key + "=" + kv.value + ": expected true or false");
    }
    return Status::Ok();
  };
  for (const auto& kv : settings) {
    if (kv.key == "security.protocol") {
      protocol = lower(kv.value);
    } else if (kv.key == "sasl.mechanism" || kv.key == "sasl.mechanisms") {
      mechanism = kv.value;
    } else if (kv.key == "sasl.username") {
      s.sasl_username = kv.value;
    } else if (kv.key == "sasl.password") {
      s.sasl_password = kv.value;
    } else if (kv.key == "ssl.ca.location") {
      s.ca_location = kv.value;
    } else if (kv.key == "ssl.certificate.location") {
      s.certificate_location = kv.value;
    } else if (kv.key == "ssl.key.location") {
      s.key_location = kv.value;
    } else if (kv.key == "ssl.key.password") {
      s.key_password = kv.value;
    } else if (kv.key == "enable.ssl.certificate.verification") {
      GREGOR_RETURN_IF_ERROR(boolean(kv, &s.verify_certificate));
    } else if (kv.key == "ssl.endpoint.identification.algorithm") {
      const std::string v = lower(kv.value);
      if (v != "https" && v != "none") {
        return Status::InvalidArgument(kv.key + "=" + kv.value + ": expected https or none");
      }
      s.verify_hostname = v == "https";
    }
  }
  if (protocol == "ssl" || protocol == "sasl_ssl") s.tls = true;
  if (protocol == "sasl_plaintext" || protocol == "sasl_ssl") s.sasl = true;
  if (protocol != "plaintext" && !s.tls && !s.sasl) {
    return Status::InvalidArgument("security.protocol=" + protocol +
                                   ": expected plaintext, ssl, sasl_plaintext or sasl_ssl");
  }
  if (s.sasl) {
    if (mechanism != "PLAIN" && mechanism != "SCRAM-SHA-256" && mechanism != "SCRAM-SHA-512") {
      return Status::InvalidArgument(
          "sasl.mechanism=" + mechanism +
          ": this command authenticates with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 only");
    }
    if (s.sasl_username.empty()) {
      return Status::InvalidArgument("security.protocol=" + protocol +
                                     " needs sasl.username and sasl.password");
    }
    s.sasl_mechanism = mechanism;
  }
  if (s.certificate_location.empty() != s.key_location.empty()) {
    return Status::InvalidArgument(
        "ssl.certificate.location and ssl.key.location go together (a client certificate)");
  }
  return s;
}

// What every command of the raw protocol client takes from -X: client.id and the security
// settings above.
inline Status ReadRawClientSettings(const std::vector<KeyValue>& settings, std::string* client_id,
                                    ClientSecurity* security) {
  for (const auto& kv : settings) {
    if (kv.key == "client.id") *client_id = kv.value;
  }
  Result<ClientSecurity> s = ParseClientSecurity(settings);
  if (!s.ok()) return s.status();
  *security = std::move(*s);
  return Status::Ok();
}

}  // namespace gregor::tools
