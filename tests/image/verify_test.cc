// Boot image verification: round trips, exhaustive tamper, truncation, malformed TLVs, the
// multiple-signature rule. Every refusal is checked for its Status, not just "not ok".
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <span>

#include "core/endian.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "image/image_test_util.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::image {
namespace {

using namespace testing;
using crypto::PrivateKey;
using crypto::PublicKey;

struct Fixture {
  PrivateKey key;
  Bytes image;
};

Fixture make_signed(Mode mode, std::size_t body = 200, std::uint16_t header = 0x40) {
  auto key = PrivateKey::generate(key_type(mode));
  EXPECT_TRUE(key);
  SignOptions opt;
  opt.version = Version{1, 2, 3, 4};
  opt.security_counter = 7;
  opt.header_size = header;
  opt.pure = mode == Mode::kEd25519Pure;
  crypto::KeyFileSigner signer(*key);
  auto image = sign_image(pattern(body), opt, signer);
  EXPECT_TRUE(image) << (image ? "" : image.error().message);
  return Fixture{std::move(*key), std::move(*image)};
}

class PerMode : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(Modes, PerMode,
                         ::testing::Values(Mode::kEd25519, Mode::kEd25519Pure, Mode::kEcdsaP256),
                         [](const auto& p) { return std::string(mode_name(p.param)); });

TEST_P(PerMode, SignedImageVerifiesWithItsKey) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  const Fixture f = make_signed(GetParam());
  ImageInfo info;
  ASSERT_EQ(verify_status(f.image, {f.key.public_key()}, &info), Status::kOk);
  EXPECT_EQ(info.header.version.major, 1);
  EXPECT_EQ(info.header.version.revision, 3);
  EXPECT_EQ(info.header.version.build, 4u);
  EXPECT_TRUE(info.has_security_counter);
  EXPECT_EQ(info.security_counter, 7u);
  EXPECT_EQ(info.total_size, f.image.size());
  const SignatureKind expected = GetParam() == Mode::kEd25519       ? SignatureKind::kEd25519
                                 : GetParam() == Mode::kEd25519Pure ? SignatureKind::kEd25519Pure
                                                                    : SignatureKind::kEcdsaP256;
  EXPECT_EQ(info.signature_kind, expected);
}

TEST_P(PerMode, WrongKeyIsUnknownKey) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  const Fixture f = make_signed(GetParam());
  const PublicKey other = PrivateKey::generate(key_type(GetParam()))->public_key();
  EXPECT_EQ(verify_status(f.image, {other}), Status::kUnknownKey);
  EXPECT_EQ(verify_status(f.image, {}), Status::kUnknownKey);
}

// What a single flipped bit at each offset must be refused as. kBadMagic etc. where the field
// decides alone; kAny where the flip changes the layout and several refusals are legitimate.
constexpr Status kAny = Status::kOk;  // placeholder: "any refusal"

std::map<std::uint64_t, Status> expected_refusals(const Bytes& image, Mode mode) {
  MemorySource source(image.data(), image.size());
  Layout l;
  EXPECT_EQ(parse_layout(source, &l), Status::kOk);
  std::map<std::uint64_t, Status> m;
  for (std::uint64_t i = 0; i < 4; ++i) m[i] = Status::kBadMagic;
  for (std::uint64_t i = 4; i < 8; ++i) m[i] = Status::kHashMismatch;  // load address
  for (std::uint64_t i = 8; i < 16; ++i) m[i] = kAny;                  // sizes: layout changes
  for (std::uint64_t i = 16; i < 20; ++i) m[i] = kAny;                 // flags: see test
  for (std::uint64_t i = 20; i < l.body_offset; ++i) m[i] = Status::kHashMismatch;
  for (std::uint64_t i = l.protected_offset; i < l.protected_offset + 4; ++i) {
    m[i] = Status::kBadTlvInfo;
  }
  for (std::uint64_t i = l.unprotected_offset; i < l.unprotected_offset + 2; ++i) {
    m[i] = Status::kBadTlvInfo;
  }
  for (std::uint64_t i = l.unprotected_offset + 2; i < l.unprotected_offset + 4; ++i) m[i] = kAny;
  TlvIterator it(source, l);
  for (;;) {
    TlvEntry e;
    bool done = false;
    EXPECT_EQ(it.next(&e, &done), Status::kOk);
    if (done) break;
    for (std::uint64_t i = e.value_offset - 4; i < e.value_offset; ++i) m[i] = kAny;
    Status value_status = kAny;
    switch (e.type) {
      case kTlvSecurityCounter: value_status = Status::kHashMismatch; break;
      case kTlvSha256:
      case kTlvSha512: value_status = Status::kHashMismatch; break;
      case kTlvKeyHash: value_status = Status::kUnknownKey; break;
      case kTlvSigPure: value_status = Status::kBadTlvLength; break;
      case kTlvEd25519:
      case kTlvEcdsaSig: value_status = Status::kBadSignature; break;
      default: ADD_FAILURE() << "unexpected TLV " << e.type << " in " << mode_name(mode);
    }
    for (std::uint64_t i = e.value_offset; i < e.value_offset + e.length; ++i) m[i] = value_status;
  }
  return m;
}

