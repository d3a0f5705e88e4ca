// Image signing options: versions, slots, padding, refusals.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/file.h"
#include "image/image_test_util.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::image {
namespace {

using crypto::PrivateKey;

TEST(Version, ParsesAndRefuses) {
  auto v = parse_version("1.2.3+4");
  ASSERT_TRUE(v);
  EXPECT_EQ(format_version(*v), "1.2.3+4");
  EXPECT_EQ(format_version(*parse_version("255.255.65535+4294967295")), "255.255.65535+4294967295");
  EXPECT_EQ(format_version(*parse_version("2.0")), "2.0.0+0");
  for (const char* bad : {"", "1", "256.0.0", "1.256.0", "1.2.65536", "1.2.3+4294967296", "1.2.3.4",
                          "a.b.c", "1..3", "1.2.3+", "-1.2.3", "1.2.3 "}) {
    auto r = parse_version(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST(Version, OrdersLikeMcuboot) {
  EXPECT_LT(compare_versions(*parse_version("1.2.3+4"), *parse_version("1.2.4+0")), 0);
  EXPECT_GT(compare_versions(*parse_version("2.0.0"), *parse_version("1.255.65535+9")), 0);
  EXPECT_EQ(compare_versions(*parse_version("1.2.3+4"), *parse_version("1.2.3+4")), 0);
}

class SignOptionsTest : public ::testing::Test {
 protected:
  PrivateKey key = *PrivateKey::generate(crypto::KeyType::kEd25519);
  crypto::KeyFileSigner signer{key};
  SignOptions opt = [] {
    SignOptions o;
    o.version = Version{1, 0, 0, 0};
    o.security_counter = 3;
    return o;
  }();
};

TEST_F(SignOptionsTest, ImageThatDoesNotFitTheSlotIsRefused) {
  opt.slot_size = 1024;
  auto r = sign_image(testing::pattern(2000), opt, signer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  // With --pad the trailer must fit as well.
  opt.slot_size = 0x200 + 100 + 200;
  opt.pad = true;
  r = sign_image(testing::pattern(100), opt, signer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SignOptionsTest, PadFillsTheSlotAndEndsWithTheBootMagic) {
  opt.slot_size = 0x4000;
  opt.pad = true;
  auto r = sign_image(testing::pattern(100), opt, signer);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 0x4000u);
  EXPECT_TRUE(std::equal(std::begin(kBootMagic), std::end(kBootMagic), r->end() - 16));
  ImageInfo info;
  ASSERT_EQ(testing::verify_status(*r, {key.public_key()}, &info), Status::kOk);
  EXPECT_TRUE(std::all_of(r->begin() + static_cast<std::ptrdiff_t>(info.total_size), r->end() - 16,
                          [](std::uint8_t b) { return b == 0xff; }));
}

TEST_F(SignOptionsTest, PureNeedsEd25519AndPadNeedsASlot) {
  auto ecdsa = *PrivateKey::generate(crypto::KeyType::kEcdsaP256);
  crypto::KeyFileSigner ecdsa_signer(ecdsa);
  opt.pure = true;
  EXPECT_EQ(sign_image(testing::pattern(10), opt, ecdsa_signer).error().code,
            ErrorCode::kInvalidArgument);
  opt.pure = false;
  opt.pad = true;
  EXPECT_EQ(sign_image(testing::pattern(10), opt, signer).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(SignOptionsTest, HeaderSmallerThanTheFixedFieldsIsRefused) {
  opt.header_size = 16;
  EXPECT_EQ(sign_image(testing::pattern(10), opt, signer).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(SignOptionsTest, DependenciesAndLoadAddressRoundTrip) {
  opt.dependencies = {Dependency{1, Version{2, 0, 0, 0}}, Dependency{3, Version{0, 1, 2, 3}}};
  opt.load_address = 0x10000000;
  auto r = sign_image(testing::pattern(10), opt, signer);
  ASSERT_TRUE(r);
  ImageInfo info;
  ASSERT_EQ(testing::verify_status(*r, {key.public_key()}, &info), Status::kOk);
  ASSERT_EQ(info.dependency_count, 2u);
  EXPECT_EQ(info.dependencies[1].image_id, 3);
  EXPECT_EQ(info.dependencies[1].min_version.build, 3u);
  EXPECT_EQ(info.header.flags, kFlagRamLoad);
  EXPECT_EQ(info.header.load_address, 0x10000000u);
}

TEST_F(SignOptionsTest, StreamedFileSigningWritesTheSameBytesAsInMemorySigning) {
  IRONSEAL_REQUIREMENTS("CR 3.4; SM-6");
  // Ed25519 over the digest streams; its output must be byte for byte what the in-memory path
  // (itself checked against imgtool) produces, padded or not.
  ::ironseal::testing::TempDir dir;
  const Bytes fw = testing::pattern(3 * 1024 * 1024 + 17);
  ASSERT_TRUE(write_file_atomic(dir / "fw.bin", fw));
  ASSERT_TRUE(sign_streams(opt, signer));
  for (bool pad : {false, true}) {
    opt.pad = pad;
    opt.slot_size = pad ? std::optional<std::uint32_t>(4 * 1024 * 1024) : std::nullopt;
    auto info = sign_image_file(dir / "fw.bin", dir / "fw.img", opt, signer);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->security_counter, 3u);
    auto expected = sign_image(fw, opt, signer);
    ASSERT_TRUE(expected);
    EXPECT_EQ(*read_file(dir / "fw.img"), *expected) << "pad " << pad;
  }
}

TEST_F(SignOptionsTest, EcdsaAndPureFileSigningVerify) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  ::ironseal::testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "fw.bin", testing::pattern(70000)));
  crypto::KeyFileSigner ecdsa{*PrivateKey::generate(crypto::KeyType::kEcdsaP256)};
  EXPECT_FALSE(sign_streams(opt, ecdsa));
  auto e = sign_image_file(dir / "fw.bin", dir / "ec.img", opt, ecdsa);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->signature_kind, SignatureKind::kEcdsaP256);
  opt.pure = true;
  EXPECT_FALSE(sign_streams(opt, signer));
  auto p = sign_image_file(dir / "fw.bin", dir / "pure.img", opt, signer);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->signature_kind, SignatureKind::kEd25519Pure);
}

TEST_F(SignOptionsTest, OversizedOrUnfittingFirmwareIsRefusedBeforeItIsRead) {
  IRONSEAL_REQUIREMENTS("CR 3.5; CR 7.2");
  ::ironseal::testing::TempDir dir;
  // A sparse file over the format's 32-bit limit: refused by size, so no memory and no time.
  const auto huge = dir / "huge.bin";
  ASSERT_TRUE(write_file_atomic(huge, Bytes{0}));
  std::filesystem::resize_file(huge, std::uint64_t{4} << 30);
  auto r = sign_image_file(huge, dir / "huge.img", opt, signer);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("too_large"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(std::to_string(max_firmware_size(opt.header_size))),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "huge.img"));
  // Over the slot: refused before reading as well, and no half-written output remains.
  ASSERT_TRUE(write_file_atomic(dir / "fw.bin", testing::pattern(5000)));
  opt.slot_size = 4096;
  r = sign_image_file(dir / "fw.bin", dir / "fw.img", opt, signer);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("too_large"), std::string::npos);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            2);  // huge.bin and fw.bin: no temporary file left behind
}

}  // namespace
}  // namespace ironseal::image
