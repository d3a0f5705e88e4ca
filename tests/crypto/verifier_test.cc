// crypto::Verifier and its typed forms: the key decides the scheme, a verifier can only verify,
// and pre-hashed verification exists only for ECDSA P-256 (checked by the compiler, not at run
// time). Also the TUF key encodings, the (r, s) -> DER encoding and PublicKey::from_raw.
#include "crypto/verifier.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <type_traits>

#include "core/bytes.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::crypto {
namespace {

// ---- What the types allow (the compile-time half of the contract) ----------------------------

template <typename V>
concept VerifiesDigests = requires(const V& v, Sha256View d, ByteView s) {
  v.verify_digest(d, s);
};
template <typename K>
concept KeyVerifiesDigests = requires(const K& k, ByteView d, ByteView s) {
  k.verify_sha256_digest(d, s);
};
template <typename V>
concept Signs = requires(const V& v, ByteView m) {
  v.sign(m);
};

// Only the ECDSA P-256 verifier verifies a digest; no key offers it and then refuses at run time.
static_assert(VerifiesDigests<EcdsaP256Verifier>);
static_assert(!VerifiesDigests<Ed25519Verifier>);
static_assert(!VerifiesDigests<Verifier>);
static_assert(!KeyVerifiesDigests<PublicKey>);
// A digest is exactly 32 bytes by type: a Bytes or a 31-byte array is not one.
static_assert(std::is_convertible_v<const std::uint8_t (&)[32], Sha256View>);
static_assert(!std::is_convertible_v<const std::uint8_t (&)[31], Sha256View>);
static_assert(!std::is_convertible_v<const Bytes&, Sha256View>);
// A verifier holds no private key: it cannot sign.
static_assert(!Signs<Verifier> && !Signs<Ed25519Verifier> && !Signs<EcdsaP256Verifier>);

std::string text(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

bool starts_with(const Error& e, std::string_view prefix) {
  return e.message.starts_with(prefix);
}

TEST(Verifier, DigestVerificationIsOnlyOnTheEcdsaP256TypeAndChecksTheDigest) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  auto key = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(key);
  auto sig = key->sign(as_bytes("image"));
  ASSERT_TRUE(sig);
  auto v = EcdsaP256Verifier::from_spki(key->public_key().spki_der());
  ASSERT_TRUE(v) << v.error().message;
  const Bytes good = sha256(as_bytes("image"));
  EXPECT_TRUE(v->verify_digest(Sha256View(good.data(), 32), *sig));
  EXPECT_TRUE(v->verify(as_bytes("image"), *sig));

  const Bytes other = sha256(as_bytes("imagE"));
  auto refused = v->verify_digest(Sha256View(other.data(), 32), *sig);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(starts_with(refused.error(), "bad_signature: ")) << refused.error().message;
  Bytes flipped = *sig;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_EQ(v->verify_digest(Sha256View(good.data(), 32), flipped).error().code,
            ErrorCode::kNotTrusted);
}

TEST(Verifier, TypedVerifiersRefuseAKeyOfAnotherTypeOrCurve) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 1.9");
  const PublicKey ed = PrivateKey::generate(KeyType::kEd25519)->public_key();
  const PublicKey ec = PrivateKey::generate(KeyType::kEcdsaP256)->public_key();