TEST_P(PerMode, EveryBitFlipInHeaderAndTlvAreasIsRefusedForTheRightReason) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  const Fixture f = make_signed(GetParam());
  const std::vector<PublicKey> keys = {f.key.public_key()};
  const auto expected = expected_refusals(f.image, GetParam());
  std::size_t flips = 0;
  for (const auto& [offset, want] : expected) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = f.image;
      bad[offset] ^= static_cast<std::uint8_t>(1u << bit);
      const Status got = verify_status(bad, keys);
      ++flips;
      ASSERT_NE(got, Status::kOk) << "offset " << offset << " bit " << bit;
      if (offset >= 16 && offset < 20) {
        // Flags: the three supported bits are hashed; every other bit is an unsupported flag.
        const std::uint32_t flag = 1u << (8 * (offset - 16) + static_cast<std::uint64_t>(bit));
        const Status flag_want =
            (flag & kSupportedFlags) ? Status::kHashMismatch : Status::kUnsupportedFlags;
        EXPECT_EQ(got, flag_want) << "flag bit " << flag;
      } else if (want != kAny) {
        EXPECT_EQ(got, want) << "offset " << offset << " bit " << bit << " got "
                             << status_name(got);
      }
    }
  }
  EXPECT_EQ(flips, (f.image.size() - 200) * 8);  // every byte but the body
}

TEST_P(PerMode, SampledBodyBitFlipsAreHashMismatches) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Fixture f = make_signed(GetParam(), 64 * 1024);
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    const std::size_t bit = 0x40 * 8 + rng() % (64 * 1024 * 8);
    Bytes bad = f.image;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    ASSERT_EQ(verify_status(bad, {f.key.public_key()}), Status::kHashMismatch) << bit;
  }
}

TEST_P(PerMode, TruncatedAtEveryLengthIsTruncated) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Fixture f = make_signed(GetParam());
  for (std::size_t len = 0; len < f.image.size(); ++len) {
    const Bytes cut(f.image.begin(), f.image.begin() + static_cast<std::ptrdiff_t>(len));
    ASSERT_EQ(verify_status(cut, {f.key.public_key()}), Status::kTruncated) << len;
  }
}

TEST_P(PerMode, TrailingBytesAfterTheTlvAreaAreNotPartOfTheImage) {
  const Fixture f = make_signed(GetParam());
  Bytes padded = f.image;
  padded.resize(padded.size() + 100, 0xff);
  ImageInfo info;
  ASSERT_EQ(verify_status(padded, {f.key.public_key()}, &info), Status::kOk);
  EXPECT_EQ(info.total_size, f.image.size());
}

TEST_P(PerMode, AnyScratchSizeGivesTheSameVerdict) {
  const Fixture f = make_signed(GetParam(), 5000);
  for (std::size_t scratch : {64u, 65u, 1000u, 1u << 20}) {
    EXPECT_EQ(verify_status(f.image, {f.key.public_key()}, nullptr, scratch), Status::kOk);
  }
}

