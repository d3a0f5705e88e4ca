// Measured boot into PCR 16 and remote attestation: a quote over the verifier's nonce verifies
// with the attestation key, and each way it can be wrong is refused for its own reason.
#include "tpm/attest.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "boot/boot_test_util.h"
#include "crypto/hash.h"
#include "image/host.h"
#include "support/requirements.h"
#include "support/tpm_harness.h"
#include "tpm/attest_parse.h"
#include "tpm/esys.h"

namespace ironseal::tpm {
namespace {

Digest digest_of(const char* text) {
  const Bytes h = crypto::sha256(as_bytes(text));
  Digest d;
  std::copy(h.begin(), h.end(), d.begin());
  return d;
}

class Attest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = Tpm::connect();
    ASSERT_TRUE(t) << t.error().message;
    tpm_ = *t;
    auto ak = ensure_attestation_key(*tpm_);
    ASSERT_TRUE(ak) << ak.error().message;
    ak_pem_ = *ak;
    ASSERT_TRUE(measure_boot(*tpm_, measurements_));
  }
  QuoteEvidence take_quote(const Bytes& nonce) {
    auto q = quote(*tpm_, nonce);
    EXPECT_TRUE(q) << q.error().message;
    return QuoteEvidence{q->attest, q->signature};
  }
  void expect_refused(const Result<VerifiedQuote>& r, const std::string& reason) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kNotTrusted);
    EXPECT_NE(r.error().message.find("quote not trusted: " + reason + ":"), std::string::npos)
        << r.error().message;
  }
  std::shared_ptr<Tpm> tpm_;
  std::string ak_pem_;
  std::vector<Digest> measurements_ = {digest_of("stage-2"), digest_of("firmware 1.0.0")};
  Bytes nonce_ = {0x5e, 0xed, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                  0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e};
};

TEST_F(Attest, PcrHoldsTheMeasurementsAfterAPowerOn) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto pcr = read_pcr(*tpm_);
  ASSERT_TRUE(pcr) << pcr.error().message;
  EXPECT_EQ(*pcr, expected_pcr(measurements_));
  EXPECT_NE(*pcr, Digest{});
  // A power-on starts over: the same boot gives the same value (not an accumulation).
  ASSERT_TRUE(measure_boot(*tpm_, measurements_));
  EXPECT_EQ(*read_pcr(*tpm_), expected_pcr(measurements_));
  ASSERT_TRUE(measure_boot(*tpm_, {measurements_[0]}));
  EXPECT_NE(*read_pcr(*tpm_), expected_pcr(measurements_));
}

TEST_F(Attest, AttestationKeyIsPersistentAndRestricted) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.5");
  auto again = ensure_attestation_key(*tpm_);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, ak_pem_);
  // Restricted: the TPM signs outside data with it only after hashing it itself, and refuses
  // data that starts with TPM_GENERATED_VALUE. A forged TPMS_ATTEST (a fake quote) therefore
  // cannot get the attestation key's signature; ordinary data can (the command line works).
  using ironseal::testing::TpmEnvironment;
  EXPECT_EQ(TpmEnvironment::run("echo plain > m && tpm2_sign -c 0x81000010 -g sha256 -o s m"), 0);
  std::string out;
  EXPECT_NE(TpmEnvironment::run("printf '\\377TCG\\200\\030forged' > f && "
                                "TSS2_LOG=all+error tpm2_sign -c 0x81000010 -g sha256 -o s f",
                                &out),
            0);
  EXPECT_NE(out.find("ticket"), std::string::npos) << out;  // TPM_RC_TICKET: no hash ticket
  EXPECT_EQ(ironseal::testing::TpmEnvironment::run("tpm2_readpublic -c 0x81000010"), 0);
}

TEST_F(Attest, QuoteVerifiesWithNonceAndExpectedDigests) {
  IRONSEAL_REQUIREMENTS("CR 1.2; EDR 3.14; CR 3.4");
  const QuoteEvidence ev = take_quote(nonce_);
  auto v = verify_quote(ev, ak_pem_, nonce_, measurements_);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->pcr_value, expected_pcr(measurements_));
  ParsedQuote q;
  ASSERT_EQ(parse_quote(ev.attest.data(), ev.attest.size(), &q), AttestStatus::kOk);
  EXPECT_EQ(q.magic, kTpmGenerated);
  EXPECT_EQ(q.type, kStAttestQuote);
  EXPECT_EQ(Bytes(q.extra_data.data, q.extra_data.data + q.extra_data.size), nonce_);
}

