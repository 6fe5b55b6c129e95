#include "server/sasl_authenticator.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>

#include "gregor/network/http_client.h"
#include "gregor/network/tls.h"
#include "gregor/protocol/api_key.h"
#include "gregor/security/jaas.h"
#include "gregor/security/plain.h"

namespace gregor::server {

namespace {

using protocol::ErrorCode;

// The HTTP fetch of an http(s) JWKS endpoint. Its TLS trust comes from the OAUTHBEARER JAAS
// string's ssl.truststore.location (PEM) and ssl.endpoint.identification.algorithm options,
// as Kafka's JaasOptionsUtils reads them; without them, the system's CAs and a hostname check.
Result<std::function<Result<std::string>()>> MakeJwksFetch(const config::BrokerConfig& config) {
  const std::string& url = config.sasl_oauthbearer_jwks_endpoint_url;
  network::HttpGetOptions http;
  http.timeout_ms = 10000;
  if (url.rfind("https://", 0) == 0) {
    network::TlsOptions tls;
    for (const auto& [listener, sasl] : config.listener_sasl) {
      auto it = sasl.jaas.find("OAUTHBEARER");
      if (it == sasl.jaas.end()) continue;
      auto jaas = security::ParseJaasConfig(it->second);
      if (!jaas.ok()) {
        return Status::InvalidArgument(
            "listener " + listener + ": oauthbearer.sasl.jaas.config: " + jaas.status().message());
      }
      auto opt = [&](const char* key) {
        auto o = jaas->options.find(key);
        return o == jaas->options.end() ? std::string() : o->second;
      };
      const std::string type = opt("ssl.truststore.type");
      if (!type.empty() && type != "PEM") {
        return Status::InvalidArgument("OAUTHBEARER JAAS option ssl.truststore.type=" + type +
                                       ": only PEM trust stores are read");
      }
      if (!opt("ssl.truststore.location").empty()) {
        tls.truststore_location = opt("ssl.truststore.location");
      }
      if (jaas->options.count("ssl.endpoint.identification.algorithm")) {
        http.verify_hostname =
            network::VerifiesHostname(opt("ssl.endpoint.identification.algorithm"));
      }
      break;
    }
    auto ctx = network::MakeClientTlsContext(tls);
    if (!ctx.ok()) return Status::InvalidArgument("JWKS endpoint TLS: " + ctx.status().message());
    http.tls = std::move(*ctx);
  }
  return std::function<Result<std::string>()>([url, http] { return network::HttpGet(url, http); });
}

// Per-connection exchange, in ConnectionContext::auth.
struct SaslExchange : network::AuthExchange {
  enum class Stage { kHandshake, kAuthenticate, kDone };
  Stage stage = Stage::kHandshake;
  int16_t handshake_version = 1;
  std::string mechanism;
  std::unique_ptr<security::ScramServer> scram;
  int64_t expires_at_ms = 0;  // 0: the session never expires
  bool reauthenticating = false;
  // OAUTHBEARER: the token was refused and the error challenge sent (RFC 7628 section 3.2.2);
  // the client's \x01 answer ends the exchange with a failure.
  std::string oauth_failure;
};

bool IsSaslListener(const network::ConnectionContext& conn) {
  return conn.security_protocol.rfind("SASL_", 0) == 0;
}

SaslExchange& Exchange(network::ConnectionContext& conn) {
  if (!conn.auth) conn.auth = std::make_unique<SaslExchange>();
  return static_cast<SaslExchange&>(*conn.auth);
}
const SaslExchange* ExchangeOf(const network::ConnectionContext& conn) {
  return static_cast<const SaslExchange*>(conn.auth.get());
}

std::atomic<int64_t> g_last_failure_log_ms{0};
bool ShouldLogFailure() {
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  int64_t prev = g_last_failure_log_ms.load();
  return now - prev >= 1000 && g_last_failure_log_ms.compare_exchange_strong(prev, now);
}

constexpr int16_t kApiVersions = static_cast<int16_t>(protocol::ApiKey::kApiVersions);
constexpr int16_t kSaslHandshake = static_cast<int16_t>(protocol::ApiKey::kSaslHandshake);
constexpr int16_t kSaslAuthenticate = static_cast<int16_t>(protocol::ApiKey::kSaslAuthenticate);

}  // namespace

std::optional<security::ScramCredential> ScramCredentialCache::Find(
    const std::string& user, security::ScramMechanism mechanism) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return std::nullopt;
  auto c = it->second.find(mechanism);
  if (c == it->second.end()) return std::nullopt;
  return c->second;
}