// ---- Malformed TLV areas ----------------------------------------------------------------------

struct Ed25519Image : ::testing::Test {
  Fixture f = make_signed(Mode::kEd25519);
  std::vector<PublicKey> keys = {f.key.public_key()};
  Layout layout() const {
    MemorySource s(f.image.data(), f.image.size());
    Layout l;
    EXPECT_EQ(parse_layout(s, &l), Status::kOk);
    return l;
  }
  Bytes unprotected_entries() const {
    const Layout l = layout();
    return Bytes(f.image.begin() + static_cast<std::ptrdiff_t>(l.unprotected_offset + 4),
                 f.image.begin() + static_cast<std::ptrdiff_t>(l.unprotected_end));
  }
};

TEST_F(Ed25519Image, OversizedTlvLengthIsOutOfBounds) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 3.5");
  Bytes entries = unprotected_entries();
  store_le16(entries.data() + 2, 0xffff);  // the SHA256 entry claims 64 KiB
  EXPECT_EQ(verify_status(with_unprotected(f.image, entries), keys), Status::kTlvOutOfBounds);
  entries = unprotected_entries();
  const std::size_t last = entries.size() - 64 - 4;  // the signature entry's header
  store_le16(entries.data() + last + 2, 65);         // one byte past the area's end
  EXPECT_EQ(verify_status(with_unprotected(f.image, entries), keys), Status::kTlvOutOfBounds);
}

TEST_F(Ed25519Image, AreaTotalsThatDisagreeWithTheEntriesAreRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 3.5");
  const Layout l = layout();
  Bytes bad = f.image;
  store_le16(bad.data() + l.unprotected_offset + 2,
             static_cast<std::uint16_t>(l.unprotected_end - l.unprotected_offset - 1));
  EXPECT_EQ(verify_status(bad, keys), Status::kTlvOutOfBounds);  // last entry overlaps the end
  store_le16(bad.data() + l.unprotected_offset + 2, 0xfff0);
  EXPECT_EQ(verify_status(bad, keys), Status::kTruncated);  // area longer than the file
  store_le16(bad.data() + l.unprotected_offset + 2, 3);
  EXPECT_EQ(verify_status(bad, keys), Status::kBadTlvInfo);  // shorter than its own info
  bad = f.image;
  store_le16(bad.data() + l.protected_offset + 2, 8);  // protected info disagrees with header
  EXPECT_EQ(verify_status(bad, keys), Status::kBadTlvInfo);
  bad = f.image;
  store_le16(bad.data() + 10, 2);  // protected size smaller than a TLV info
  EXPECT_EQ(verify_status(bad, keys), Status::kBadTlvInfo);
}

TEST_F(Ed25519Image, HugeSizesDoNotOverflow) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  Bytes bad = f.image;
  store_le32(bad.data() + 12, 0xffffffff);  // body size near 4 GiB
  EXPECT_EQ(verify_status(bad, keys), Status::kTruncated);
  store_le16(bad.data() + 8, 0xffff);
  store_le16(bad.data() + 10, 0xffff);
  EXPECT_EQ(verify_status(bad, keys), Status::kTruncated);
}

TEST_F(Ed25519Image, UnknownUnprotectedTlvIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4; CR 3.5");
  const Bytes extra = pattern(16);
  for (std::uint16_t type : {0x30, 0x20, 0x99, 0x00a0, 0x0003}) {
    EXPECT_EQ(verify_status(
                  with_unprotected(f.image, cat({unprotected_entries(), tlv(type, extra)})), keys),
              Status::kUnknownTlv)
        << type;
  }
}

