// TestIssuer: a throwaway OpenSSL CA for EST tests (test_issuer.h). TEST key, never persisted.
#include "test_issuer.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ironseal::testing {
namespace {

EVP_PKEY* new_p256() { return EVP_EC_gen("P-256"); }

Bytes der_of(X509* x) {
  unsigned char* out = nullptr;
  const int len = i2d_X509(x, &out);
  Bytes b(out, out + len);
  OPENSSL_free(out);
  return b;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

struct TestIssuer::Ca {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  long next_serial = 100;
  ~Ca() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestIssuer::TestIssuer() : ca_(std::make_unique<Ca>()) {
  ca_->key = new_p256();
  ca_->cert = X509_new();
  X509_set_version(ca_->cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(ca_->cert), 1);
  X509_NAME* name = X509_get_subject_name(ca_->cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ironseal TEST EST CA"), -1, -1, 0);
  X509_set_issuer_name(ca_->cert, name);
  X509_gmtime_adj(X509_getm_notBefore(ca_->cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(ca_->cert), 86400);
  X509_set_pubkey(ca_->cert, ca_->key);
  add_ext(ca_->cert, ca_->cert, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca_->cert, ca_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca_->cert, ca_->cert, NID_subject_key_identifier, "hash");
  X509_sign(ca_->cert, ca_->key, EVP_sha256());
}

TestIssuer::~TestIssuer() = default;

Result<std::vector<Bytes>> TestIssuer::issue(ByteView csr_der, const fleet::DeviceIdentity& id) {
  const unsigned char* p = csr_der.data();
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(csr_der.size()));
  if (req == nullptr) return fail(ErrorCode::kMalformed, "test issuer: CSR does not parse");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), ca_->next_serial++);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(id.serial.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(ca_->cert));
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, X509_REQ_get0_pubkey(req));
  const std::string uri = "URI:urn:ironseal:device:" + id.hardware_id + ":" + id.serial;
  add_ext(cert, ca_->cert, NID_subject_alt_name, uri.c_str());
  add_ext(cert, ca_->cert, NID_ext_key_usage, "clientAuth");
  X509_sign(cert, ca_->key, EVP_sha256());
  std::vector<Bytes> out{der_of(cert), der_of(ca_->cert)};
  X509_free(cert);
  X509_REQ_free(req);
  ++issued_;
  return out;
}

Result<std::vector<Bytes>> TestIssuer::ca_certificates() {
  return std::vector<Bytes>{der_of(ca_->cert)};
}

Bytes TestIssuer::make_csr(const std::string& serial) {
  EVP_PKEY* key = new_p256();
  X509_REQ* req = X509_REQ_new();
  X509_NAME* name = X509_REQ_get_subject_name(req);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("device"), -1, -1, 0);
  if (!serial.empty()) {
    X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(serial.c_str()), -1, -1, 0);
  }
  X509_REQ_set_pubkey(req, key);
  X509_REQ_sign(req, key, EVP_sha256());
  unsigned char* out = nullptr;
  const int len = i2d_X509_REQ(req, &out);
  Bytes b(out, out + len);
  OPENSSL_free(out);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  return b;
}

}  // namespace ironseal::testing
