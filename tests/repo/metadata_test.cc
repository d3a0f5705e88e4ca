// Canonical JSON, metadata parsing, path matching and signature/threshold checks.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "repo/canonical_json.h"
#include "repo/metadata.h"
#include "repo/signature.h"
#include "repo/tuf_test_repo.h"
#include "support/requirements.h"

namespace ironseal::repo {
namespace {

using nlohmann::json;
using testing::kNow;
using testing::tuf_key_json;
using testing::tuf_keyid;

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 3.5");
  const json v = json::parse(R"({ "b": [1, 2, {"z": null, "a": true}], "a": -3, "A": "x" })");
  EXPECT_EQ(*canonical_json(v), R"({"A":"x","a":-3,"b":[1,2,{"a":true,"z":null}]})");
}

TEST(CanonicalJson, EscapesOnlyQuoteAndBackslashAndKeepsUtf8Raw) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 3.5");
  // securesystemslib leaves control characters and non-ASCII as they are.
  const json v = json::parse("{\"k\": \"a\\\"b\\\\c\\n\\u00e9\"}");
  EXPECT_EQ(*canonical_json(v), "{\"k\":\"a\\\"b\\\\c\n\xc3\xa9\"}");
}

TEST(CanonicalJson, SortsKeysByCodePoint) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const json v = json::parse("{\"\\u00e9\": 1, \"z\": 2, \"Z\": 3}");
  EXPECT_EQ(*canonical_json(v), "{\"Z\":3,\"z\":2,\"\xc3\xa9\":1}");
}

TEST(CanonicalJson, RefusesFloats) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  auto r = canonical_json(json::parse(R"({"version": 1.5})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::kMalformed);
}

TEST(TufTime, ParsesAndFormatsRfc3339Z) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  EXPECT_EQ(parse_utc_time("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_utc_time("2030-01-01T00:00:00Z"), 1893456000);
  EXPECT_EQ(format_utc_time(1893456000), "2030-01-01T00:00:00Z");
  EXPECT_FALSE(parse_utc_time("2030-01-01T00:00:00+00:00"));
  EXPECT_FALSE(parse_utc_time("2030-01-01T00:00:00.5Z"));
  EXPECT_FALSE(parse_utc_time("2030-13-01T00:00:00Z"));
}

TEST(TufPaths, GlobStarDoesNotCrossSlash) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  EXPECT_TRUE(path_matches("README.md", "*.md"));
  EXPECT_FALSE(path_matches("releases/README.md", "*.md"));
  EXPECT_TRUE(path_matches("releases/x/x_v1", "releases/*/*"));
  EXPECT_TRUE(path_matches("foo-1.tgz", "foo-?.tgz"));
  EXPECT_FALSE(path_matches("foo-alpha.tgz", "foo-?.tgz"));
  EXPECT_FALSE(path_matches("README.MD", "*.md"));
  EXPECT_TRUE(path_matches("a/b", "[a-c]/[!x]"));
  EXPECT_FALSE(path_matches("x/b", "[a-c]/b"));
}

TEST(TufPaths, QuotesRoleNamesLikePython) {
  EXPECT_EQ(quote_name("../delegatedrole"), "..%2Fdelegatedrole");
  EXPECT_EQ(quote_name("?#a_b-c.d~"), "%3F%23a_b-c.d~");
}

TEST(TufMetadata, RefusesMissingVersionWrongTypeAndDuplicateSignatures) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  testing::TestRepo repo;
  json doc = json::parse(repo.root_bytes(1));
  json no_version = doc;
  no_version["signed"].erase("version");
  auto r1 = parse_root(as_bytes(no_version.dump()));
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().reason, Reason::kMalformed);

  auto r2 = parse_timestamp(as_bytes(doc.dump()));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().reason, Reason::kWrongType);

  json dup = doc;
  dup["signatures"].push_back(dup["signatures"][0]);
  auto r3 = parse_root(as_bytes(dup.dump()));
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().reason, Reason::kMalformed);

  json spec2 = doc;
  spec2["signed"]["spec_version"] = "2.0.0";
  auto r4 = parse_root(as_bytes(spec2.dump()));
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.error().reason, Reason::kUnsupportedSpec);
}

// --- signatures ---------------------------------------------------------------------------

struct SignedFixture {
  KeyMap keys;
  RoleKeys role;
  std::vector<Signature> sigs;
  std::string message = R"({"_type":"timestamp","version":1})";
};

SignedFixture sign_with(const std::vector<crypto::PrivateKey>& keys, std::uint64_t threshold) {
  SignedFixture f;
  f.role.threshold = threshold;
  for (const auto& k : keys) {
    const std::string id = tuf_keyid(k.public_key());
    const json kj = tuf_key_json(k.public_key());
    f.keys[id] = Key{kj["keytype"], kj["scheme"], kj["keyval"]["public"]};
    f.role.keyids.push_back(id);
    f.sigs.push_back({id, to_hex(*k.sign(as_bytes(f.message)))});
  }
  return f;
}

TEST(TufSignature, VerifiesEd25519AndEcdsaP256) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 1.9");
  for (auto type : {crypto::KeyType::kEd25519, crypto::KeyType::kEcdsaP256}) {
    auto f = sign_with({*crypto::PrivateKey::generate(type)}, 1);
    EXPECT_TRUE(verify_threshold("timestamp", f.role, f.keys, f.sigs, f.message));
    f.message.back() = ']';  // one byte changed
    auto r = verify_threshold("timestamp", f.role, f.keys, f.sigs, f.message);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, Reason::kThresholdNotMet);
  }
}

