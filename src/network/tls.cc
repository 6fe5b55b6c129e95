#include "gregor/network/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

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

std::string TlsFilesStamp(const TlsOptions& o) {
  std::string stamp;
  for (const std::string* path : {&o.keystore_location, &o.truststore_location}) {
    if (path->empty()) continue;
    struct stat st {};
    stamp += *path;
    if (::stat(path->c_str(), &st) == 0) {
      stamp += ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
               std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
    } else {
      stamp += ":missing";
    }
    stamp += ";";
  }
  return stamp;
}

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

Result<std::shared_ptr<asio::ssl::context>> MakeClientTlsContext(const TlsOptions& o) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  SSL_CTX* native = ctx->native_handle();
  boost::system::error_code ec;

  // ssl.enabled.protocols: TLSv1.2 and TLSv1.3 are the only ones config accepts.
  if (!o.enabled_protocols.empty()) {
    bool v12 = false;
    bool v13 = false;
    for (const auto& p : o.enabled_protocols) {
      v12 = v12 || p == "TLSv1.2";
      v13 = v13 || p == "TLSv1.3";
    }
    if (!v12 && !v13) {
      return Status::InvalidArgument("ssl.enabled.protocols: neither TLSv1.2 nor TLSv1.3");
    }
    SSL_CTX_set_min_proto_version(native, v12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(native, v13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  }
  // ssl.cipher.suites: OpenSSL keeps TLSv1.3 suites (TLS_*) apart from the older cipher list.
  if (!o.cipher_suites.empty()) {
    std::string v13;
    std::string older;
    for (const auto& c : o.cipher_suites) {
      std::string& list = c.rfind("TLS_", 0) == 0 ? v13 : older;
      if (!list.empty()) list += ":";
      list += c;
    }
    if (!v13.empty() && SSL_CTX_set_ciphersuites(native, v13.c_str()) != 1) {
      return Status::InvalidArgument("ssl.cipher.suites " + v13 + ": " + OpenSslError());
    }
    if (!older.empty() && SSL_CTX_set_cipher_list(native, older.c_str()) != 1) {
      return Status::InvalidArgument("ssl.cipher.suites " + older + ": " + OpenSslError());
    }
  }

  // Truststore: what the peer broker's certificate must chain to. Kafka falls back to the
  // JVM's default trust store; the system CA paths are ours.
  if (!o.truststore_location.empty()) {
    ctx->load_verify_file(o.truststore_location, ec);
    if (ec) return Status::InvalidArgument("ssl.truststore.location: " + ec.message());
  } else if (!o.truststore_certificates.empty()) {
    ctx->add_certificate_authority(asio::buffer(o.truststore_certificates), ec);
    if (ec) return Status::InvalidArgument("ssl.truststore.certificates: " + ec.message());
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) return Status::InvalidArgument("system CA paths: " + ec.message());
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);

  // Keystore: optional on the client; presented when the peer asks (ssl.client.auth).
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
  }
  if ((!o.keystore_location.empty() || !o.keystore_key.empty()) &&
      SSL_CTX_check_private_key(native) != 1) {
    return Status::InvalidArgument("ssl keystore: private key does not match certificate: " +
                                   OpenSslError());
  }
  return ctx;
}

std::optional<std::string> PeerCertificateSubject(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  std::string out;
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr &&
      X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  X509_free(cert);
  return out;
}

}  // namespace gregor::network
