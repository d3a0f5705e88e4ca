// EST on the server (est.h): the CSR's wire form (its X.509 reading is fleet/tls.cc's). The
// service's EST routes are est_endpoint.cc, so the fuzz target links this file alone.
#include "fleet/est.h"


namespace ironseal::fleet {

Result<CheckedCsr> check_csr(std::string_view base64_body) {
  auto der = base64_decode(base64_body);
  if (!der) return fail(ErrorCode::kMalformed, "CSR: ", der.error().message);
  auto named = identity_from_request(*der);
  if (!named) return std::unexpected(named.error());
  CheckedCsr out;
  out.der = std::move(*der);
  out.serial = std::move(named->serial);
  out.hardware_id = std::move(named->hardware_id);
  return out;
}

}  // namespace ironseal::fleet
