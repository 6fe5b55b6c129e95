#include "server/sasl_client.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <string>

#include "gregor/protocol/messages/sasl_authenticate.h"
#include "gregor/protocol/messages/sasl_handshake.h"
#include "gregor/protocol/reader.h"
#include "gregor/security/jaas.h"
#include "gregor/security/sasl_client.h"

namespace gregor::server {

namespace {

int32_t MsUntil(int64_t deadline_ms) {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  return static_cast<int32_t>(std::max<int64_t>(1, deadline_ms - now));
}

Status Handshake(network::BrokerClient& client, const std::string& mechanism, int64_t deadline) {
  network::BrokerClient::Response raw;
  Status st = client.Call(
      protocol::ApiKey::kSaslHandshake, {1, 1},
      [&](protocol::Writer& w, int16_t version) {
        protocol::SaslHandshakeRequest req;
        req.mechanism = mechanism;
        req.Encode(w, version);
      },
      &raw, MsUntil(deadline));
  if (!st.ok()) return st;
  protocol::SaslHandshakeResponse resp;
  protocol::Reader r(raw.body, raw.size);
  if (!resp.Decode(r, raw.api_version)) return Status::Corruption("unreadable SaslHandshake");
  if (resp.error_code != protocol::ErrorCode::kNone) {
    return Status::InvalidArgument(std::string("SaslHandshake ") + mechanism + ": " +
                                   protocol::ErrorCodeName(resp.error_code));
  }
  return Status::Ok();
}

// One SaslAuthenticate round: sends `token`, returns the server's bytes.
Result<std::string> Step(network::BrokerClient& client, const std::string& token,
                         int64_t deadline) {
  network::BrokerClient::Response raw;
  Status st = client.Call(
      protocol::ApiKey::kSaslAuthenticate, {0, 2},
      [&](protocol::Writer& w, int16_t version) {
        protocol::SaslAuthenticateRequest req;
        req.auth_bytes = token;
        req.Encode(w, version);
      },
      &raw, MsUntil(deadline));
  if (!st.ok()) return st;
  protocol::SaslAuthenticateResponse resp;
  protocol::Reader r(raw.body, raw.size);
  if (!resp.Decode(r, raw.api_version)) return Status::Corruption("unreadable SaslAuthenticate");
  if (resp.error_code != protocol::ErrorCode::kNone) {
    return Status::InvalidArgument(std::string("SASL authentication failed: ") +
                                   protocol::ErrorCodeName(resp.error_code) + " " +
                                   resp.error_message.value_or(""));
  }
  return resp.auth_bytes;
}

}  // namespace

Result<InterBrokerAuthenticate> MakeInterBrokerSaslAuthenticator(
    const config::BrokerConfig& config) {
  const std::string& protocol = config.security_inter_broker_protocol;
  if (protocol != "SASL_PLAINTEXT" && protocol != "SASL_SSL") return InterBrokerAuthenticate();
  const std::string listener = config.inter_broker_listener_name.empty()
                                   ? config.listeners.front().name
                                   : config.inter_broker_listener_name;
  const std::string mechanism = config.sasl_mechanism_inter_broker_protocol;
  if (!security::IsClientSaslMechanism(mechanism)) {
    return Status::InvalidArgument("sasl.mechanism.inter.broker.protocol=" + mechanism +
                                   ": gregor's brokers authenticate with PLAIN, SCRAM-SHA-256 or "
                                   "SCRAM-SHA-512");
  }
  auto sasl = config.listener_sasl.find(listener);
  const std::string* jaas_text = nullptr;
  if (sasl != config.listener_sasl.end()) {
    auto it = sasl->second.jaas.find(mechanism);
    if (it != sasl->second.jaas.end()) jaas_text = &it->second;
  }
  if (jaas_text == nullptr) {
    std::string lower_listener = listener, lower_mech = mechanism;
    for (auto& c : lower_listener) c = static_cast<char>(std::tolower(c));
    for (auto& c : lower_mech) c = static_cast<char>(std::tolower(c));
    return Status::InvalidArgument("inter-broker SASL with " + mechanism + " needs listener.name." +
                                   lower_listener + "." + lower_mech +
                                   ".sasl.jaas.config with username and password");
  }
  auto jaas = security::ParseJaasConfig(*jaas_text);
  if (!jaas.ok()) return jaas.status();
  auto user = jaas->options.find("username");
  auto password = jaas->options.find("password");
  if (user == jaas->options.end() || password == jaas->options.end()) {
    return Status::InvalidArgument("the " + mechanism + " JAAS string of listener " + listener +
                                   " has no username and password for inter-broker SASL");
  }
  const std::string u = user->second, p = password->second;
  return InterBrokerAuthenticate([mechanism, u, p](network::BrokerClient& client,
                                                   int64_t deadline) -> Status {
    GREGOR_RETURN_IF_ERROR(Handshake(client, mechanism, deadline));
    return security::AuthenticateSaslClient(
        mechanism, u, p, [&](const std::string& token) { return Step(client, token, deadline); });
  });
}

}  // namespace gregor::server
