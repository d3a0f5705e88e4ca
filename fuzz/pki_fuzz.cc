// The PKI's parsers of untrusted input: CSRs (sent by devices), certificates and CRLs (PEM or
// DER, from peers and files; CSRs also as EST's DER), device URNs and decommission records. The
// first byte picks the parser; the rest is the input. Nothing may crash, leak or read out of
// bounds, and a parsed object must survive every accessor. Built as pki_replay (seeds) and
// pki_mutate (seeds mutated, fuzz/mutate_main.cc) with g++: libFuzzer's clang 14 cannot build the
// host libraries.
#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "device/decommission.h"
#include "pki/certificate.h"

using namespace ironseal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t which = data[0] % 6;
  const ByteView bytes(data + 1, size - 1);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (which) {
    case 0:
      if (auto csr = pki::CertificateRequest::from_pem(text)) {
        (void)csr->verify_proof_of_possession();
        (void)pki::check_key_allowed(csr->spki_der());
        (void)csr->subject_serial_number();
        for (const auto& uri : csr->requested_uris()) (void)pki::parse_device_urn(uri);
        (void)csr->requested_dns_names();
        (void)csr->to_pem();
      }
      break;
    case 1:
    case 2: {
      Result<std::vector<pki::Certificate>> certs = pki::Certificate::all_from_pem(text);
      if (which == 2) {
        auto one = pki::Certificate::from_der(bytes);
        if (one) {
          certs = std::vector<pki::Certificate>{*one};
        } else {
          certs = std::unexpected(one.error());
        }
      }
      if (certs) {
        for (const auto& c : *certs) {
          (void)c.fingerprint_hex();
          (void)c.serial_hex();
          (void)c.subject();
          (void)c.issuer();
          (void)c.not_before();
          (void)c.not_after();
          (void)c.is_ca();
          (void)c.device_name();
          (void)c.dns_names();
          (void)c.spki_der();
        }
      }
      break;
    }
    case 3: (void)pki::verify_decommission_record(text); break;
    case 5:
      if (auto csr = pki::CertificateRequest::from_der(bytes)) {
        (void)csr->verify_proof_of_possession();
        (void)pki::check_key_allowed(csr->spki_der());
        for (const auto& uri : csr->requested_uris()) (void)pki::parse_device_urn(uri);
      }
      break;
    case 4:
      if (auto crl = pki::Crl::from_pem(text)) {
        (void)crl->issuer();
        (void)crl->this_update();
        (void)crl->next_update();
        (void)crl->revoked_serials_hex();
      }
      break;
  }
  return 0;
}
