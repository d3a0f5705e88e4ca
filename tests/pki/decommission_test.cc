// The device's end of life on the library level (pki::decommission_device): a real provisioned
// and enrolled device directory is decommissioned; the record is signed before anything is wiped,
// keys and configuration are gone afterwards, the lifecycle fuse is set; a run cut after the key
// was wiped finishes only with the device's own record; without a key nothing is touched.
#include "device/decommission.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <fstream>

#include "boot/boot_test_util.h"
#include "boot/otp_map.h"
#include "core/file.h"
#include "device/factory.h"
#include "device/identity.h"
#include "device/provisioning.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::pki {
namespace {

namespace fs = std::filesystem;
using ironseal::testing::TempDir;

UnixTime now() {
  return static_cast<UnixTime>(std::time(nullptr));
}

class Decommission : public boot::testing::BootTest {
 protected:
  void SetUp() override {
    BootTest::SetUp();
    CaInitOptions o;
    o.now = now();
    ASSERT_TRUE(CertificateAuthority::init(dir_ / "ca", o));
    auto ca = CertificateAuthority::open(dir_ / "ca");
    ASSERT_TRUE(ca);
    ca_.emplace(std::move(*ca));
    auto rec = ManufacturingRecord::open(dir_ / "mfg.sqlite", true);
    ASSERT_TRUE(rec);
    record_.emplace(std::move(*rec));
  }

  // A provisioned device directory; enrolled (key, certificate, chain, anchors) when asked.
  fs::path device(const std::string& serial, bool enrolled) {
    const fs::path d = dir_ / serial;
    boot::DeviceConfig config = boot::testing::small_config();
    config.serial = serial;
    config.hardware_id = "plc-x1";
    boot::Provisioning p;
    p.root_keys = {root_.public_key()};
    p.stage2_image = stage2_;
    p.firmware_image = v1_;
    p.vendor_uuid = vendor_;
    p.class_uuid = device_class_;
    auto hd = boot::provision_device_dir(d, config, p);
    EXPECT_TRUE(hd) << hd.error().message;
    if (enrolled) {
      EXPECT_TRUE(provision_key(d, KeyBackend::kFile));
      auto e = factory_enroll(*ca_, *record_, d, now());
      EXPECT_TRUE(e) << e.error().message;
    }
    return d;
  }

  static boot::Lifecycle lifecycle(const fs::path& d) {
    auto hd = boot::load_device(d);
    EXPECT_TRUE(hd);
    boot::Lifecycle l{};
    EXPECT_TRUE(boot::read_lifecycle((*hd)->otp(), &l));
    return l;
  }

