// EST (RFC 7030) wire forms, shared by the server (src/fleet) and the device agent: base64 with
// line breaks, and the degenerate "certs-only" PKCS#7 SignedData that carries certificates.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/base64.h"

namespace ironseal::net {

// Base64 with whitespace and line breaks allowed (decode) and a line break every 64 characters
// (encode): crypto/base64.h.
using crypto::base64_decode;
using crypto::base64_encode;

// A degenerate "certs-only" PKCS#7 SignedData (RFC 7030 section 4.1.3) holding `certs`, base64.
Result<std::string> certs_only_base64(const std::vector<Bytes>& certs_der);
// The certificates (DER, in order) of a base64 certs-only PKCS#7: kMalformed for anything that is
// not exactly one SignedData without signers, or holds no certificate.
Result<std::vector<Bytes>> parse_certs_only_base64(std::string_view text);

}  // namespace ironseal::net
