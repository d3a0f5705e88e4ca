// EST wire forms over src/crypto's base64 and certs-only PKCS#7 (no OpenSSL here).
#include "net/est_wire.h"

#include "crypto/pkcs7.h"

namespace ironseal::net {

Result<std::string> certs_only_base64(const std::vector<Bytes>& certs_der) {
  auto der = crypto::certs_only_pkcs7(certs_der);
  if (!der) return std::unexpected(der.error());
  return base64_encode(*der);
}

Result<std::vector<Bytes>> parse_certs_only_base64(std::string_view text) {
  auto der = base64_decode(text);
  if (!der) return fail(ErrorCode::kMalformed, "PKCS#7: ", der.error().message);
  return crypto::parse_certs_only_pkcs7(*der);
}

}  // namespace ironseal::net
