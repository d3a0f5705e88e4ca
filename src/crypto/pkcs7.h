// The degenerate "certs-only" PKCS#7 SignedData (RFC 7030 section 4.1.3) that carries
// certificates over EST, on DER bytes: the EST wire forms (net/est_wire.h) build and read it
// without touching OpenSSL. (pki::certs_only_pkcs7 builds the same structure from Certificates,
// with the content marked detached.)
#pragma once

#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::crypto {

// A certs-only SignedData holding `certs_der` (each a DER certificate, kept in order), as DER.
// kMalformed when a certificate does not parse.
Result<Bytes> certs_only_pkcs7(const std::vector<Bytes>& certs_der);
// The certificates (DER, in order) of a certs-only SignedData: kMalformed for anything that is
// not one (trailing bytes, another content type, signers, no certificate).
Result<std::vector<Bytes>> parse_certs_only_pkcs7(ByteView der);

}  // namespace ironseal::crypto
