// The device's TPM 2.0 through libtss2's ESAPI: the anti-rollback counter as an NV counter, the
// measured-boot PCR, and the attestation key that quotes it. The TPM is reached through the TCTI
// named by TPM2OPENSSL_TCTI (the same variable the tpm2 OpenSSL provider reads, so keys and
// counter go to one TPM), else libtss2's default search (tabrmd, /dev/tpmrm0, ...).
//
// Handles used (owner hierarchy, empty authorisations; docs/tpm.md says what a production device
// must set instead):
//   NV 0x01500010 (default)  the counter: TPM_NT_COUNTER, 64 bits, only ever incremented
//   NV index + 1             its base: the counter's raw value at device init, written once and
//                            write-locked (TPMA_NV_WRITEDEFINE), so the device's counter starts at
//                            0
//   0x81000010               the attestation key: ECDSA P-256 restricted signing primary key
//   PCR 16, SHA-256 bank     measured boot (reset at each simulated power-on; see docs/tpm.md)
//
// Not thread-safe: one Tpm per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "boot/hal.h"
#include "core/bytes.h"
#include "core/result.h"

struct ESYS_CONTEXT;
struct TSS2_TCTI_OPAQUE_CONTEXT_BLOB;  // TSS2_TCTI_CONTEXT

namespace ironseal::tpm {

inline constexpr std::uint32_t kDefaultCounterIndex = 0x01500010;
inline constexpr std::uint32_t kAttestationKeyHandle = 0x81000010;
inline constexpr std::uint32_t kMeasuredBootPcr = 16;

using Digest = std::array<std::uint8_t, 32>;

class Tpm {
 public:
  // Connects through TPM2OPENSSL_TCTI (or libtss2's default search).
  static Result<std::shared_ptr<Tpm>> connect();
  ~Tpm();
  Tpm(const Tpm&) = delete;
  Tpm& operator=(const Tpm&) = delete;
  ESYS_CONTEXT* esys() const { return esys_; }

 private:
  Tpm(TSS2_TCTI_OPAQUE_CONTEXT_BLOB* tcti, ESYS_CONTEXT* esys) : tcti_(tcti), esys_(esys) {}
  TSS2_TCTI_OPAQUE_CONTEXT_BLOB* tcti_;
  ESYS_CONTEXT* esys_;
};

// ---- Anti-rollback counter ------------------------------------------------------------------

// The boot core's counter (boot::MonotonicCounter) held in a TPM NV counter index. Reads are
// relative to the base recorded at define_counter(), so a new device counts from 0 whatever the
// TPM's counters did before. The TPM itself refuses to lower an NV counter: nothing in ironseal
// (or anyone without the owner authorisation to delete the index) can roll it back.
class NvCounter final : public boot::MonotonicCounter {
 public:
  // Defines the counter and base indexes (refuses if they exist), initialises the counter and
  // records its base. The counter then reads 0.
  static Result<void> define_counter(Tpm& tpm, std::uint32_t index = kDefaultCounterIndex);
  // Deletes both indexes (owner authorisation). Only for undoing a define_counter whose device
  // was never made (a failed factory init); a shipped device's counter is never deleted.
  static Result<void> undefine_counter(Tpm& tpm, std::uint32_t index = kDefaultCounterIndex);
  static Result<std::unique_ptr<NvCounter>> open(std::shared_ptr<Tpm> tpm,
                                                 std::uint32_t index = kDefaultCounterIndex);
  bool read(std::uint32_t* value) const override;
  bool advance(std::uint32_t target) override;
  // Raw TPM value, for tests and status.
  Result<std::uint64_t> raw() const;
  std::uint64_t base() const { return base_; }

 private:
  NvCounter(std::shared_ptr<Tpm> tpm, std::uint32_t counter, std::uint64_t base)
      : tpm_(std::move(tpm)), counter_(counter), base_(base) {}
  std::shared_ptr<Tpm> tpm_;
  std::uint32_t counter_;  // ESYS_TR of the counter index
  std::uint64_t base_;
};

// ---- Measured boot ---------------------------------------------------------------------------

// What a power-on does to the PCR: reset it (the TPM reset of a real power-on; PCR 16 is
// resettable from locality 0) and extend each measurement in order.
Result<void> measure_boot(Tpm& tpm, const std::vector<Digest>& measurements);
Result<Digest> read_pcr(Tpm& tpm);
// The PCR value after a reset and these extends: SHA-256 chaining from 32 zero bytes.
Digest expected_pcr(const std::vector<Digest>& measurements);

// ---- Attestation -------------------------------------------------------------------------------

// Creates the attestation key (a primary key in the endorsement hierarchy, restricted, signing
// only, ECDSA P-256 with SHA-256) and makes it persistent at kAttestationKeyHandle, unless it is
// there already. Returns its public key as PEM SubjectPublicKeyInfo.
Result<std::string> ensure_attestation_key(Tpm& tpm);

struct Quote {
  Bytes attest;     // the TPMS_ATTEST the TPM signed, as marshalled by the TPM
  Bytes signature;  // DER ECDSA-Sig-Value over SHA-256(attest)
  std::uint32_t pcr = kMeasuredBootPcr;
  Digest pcr_value{};  // what the PCR read when quoted (for information; the verifier recomputes)
};

// Quotes the measured-boot PCR (SHA-256 bank) with the attestation key, over `nonce`
// (1..64 bytes, the verifier's freshness challenge).
Result<Quote> quote(Tpm& tpm, ByteView nonce);

}  // namespace ironseal::tpm
