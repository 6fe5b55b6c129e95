#pragma once
// Test certificates made in-process with OpenSSL: a CA, and leaves it signs with the
// subjectAltNames a test needs. EC P-256 keys, valid from an hour ago for two days. PEM text,
// ready for TlsOptions' inline fields or a file.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gregor::network::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  std::string Combined() const { return cert_pem + key_pem; }  // ssl.keystore.location style
};

namespace internal {

inline void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

inline std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

inline void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Signs a new certificate for `cn` with `issuer_key` (self-signed when issuer is null).
inline TestCert Make(const std::string& cn, const TestCert* issuer,
                     const std::vector<std::string>& sans, bool is_ca) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  Check(key != nullptr, "key");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  static long serial = 1000;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 2 * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);

  std::unique_ptr<X509, decltype(&X509_free)> issuer_cert(nullptr, X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> issuer_key(nullptr, EVP_PKEY_free);
  if (issuer != nullptr) {
    std::unique_ptr<BIO, decltype(&BIO_free)> cb(
        BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size())),
        BIO_free);
    issuer_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    std::unique_ptr<BIO, decltype(&BIO_free)> kb(
        BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size())),
        BIO_free);
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    Check(issuer_cert && issuer_key, "issuer");
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
  if (is_ca) {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (!sans.empty()) {
    std::string list;
    for (const auto& s : sans) list += (list.empty() ? "" : ",") + s;
    AddExtension(cert.get(), signer, NID_subject_alt_name, list);
  }
  Check(X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) > 0, "sign");

  TestCert out;
  std::unique_ptr<BIO, decltype(&BIO_free)> cb(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cb.get(), cert.get());
  out.cert_pem = BioText(cb.get());
  std::unique_ptr<BIO, decltype(&BIO_free)> kb(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = BioText(kb.get());
  return out;
}

}  // namespace internal

inline TestCert MakeCa(const std::string& cn) { return internal::Make(cn, nullptr, {}, true); }

// `sans`: "DNS:localhost", "IP:127.0.0.1", ...
inline TestCert MakeLeaf(const TestCert& ca, const std::string& cn,
                         const std::vector<std::string>& sans) {
  return internal::Make(cn, &ca, sans, false);
}

}  // namespace gregor::network::testing
