// EST wire forms: base64, PKCS#10 checks, certs-only PKCS#7 (est.h).
#include "fleet/est.h"

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace ironseal::fleet {

Result<Bytes> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return fail(ErrorCode::kMalformed, "base64: unexpected character");
    clean.push_back(c);
  }
  if (clean.empty() || clean.size() % 4 != 0) {
    return fail(ErrorCode::kMalformed, "base64: length is not a multiple of 4");
  }
  Bytes out(clean.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return fail(ErrorCode::kMalformed, "base64: does not decode");
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock keeps the bytes the padding stands for; drop them.
  if (clean.ends_with("==")) size -= 2;
  else if (clean.ends_with("=")) size -= 1;
  out.resize(size);
  return out;
}

std::string base64_encode(ByteView bytes) {
  std::string out;
  for (std::size_t off = 0; off < bytes.size(); off += 48) {
    const std::size_t n = std::min<std::size_t>(48, bytes.size() - off);
    unsigned char line[65];
    const int len = EVP_EncodeBlock(line, bytes.data() + off, static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(line), static_cast<std::size_t>(len));
    out.push_back('\n');
  }
  return out;
}

Result<CheckedCsr> check_csr(std::string_view base64_body) {
  auto der = base64_decode(base64_body);
  if (!der) return fail(ErrorCode::kMalformed, "CSR: ", der.error().message);
  const unsigned char* p = der->data();
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
  if (req == nullptr || p != der->data() + der->size()) {
    X509_REQ_free(req);
    return fail(ErrorCode::kMalformed, "CSR: not a DER PKCS#10 request");
  }
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> owner(req, X509_REQ_free);
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  if (key == nullptr || X509_REQ_verify(req, key) != 1) {
    return fail(ErrorCode::kNotTrusted, "CSR: its signature does not verify with its own key");
  }
  CheckedCsr out;
  out.der = std::move(*der);
  // The identity the CSR claims, read the way certificates are read.
  X509* probe = X509_new();
  std::unique_ptr<X509, decltype(&X509_free)> probe_owner(probe, X509_free);
  X509_set_subject_name(probe, X509_REQ_get_subject_name(req));
  if (STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req)) {
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
      X509_add_ext(probe, sk_X509_EXTENSION_value(exts, i), -1);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  if (auto id = identity_from_certificate(probe)) {
    out.serial = id->serial;
    out.hardware_id = id->hardware_id;
  }
  return out;
}

Result<std::string> certs_only_base64(const std::vector<Bytes>& certs_der) {
  std::unique_ptr<PKCS7, decltype(&PKCS7_free)> p7(PKCS7_new(), PKCS7_free);
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1) {
    return fail(ErrorCode::kCrypto, "PKCS#7: cannot build");
  }
  for (const auto& der : certs_der) {
    const unsigned char* p = der.data();
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (cert == nullptr) return fail(ErrorCode::kMalformed, "PKCS#7: a certificate does not parse");
    const int ok = PKCS7_add_certificate(p7.get(), cert);
    X509_free(cert);
    if (ok != 1) return fail(ErrorCode::kCrypto, "PKCS#7: cannot add a certificate");
  }
  unsigned char* out = nullptr;
  const int len = i2d_PKCS7(p7.get(), &out);
  if (len <= 0) return fail(ErrorCode::kCrypto, "PKCS#7: cannot encode");
  std::string b64 = base64_encode(ByteView(out, static_cast<std::size_t>(len)));
  OPENSSL_free(out);
  return b64;
}

}  // namespace ironseal::fleet
