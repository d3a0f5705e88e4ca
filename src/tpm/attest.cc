#include "tpm/attest.h"

#include "core/ct.h"
#include "crypto/hash.h"
#include "crypto/verifier.h"
#include "tpm/attest_parse.h"

namespace ironseal::tpm {
namespace {

std::unexpected<Error> refuse(const char* reason, std::string_view detail) {
  return fail_in(make_error(ErrorCode::kNotTrusted, reason, std::string(detail)),
                 "quote not trusted: ");
}

}  // namespace

Result<std::vector<Digest>> boot_measurements(ByteView stage2_digest, ByteView image_digest,
                                              std::uint8_t slot, bool trial) {
  if (stage2_digest.size() != 32 || image_digest.size() != 32 || slot > 1) {
    return fail(ErrorCode::kInvalidArgument,
                "boot measurements need SHA-256 image digests and slot A or B");
  }
  Bytes buf(32, 0);
  buf.insert(buf.end(), stage2_digest.begin(), stage2_digest.end());
  const Bytes stage2 = crypto::sha256(buf);
  buf.assign(stage2.begin(), stage2.end());
  buf.push_back(slot);
  buf.push_back(trial ? 1 : 0);
  buf.insert(buf.end(), image_digest.begin(), image_digest.end());
  const Bytes boot = crypto::sha256(buf);
  std::vector<Digest> out(2);
  std::copy(stage2.begin(), stage2.end(), out[0].begin());
  std::copy(boot.begin(), boot.end(), out[1].begin());
  return out;
}

Result<VerifiedQuote> verify_quote(const QuoteEvidence& ev, std::string_view ak_pem, ByteView nonce,
                                   const std::vector<Digest>& expected) {
  auto ak = crypto::EcdsaP256Verifier::from_pem(ak_pem);
  if (!ak) {
    return fail(ErrorCode::kInvalidArgument,
                "the attestation key is not a PEM ECDSA P-256 public key");
  }
  ParsedQuote q;
  const AttestStatus ps = parse_quote(ev.attest.data(), ev.attest.size(), &q);
  if (ps != AttestStatus::kOk) {
    return refuse("malformed", std::string("TPMS_ATTEST ") + attest_status_name(ps));
  }
  // The signature first: nothing in the body means anything before it is proven to be the TPM's.
  if (auto v = ak->verify(ev.attest, ev.signature); !v) {
    if (v.error().code != ErrorCode::kNotTrusted) return std::unexpected(v.error());
    return refuse("bad_signature",
                  "the quote is not signed by this attestation key (tampered, or another TPM)");
  }
  if (q.extra_data.size != nonce.size() ||
      !ct_equal(q.extra_data.data, nonce.data(), nonce.size())) {
    return refuse("nonce_mismatch", "the quote answers another challenge (replayed?)");
  }
  const std::uint8_t want_select[3] = {0, 0, 1};  // PCR 16 only
  if (q.selection_count != 1 || q.selections[0].hash != kAlgSha256 || q.selections[0].size != 3 ||
      !ct_equal(q.selections[0].select, want_select, 3)) {
    return refuse("pcr_selection", "the quote does not cover exactly PCR 16 of the SHA-256 bank");
  }
  VerifiedQuote out;
  out.pcr_value = expected_pcr(expected);
  // A quote's pcrDigest is the hash of the selected PCR values, concatenated in order.
  const Bytes composite = crypto::sha256(ByteView(out.pcr_value.data(), out.pcr_value.size()));
  if (q.pcr_digest.size != composite.size() ||
      !ct_equal(q.pcr_digest.data, composite.data(), composite.size())) {
    return refuse("pcr_mismatch",
                  "PCR 16 does not hold the expected measured-boot digests (another boot chain "
                  "or image ran)");
  }
  out.clock = q.clock;
  out.reset_count = q.reset_count;
  out.restart_count = q.restart_count;
  out.firmware_version = q.firmware_version;
  return out;
}

}  // namespace ironseal::tpm