TEST_F(Ed25519Image, UnknownProtectedTlvIsRefusedButVendorTlvIsCarried) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Layout l = layout();
  for (auto [type, want] : {std::pair{std::uint16_t{0x41}, Status::kUnknownTlv},
                            std::pair{std::uint16_t{0x00a0}, Status::kOk},
                            std::pair{std::uint16_t{0xfffe}, Status::kOk}}) {
    // Rebuild the protected area with the extra entry and re-sign, so only the type decides.
    Bytes hashed(f.image.begin(), f.image.begin() + static_cast<std::ptrdiff_t>(l.protected_end));
    const Bytes entry = tlv(type, pattern(8));
    hashed.insert(hashed.end(), entry.begin(), entry.end());
    const auto prot =
        static_cast<std::uint16_t>(l.protected_end - l.protected_offset + entry.size());
    store_le16(hashed.data() + 10, prot);
    store_le16(hashed.data() + l.protected_offset + 2, prot);
    Bytes image = hashed;
    Bytes info(4);
    const Bytes entries = signature_entries(hashed, f.key, Mode::kEd25519);
    store_le16(info.data(), kTlvInfoMagic);
    store_le16(info.data() + 2, static_cast<std::uint16_t>(4 + entries.size()));
    image = cat({image, info, entries});
    EXPECT_EQ(verify_status(image, keys), want) << type;
  }
}

TEST_F(Ed25519Image, DuplicateHashTlvIsRefused) {
  const Bytes entries = unprotected_entries();
  const Bytes hash_tlv(entries.begin(), entries.begin() + 36);
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({hash_tlv, entries})), keys),
            Status::kDuplicateTlv);
}

TEST_F(Ed25519Image, MissingHashAndMissingSignatureAreRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Bytes entries = unprotected_entries();
  EXPECT_EQ(
      verify_status(with_unprotected(f.image, Bytes(entries.begin() + 36, entries.end())), keys),
      Status::kMissingHash);
  EXPECT_EQ(
      verify_status(with_unprotected(f.image, Bytes(entries.begin(), entries.begin() + 36)), keys),
      Status::kMissingSignature);
}

TEST_F(Ed25519Image, Sha384IsUnsupported) {
  EXPECT_EQ(verify_status(with_unprotected(
                              f.image, cat({tlv(kTlvSha384, pattern(48)), unprotected_entries()})),
                          keys),
            Status::kUnsupportedHash);
}

TEST_F(Ed25519Image, SignatureWithoutAKeyTlvIsRefused) {
  const Bytes entries = unprotected_entries();
  // hash, signature (the KEYHASH removed)
  const Bytes no_key = cat({ByteView(entries).first(36), ByteView(entries).last(68)});
  EXPECT_EQ(verify_status(with_unprotected(f.image, no_key), keys), Status::kSignatureWithoutKey);
}

TEST_F(Ed25519Image, HeaderRefusals) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  Bytes bad = f.image;
  store_le32(bad.data(), kImageMagicV1);
  EXPECT_EQ(verify_status(bad, keys), Status::kBadMagic);
  bad = f.image;
  store_le16(bad.data() + 8, 31);
  EXPECT_EQ(verify_status(bad, keys), Status::kBadHeader);
  bad = f.image;
  store_le32(bad.data() + 16, kFlagEncryptedAes128);
  EXPECT_EQ(verify_status(bad, keys), Status::kUnsupportedFlags);
}

TEST_F(Ed25519Image, KeyHashOfTheWrongLengthIsRefused) {
  const Bytes entries = unprotected_entries();
  const Bytes hash_tlv(entries.begin(), entries.begin() + 36);
  const Bytes sig_tlv(entries.end() - 68, entries.end());
  const Bytes keyhash(entries.begin() + 40, entries.begin() + 72);
  // A prefix of the right key hash must not match (MCUboot compares only the TLV's length).
  EXPECT_EQ(
      verify_status(
          with_unprotected(f.image,
                           cat({hash_tlv, tlv(kTlvKeyHash, ByteView(keyhash).first(16)), sig_tlv})),
          keys),
      Status::kBadTlvLength);
}