  TempDir dir_;
  std::optional<CertificateAuthority> ca_;
  std::optional<ManufacturingRecord> record_;
};

TEST_F(Decommission, SignsTheRecordWipesKeysAndConfigurationAndFusesTheLifecycle) {
  IRONSEAL_REQUIREMENTS("CR 1.5;CR 2.12");
  const fs::path d = device("SN-1", true);
  const boot::DeviceFiles files = boot::device_files(d);
  fs::create_directories(files.update_metadata / "image");
  std::ofstream(files.update_metadata / "image" / "root.json") << "{}";
  std::ofstream(files.install_journal) << "j";
  ASSERT_TRUE(refuse_decommissioned(d));
  auto done = decommission_device(d, {dir_ / "record.json", now()});
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(done->record_signed);
  EXPECT_FALSE(done->resumed);
  const std::vector<std::string> wiped{"device key", "identity/ (4 files)", "tuf/ (1 files)",
                                       "install.journal", "flash configuration region"};
  EXPECT_EQ(done->wiped, wiped);
  EXPECT_FALSE(fs::exists(identity_paths(d).dir));
  EXPECT_FALSE(fs::exists(files.update_metadata));
  EXPECT_FALSE(fs::exists(files.install_journal));
  EXPECT_TRUE(fs::exists(files.description)) << "the simulated hardware stays";
  EXPECT_EQ(lifecycle(d), boot::Lifecycle::kDecommissioned);
  // The configuration region is erased flash.
  auto hd = boot::load_device(d);
  ASSERT_TRUE(hd);
  const auto& g = (*hd)->geometry();
  std::vector<std::uint8_t> config(g.config_size);
  ASSERT_TRUE((*hd)->flash().read(g.config_offset, config.data(), g.config_size));
  EXPECT_TRUE(std::all_of(config.begin(), config.end(), [](std::uint8_t b) { return b == 0xff; }));
  // The record is the device's own, and the CA turns it into a revocation.
  auto text = read_file(dir_ / "record.json");
  ASSERT_TRUE(text);
  const std::string_view record(reinterpret_cast<const char*>(text->data()), text->size());
  auto claim = verify_decommission_record(record);
  ASSERT_TRUE(claim) << claim.error().message;
  EXPECT_EQ(claim->device.serial, "SN-1");
  EXPECT_TRUE(ingest_decommission(*ca_, record, now()));
  // And the device is never given an identity again.
  auto refused = refuse_decommissioned(d);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(refused.error().message.starts_with("decommissioned: ")) << refused.error().message;
}

TEST_F(Decommission, AResumedRunFinishesOnlyWithTheDevicesOwnRecord) {
  IRONSEAL_REQUIREMENTS("CR 1.5;CR 2.12");
  const fs::path other = device("SN-2", true);
  ASSERT_TRUE(decommission_device(other, {dir_ / "other.json", now()}));
  const fs::path d = device("SN-3", true);
  const auto otp_before = read_file(boot::device_files(d).otp);
  ASSERT_TRUE(otp_before);
  ASSERT_TRUE(decommission_device(d, {dir_ / "own.json", now()}));
  // As if the power was cut after the key was wiped, before the lifecycle fuse.
  ASSERT_TRUE(write_file_atomic(boot::device_files(d).otp, *otp_before));
  ASSERT_NE(lifecycle(d), boot::Lifecycle::kDecommissioned);
  auto foreign = decommission_device(d, {dir_ / "other.json", now()});
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ErrorCode::kNotTrusted);
  EXPECT_NE(foreign.error().message.find("is not this device's decommission record"),
            std::string::npos)
      << foreign.error().message;
  EXPECT_NE(lifecycle(d), boot::Lifecycle::kDecommissioned) << "refused before fusing";
  auto resumed = decommission_device(d, {dir_ / "own.json", now()});
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_TRUE(resumed->resumed);
  EXPECT_TRUE(resumed->record_signed);
  EXPECT_EQ(lifecycle(d), boot::Lifecycle::kDecommissioned);
}

TEST_F(Decommission, WithoutAKeyNothingIsWipedUnlessNoRecordIsAskedFor) {
  IRONSEAL_REQUIREMENTS("CR 1.5");
  const fs::path d = device("SN-4", false);
  std::ofstream(boot::device_files(d).install_journal) << "j";
  // A record needs the device key: refused before anything is wiped or fused.
  auto r = decommission_device(d, {dir_ / "record.json", now()});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(r.error().message.starts_with("no device key in ")) << r.error().message;
  EXPECT_TRUE(fs::exists(boot::device_files(d).install_journal));
  EXPECT_FALSE(fs::exists(dir_ / "record.json"));
  EXPECT_NE(lifecycle(d), boot::Lifecycle::kDecommissioned);
  // A device that was never enrolled: wipe and fuse only.
  auto plain = decommission_device(d, {std::nullopt, now()});
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(plain->record_signed);
  const std::vector<std::string> wiped{"install.journal", "flash configuration region"};
  EXPECT_EQ(plain->wiped, wiped);
  EXPECT_EQ(lifecycle(d), boot::Lifecycle::kDecommissioned);
  // Not a device directory at all.
  auto none = decommission_device(dir_ / "nothing", {std::nullopt, now()});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace ironseal::pki
