#pragma once
// TLS server contexts from Kafka's PEM settings (KIP-651). Built once at
// start-up; shared read-only by all connections of an SSL listener.

#include <memory>
#include <string>

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
};

Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsOptions& options);

}  // namespace gregor::network
