#pragma once
// SaslAuthenticator: the broker side of SASL on SASL_PLAINTEXT and SASL_SSL listeners
// (Kafka's SaslServerAuthenticator), for PLAIN (users from the listener's JAAS string) and
// SCRAM-SHA-256/512 (credentials from /config/users, kept by ScramCredentialCache).
//
// A connection of a SASL listener starts unauthenticated. It may send ApiVersions, then
// SaslHandshake naming a mechanism:
//   - v0: the next frames are raw SASL tokens, answered as raw size-prefixed tokens
//     (kafka-python); a failure closes the connection without an answer.
//   - v1: the tokens travel in SaslAuthenticate requests (librdkafka, kafkajs, Java); a failure
//     is answered SASL_AUTHENTICATION_FAILED with a message, then the connection is closed.
// Anything else before the exchange completes closes the connection. A failed exchange is
// answered (or closed) only after connection.failed.authentication.delay.ms, so a client
// guessing passwords is slowed. With connections.max.reauth.ms > 0 a session expires: the
// client re-authenticates on the same connection (KIP-368, same principal) or is closed at its
// next request.
//
// Thread-safety: the authenticator is immutable after Create and shared by all connections;
// per-connection state lives in ConnectionContext::auth and is touched only on that
// connection's strand. Nothing here blocks: credentials are looked up in memory.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gregor/base/clock.h"
#include "gregor/base/status.h"
#include "gregor/config/broker_config.h"
#include "gregor/network/request_handler.h"
#include "gregor/protocol/error_code.h"
#include "gregor/security/audit_log.h"
#include "gregor/security/oauthbearer.h"
#include "gregor/security/scram.h"

namespace gregor::server {

// The SCRAM credentials of every user, from /config/users/<user> (keys SCRAM-SHA-256 and
// SCRAM-SHA-512 in Kafka's text form), updated from config change notifications.
// Thread-safe (shared_mutex); Find never blocks on ZooKeeper.
class ScramCredentialCache {
 public:
  std::optional<security::ScramCredential> Find(const std::string& user,
                                                security::ScramMechanism mechanism) const;
  // Replaces `user`'s credentials with the SCRAM entries of its entity config (an empty map
  // removes the user). An unreadable entry is logged and skipped.
  void Update(const std::string& user, const std::map<std::string, std::string>& config);
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::map<security::ScramMechanism, security::ScramCredential>> users_;
};

class SaslAuthenticator {
 public:
  // Fails (a configuration error) when a SASL listener's JAAS string is unreadable.
  static Result<std::unique_ptr<SaslAuthenticator>> Create(const config::BrokerConfig& config,
                                                           const ScramCredentialCache* scram,
                                                           const Clock* clock);

  // Whether `conn`'s next frame is a raw SASL token (after SaslHandshake v0).
  bool ExpectsRawToken(const network::ConnectionContext& conn) const;
  // Whether a request with `api_key` may be handled now; false: close the connection (a
  // request before authentication completed, or after the session expired).
  bool Admits(const network::ConnectionContext& conn, int16_t api_key) const;

  // SaslHandshake. Fills the mechanisms this listener enables.
  struct HandshakeResult {
    protocol::ErrorCode error = protocol::ErrorCode::kNone;
    std::vector<std::string> mechanisms;
    bool close = false;  // after answering
  };
  HandshakeResult Handshake(network::ConnectionContext& conn, int16_t version,
                            const std::string& mechanism) const;

  // One token of the exchange (SaslAuthenticate, or a raw v0 token).
  struct StepResult {
    protocol::ErrorCode error = protocol::ErrorCode::kNone;
    std::string message;
    std::string token;                // the server's answer
    int64_t session_lifetime_ms = 0;  // when the exchange completed with a lifetime
    bool close = false;               // after answering (failed: after the delay)
  };
  StepResult Authenticate(network::ConnectionContext& conn, std::string_view token) const;

  int32_t failed_authentication_delay_ms() const { return failed_delay_ms_; }

  // Every completed or failed exchange is recorded there (audit.log.file); null: nowhere. Set
  // before the listeners start.
  void SetAuditLog(security::AuditLog* audit) { audit_ = audit; }

 private:
  struct ListenerState {
    std::vector<std::string> mechanisms;
    std::map<std::string, std::string> plain_users;  // user -> password
  };
  SaslAuthenticator() = default;
  const ListenerState* Find(const std::string& listener) const;

  std::map<std::string, ListenerState> listeners_;
  const ScramCredentialCache* scram_ = nullptr;
  const Clock* clock_ = nullptr;
  int64_t reauth_ms_ = 0;
  int32_t failed_delay_ms_ = 100;
  security::AuditLog* audit_ = nullptr;
  // OAUTHBEARER's token validator (null when no listener enables it). Thread-safe.
  std::unique_ptr<security::OAuthBearerValidator> oauth_;
};

}  // namespace gregor::server
