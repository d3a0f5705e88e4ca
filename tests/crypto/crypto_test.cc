// crypto: SHA-2 vectors, RFC 8032 Ed25519 vectors through our API, ECDSA P-256, key files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/signer.h"
#include "crypto/verifier.h"
#include "support/requirements.h"
#include "support/rfc8032.h"
#include "support/test_env.h"

namespace ironseal::crypto {
namespace {

using testing::TempDir;

Bytes hex(std::string_view h) {
  return *from_hex(h);
}

// Wraps a raw Ed25519 seed in PKCS#8 PEM so the vectors go through the same loader as key files.
std::string ed25519_pem_from_seed(std::string_view seed_hex) {
  const Bytes der = hex(std::string("302e020100300506032b657004220420") + std::string(seed_hex));
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (std::size_t i = 0; i < der.size(); i += 3) {
    const std::uint32_t n = der[i] << 16 | (i + 1 < der.size() ? der[i + 1] << 8 : 0) |
                            (i + 2 < der.size() ? der[i + 2] : 0);
    b64 += kB64[n >> 18 & 63];
    b64 += kB64[n >> 12 & 63];
    b64 += i + 1 < der.size() ? kB64[n >> 6 & 63] : '=';
    b64 += i + 2 < der.size() ? kB64[n & 63] : '=';
  }
  return "-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n";
}

TEST(Hash, Sha2KnownAnswers) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha512(as_bytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Hash, StreamingEqualsOneShotAndResetsAfterFinish) {
  Bytes data(100000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
  for (auto alg : {HashAlgorithm::kSha256, HashAlgorithm::kSha512}) {
    auto h = Hasher::create(alg);
    ASSERT_TRUE(h);
    for (std::size_t off = 0; off < data.size(); off += 999) {
      h->update(ByteView(data).subspan(off, std::min<std::size_t>(999, data.size() - off)));
    }
    EXPECT_EQ(h->finish(), digest(alg, data));
    h->update(as_bytes("abc"));
    EXPECT_EQ(h->finish(), digest(alg, as_bytes("abc")));
  }
}

// RFC 8032 section 7.1, TEST 1, 2, 3 and TEST SHA(abc) (tests/support/rfc8032.h).
constexpr const auto& kVectors = ::ironseal::testing::kRfc8032Vectors;

TEST(Ed25519, Rfc8032VectorsSignAndVerifyThroughOurApi) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.public_key);
    auto key = PrivateKey::from_pem(ed25519_pem_from_seed(v.seed));
    ASSERT_TRUE(key) << key.error().message;
    ASSERT_EQ(key->type(), KeyType::kEd25519);
    const PublicKey pub = key->public_key();
    EXPECT_EQ(to_hex(pub.raw()), v.public_key);
    const Bytes message = hex(v.message);
    auto sig = key->sign(message);
    ASSERT_TRUE(sig);
    EXPECT_EQ(to_hex(*sig), v.signature);  // Ed25519 is deterministic
    EXPECT_TRUE(pub.verify(message, *sig));
  }
}

TEST(Ed25519, RefusesFlippedSignatureBitsAndChangedMessage) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const auto& v = kVectors[2];
  const PublicKey pub = PrivateKey::from_pem(ed25519_pem_from_seed(v.seed))->public_key();
  const Bytes message = hex(v.message);
  const Bytes good = hex(v.signature);
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    Bytes bad = good;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto r = pub.verify(message, bad);
    ASSERT_FALSE(r) << "bit " << bit;
    EXPECT_EQ(r.error().code, ErrorCode::kNotTrusted);
  }
  EXPECT_EQ(pub.verify(hex("af83"), good).error().code, ErrorCode::kNotTrusted);
  EXPECT_EQ(pub.verify(message, ByteView(good).first(63)).error().code, ErrorCode::kNotTrusted);
}

