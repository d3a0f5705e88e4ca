// End of life: the decommission record a device signs with its own key just before it wipes
// that key, and the CA side that turns a valid record into a revocation (cessationOfOperation).
//
// Record (JSON): {"format": "ironseal-decommission-1", "payload": "<JSON text>",
//                 "signature_hex": "<ECDSA-SHA256 over the payload bytes>",
//                 "certificate_pem": "<the device certificate>"}
// payload: {"type": "decommission", "serial", "hardware_id", "certificate_serial",
//           "certificate_sha256", "decommissioned_at"}.
// The signature proves the holder of the device key asked for it; the CA accepts it only for a
// certificate it issued, and only when the payload names exactly that certificate.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "pki/ca.h"
#include "pki/certificate.h"

namespace ironseal::pki {

struct DecommissionClaim {
  DeviceName device;
  std::string certificate_serial_hex;
  std::string certificate_fingerprint_hex;
  UnixTime decommissioned_at = 0;
};

Result<std::string> sign_decommission_record(const KeyPair& device_key,
                                             const Certificate& device_certificate, UnixTime now);

// Parses and checks the record's own consistency and signature (not yet the CA's index).
// Refusals: kMalformed, or kNotTrusted "decommission_signature_invalid" /
// "decommission_mismatch".
Result<DecommissionClaim> verify_decommission_record(std::string_view record_json);

// `ironseal ca ingest-decommission`: verifies the record, requires the certificate to be one this
// CA issued to that device, and revokes it as cessationOfOperation.
Result<IndexEntry> ingest_decommission(CertificateAuthority& ca, std::string_view record_json,
                                       UnixTime now);

}  // namespace ironseal::pki
