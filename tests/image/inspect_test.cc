// Structure without trust (image/inspect.h), what `image inspect` and `image chunk` read: the
// TLVs of a signed image with the values the format defines decoded, and where a damaged image
// stops being well-formed.
#include "image/inspect.h"

#include <gtest/gtest.h>

#include "core/file.h"
#include "image/image_test_util.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::image {
namespace {

using ironseal::testing::TempDir;

class Inspect : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& name, const Bytes& bytes) {
    const auto path = dir_ / name;
    EXPECT_TRUE(write_file_atomic(path, bytes));
    return path;
  }

  Bytes signed_image() {
    SignOptions o;
    o.version = Version{1, 2, 3, 4};
    o.security_counter = 7;
    o.dependencies = {Dependency{1, Version{2, 0, 0, 5}}};
    o.vendor_uuid = *parse_uuid("plc-maker.example", kUuidNamespaceDns);
    auto r = sign_image(testing::pattern(300), o, signer_);
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }

  TempDir dir_;
  crypto::PrivateKey key_ = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  crypto::KeyFileSigner signer_{key_};
};

TEST_F(Inspect, DecodesTheValuesTheFormatDefines) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto in = inspect_image_file(write("fw.img", signed_image()));
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_TRUE(in->well_formed());
  EXPECT_EQ(in->security_counter, std::optional<std::uint32_t>(7));
  bool dependency = false, vendor = false;
  for (const auto& t : in->tlvs) {
    if (t.entry.type == kTlvDependency) {
      ASSERT_TRUE(t.dependency);
      EXPECT_EQ(t.dependency->image_id, 1);
      EXPECT_EQ(format_version(t.dependency->min_version), "2.0.0+5");
      dependency = t.entry.is_protected;
    }
    if (t.entry.type == kTlvUuidVendor) vendor = t.uuid.has_value();
  }
  EXPECT_TRUE(dependency);
  EXPECT_TRUE(vendor);
}

TEST_F(Inspect, SaysWhereADamagedImageStopsBeingWellFormed) {
  IRONSEAL_REQUIREMENTS("CR 3.4;CR 3.5");
  Bytes image = signed_image();
  // Cut inside the unprotected TLV area: the layout is refused as truncated.
  const Bytes cut(image.begin(), image.end() - 10);
  auto truncated = inspect_image_file(write("cut.img", cut));
  ASSERT_TRUE(truncated);
  EXPECT_FALSE(truncated->well_formed());
  EXPECT_NE(truncated->layout_status, Status::kOk);
  EXPECT_TRUE(truncated->tlvs.empty());
  // Not an image at all.
  auto text = inspect_image_file(write("text.txt", Bytes(100, 'x')));
  ASSERT_TRUE(text);
  EXPECT_EQ(text->layout_status, Status::kBadMagic);
  // A file that is not there is an I/O error, not a verdict.
  auto missing = inspect_image_file(dir_ / "missing.img");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace ironseal::image