  auto ec_as_ed = Ed25519Verifier::from_spki(ec.spki_der());
  ASSERT_FALSE(ec_as_ed);
  EXPECT_EQ(ec_as_ed.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(starts_with(ec_as_ed.error(), "key_type_mismatch: ")) << ec_as_ed.error().message;

  // The old runtime refusal (verify_sha256_digest on an Ed25519 key) is now a refusal to make an
  // ECDSA verifier from an Ed25519 key at all.
  auto ed_as_ec = EcdsaP256Verifier::from_pem(ed.to_pem());
  ASSERT_FALSE(ed_as_ec);
  EXPECT_EQ(ed_as_ec.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(starts_with(ed_as_ec.error(), "key_type_mismatch: ")) << ed_as_ec.error().message;

  const Bytes p384 = testing::read_fixture("keys/test-key-p384.pub.pem");
  EXPECT_EQ(EcdsaP256Verifier::from_pem(text(p384)).error().code, ErrorCode::kUnsupported);
  const Bytes rsa = testing::read_fixture("keys/test-key-rsa2048.pub.pem");
  EXPECT_EQ(Verifier::from_pem(text(rsa)).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(Verifier::from_spki(as_bytes("not a key")).error().code, ErrorCode::kMalformed);
}

TEST(Verifier, TheKeyDecidesTheScheme) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  auto ec = PrivateKey::generate(KeyType::kEcdsaP256);
  const Bytes ed_sig = *ed->sign(as_bytes("m"));
  const Bytes ec_sig = *ec->sign(as_bytes("m"));

  auto ed_v = Verifier::from_spki(ed->public_key().spki_der());
  auto ec_v = Verifier::from_pem(ec->public_key().to_pem());
  ASSERT_TRUE(ed_v && ec_v);
  EXPECT_EQ(ed_v->scheme_name(), "ed25519");
  EXPECT_EQ(ec_v->scheme_name(), "ecdsa-p256-sha256");
  EXPECT_TRUE(ed_v->verify(as_bytes("m"), ed_sig));
  EXPECT_TRUE(ec_v->verify(as_bytes("m"), ec_sig));
  // A signature of the other scheme never verifies, whatever the caller believes it is.
  EXPECT_EQ(ed_v->verify(as_bytes("m"), ec_sig).error().code, ErrorCode::kNotTrusted);
  EXPECT_EQ(ec_v->verify(as_bytes("m"), ed_sig).error().code, ErrorCode::kNotTrusted);
  // A typed verifier is a Verifier; PublicKey::verifier() is the same verifier.
  const Verifier from_typed = *Ed25519Verifier::from_spki(ed->public_key().spki_der());
  EXPECT_TRUE(from_typed.verify(as_bytes("m"), ed_sig));
  EXPECT_TRUE(ed->public_key().verifier().verify(as_bytes("m"), ed_sig));
}

TEST(Verifier, FromTufKeyTakesTheEncodingsTheConformanceSuiteUses) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 1.9; SUM-4");
  auto ed = PrivateKey::generate(KeyType::kEd25519);
  auto ec = PrivateKey::generate(KeyType::kEcdsaP256);
  const Bytes msg = Bytes{'{', '}'};
  auto ed_v = Verifier::from_tuf_key("ed25519", "ed25519", to_hex(ed->public_key().raw()));
  ASSERT_TRUE(ed_v) << ed_v.error().message;
  EXPECT_TRUE(ed_v->verify(msg, *ed->sign(msg)));
  for (const char* keytype : {"ecdsa", "ecdsa-sha2-nistp256"}) {
    auto ec_v = Verifier::from_tuf_key(keytype, "ecdsa-sha2-nistp256", ec->public_key().to_pem());
    ASSERT_TRUE(ec_v) << keytype << ": " << ec_v.error().message;
    EXPECT_TRUE(ec_v->verify(msg, *ec->sign(msg)));
    EXPECT_EQ(ec_v->verify(msg, *ed->sign(msg)).error().code, ErrorCode::kNotTrusted);
  }
  const std::string p384 = text(testing::read_fixture("keys/test-key-p384.pub.pem"));
  EXPECT_EQ(Verifier::from_tuf_key("ecdsa", "ecdsa-sha2-nistp384", p384)->scheme_name(),
            "ecdsa-p384-sha384");
  const std::string rsa = text(testing::read_fixture("keys/test-key-rsa2048.pub.pem"));
  EXPECT_EQ(Verifier::from_tuf_key("rsa", "rsassa-pss-sha256", rsa)->scheme_name(),
            "rsassa-pss-sha256");
  EXPECT_EQ(Verifier::from_tuf_key("rsa", "rsa-pkcs1v15-sha512", rsa)->scheme_name(),
            "rsa-pkcs1v15-sha512");
}

TEST(Verifier, FromTufKeyRefusesAKeyThatDoesNotMatchItsScheme) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 1.9; CR 3.5");
  const PublicKey ed = PrivateKey::generate(KeyType::kEd25519)->public_key();
  const PublicKey ec = PrivateKey::generate(KeyType::kEcdsaP256)->public_key();
  const std::string p384 = text(testing::read_fixture("keys/test-key-p384.pub.pem"));
  const std::string rsa = text(testing::read_fixture("keys/test-key-rsa2048.pub.pem"));
  struct Case {
    const char* keytype;
    const char* scheme;
    std::string value;
    ErrorCode code;
    const char* reason;
  };
  const Case cases[] = {
      {"ed25519", "ecdsa-sha2-nistp256", to_hex(ed.raw()), ErrorCode::kUnsupported,
       "unsupported_scheme: "},
      {"ecdsa", "ed25519", ec.to_pem(), ErrorCode::kUnsupported, "unsupported_scheme: "},
      {"ecdsa", "ecdsa-sha2-nistp521", ec.to_pem(), ErrorCode::kUnsupported,
       "unsupported_scheme: "},
      {"rsa", "rsassa-pss-md5", rsa, ErrorCode::kUnsupported, "unsupported_scheme: "},
      {"ed25519", "ed25519", to_hex(ed.raw()).substr(2), ErrorCode::kMalformed, "malformed_key: "},
      {"ed25519", "ed25519", ed.to_pem(), ErrorCode::kMalformed, "malformed_key: "},
      {"ecdsa", "ecdsa-sha2-nistp256", to_hex(ec.raw()), ErrorCode::kMalformed, "malformed_key: "},
      {"ecdsa", "ecdsa-sha2-nistp256", p384, ErrorCode::kUnsupported, "key_type_mismatch: "},
      {"ecdsa", "ecdsa-sha2-nistp384", ec.to_pem(), ErrorCode::kUnsupported, "key_type_mismatch: "},
      {"ecdsa", "ecdsa-sha2-nistp256", rsa, ErrorCode::kUnsupported, "key_type_mismatch: "},
      {"rsa", "rsassa-pss-sha256", ec.to_pem(), ErrorCode::kUnsupported, "key_type_mismatch: "},
      {"ecdsa", "ecdsa-sha2-nistp256", ed.to_pem(), ErrorCode::kUnsupported, "key_type_mismatch: "},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.keytype) + " / " + c.scheme);
    auto v = Verifier::from_tuf_key(c.keytype, c.scheme, c.value);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, c.code);
    EXPECT_TRUE(starts_with(v.error(), c.reason)) << v.error().message;
  }
}

