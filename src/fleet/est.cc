// EST wire forms: base64, PKCS#10 checks, certs-only PKCS#7 (est.h).
#include "fleet/est.h"

#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

namespace ironseal::fleet {

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
  // A CSR may name no device (the connection's identity is used), but one that names a device
  // must name it well: a malformed or contradictory name is refused here rather than ignored.
  auto id = identity_from_certificate(probe);
  if (id) {
    out.serial = id->serial;
    out.hardware_id = id->hardware_id;
  } else {
    const bool names_serial =
        X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(req), NID_serialNumber, -1) >= 0;
    const bool names_none = !names_serial && id.error().message.starts_with(
                                                 "certificate carries no usable device serial");
    if (!names_none) {
      return fail(ErrorCode::kMalformed, "the CSR's device identity is malformed: ",
                  id.error().message);
    }
  }
  return out;
}

}  // namespace ironseal::fleet
