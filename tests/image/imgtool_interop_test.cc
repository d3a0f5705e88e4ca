// Interoperability with MCUboot's imgtool, both ways, on committed fixtures
// (tests/fixtures/imgtool/README.md has the commands that made them):
//  - every imgtool-signed image verifies here, with the fields imgtool put in;
//  - ironseal signs the same firmware with the same key and options into the *same bytes*
//    (Ed25519 is deterministic), so imgtool's verify accepts ours by construction. The live check
//    with imgtool itself is tests/interop/imgtool_verify.sh.
#include <gtest/gtest.h>

#include "core/file.h"
#include "image/image_test_util.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::image {
namespace {

using crypto::PrivateKey;
using crypto::PublicKey;
using ::ironseal::testing::read_fixture;

PublicKey fixture_public(const std::string& name) {
  auto key = PublicKey::load(::ironseal::testing::fixture("imgtool/" + name));
  EXPECT_TRUE(key) << key.error().message;
  return *key;
}

// Loads a committed test key without the 0600 check (git does not keep file modes).
PrivateKey fixture_private(const std::string& name) {
  const Bytes pem = read_fixture("imgtool/" + name);
  auto key =
      PrivateKey::from_pem(std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
  EXPECT_TRUE(key) << key.error().message;
  return *key;
}

struct Expectation {
  const char* image;
  const char* key;
  SignatureKind signature;
};

TEST(ImgtoolInterop, ImgtoolSignedImagesVerify) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  const Expectation cases[] = {
      {"imgtool-ed25519.img", "test-key-ed25519.pub.pem", SignatureKind::kEd25519},
      {"imgtool-ed25519-pure.img", "test-key-ed25519.pub.pem", SignatureKind::kEd25519Pure},
      {"imgtool-ecdsa-p256.img", "test-key-ecdsa-p256.pub.pem", SignatureKind::kEcdsaP256},
      {"imgtool-ed25519-deps.img", "test-key-ed25519.pub.pem", SignatureKind::kEd25519},
      {"imgtool-ed25519-padded.img", "test-key-ed25519.pub.pem", SignatureKind::kEd25519},
      {"imgtool-ed25519-ramload.img", "test-key-ed25519.pub.pem", SignatureKind::kEd25519},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.image);
    const Bytes image = read_fixture(std::string("imgtool/") + c.image);
    ImageInfo info;
    ASSERT_EQ(testing::verify_status(image, {fixture_public(c.key)}, &info), Status::kOk);
    EXPECT_EQ(info.signature_kind, c.signature);
    EXPECT_EQ(info.header.version.major, 1);
    EXPECT_EQ(info.header.version.minor, 2);
    EXPECT_EQ(info.header.version.revision, 3);
    EXPECT_EQ(info.header.version.build, 4u);
    EXPECT_EQ(info.security_counter, 7u);
    EXPECT_EQ(info.header.image_size, 3000u);
    // The wrong key is an unknown key, never a pass.
    EXPECT_EQ(testing::verify_status(image, {fixture_public("test-key-ed25519-unrelated.pub.pem")}),
              Status::kUnknownKey);
  }
}

TEST(ImgtoolInterop, DependencyAndUuidTlvsAreRead) {
  ImageInfo info;
  ASSERT_EQ(testing::verify_status(read_fixture("imgtool/imgtool-ed25519-deps.img"),
                                   {fixture_public("test-key-ed25519.pub.pem")}, &info),
            Status::kOk);
  ASSERT_EQ(info.dependency_count, 1u);
  EXPECT_EQ(info.dependencies[0].image_id, 1);
  EXPECT_EQ(info.dependencies[0].min_version.major, 2);
  EXPECT_TRUE(info.has_vendor_uuid);
  EXPECT_TRUE(info.has_class_uuid);
}

TEST(ImgtoolInterop, RamLoadImageCarriesItsAddressAndFlag) {
  ImageInfo info;
  ASSERT_EQ(testing::verify_status(read_fixture("imgtool/imgtool-ed25519-ramload.img"),
                                   {fixture_public("test-key-ed25519.pub.pem")}, &info),
            Status::kOk);
  EXPECT_EQ(info.header.load_address, 0x20000000u);
  EXPECT_EQ(info.header.flags, kFlagRamLoad);
}

struct SameBytesCase {
  const char* image;
  bool pure;
  std::optional<std::uint32_t> slot;
  std::uint32_t load_address;
};

