#include "net/est_wire.h"

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

namespace ironseal::net {

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

Result<std::vector<Bytes>> parse_certs_only_base64(std::string_view text) {
  auto der = base64_decode(text);
  if (!der) return fail(ErrorCode::kMalformed, "PKCS#7: ", der.error().message);
  const unsigned char* p = der->data();
  std::unique_ptr<PKCS7, decltype(&PKCS7_free)> p7(
      d2i_PKCS7(nullptr, &p, static_cast<long>(der->size())), PKCS7_free);
  if (!p7 || p != der->data() + der->size()) {
    return fail(ErrorCode::kMalformed, "PKCS#7: not one DER structure");
  }
  if (!PKCS7_type_is_signed(p7.get()) || p7->d.sign == nullptr) {
    return fail(ErrorCode::kMalformed, "PKCS#7: not a SignedData");
  }
  if (sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) > 0) {
    return fail(ErrorCode::kMalformed, "PKCS#7: a certs-only answer has no signers");
  }
  std::vector<Bytes> out;
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
    unsigned char* buf = nullptr;
    const int n = i2d_X509(sk_X509_value(certs, i), &buf);
    if (n <= 0) return fail(ErrorCode::kMalformed, "PKCS#7: a certificate does not encode");
    out.emplace_back(buf, buf + n);
    OPENSSL_free(buf);
  }
  if (out.empty()) return fail(ErrorCode::kMalformed, "PKCS#7: no certificate in it");
  return out;
}

}  // namespace ironseal::net
