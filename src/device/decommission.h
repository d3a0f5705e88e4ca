// End of life, both halves: on the device, the resumable decommission procedure (sign a record
// with the device key, wipe keys and configuration, fuse the lifecycle); at the CA, the check of
// the record and the revocation it leads to (cessationOfOperation).
//
// Record (JSON): {"format": "ironseal-decommission-1", "payload": "<JSON text>",
//                 "signature_hex": "<ECDSA-SHA256 over the payload bytes>",
//                 "certificate_pem": "<the device certificate>"}
// payload: {"type": "decommission", "serial", "hardware_id", "certificate_serial",
//           "certificate_sha256", "decommissioned_at"}.
// The signature proves the holder of the device key asked for it; the CA accepts it only for a
// certificate it issued, and only when the payload names exactly that certificate.
//
// The functions share no state; the device-side ones assume no other process works on the same
// device directory at the same time (as every command on a device directory does).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// ---- On the device --------------------------------------------------------------------------

struct DecommissionOptions {
  // Where the signed record is written; none: a device that was never enrolled (wipe and fuse).
  std::optional<std::filesystem::path> record_out;
  UnixTime now = 0;
};

struct DecommissionOutcome {
  // The record is at record_out: signed now, or by an earlier run that was cut after the key was
  // wiped (then `resumed`).
  bool record_signed = false;
  bool resumed = false;
  // What was destroyed, in order, as the operator reads it ("device key", "identity/ (5 files)",
  // "flash configuration region").
  std::vector<std::string> wiped;
};

// `ironseal device decommission`, in an order that survives a cut at any step and finishes when
// run again: (1) the record, signed while the key exists and written before anything is wiped;
// (2) the device key destroyed, then the identity directory, the trusted update metadata (tuf/)
// and the install journal overwritten and unlinked, and the flash configuration region erased;
// (3) the lifecycle fused to decommissioned, after which stage-2 boots nothing on the device.
// A rerun whose key is gone accepts only this device's own record at record_out (kNotTrusted
// otherwise); the device's simulated hardware (device.json, otp.bin, flash.img) stays.
Result<DecommissionOutcome> decommission_device(const std::filesystem::path& device_dir,
                                                const DecommissionOptions& options);

// A decommissioned device never gets an identity again (its lifecycle fuse says so): kNotTrusted
// "decommissioned: ..." for one, kIo when the fuses cannot be read.
Result<void> refuse_decommissioned(const std::filesystem::path& device_dir);

}  // namespace ironseal::pki