TEST(ImgtoolInterop, IronsealSignsTheSameBytesAsImgtool) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  const Bytes firmware = read_fixture("imgtool/firmware.bin");
  crypto::KeyFileSigner signer(fixture_private("test-key-ed25519.pem"));
  const SameBytesCase cases[] = {
      {"imgtool-ed25519.img", false, std::nullopt, 0},
      {"imgtool-ed25519-pure.img", true, std::nullopt, 0},
      {"imgtool-ed25519-padded.img", false, 0x10000, 0},
      {"imgtool-ed25519-ramload.img", false, std::nullopt, 0x20000000},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.image);
    SignOptions opt;
    opt.version = *parse_version("1.2.3+4");
    opt.security_counter = 7;
    opt.header_size = 0x200;
    opt.pure = c.pure;
    opt.slot_size = c.slot;
    opt.pad = c.slot.has_value();
    opt.load_address = c.load_address;
    auto ours = sign_image(firmware, opt, signer);
    ASSERT_TRUE(ours) << ours.error().message;
    const Bytes theirs = read_fixture(std::string("imgtool/") + c.image);
    ASSERT_EQ(ours->size(), theirs.size());
    EXPECT_TRUE(*ours == theirs)
        << "first difference at byte "
        << (std::mismatch(ours->begin(), ours->end(), theirs.begin()).first - ours->begin());
  }
}

TEST(ImgtoolInterop, DependencyAndUuidNamesGiveImgtoolsBytes) {
  // imgtool --dependencies "(1,2.0.0+0)" --vid example.com --cid ironseal-test-fw
  const Bytes firmware = read_fixture("imgtool/firmware.bin");
  crypto::KeyFileSigner signer(fixture_private("test-key-ed25519.pem"));
  SignOptions opt;
  opt.version = *parse_version("1.2.3+4");
  opt.security_counter = 7;
  opt.dependencies = {Dependency{1, *parse_version("2.0.0+0")}};
  opt.vendor_uuid = *parse_uuid("example.com", kUuidNamespaceDns);
  opt.class_uuid = *parse_uuid("ironseal-test-fw", *opt.vendor_uuid);
  auto ours = sign_image(firmware, opt, signer);
  ASSERT_TRUE(ours) << ours.error().message;
  EXPECT_TRUE(*ours == read_fixture("imgtool/imgtool-ed25519-deps.img"));
}

TEST(Uuid, ParsesRawFormsAndNames) {
  const Uuid raw = *parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8", kUuidNamespaceDns);
  EXPECT_EQ(raw, kUuidNamespaceDns);
  EXPECT_EQ(*parse_uuid("6ba7b8109dad11d180b400c04fd430c8", kUuidNamespaceDns), kUuidNamespaceDns);
  // RFC 4122 / Python: uuid5(NAMESPACE_DNS, "python.org") = 886313e1-3b8a-5372-9b90-0c9aee199e5d
  const Uuid named = *parse_uuid("python.org", kUuidNamespaceDns);
  std::uint8_t raw_named[16];
  std::copy(named.begin(), named.end(), raw_named);
  EXPECT_EQ(format_uuid(raw_named), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_FALSE(parse_uuid("", kUuidNamespaceDns));
  EXPECT_FALSE(parse_uuid("tab\tname", kUuidNamespaceDns));
}

TEST(ImgtoolInterop, EcdsaImageSignedHereHasImgtoolsLayout) {
  // ECDSA signatures are randomised, so compare everything but the signature TLV.
  const Bytes firmware = read_fixture("imgtool/firmware.bin");
  crypto::KeyFileSigner signer(fixture_private("test-key-ecdsa-p256.pem"));
  SignOptions opt;
  opt.version = *parse_version("1.2.3+4");
  opt.security_counter = 7;
  auto ours = sign_image(firmware, opt, signer);
  ASSERT_TRUE(ours);
  const Bytes theirs = read_fixture("imgtool/imgtool-ecdsa-p256.img");
  // theirs: [hashed region][info][SHA256 36][KEYHASH 36][ECDSA 4+72]; the info's total and the
  // signature differ with the DER length, everything else must be identical.
  const std::size_t hashed_end = theirs.size() - 76 - 76;
  ASSERT_GE(ours->size(), hashed_end + 76);
  auto same = [&](std::size_t from, std::size_t to) {
    return std::equal(theirs.begin() + static_cast<std::ptrdiff_t>(from),
                      theirs.begin() + static_cast<std::ptrdiff_t>(to),
                      ours->begin() + static_cast<std::ptrdiff_t>(from));
  };
  EXPECT_TRUE(same(0, hashed_end));
  EXPECT_TRUE(same(hashed_end + 4, hashed_end + 76));
  EXPECT_EQ(testing::verify_status(*ours, {fixture_public("test-key-ecdsa-p256.pub.pem")}),
            Status::kOk);
}

}  // namespace
}  // namespace ironseal::image
