#pragma once
// TLS contexts from Kafka's PEM settings (KIP-651). Built once at start-up; a
// server context is shared read-only by all connections of an SSL listener, a
// client context by the inter-broker clients (BrokerClient) of this broker.

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gregor/base/status.h"
#include "gregor/network/asio.h"

namespace gregor::network {

struct TlsOptions {
  std::string keystore_location;           // PEM: certificate chain and private key
  std::string keystore_certificate_chain;  // inline PEM alternative
  std::string keystore_key;                // inline PEM alternative
  std::string key_password;
  std::string truststore_location;      // PEM CA bundle (client auth)
  std::string truststore_certificates;  // inline PEM alternative
  std::string client_auth = "none";     // none | requested | required
  // Client side only (MakeClientTlsContext): ssl.enabled.protocols (TLSv1.2, TLSv1.3; empty =
  // both) and ssl.cipher.suites (OpenSSL names; TLS_* are TLSv1.3 suites; empty = defaults).
  std::vector<std::string> enabled_protocols;
  std::vector<std::string> cipher_suites;
};

Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsOptions& options);

// The client side of Kafka's SSL settings, for connections to other brokers: the peer's
// certificate chain must verify against the truststore (ssl.truststore.location or
// ssl.truststore.certificates; the system CA paths when neither is set); the keystore, when
// set, is presented to servers that ask for a client certificate (ssl.client.auth).
// Hostname verification (ssl.endpoint.identification.algorithm) is per connection: see
// BrokerClientOptions::verify_hostname. kInvalidArgument names the bad setting.
Result<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const TlsOptions& options);

// A client context that a key or trust store reload replaces while clients use it: each new
// connection takes the one current then; open connections keep theirs. Thread-safe.
class TlsContextSlot {
 public:
  explicit TlsContextSlot(std::shared_ptr<asio::ssl::context> ctx) : ctx_(std::move(ctx)) {}
  std::shared_ptr<asio::ssl::context> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ctx_;
  }
  void Set(std::shared_ptr<asio::ssl::context> ctx) {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = std::move(ctx);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> ctx_;
};

// What the key and trust store files look like now (path, size and modification time of
// each file the options name; inline PEM counts as is): a change means MakeServerTlsContext
// would read something else. Empty when the options name no file.
std::string TlsFilesStamp(const TlsOptions& options);

// The subject of the certificate the peer of `ssl` presented, in RFC 2253 form as Java's
// X500Principal.getName() writes it ("CN=alice,OU=eng,O=Example,C=US"); none when it
// presented none.
std::optional<std::string> PeerCertificateSubject(SSL* ssl);

// ssl.endpoint.identification.algorithm: "https" (Kafka's default) verifies that the peer's
// certificate names the host dialled; "" turns that off. Other values are refused by config.
inline bool VerifiesHostname(const std::string& endpoint_identification_algorithm) {
  return !endpoint_identification_algorithm.empty();
}

}  // namespace gregor::network
