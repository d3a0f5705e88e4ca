#include "crypto/pkcs7.h"

#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "crypto/ossl.h"

namespace ironseal::crypto {

using Pkcs7Ptr = ossl::Owned<PKCS7, PKCS7_free>;
using X509Ptr = ossl::Owned<X509, X509_free>;

Result<Bytes> certs_only_pkcs7(const std::vector<Bytes>& certs_der) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1) {
    ossl::drain_errors();
    return fail(ErrorCode::kCrypto, "PKCS#7: cannot build");
  }
  for (const auto& der : certs_der) {
    const unsigned char* p = der.data();
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) {
      ossl::drain_errors();
      return fail(ErrorCode::kMalformed, "PKCS#7: a certificate does not parse");
    }
    if (PKCS7_add_certificate(p7.get(), cert.get()) != 1) {
      ossl::drain_errors();
      return fail(ErrorCode::kCrypto, "PKCS#7: cannot add a certificate");
    }
  }
  unsigned char* out = nullptr;
  const int len = i2d_PKCS7(p7.get(), &out);
  const ossl::OwnedMemory<unsigned char> owned(out);
  if (len <= 0) {
    ossl::drain_errors();
    return fail(ErrorCode::kCrypto, "PKCS#7: cannot encode");
  }
  return Bytes(out, out + len);
}

Result<std::vector<Bytes>> parse_certs_only_pkcs7(ByteView der) {
  const unsigned char* p = der.data();
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7 || p != der.data() + der.size()) {
    ossl::drain_errors();
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
    const ossl::OwnedMemory<unsigned char> owned(buf);
    if (n <= 0) {
      ossl::drain_errors();
      return fail(ErrorCode::kMalformed, "PKCS#7: a certificate does not encode");
    }
    out.emplace_back(buf, buf + n);
  }
  if (out.empty()) return fail(ErrorCode::kMalformed, "PKCS#7: no certificate in it");
  return out;
}

}  // namespace ironseal::crypto
