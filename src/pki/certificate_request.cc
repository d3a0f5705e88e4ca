// Certificate signing requests (certificate.h, CertificateRequest): parsing, building a device's
// or a server's CSR, and what a CA reads from one.
#include <openssl/pem.h>

#include "core/file.h"
#include "pki/certificate.h"
#include "pki/certificate_internal.h"
#include "pki/ossl_x509.h"
#include "pki/profile.h"

namespace ironseal::pki {
namespace {

using crypto::ossl::bio_text;
using crypto::ossl::mem_bio;
using crypto::ossl::no_passphrase;
using detail::names_of_type;
using detail::spki_of;
using detail::text_of;

std::vector<std::string> request_names(X509_REQ* req, int type) {
  ossl::ExtStackPtr exts(X509_REQ_get_extensions(req));
  if (!exts) return {};
  for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    ossl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
    return names_of_type(names.get(), type);
  }
  return {};
}

Result<std::shared_ptr<RequestHandle>> signed_request(const KeyPair& key, X509_NAME* subject,
                                                      int san_type,
                                                      const std::vector<std::string>& san) {
  auto h = std::make_shared<RequestHandle>();
  h->req.reset(X509_REQ_new());
  EVP_PKEY* pkey = key.handle().pkey.get();
  auto names = profile::general_names(san_type, san);
  if (!names) return std::unexpected(names.error());
  ossl::ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  ossl::ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names->get()));
  if (!h->req || !exts || !ext || X509_REQ_set_version(h->req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(h->req.get(), subject) != 1 ||
      X509_REQ_set_pubkey(h->req.get(), pkey) != 1 ||
      sk_X509_EXTENSION_push(exts.get(), ext.get()) <= 0) {
    return fail(ErrorCode::kCrypto, "cannot build CSR: ", ossl::drain_errors());
  }
  ext.release();
  if (X509_REQ_add_extensions(h->req.get(), exts.get()) != 1 ||
      X509_REQ_sign(h->req.get(), pkey, EVP_sha256()) <= 0) {
    return fail(ErrorCode::kCrypto, "cannot sign CSR: ", ossl::drain_errors());
  }
  return h;
}

bool add_name_entry(X509_NAME* name, int nid, std::string_view value) {
  return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_ASC,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

}  // namespace

Result<CertificateRequest> CertificateRequest::from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  auto h = std::make_shared<RequestHandle>();
  h->req.reset(PEM_read_bio_X509_REQ(bio.get(), nullptr, no_passphrase, nullptr));
  if (!h->req) {
    return fail_because(ErrorCode::kMalformed, "csr_malformed",
                        "not a PEM certificate request: ", ossl::drain_errors());
  }
  if (X509_REQ_get0_pubkey(h->req.get()) == nullptr) {
    return fail_because(ErrorCode::kMalformed, "csr_malformed",
                        "the public key does not parse: ", ossl::drain_errors());
  }
  return CertificateRequest(std::move(h));
}

Result<CertificateRequest> CertificateRequest::from_der(ByteView der) {
  const unsigned char* p = der.data();
  auto h = std::make_shared<RequestHandle>();
  h->req.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!h->req || p != der.data() + der.size()) {
    return fail_because(ErrorCode::kMalformed, "csr_malformed",
                        "not one DER certificate request: ", ossl::drain_errors());
  }
  if (X509_REQ_get0_pubkey(h->req.get()) == nullptr) {
    return fail_because(ErrorCode::kMalformed, "csr_malformed",
                        "the public key does not parse: ", ossl::drain_errors());
  }
  return CertificateRequest(std::move(h));
}

Bytes CertificateRequest::der() const {
  unsigned char* out = nullptr;
  const int n = i2d_X509_REQ(handle_->req.get(), &out);
  if (n <= 0) return {};
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

Result<CertificateRequest> CertificateRequest::load(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) return std::unexpected(text.error());
  auto r = from_pem(text_of(*text));
  if (!r) return fail_in(r.error(), path.string(), ": ");
  return r;
}

Result<CertificateRequest> CertificateRequest::for_device(const KeyPair& key,
                                                          const DeviceName& name) {
  if (auto r = check_identifier("serial", name.serial); !r) return std::unexpected(r.error());
  if (auto r = check_identifier("hardware id", name.hardware_id); !r) {
    return std::unexpected(r.error());
  }
  ossl::NamePtr subject(X509_NAME_new());
  if (!subject || !add_name_entry(subject.get(), NID_commonName, name.serial) ||
      !add_name_entry(subject.get(), NID_serialNumber, name.serial)) {
    return fail(ErrorCode::kCrypto, "cannot build CSR subject: ", ossl::drain_errors());
  }
  auto h = signed_request(key, subject.get(), GEN_URI, {device_urn(name)});
  if (!h) return std::unexpected(h.error());
  return CertificateRequest(std::move(*h));
}

Result<CertificateRequest> CertificateRequest::for_server(
    const KeyPair& key, const std::vector<std::string>& dns_names) {
  if (dns_names.empty()) return fail(ErrorCode::kInvalidArgument, "a server needs a DNS name");
  ossl::NamePtr subject(X509_NAME_new());
  if (!subject || !add_name_entry(subject.get(), NID_commonName, dns_names.front())) {
    return fail(ErrorCode::kCrypto, "cannot build CSR subject: ", ossl::drain_errors());
  }
  auto h = signed_request(key, subject.get(), GEN_DNS, dns_names);
  if (!h) return std::unexpected(h.error());
  return CertificateRequest(std::move(*h));
}

std::string CertificateRequest::to_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), handle_->req.get());
  return bio_text(bio.get());
}

Bytes CertificateRequest::spki_der() const {
  return spki_of(X509_REQ_get0_pubkey(handle_->req.get()));
}

Result<void> CertificateRequest::verify_proof_of_possession() const {
  EVP_PKEY* pub = X509_REQ_get0_pubkey(handle_->req.get());
  if (pub == nullptr || X509_REQ_verify(handle_->req.get(), pub) != 1) {
    ossl::drain_errors();
    return fail_because(ErrorCode::kNotTrusted, "csr_signature_invalid",
                        "the CSR is not signed by the key it carries (no proof of "
                        "possession)");
  }
  return {};
}

std::string CertificateRequest::subject_serial_number() const {
  const X509_NAME* name = X509_REQ_get_subject_name(handle_->req.get());
  const int idx = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
  if (idx < 0 || X509_NAME_get_index_by_NID(name, NID_serialNumber, idx) >= 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

std::vector<std::string> CertificateRequest::requested_uris() const {
  return request_names(handle_->req.get(), GEN_URI);
}

std::vector<std::string> CertificateRequest::requested_dns_names() const {
  return request_names(handle_->req.get(), GEN_DNS);
}

}  // namespace ironseal::pki