TEST_F(Attest, RefusesAQuoteForAnotherNonce) {
  IRONSEAL_REQUIREMENTS("CR 1.2; EDR 3.14");
  const QuoteEvidence ev = take_quote(nonce_);
  Bytes other = nonce_;
  other[0] ^= 1;
  expect_refused(verify_quote(ev, ak_pem_, other, measurements_), "nonce_mismatch");
  expect_refused(verify_quote(ev, ak_pem_, Bytes(nonce_.begin(), nonce_.end() - 1), measurements_),
                 "nonce_mismatch");
}

TEST_F(Attest, RefusesATamperedQuote) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 3.4");
  const QuoteEvidence ev = take_quote(nonce_);
  // Every byte of the signed body matters: flip each one in turn.
  for (std::size_t i = 0; i < ev.attest.size(); ++i) {
    QuoteEvidence bad = ev;
    bad.attest[i] ^= 0x01;
    auto r = verify_quote(bad, ak_pem_, nonce_, measurements_);
    ASSERT_FALSE(r) << "byte " << i;
    // A flip in a length or the magic breaks the structure; anything else breaks the signature.
    const bool malformed = r.error().message.find("malformed") != std::string::npos;
    const bool bad_sig = r.error().message.find("bad_signature") != std::string::npos;
    EXPECT_TRUE(malformed || bad_sig) << "byte " << i << ": " << r.error().message;
  }
  // The last byte is in the PCR digest: a well-formed body with a wrong signature.
  QuoteEvidence bad = ev;
  bad.attest.back() ^= 0x80;
  expect_refused(verify_quote(bad, ak_pem_, nonce_, measurements_), "bad_signature");
  QuoteEvidence bad_sig = ev;
  bad_sig.signature[bad_sig.signature.size() - 1] ^= 0x01;
  expect_refused(verify_quote(bad_sig, ak_pem_, nonce_, measurements_), "bad_signature");
  QuoteEvidence cut = ev;
  cut.attest.pop_back();
  expect_refused(verify_quote(cut, ak_pem_, nonce_, measurements_), "malformed");
  QuoteEvidence longer = ev;
  longer.attest.push_back(0);
  expect_refused(verify_quote(longer, ak_pem_, nonce_, measurements_), "malformed");
}

TEST_F(Attest, RefusesUnexpectedMeasurements) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 3.4");
  const QuoteEvidence ev = take_quote(nonce_);
  std::vector<Digest> other = measurements_;
  other[1] = digest_of("firmware 0.9.0 (downgraded)");
  expect_refused(verify_quote(ev, ak_pem_, nonce_, other), "pcr_mismatch");
  expect_refused(verify_quote(ev, ak_pem_, nonce_, {measurements_[0]}), "pcr_mismatch");
  std::vector<Digest> swapped = {measurements_[1], measurements_[0]};
  expect_refused(verify_quote(ev, ak_pem_, nonce_, swapped), "pcr_mismatch");
}

TEST_F(Attest, RefusesAQuoteCheckedAgainstAForeignKey) {
  IRONSEAL_REQUIREMENTS("CR 1.2; EDR 3.14");
  const QuoteEvidence ev = take_quote(nonce_);
  EVP_PKEY* foreign = EVP_EC_gen("P-256");
  ASSERT_NE(foreign, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, foreign);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  const std::string foreign_pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(foreign);
  expect_refused(verify_quote(ev, foreign_pem, nonce_, measurements_), "bad_signature");
}

class MeasuredBoot : public boot::testing::BootTest {};