// A tiny DER reader for the test: ECDSA-Sig-Value of a P-256 signature (short lengths only).
std::pair<Bytes, Bytes> split_der_signature(const Bytes& der) {
  EXPECT_EQ(der.at(0), 0x30);
  std::size_t at = 2;
  auto integer = [&]() {
    EXPECT_EQ(der.at(at), 0x02);
    const std::size_t len = der.at(at + 1);
    Bytes v(der.begin() + static_cast<long>(at + 2), der.begin() + static_cast<long>(at + 2 + len));
    at += 2 + len;
    return v;
  };
  Bytes r = integer();
  Bytes s = integer();
  return {r, s};
}

TEST(EcdsaDerSignature, EncodesRAndSAsMinimalDerIntegersThatVerify) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  // r with its top bit set gains a 0x00; s with a leading zero byte loses it.
  Bytes r(32, 0x11);
  r[0] = 0x80;
  Bytes s(32, 0x22);
  s[0] = 0x00;
  auto der = ecdsa_der_signature(r, s);
  ASSERT_TRUE(der) << der.error().message;
  Bytes expected = {0x30, 0x44, 0x02, 0x21, 0x00};
  expected.insert(expected.end(), r.begin(), r.end());
  expected.insert(expected.end(), {0x02, 0x1f});
  expected.insert(expected.end(), s.begin() + 1, s.end());
  EXPECT_EQ(to_hex(*der), to_hex(expected));

  // (r, s) as a token or a TPM returns them (32 bytes each) re-encode to a signature that verifies.
  auto key = PrivateKey::generate(KeyType::kEcdsaP256);
  const Bytes sig = *key->sign(as_bytes("quote"));
  auto [sr, ss] = split_der_signature(sig);
  auto pad = [](Bytes v) {
    while (v.size() > 32 && v.front() == 0) v.erase(v.begin());
    v.insert(v.begin(), 32 - v.size(), 0);
    return v;
  };
  auto again = ecdsa_der_signature(pad(sr), pad(ss));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, sig);
  EXPECT_TRUE(EcdsaP256Verifier::from_spki(key->public_key().spki_der())
                  ->verify(as_bytes("quote"), *again));
}

TEST(PublicKey, FromRawIsTheInverseOfRawAndRefusesOffCurvePoints) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 3.5");
  for (auto type : {KeyType::kEd25519, KeyType::kEcdsaP256}) {
    const PublicKey pub = PrivateKey::generate(type)->public_key();
    auto back = PublicKey::from_raw(type, pub.raw());
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->spki_der(), pub.spki_der());
    EXPECT_EQ(back->type(), type);
  }
  const Bytes point = PrivateKey::generate(KeyType::kEcdsaP256)->public_key().raw();
  Bytes off_curve = point;
  off_curve.back() ^= 0x01;
  auto r = PublicKey::from_raw(KeyType::kEcdsaP256, off_curve);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  EXPECT_EQ(PublicKey::from_raw(KeyType::kEcdsaP256, ByteView(point).first(64)).error().code,
            ErrorCode::kMalformed);
  EXPECT_EQ(PublicKey::from_raw(KeyType::kEd25519, Bytes(31, 1)).error().code,
            ErrorCode::kMalformed);
}

TEST(Hash, TufHashNamesAndSha224Sha384KnownAnswers) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  EXPECT_EQ(to_hex(digest(*hash_algorithm_from_name("sha224"), as_bytes("abc"))),
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7");
  EXPECT_EQ(to_hex(digest(*hash_algorithm_from_name("sha384"), as_bytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
            "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(digest(*hash_algorithm_from_name("sha256"), as_bytes("abc")), sha256(as_bytes("abc")));
  EXPECT_EQ(digest(*hash_algorithm_from_name("sha512"), as_bytes("abc")), sha512(as_bytes("abc")));
  EXPECT_FALSE(hash_algorithm_from_name("md5"));
  EXPECT_FALSE(hash_algorithm_from_name("SHA256"));
}

}  // namespace
}  // namespace ironseal::crypto