TEST_F(Ed25519Image, PublicKeyTlvInsteadOfKeyHashIsAccepted) {
  const Bytes entries = unprotected_entries();
  const Bytes full =
      cat({ByteView(entries).first(36), tlv(kTlvPublicKey, f.key.public_key().spki_der()),
           ByteView(entries).last(68)});
  EXPECT_EQ(verify_status(with_unprotected(f.image, full), keys), Status::kOk);
  const PublicKey other = PrivateKey::generate(crypto::KeyType::kEd25519)->public_key();
  const Bytes wrong = cat({ByteView(entries).first(36), tlv(kTlvPublicKey, other.spki_der()),
                           ByteView(entries).last(68)});
  EXPECT_EQ(verify_status(with_unprotected(f.image, wrong), keys), Status::kUnknownKey);
}

// ---- The multiple-signature rule --------------------------------------------------------------

TEST_F(Ed25519Image, OneValidSignatureByATrustedKeySuffices) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  const Bytes hashed = hashed_region(f.image);
  auto untrusted = PrivateKey::generate(crypto::KeyType::kEd25519);
  auto second = PrivateKey::generate(crypto::KeyType::kEd25519);
  const Bytes good = signature_entries(hashed, f.key, Mode::kEd25519, false);
  const Bytes stranger = signature_entries(hashed, *untrusted, Mode::kEd25519, false);
  const Bytes all = unprotected_entries();
  const Bytes hash(all.begin(), all.begin() + 36);
  Bytes bad_trusted = signature_entries(hashed, *second, Mode::kEd25519, false);
  bad_trusted.back() ^= 1;  // trusted key, corrupted signature
  const std::vector<PublicKey> both = {f.key.public_key(), second->public_key()};

  // An untrusted signer's signature is skipped, whichever order.
  ImageInfo info;
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({hash, stranger, good})), keys, &info),
            Status::kOk);
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({hash, good, stranger})), keys),
            Status::kOk);
  // A trusted key's bad signature does not veto another trusted key's good one (rotation).
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({hash, bad_trusted, good})), both, &info),
            Status::kOk);
  EXPECT_EQ(info.key_index, 0u);
  // ... but alone it is a bad signature, and an untrusted one alone is an unknown key.
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({hash, bad_trusted})), both),
            Status::kBadSignature);
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({hash, stranger})), keys),
            Status::kUnknownKey);
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({hash, stranger, bad_trusted})), both),
            Status::kBadSignature);
}

TEST_F(Ed25519Image, TooManySignaturesAreRefused) {
  const Bytes entries = unprotected_entries();
  const Bytes pair = Bytes(entries.begin() + 36, entries.end());
  EXPECT_EQ(verify_status(with_unprotected(
                              f.image, cat({ByteView(entries).first(36), pair, pair, pair, pair})),
                          keys),
            Status::kOk);
  EXPECT_EQ(verify_status(with_unprotected(f.image, cat({ByteView(entries).first(36), pair, pair,
                                                         pair, pair, pair})),
                          keys),
            Status::kTooManyEntries);
}

TEST(ImageVerify, SignatureTypeMustMatchTheTrustedKeyType) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Fixture f = make_signed(Mode::kEd25519);
  auto ecdsa = PrivateKey::generate(crypto::KeyType::kEcdsaP256);
  // KEYHASH names the trusted ECDSA key, but the signature TLV claims Ed25519.
  const Bytes hashed = hashed_region(f.image);
  const Bytes digest = crypto::sha256(hashed);
  const Bytes entries = cat({tlv(kTlvSha256, digest),
                             tlv(kTlvKeyHash, crypto::sha256(ecdsa->public_key().spki_der())),
                             tlv(kTlvEd25519, *f.key.sign(digest))});
  EXPECT_EQ(verify_status(with_unprotected(f.image, entries), {ecdsa->public_key()}),
            Status::kKeyTypeMismatch);
}