// A verifier holding only the images' digests recomputes exactly what the boot chain measured.
TEST_F(MeasuredBoot, RecomputedFromImageDigestsMatchesWhatTheBootMeasured) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  const image::MemorySource s2(stage2_.data(), stage2_.size());
  const std::vector<crypto::PublicKey> keys = {root_.public_key()};
  auto s2_info = image::verify_image_source(s2, keys);
  ASSERT_TRUE(s2_info);
  const ByteView s2_digest(s2_info->digest, 32);

  auto check = [&](const boot::BootReport& r, bool trial) {
    auto m = boot_measurements(s2_digest, ByteView(r.info.digest, 32),
                               static_cast<std::uint8_t>(r.slot), trial);
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_EQ(m->size(), 2u);
    EXPECT_TRUE(std::equal(m->at(0).begin(), m->at(0).end(), r.stage2_measurement));
    EXPECT_TRUE(std::equal(m->at(1).begin(), m->at(1).end(), r.measurement));
    // The slot and the trial flag are part of the measurement.
    auto other = boot_measurements(s2_digest, ByteView(r.info.digest, 32),
                                   static_cast<std::uint8_t>(r.slot), !trial);
    EXPECT_NE(other->at(1), m->at(1));
  };
  const boot::testing::BootStep first = boot::testing::boot_and_run(*d);
  ASSERT_EQ(first.outcome, boot::BootOutcome::kBoot);
  check(first.report, false);
  const Bytes v2 = firmware("2.0.0", 2);
  const image::MemorySource src(v2.data(), v2.size());
  boot::InstallReport ir;
  ASSERT_EQ(boot::install(d->device(), src, 2, &ir), boot::InstallResult::kOk);
  boot::RamLoader loader;
  boot::BootReport trial;
  ASSERT_EQ(boot::power_on(d->device(), &loader, &trial), boot::BootOutcome::kTrial);
  check(trial, true);
  EXPECT_FALSE(boot_measurements(s2_digest, ByteView(trial.info.digest, 32), 2, false));
}

TEST(AttestParse, RejectsStructuralDamageForItsReason) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  // A minimal well-formed quote body: empty name and nonce, one selection, 32-byte digest.
  Bytes q = {0xff, 0x54, 0x43, 0x47, 0x80, 0x18, 0x00, 0x00, 0x00, 0x01, 0xaa};
  q.insert(q.end(), 8 + 4 + 4 + 1 + 8, 0);                  // clock info + firmware version
  q.insert(q.end(), {0, 0, 0, 1, 0x00, 0x0b, 3, 0, 0, 1});  // PCR 16, SHA-256
  q.insert(q.end(), {0x00, 0x20});
  q.insert(q.end(), 32, 0x11);
  ParsedQuote out;
  ASSERT_EQ(parse_quote(q.data(), q.size(), &out), AttestStatus::kOk);
  EXPECT_EQ(out.extra_data.size, 1u);
  EXPECT_EQ(out.pcr_digest.size, 32u);

  Bytes bad = q;
  bad[0] = 0;
  EXPECT_EQ(parse_quote(bad.data(), bad.size(), &out), AttestStatus::kNotTpmGenerated);
  bad = q;
  bad[5] = 0x17;  // TPM_ST_ATTEST_CERTIFY
  EXPECT_EQ(parse_quote(bad.data(), bad.size(), &out), AttestStatus::kNotAQuote);
  bad = q;
  bad[8] = 0xff;  // nonce length 0xff01 > 66
  EXPECT_EQ(parse_quote(bad.data(), bad.size(), &out), AttestStatus::kFieldTooLarge);
  bad = q;
  bad[9] = 0x40;  // nonce length 64: runs past the end
  EXPECT_EQ(parse_quote(bad.data(), bad.size(), &out), AttestStatus::kTruncated);
  for (std::size_t n = 0; n < q.size(); ++n) {
    EXPECT_EQ(parse_quote(q.data(), n, &out), AttestStatus::kTruncated) << n;
  }
  bad = q;
  bad.push_back(0);
  EXPECT_EQ(parse_quote(bad.data(), bad.size(), &out), AttestStatus::kTrailingBytes);
  bad = q;
  bad[36] = 0x01;  // selection count 0x01000001
  EXPECT_EQ(parse_quote(bad.data(), bad.size(), &out), AttestStatus::kFieldTooLarge);
}

}  // namespace
}  // namespace ironseal::tpm
