// Internals of the pki value types (certificate.h) shared by certificate.cc and
// certificate_request.cc; private to src/pki.
#pragma once

#include <string>
#include <vector>

#include "core/bytes.h"
#include "pki/ossl_x509.h"

namespace ironseal::pki::detail {

std::string text_of(ByteView b);
// DER SubjectPublicKeyInfo of a key; empty if it cannot be encoded.
Bytes spki_of(EVP_PKEY* pkey);
// The subjectAltName entries of `type` (GEN_URI or GEN_DNS).
std::vector<std::string> names_of_type(const GENERAL_NAMES* names, int type);

}  // namespace ironseal::pki::detail
