// Making a device directory a provisioned device (device/provisioning.h), as `device init`
// and the fleet simulator do: the result boots; an existing device is never overwritten; a
// failed provisioning leaves no half-made device behind, and nothing it did not create is touched.
#include <gtest/gtest.h>

#include <fstream>

#include "boot/boot_test_util.h"
#include "core/file.h"
#include "device/provisioning.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::boot {
namespace {

namespace fs = std::filesystem;
using ironseal::testing::TempDir;

class DeviceProvisioning : public testing::BootTest {
 protected:
  Provisioning provisioning(const Bytes& firmware) const {
    Provisioning p;
    p.root_keys = {root_.public_key()};
    p.stage2_image = stage2_;
    p.firmware_image = firmware;
    p.vendor_uuid = vendor_;
    p.class_uuid = device_class_;
    return p;
  }

  TempDir dir_;
};

TEST_F(DeviceProvisioning, MakesADeviceTheBootCoreRuns) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  const fs::path dir = dir_ / "dev";
  EXPECT_FALSE(holds_device(dir));
  auto hd = provision_device_dir(dir, testing::small_config(), provisioning(v1_));
  ASSERT_TRUE(hd) << hd.error().message;
  const DeviceFiles files = device_files(dir);
  EXPECT_TRUE(holds_device(dir));
  EXPECT_TRUE(fs::is_regular_file(files.flash));
  EXPECT_TRUE(fs::is_regular_file(files.otp));
  EXPECT_FALSE(fs::exists(files.attestation_key)) << "no TPM, no attestation key";
  auto loaded = load_device(dir);  // what was saved, not the object in memory
  ASSERT_TRUE(loaded) << loaded.error().message;
  const auto step = testing::boot_and_run(**loaded);
  EXPECT_EQ(step.outcome, BootOutcome::kBoot);
  EXPECT_EQ(version_of(step.report).major, 1);
}

TEST_F(DeviceProvisioning, RefusesADirectoryThatHoldsADevice) {
  IRONSEAL_REQUIREMENTS("EDR 3.14;CR 3.4");
  const fs::path dir = dir_ / "dev";
  ASSERT_TRUE(provision_device_dir(dir, testing::small_config(), provisioning(v1_)));
  const auto otp_before = read_file(device_files(dir).otp);
  ASSERT_TRUE(otp_before);
  auto again =
      provision_device_dir(dir, testing::small_config(), provisioning(firmware("2.0.0", 2)));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(again.error().message.ends_with("already holds a device; refusing to overwrite it"))
      << again.error().message;
  EXPECT_EQ(*read_file(device_files(dir).otp), *otp_before) << "the fuses were not touched";
  auto loaded = load_device(dir);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(version_of(testing::boot_and_run(**loaded).report).major, 1);
}

TEST_F(DeviceProvisioning, AFailedProvisioningLeavesNoHalfMadeDevice) {
  IRONSEAL_REQUIREMENTS("EDR 3.14;CR 3.4");
  // Firmware signed by a key the device does not trust: provisioning refuses to ship it.
  const auto stranger = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  const Bytes foreign = firmware("1.0.0", 1, &stranger);
  // In a directory that holds other files: exactly what provisioning created goes again.
  const fs::path shared = dir_ / "shared";
  fs::create_directories(shared);
  std::ofstream(shared / "notes.txt") << "not a device\n";
  auto r = provision_device_dir(shared, testing::small_config(), provisioning(foreign));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(r.error().message.starts_with("firmware image would not boot on this device"))
      << r.error().message;
  const DeviceFiles files = device_files(shared);
  EXPECT_FALSE(holds_device(shared));
  EXPECT_FALSE(fs::exists(files.flash));
  EXPECT_FALSE(fs::exists(files.otp));
  EXPECT_TRUE(fs::exists(shared / "notes.txt")) << "a file provisioning did not make stays";
  // In a directory of its own: the directory goes too.
  const fs::path own = dir_ / "own";
  ASSERT_FALSE(provision_device_dir(own, testing::small_config(), provisioning(foreign)));
  EXPECT_FALSE(fs::exists(own));
}

}  // namespace
}  // namespace ironseal::boot
