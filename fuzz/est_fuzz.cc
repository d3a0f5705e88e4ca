// The EST wire forms (RFC 7030) read from the network: base64 bodies, the certs-only PKCS#7 a
// device receives from /cacerts and /simple(re)enroll (src/net/est_wire.cc), and the base64 PKCS#10
// request the server receives (src/fleet/est.cc check_csr). The first byte picks the parser.
// Invariants beyond "no crash": base64 decodes round-trip through the encoder; a parsed certs-only
// answer rebuilds into one that parses to the same certificates; an accepted CSR is accepted
// again from its own DER with the same identity.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fleet/est.h"
#include "net/est_wire.h"

using namespace ironseal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto bytes = net::base64_decode(text);
      if (!bytes) return 0;
      if (bytes->size() > text.size() / 4 * 3) std::abort();  // more out than 4 chars -> 3 bytes
      auto again = net::base64_decode(net::base64_encode(*bytes));
      if (!again || *again != *bytes) std::abort();
      break;
    }
    case 1: {
      auto certs = net::parse_certs_only_base64(text);
      if (!certs) return 0;
      if (certs->empty()) std::abort();  // documented: no certificate is kMalformed
      for (const auto& der : *certs) {
        if (der.empty()) std::abort();
      }
      auto rebuilt = net::certs_only_base64(*certs);
      if (!rebuilt) std::abort();  // every certificate it handed out must parse again
      auto reparsed = net::parse_certs_only_base64(*rebuilt);
      if (!reparsed || *reparsed != *certs) std::abort();
      break;
    }
    case 2: {
      auto csr = fleet::check_csr(text);
      if (!csr) return 0;
      if (csr->der.empty()) std::abort();
      auto again = fleet::check_csr(net::base64_encode(csr->der));
      if (!again || again->der != csr->der || again->serial != csr->serial ||
          again->hardware_id != csr->hardware_id) {
        std::abort();
      }
      break;
    }
  }
  return 0;
}
