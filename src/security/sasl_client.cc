#include "gregor/security/sasl_client.h"

#include "gregor/security/scram.h"

namespace gregor::security {

bool IsClientSaslMechanism(std::string_view mechanism) {
  return mechanism == "PLAIN" || ParseScramMechanism(mechanism).has_value();
}

Status AuthenticateSaslClient(std::string_view mechanism, const std::string& username,
                              const std::string& password, const SaslStep& step) {
  if (mechanism == "PLAIN") {
    std::string token;
    token.reserve(username.size() + password.size() + 2);
    token += '\0';
    token += username;
    token += '\0';
    token += password;
    return step(token).status();
  }
  auto scram = ParseScramMechanism(mechanism);
  if (!scram) {
    return Status::InvalidArgument("SASL mechanism " + std::string(mechanism) +
                                   " is not spoken here (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)");
  }
  ScramClient client(*scram, username, password);
  Result<std::string> server_first = step(client.First());
  if (!server_first.ok()) return server_first.status();
  Result<std::string> client_final = client.Final(*server_first);
  if (!client_final.ok()) return client_final.status();
  Result<std::string> server_final = step(*client_final);
  if (!server_final.ok()) return server_final.status();
  return client.Verify(*server_final);
}

}  // namespace gregor::security
