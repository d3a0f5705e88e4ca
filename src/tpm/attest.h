// The verifier's side of remote attestation: checks a TPM quote against the attestation key the
// factory recorded, the nonce the verifier chose, and the measured-boot digests it expects. Uses
// OpenSSL only (no TPM needed on the verifier). Each refusal names its reason, in this order:
//   malformed        the signed body does not parse (tpm/attest_parse.h) or the signature is not
//                    DER ECDSA
//   bad_signature    not signed by this attestation key (tampered quote, or a foreign TPM's key)
//   nonce_mismatch   signed for another challenge (a replayed quote)
//   pcr_selection    does not cover exactly PCR 16 of the SHA-256 bank
//   pcr_mismatch     the PCR does not hold the expected measurements (another boot chain ran)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "tpm/esys.h"

namespace ironseal::tpm {

struct QuoteEvidence {
  Bytes attest;     // TPMS_ATTEST as signed
  Bytes signature;  // DER ECDSA-Sig-Value
};

struct VerifiedQuote {
  Digest pcr_value{};  // the PCR value the quote proves (recomputed from the expected digests)
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  std::uint64_t firmware_version = 0;
};

// The measurements a power-on extends into the PCR (docs/boot-chain.md), recomputed from the
// SHA-256 digests of the stage-2 image and of the image that ran (`ironseal image verify --json`
// shows them), the slot it ran from (0 = A, 1 = B) and whether it ran on trial:
//   stage2_measurement = SHA-256(0^32 || stage2_digest)
//   measurement        = SHA-256(stage2_measurement || slot || trial || image_digest)
Result<std::vector<Digest>> boot_measurements(ByteView stage2_digest, ByteView image_digest,
                                              std::uint8_t slot, bool trial);

// `ak_pem`: the attestation key's SubjectPublicKeyInfo PEM. `expected`: the measurements the
// device should have extended into the PCR since its power-on, in order.
Result<VerifiedQuote> verify_quote(const QuoteEvidence& evidence, std::string_view ak_pem,
                                   ByteView nonce, const std::vector<Digest>& expected);

}  // namespace ironseal::tpm