TEST(EcdsaP256, SignsVerifiesAndRefusesWrongKeyOrTamper) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto key = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(key);
  const PublicKey pub = key->public_key();
  EXPECT_EQ(pub.raw().size(), 65u);
  EXPECT_EQ(pub.raw()[0], 0x04);
  auto sig = key->sign(as_bytes("firmware"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(pub.verify(as_bytes("firmware"), *sig));
  // The same signature, checked against the pre-computed digest (how images are verified).
  const Bytes digest = sha256(as_bytes("firmware"));
  EXPECT_TRUE(EcdsaP256Verifier::from_spki(pub.spki_der())
                  ->verify_digest(Sha256View(digest.data(), 32), *sig));
  EXPECT_EQ(pub.verify(as_bytes("firmwarE"), *sig).error().code, ErrorCode::kNotTrusted);
  auto other = PrivateKey::generate(KeyType::kEcdsaP256)->public_key();
  EXPECT_EQ(other.verify(as_bytes("firmware"), *sig).error().code, ErrorCode::kNotTrusted);
  Bytes bad = *sig;
  bad[bad.size() - 1] ^= 1;
  EXPECT_EQ(pub.verify(as_bytes("firmware"), bad).error().code, ErrorCode::kNotTrusted);
}

TEST(Keys, PemRoundTripKeepsTheKey) {
  for (auto type : {KeyType::kEd25519, KeyType::kEcdsaP256}) {
    auto key = PrivateKey::generate(type);
    ASSERT_TRUE(key);
    const PublicKey pub = key->public_key();
    auto again = PublicKey::from_pem(pub.to_pem());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->spki_der(), pub.spki_der());
    EXPECT_EQ(PublicKey::from_der(pub.spki_der())->raw(), pub.raw());
    EXPECT_EQ(again->type(), type);
  }
}

TEST(Keys, SavedPrivateKeyIs0600AndLoadsBack) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  TempDir dir;
  auto key = PrivateKey::generate(KeyType::kEd25519);
  ASSERT_TRUE(key->save(dir / "k.pem"));
  struct stat st {};
  ASSERT_EQ(::stat((dir / "k.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = PrivateKey::load(dir / "k.pem");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->public_key().spki_der(), key->public_key().spki_der());
  // Never overwrite an existing key.
  EXPECT_EQ(PrivateKey::generate(KeyType::kEd25519)->save(dir / "k.pem").error().code,
            ErrorCode::kInvalidArgument);
}

TEST(Keys, LoadRefusesAKeyFileReadableByOthers) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  TempDir dir;
  ASSERT_TRUE(PrivateKey::generate(KeyType::kEd25519)->save(dir / "k.pem"));
  ASSERT_EQ(::chmod((dir / "k.pem").c_str(), 0644), 0);
  auto r = PrivateKey::load(dir / "k.pem");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermission);
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos);
}

TEST(Keys, RefusesUnsupportedAlgorithmsAndEncryptedPem) {
  // P-384 and RSA parse, but are not key types ironseal signs images with.
  for (const char* name : {"keys/test-key-p384.pub.pem", "keys/test-key-rsa2048.pub.pem"}) {
    auto r = PublicKey::load(testing::fixture(name));
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, ErrorCode::kUnsupported) << r.error().message;
  }
  EXPECT_EQ(PublicKey::from_pem("not a key").error().code, ErrorCode::kMalformed);
  // An encrypted key must fail to load, not block on a passphrase prompt.
  const Bytes pem = testing::read_fixture("keys/test-key-ed25519-encrypted.pem");
  auto r =
      PrivateKey::from_pem(std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
}

TEST(Signer, KeyFileSignerSignsWithTheFileKeyAndPkcs11UrisGoToTheHsmBackend) {
  TempDir dir;
  auto key = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(key->save(dir / "k.pem"));
  auto signer = open_signer((dir / "k.pem").string());
  ASSERT_TRUE(signer);
  EXPECT_EQ((*signer)->key_type(), KeyType::kEcdsaP256);
  auto sig = (*signer)->sign(as_bytes("m"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(key->public_key().verify(as_bytes("m"), *sig));
  // A URI is never taken for a file name: a malformed one fails as a URI (see pkcs11_test.cc).
  EXPECT_EQ(open_signer("pkcs11:token=release;object=fw;bogus=1").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(open_signer((dir / "absent.pem").string()).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace ironseal::crypto
