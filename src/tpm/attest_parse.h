// Parser for a TPM 2.0 quote's signed body (TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE), as the
// verifier receives it from an untrusted device. Every length is checked against the bytes that
// remain; the structure must end exactly where the input ends. The parser only reads: trusting
// the result needs the signature check (tpm/attest.h). Fuzzed by fuzz/tpm_attest_fuzz.cc.
//
// Layout (TPM 2.0 Part 2, big-endian), as far as a quote needs it:
//   u32 magic (0xff544347 TPM_GENERATED) | u16 type (0x8018 quote)
//   TPM2B_NAME qualifiedSigner | TPM2B_DATA extraData (the verifier's nonce)
//   TPMS_CLOCK_INFO (u64 clock, u32 resetCount, u32 restartCount, u8 safe) | u64 firmwareVersion
//   TPML_PCR_SELECTION (u32 count; each: u16 hash, u8 sizeofSelect, sizeofSelect bytes)
//   TPM2B_DIGEST pcrDigest
//
// No heap, no exceptions, no standard library beyond <cstdint>: it builds in the fuzz build too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ironseal::tpm {

inline constexpr std::uint32_t kTpmGenerated = 0xff544347;
inline constexpr std::uint16_t kStAttestQuote = 0x8018;
inline constexpr std::uint16_t kAlgSha256 = 0x000b;
inline constexpr std::uint32_t kMaxPcrSelections = 16;

enum class AttestStatus : std::uint8_t {
  kOk,
  kTruncated,        // a field runs past the end
  kTrailingBytes,    // bytes after the structure
  kNotTpmGenerated,  // magic is not TPM_GENERATED_VALUE
  kNotAQuote,        // type is not TPM_ST_ATTEST_QUOTE
  kFieldTooLarge,    // a sized field is larger than its TPM 2.0 maximum
};
const char* attest_status_name(AttestStatus s);

struct ByteRange {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

struct PcrSelection {
  std::uint16_t hash = 0;
  std::uint8_t size = 0;  // sizeofSelect
  std::uint8_t select[4] = {};
};

struct ParsedQuote {
  std::uint32_t magic = 0;
  std::uint16_t type = 0;
  ByteRange qualified_signer;
  ByteRange extra_data;
  std::uint64_t clock = 0;
  std::uint32_t reset_count = 0;
  std::uint32_t restart_count = 0;
  std::uint8_t safe = 0;
  std::uint64_t firmware_version = 0;
  std::uint32_t selection_count = 0;
  PcrSelection selections[kMaxPcrSelections];
  ByteRange pcr_digest;
};

AttestStatus parse_quote(const std::uint8_t* data, std::size_t size, ParsedQuote* out);

}  // namespace ironseal::tpm