void ScramCredentialCache::Update(const std::string& user,
                                  const std::map<std::string, std::string>& config) {
  std::map<security::ScramMechanism, security::ScramCredential> creds;
  for (const auto& [key, value] : config) {
    auto mechanism = security::ParseScramMechanism(key);
    if (!mechanism) continue;  // a quota or another config of the user
    auto cred = security::ScramCredential::Parse(value);
    if (!cred.ok()) {
      LOG(WARNING) << "[SASL] ignoring the " << key << " credential of user " << user << ": "
                   << cred.status().message();
      continue;
    }
    creds[*mechanism] = *cred;
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (creds.empty()) {
    users_.erase(user);
  } else {
    users_[user] = std::move(creds);
  }
}

size_t ScramCredentialCache::size() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return users_.size();
}

Result<std::unique_ptr<SaslAuthenticator>> SaslAuthenticator::Create(
    const config::BrokerConfig& config, const ScramCredentialCache* scram, const Clock* clock) {
  std::unique_ptr<SaslAuthenticator> a(new SaslAuthenticator());
  a->scram_ = scram;
  a->clock_ = clock;
  a->reauth_ms_ = config.connections_max_reauth_ms;
  a->failed_delay_ms_ = config.connection_failed_authentication_delay_ms;
  for (const auto& [listener, sasl] : config.listener_sasl) {
    ListenerState& st = a->listeners_[listener];
    for (const auto& m : sasl.mechanisms) {
      if (m == "PLAIN" || security::ParseScramMechanism(m)) st.mechanisms.push_back(m);
      if (m == "OAUTHBEARER") {
        if (!a->oauth_) {
          security::OAuthBearerOptions o;
          o.jwks_url = config.sasl_oauthbearer_jwks_endpoint_url;
          o.jwks_refresh_ms = config.sasl_oauthbearer_jwks_endpoint_refresh_ms;
          o.jwks_retry_backoff_ms = config.sasl_oauthbearer_jwks_endpoint_retry_backoff_ms;
          o.jwks_retry_backoff_max_ms = config.sasl_oauthbearer_jwks_endpoint_retry_backoff_max_ms;
          const std::string& url = config.sasl_oauthbearer_jwks_endpoint_url;
          if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) {
            auto fetch = MakeJwksFetch(config);
            if (!fetch.ok())
              return Status::InvalidArgument("OAUTHBEARER: " + fetch.status().message());
            o.fetch_jwks = std::move(*fetch);
          }
          o.expected_audience = config.sasl_oauthbearer_expected_audience;
          o.expected_issuer = config.sasl_oauthbearer_expected_issuer;
          o.clock_skew_s = config.sasl_oauthbearer_clock_skew_seconds;
          o.sub_claim = config.sasl_oauthbearer_sub_claim_name;
          o.scope_claim = config.sasl_oauthbearer_scope_claim_name;
          auto v = security::OAuthBearerValidator::Create(std::move(o));
          if (!v.ok()) return Status::InvalidArgument("OAUTHBEARER: " + v.status().message());
          a->oauth_ = std::move(*v);
        }
        st.mechanisms.push_back(m);
      }
    }
    auto plain = sasl.jaas.find("PLAIN");
    if (plain != sasl.jaas.end() &&
        std::find(st.mechanisms.begin(), st.mechanisms.end(), "PLAIN") != st.mechanisms.end()) {
      auto jaas = security::ParseJaasConfig(plain->second);
      if (!jaas.ok()) {
        return Status::InvalidArgument("listener " + listener +
                                       ": plain.sasl.jaas.config: " + jaas.status().message());
      }
      st.plain_users = security::PlainUsers(*jaas);
      if (st.plain_users.empty()) {
        LOG(WARNING) << "[SASL] listener " << listener
                     << " enables PLAIN but its JAAS string names no user_<name>=\"<password>\"";
      }
    }
  }
  return a;
}