TEST(TufSignature, VerifiesRsaPssWithDigestLengthSalt) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 1.9");
  // securesystemslib signs rsassa-pss-sha256 with salt length = digest length (32).
  EVP_PKEY* raw = EVP_RSA_gen(2048);
  ASSERT_NE(raw, nullptr);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(raw, EVP_PKEY_free);
  const std::string message = "canonical bytes";
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  ASSERT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey.get()), 1);
  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
  std::size_t len = 0;
  EVP_DigestSign(ctx.get(), nullptr, &len, as_bytes(message).data(), message.size());
  Bytes sig(len);
  ASSERT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, as_bytes(message).data(), message.size()),
            1);
  sig.resize(len);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), pkey.get());
  char* pem_data = nullptr;
  const long pem_len = BIO_get_mem_data(bio.get(), &pem_data);
  const Key key{"rsa", "rsassa-pss-sha256", std::string(pem_data, static_cast<std::size_t>(pem_len))};
  EXPECT_TRUE(verify_signature(key, as_bytes(message), to_hex(sig)));
  EXPECT_FALSE(verify_signature(key, as_bytes(std::string("other bytes")), to_hex(sig)));
  // The same key under the PKCS#1 v1.5 scheme does not accept a PSS signature.
  EXPECT_FALSE(verify_signature(Key{"rsa", "rsa-pkcs1v15-sha256", key.public_value},
                                as_bytes(message), to_hex(sig)));
}

TEST(TufSignature, ForgedSignatureUnderAListedKeyidDoesNotCount) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 1.9; SUM-4");
  auto listed = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  auto attacker = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  auto f = sign_with({listed}, 1);
  // The attacker signs the same bytes and labels the signature with the listed keyid.
  f.sigs = {{f.role.keyids[0], to_hex(*attacker.sign(as_bytes(f.message)))}};
  auto r = verify_threshold("snapshot", f.role, f.keys, f.sigs, f.message);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::kThresholdNotMet);
}

TEST(TufSignature, DuplicateKeyidsAreNotCountedTwice) {
  IRONSEAL_REQUIREMENTS("CR 3.4; SUM-4");
  auto f = sign_with({*crypto::PrivateKey::generate(crypto::KeyType::kEd25519)}, 2);
  f.role.keyids.push_back(f.role.keyids[0]);  // the role lists one key twice
  f.sigs.push_back(f.sigs[0]);                // and the signature appears twice
  auto r = verify_threshold("snapshot", f.role, f.keys, f.sigs, f.message);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::kThresholdNotMet);
}

TEST(TufSignature, ThresholdNotMetWithOneOfTwo) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto f = sign_with({*crypto::PrivateKey::generate(crypto::KeyType::kEd25519),
                      *crypto::PrivateKey::generate(crypto::KeyType::kEcdsaP256)},
                     2);
  EXPECT_TRUE(verify_threshold("root", f.role, f.keys, f.sigs, f.message));
  f.sigs.pop_back();
  auto r = verify_threshold("root", f.role, f.keys, f.sigs, f.message);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::kThresholdNotMet);
}

TEST(TufSignature, UnknownKeyTypesAndGarbageSignaturesCountForNothing) {
  IRONSEAL_REQUIREMENTS("CR 3.5; CR 1.9");
  auto f = sign_with({*crypto::PrivateKey::generate(crypto::KeyType::kEd25519)}, 1);
  const std::string id = f.role.keyids[0];
  f.keys[id].keytype = "sphincs";
  EXPECT_FALSE(verify_threshold("root", f.role, f.keys, f.sigs, f.message));
  f.keys[id] = Key{"ecdsa", "ecdsa-sha2-nistp256", "not a pem"};
  EXPECT_FALSE(verify_threshold("root", f.role, f.keys, f.sigs, f.message));
  f.keys[id] = Key{"ed25519", "ed25519", "zz"};
  f.sigs[0].sig = "";
  EXPECT_FALSE(verify_threshold("root", f.role, f.keys, f.sigs, f.message));
}

TEST(TufHashes, AllListedHashesMustMatchAndUnknownAlgorithmsFail) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const std::string data = "payload";
  const std::string sha256 = to_hex(crypto::sha256(as_bytes(data)));
  const std::string sha512 = to_hex(crypto::sha512(as_bytes(data)));
  EXPECT_TRUE(verify_length_and_hashes(as_bytes(data), 7, {{"sha256", sha256}, {"sha512", sha512}}, "x"));
  auto wrong = verify_length_and_hashes(as_bytes(data), 7, {{"sha256", sha256}, {"sha512", sha256}}, "x");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().reason, Reason::kHashMismatch);
  auto unknown = verify_length_and_hashes(as_bytes(data), 7, {{"md5", "00"}}, "x");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().reason, Reason::kHashMismatch);
  auto length = verify_length_and_hashes(as_bytes(data), 8, {{"sha256", sha256}}, "x");
  ASSERT_FALSE(length);
  EXPECT_EQ(length.error().reason, Reason::kLengthMismatch);
}

}  // namespace
}  // namespace ironseal::repo