TEST(ImageVerify, EcdsaSignatureZeroPaddingIsAcceptedOtherTrailingBytesAreNot) {
  const Fixture f = make_signed(Mode::kEcdsaP256);
  const Bytes hashed = hashed_region(f.image);
  const Bytes digest = crypto::sha256(hashed);
  const Bytes der = *f.key.sign(hashed);
  const Bytes keyhash = crypto::sha256(f.key.public_key().spki_der());
  auto with_sig = [&](const Bytes& sig) {
    return with_unprotected(
        f.image, cat({tlv(kTlvSha256, digest), tlv(kTlvKeyHash, keyhash), tlv(kTlvEcdsaSig, sig)}));
  };
  Bytes padded = der;
  padded.resize(72, 0);
  EXPECT_EQ(verify_status(with_sig(padded), {f.key.public_key()}), Status::kOk);
  if (der.size() < 72) {
    Bytes junk = der;
    junk.resize(72, 0);
    junk.back() = 1;
    EXPECT_EQ(verify_status(with_sig(junk), {f.key.public_key()}), Status::kBadSignature);
  }
}

TEST(ImageVerify, PureFlagWithEcdsaIsUnsupported) {
  const Fixture f = make_signed(Mode::kEcdsaP256);
  const Bytes hashed = hashed_region(f.image);
  const std::uint8_t one = 1;
  const Bytes entries =
      cat({tlv(kTlvSha256, crypto::sha256(hashed)), tlv(kTlvSigPure, ByteView(&one, 1)),
           tlv(kTlvKeyHash, crypto::sha256(f.key.public_key().spki_der())),
           tlv(kTlvEcdsaSig, *f.key.sign(hashed))});
  EXPECT_EQ(verify_status(with_unprotected(f.image, entries), {f.key.public_key()}),
            Status::kUnsupportedHash);
}

TEST(ImageVerify, FileSourceAgreesWithMemorySource) {
  const Fixture f = make_signed(Mode::kEd25519, 300000);
  ::ironseal::testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "img", f.image));
  auto info = verify_image_file(dir / "img", std::vector<PublicKey>{f.key.public_key()});
  ASSERT_TRUE(info) << info.error().message;
  Bytes bad = f.image;
  bad[1000] ^= 0x10;
  ASSERT_TRUE(write_file_atomic(dir / "bad", bad));
  auto refused = verify_image_file(dir / "bad", std::vector<PublicKey>{f.key.public_key()});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(refused.error().message.starts_with("hash_mismatch"));
}


// ---- The host verifier's reads (issue 13: speed of `image verify`) ---------------------------

// A FileSource that, like a driver with a maximum transfer size, refuses any single read longer
// than `max_read` (which makes the verifier fail with read_error), and records what it was asked.
class BoundedReadSource final : public ImageSource {
 public:
  BoundedReadSource(const ReadOnlyFile& file, std::size_t max_read)
      : file_(file), max_read_(max_read) {}
  std::uint64_t size() const override { return file_.size(); }
  bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) const override {
    longest_ = std::max(longest_, length);
    bytes_ += length;
    if (length > max_read_) return false;
    return file_.read_at(offset, std::span<std::uint8_t>(out, length));
  }
  std::size_t longest() const { return longest_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  const ReadOnlyFile& file_;
  std::size_t max_read_;
  mutable std::size_t longest_ = 0;
  mutable std::uint64_t bytes_ = 0;
};

constexpr std::size_t kL2Slice = 256 * 1024;

TEST(ImageVerify, HostVerifierReadsTheImageOnceInL2SizedSlices) {
  // The 1 MiB zero-filled scratch left the cache between the kernel's copy and the hash; the
  // host verifier now streams through 256 KiB and reads each hashed byte exactly once.
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Fixture f = make_signed(Mode::kEd25519, 3 * 1024 * 1024 + 123);
  ::ironseal::testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "img", f.image));
  auto file = ReadOnlyFile::open(dir / "img");
  ASSERT_TRUE(file);
  BoundedReadSource source(*file, kL2Slice);
  auto info = verify_image_source(source, std::vector<PublicKey>{f.key.public_key()});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->signature_kind, SignatureKind::kEd25519);
  EXPECT_LE(source.longest(), kL2Slice);
  // The hashed region once, plus the header and TLVs read while parsing (a few hundred bytes).
  EXPECT_GE(source.bytes(), info->protected_end);
  EXPECT_LT(source.bytes(), info->protected_end + 4096);
}