const SaslAuthenticator::ListenerState* SaslAuthenticator::Find(const std::string& listener) const {
  auto it = listeners_.find(listener);
  return it == listeners_.end() ? nullptr : &it->second;
}

bool SaslAuthenticator::ExpectsRawToken(const network::ConnectionContext& conn) const {
  const SaslExchange* x = ExchangeOf(conn);
  return x != nullptr && x->stage == SaslExchange::Stage::kAuthenticate &&
         x->handshake_version == 0;
}

bool SaslAuthenticator::Admits(const network::ConnectionContext& conn, int16_t api_key) const {
  if (!IsSaslListener(conn)) return true;
  const SaslExchange* x = ExchangeOf(conn);
  if (!conn.authenticated) {
    if (x == nullptr || x->stage == SaslExchange::Stage::kHandshake) {
      return api_key == kApiVersions || api_key == kSaslHandshake;
    }
    return api_key == kSaslAuthenticate;  // v1 exchange under way
  }
  if (api_key == kSaslHandshake || api_key == kSaslAuthenticate) return true;
  // KIP-368: past its lifetime a session may only re-authenticate.
  return x == nullptr || x->expires_at_ms == 0 || clock_->MonotonicMs() < x->expires_at_ms;
}

SaslAuthenticator::HandshakeResult SaslAuthenticator::Handshake(
    network::ConnectionContext& conn, int16_t version, const std::string& mechanism) const {
  HandshakeResult r;
  const ListenerState* listener = IsSaslListener(conn) ? Find(conn.listener_name) : nullptr;
  if (listener == nullptr) {
    // As KafkaApis: the exchange happens before requests reach it on a SASL listener.
    r.error = ErrorCode::kIllegalSaslState;
    return r;
  }
  r.mechanisms = listener->mechanisms;
  SaslExchange& x = Exchange(conn);
  if (x.stage == SaslExchange::Stage::kAuthenticate) {
    r.error = ErrorCode::kIllegalSaslState;
    r.close = true;
    return r;
  }
  const bool reauth = x.stage == SaslExchange::Stage::kDone;
  if (reauth && (version < 1 || mechanism != x.mechanism)) {
    // KIP-368: re-authentication needs SaslAuthenticate and keeps the mechanism.
    r.error = reauth && version >= 1 ? ErrorCode::kUnsupportedSaslMechanism
                                     : ErrorCode::kIllegalSaslState;
    r.close = true;
    return r;
  }
  if (std::find(listener->mechanisms.begin(), listener->mechanisms.end(), mechanism) ==
      listener->mechanisms.end()) {
    if (ShouldLogFailure()) {
      LOG(WARNING) << "[SASL " << conn.client_address << "] unsupported mechanism '" << mechanism
                   << "' on listener " << conn.listener_name << "; closing";
    }
    r.error = ErrorCode::kUnsupportedSaslMechanism;
    r.close = true;
    return r;
  }
  x.stage = SaslExchange::Stage::kAuthenticate;
  x.handshake_version = version;
  x.mechanism = mechanism;
  x.reauthenticating = reauth;
  x.scram.reset();
  x.oauth_failure.clear();
  if (auto scram = security::ParseScramMechanism(mechanism)) {
    const ScramCredentialCache* cache = scram_;
    auto m = *scram;
    x.scram = std::make_unique<security::ScramServer>(
        m, [cache, m](const std::string& user) -> std::optional<security::ScramCredential> {
          return cache ? cache->Find(user, m) : std::nullopt;
        });
  }
  return r;
}

