#include "gregor/network/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace gregor::network {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsOptions& o) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  boost::system::error_code ec;
  if (!o.key_password.empty()) {
    std::string pw = o.key_password;
    ctx->set_password_callback(
        [pw](std::size_t, asio::ssl::context::password_purpose) { return pw; }, ec);
  }
  if (!o.keystore_location.empty()) {
    ctx->use_certificate_chain_file(o.keystore_location, ec);
    if (ec) {
      return Status::InvalidArgument("ssl.keystore.location " + o.keystore_location +
                                     ": no certificate chain: " + ec.message());
    }
    ctx->use_private_key_file(o.keystore_location, asio::ssl::context::pem, ec);
    if (ec) {
      return Status::InvalidArgument("ssl.keystore.location " + o.keystore_location +
                                     ": no usable private key: " + ec.message());
    }
  } else if (!o.keystore_certificate_chain.empty() && !o.keystore_key.empty()) {
    ctx->use_certificate_chain(asio::buffer(o.keystore_certificate_chain), ec);
    if (ec) return Status::InvalidArgument("ssl.keystore.certificate.chain: " + ec.message());
    ctx->use_private_key(asio::buffer(o.keystore_key), asio::ssl::context::pem, ec);
    if (ec) return Status::InvalidArgument("ssl.keystore.key: " + ec.message());
  } else {
    return Status::InvalidArgument(
        "an SSL listener needs ssl.keystore.location (PEM with certificate and key)");
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::InvalidArgument("ssl keystore: private key does not match certificate: " +
                                   OpenSslError());
  }
  if (!o.truststore_location.empty()) {
    ctx->load_verify_file(o.truststore_location, ec);
    if (ec) return Status::InvalidArgument("ssl.truststore.location: " + ec.message());
  } else if (!o.truststore_certificates.empty()) {
    ctx->add_certificate_authority(asio::buffer(o.truststore_certificates), ec);
    if (ec) return Status::InvalidArgument("ssl.truststore.certificates: " + ec.message());
  }
  if (o.client_auth == "required") {
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  } else if (o.client_auth == "requested") {
    ctx->set_verify_mode(asio::ssl::verify_peer);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  return ctx;
}

}  // namespace gregor::network