TEST(ImageVerify, HostVerifierRefusesTamperInAnySliceAsHashMismatch) {
  // Negative: a flipped byte in the first, a middle or the last slice of the hashed region is
  // hash_mismatch (kNotTrusted). Before issue 13 the 1 MiB reads were refused by this source
  // (read_error, kIo), so no slice past the first was ever proven by it.
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Fixture f = make_signed(Mode::kEd25519, 3 * 1024 * 1024 + 123);
  MemorySource whole(f.image.data(), f.image.size());
  Layout layout;
  ASSERT_EQ(parse_layout(whole, &layout), Status::kOk);
  ::ironseal::testing::TempDir dir;
  for (const std::uint64_t at :
       {std::uint64_t{100}, std::uint64_t{5 * kL2Slice + 7}, layout.protected_end - 1}) {
    Bytes bad = f.image;
    bad[at] ^= 0x01;
    ASSERT_TRUE(write_file_atomic(dir / "bad", bad));
    auto file = ReadOnlyFile::open(dir / "bad");
    ASSERT_TRUE(file);
    BoundedReadSource source(*file, kL2Slice);
    auto refused = verify_image_source(source, std::vector<PublicKey>{f.key.public_key()});
    ASSERT_FALSE(refused) << "tamper at " << at;
    EXPECT_EQ(refused.error().code, ErrorCode::kNotTrusted) << refused.error().message;
    EXPECT_TRUE(refused.error().message.starts_with("hash_mismatch")) << refused.error().message;
  }
}

// ---- A digest the caller computed (installers that read a slot back as they write it) -------

struct Prehashed : Ed25519Image {
  Status verify_with(const RegionDigest& digest, ImageInfo* info) {
    const auto trusted = to_trusted_keys(keys);
    OpenSslBackend backend;
    Bytes work(4096);
    MemorySource source(f.image.data(), f.image.size());
    return verify_image(VerifyRequest{&source, trusted.data(), 1, &backend, work.data(),
                                      work.size(), &digest},
                        info);
  }
  RegionDigest true_digest() const {
    RegionDigest d;
    d.kind = HashKind::kSha256;
    d.length = layout().protected_end;
    const Bytes h = crypto::sha256(hashed_region(f.image));
    std::copy(h.begin(), h.end(), d.digest);
    return d;
  }
};

TEST_F(Prehashed, TheRightDigestVerifies) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  ImageInfo info;
  ASSERT_EQ(verify_with(true_digest(), &info), Status::kOk);
}

TEST_F(Prehashed, AWrongDigestIsAHashMismatchEvenThoughTheImageIsIntact) {
  // Proves the digest is used (not recomputed): the bytes are fine, the supplied digest is not.
  IRONSEAL_REQUIREMENTS("CR 3.4");
  RegionDigest d = true_digest();
  d.digest[7] ^= 0x01;
  ImageInfo info;
  EXPECT_EQ(verify_with(d, &info), Status::kHashMismatch);
}

TEST_F(Prehashed, ADigestOfAnotherLengthOrKindIsIgnored) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  RegionDigest wrong_length = true_digest();
  wrong_length.length -= 1;
  std::fill(std::begin(wrong_length.digest), std::end(wrong_length.digest), 0);
  ImageInfo info;
  EXPECT_EQ(verify_with(wrong_length, &info), Status::kOk);  // hashed from the source instead
  RegionDigest wrong_kind = true_digest();
  wrong_kind.kind = HashKind::kSha512;
  std::fill(std::begin(wrong_kind.digest), std::end(wrong_kind.digest), 0);
  EXPECT_EQ(verify_with(wrong_kind, &info), Status::kOk);
}

TEST_F(Prehashed, TheRightDigestDoesNotRescueABadSignature) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const RegionDigest d = true_digest();
  const Layout l = layout();
  f.image[l.unprotected_end - 1] ^= 0x01;  // last byte of the signature TLV
  ImageInfo info;
  EXPECT_EQ(verify_with(d, &info), Status::kBadSignature);
}

}  // namespace
}  // namespace ironseal::image