SaslAuthenticator::StepResult SaslAuthenticator::Authenticate(network::ConnectionContext& conn,
                                                              std::string_view token) const {
  StepResult r;
  const ListenerState* listener = IsSaslListener(conn) ? Find(conn.listener_name) : nullptr;
  SaslExchange* x = listener ? &Exchange(conn) : nullptr;
  if (x == nullptr || x->stage != SaslExchange::Stage::kAuthenticate) {
    r.error = ErrorCode::kIllegalSaslState;
    r.message = conn.authenticated ? "SaslAuthenticate request received after successful "
                                     "authentication"
                                   : "SaslAuthenticate request received before SaslHandshake";
    r.close = !conn.authenticated;
    return r;
  }
  std::string user;
  Status failure;
  int64_t token_expires_at_ms = 0;  // OAUTHBEARER: the token's exp (Unix ms)
  if (x->mechanism == "OAUTHBEARER" && !x->oauth_failure.empty()) {
    // The client's answer to the error challenge: the exchange fails.
    failure = Status::InvalidArgument(x->oauth_failure);
  } else if (x->mechanism == "OAUTHBEARER" && oauth_) {
    auto jwt = security::ParseOAuthBearerClientResponse(token);
    auto t = jwt.ok() ? oauth_->Validate(*jwt, clock_->NowMs())
                      : Result<security::OAuthBearerToken>(jwt.status());
    if (t.ok()) {
      user = t->principal_name;
      token_expires_at_ms = t->expires_at_ms;
    } else if (jwt.ok()) {
      // RFC 7628: the error as a JSON challenge; the client answers \x01 and fails then (or
      // just closes), so the refusal is logged and audited now.
      x->oauth_failure = t.status().message();
      if (ShouldLogFailure()) {
        LOG(WARNING) << "[SASL " << conn.client_address << " " << conn.listener_name
                     << "] OAUTHBEARER token refused: " << x->oauth_failure;
      }
      if (audit_ != nullptr) {
        audit_->Authentication("", x->mechanism, conn.listener_name, conn.client_address, false,
                               x->oauth_failure);
      }
      r.token = R"({"status":"invalid_token"})";
      return r;
    } else {
      failure = t.status();
    }
  } else if (x->mechanism == "PLAIN") {
    auto u = security::AuthenticatePlain(token, listener->plain_users);
    if (u.ok()) {
      user = *u;
    } else {
      failure = u.status();
    }
  } else if (x->scram) {
    auto answer = x->scram->Evaluate(token);
    if (!answer.ok()) {
      // The client gets the generic message; the log gets why (unknown user, wrong proof).
      failure = x->scram->failure_detail().empty()
                    ? answer.status()
                    : Status::InvalidArgument(x->scram->failure_detail());
    } else {
      r.token = *answer;
      if (!x->scram->complete()) return r;  // server-first message; the client answers
      user = x->scram->username();
    }
  } else {
    failure = Status::Internal("no exchange for mechanism " + x->mechanism);
  }
  std::string principal = "User:" + user;
  if (failure.ok() && x->reauthenticating && principal != conn.principal) {
    failure = Status::InvalidArgument("re-authentication as " + principal +
                                      " on a connection authenticated as " + conn.principal);
  }
  if (!failure.ok()) {
    if (ShouldLogFailure()) {
      LOG(WARNING) << "[SASL " << conn.client_address << " " << conn.listener_name
                   << "] authentication with " << x->mechanism << " failed: " << failure.message()
                   << "; closing";
    }
    if (audit_ != nullptr) {
      audit_->Authentication(user.empty() ? "" : principal, x->mechanism, conn.listener_name,
                             conn.client_address, false, failure.message());
    }
    r.error = ErrorCode::kSaslAuthenticationFailed;
    r.message =
        "Authentication failed during authentication due to invalid credentials with "
        "SASL mechanism " +
        x->mechanism;
    r.token.clear();
    r.close = true;
    return r;
  }
  conn.authenticated = true;
  conn.principal = principal;
  x->stage = SaslExchange::Stage::kDone;
  x->scram.reset();
  x->oauth_failure.clear();
  x->reauthenticating = false;
  if (reauth_ms_ > 0) {
    // KIP-368: a session lasts connections.max.reauth.ms, or until its token expires.
    int64_t lifetime = reauth_ms_;
    if (token_expires_at_ms > 0) {
      lifetime = std::max<int64_t>(1, std::min(lifetime, token_expires_at_ms - clock_->NowMs()));
    }
    x->expires_at_ms = clock_->MonotonicMs() + lifetime;
    r.session_lifetime_ms = lifetime;
  }
  if (audit_ != nullptr) {
    audit_->Authentication(principal, x->mechanism, conn.listener_name, conn.client_address, true,
                           "");
  }
  VLOG(1) << "[SASL " << conn.client_address << "] authenticated " << principal << " with "
          << x->mechanism;
  return r;
}

}  // namespace gregor::server
