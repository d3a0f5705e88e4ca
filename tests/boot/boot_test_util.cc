#include "boot/boot_test_util.h"

#include "boot/otp_map.h"

namespace ironseal::boot::testing {

DeviceConfig small_config() {
  DeviceConfig c;
  c.block_size = 4096;
  c.page_size = 512;
  c.stage2_size = 4096;
  c.slot_size = 16 * 1024;
  c.config_size = 4096;
  c.trial_attempts = 2;
  return c;
}

void BootTest::SetUp() {
  image::SignOptions opt;
  opt.version = *image::parse_version("0.1.0");
  opt.header_size = 0x100;
  crypto::KeyFileSigner signer(root_);
  stage2_ = *image::sign_image(as_bytes("ironseal stage-2 (host simulation)"), opt, signer);
  v1_ = firmware("1.0.0", 1);
}

Bytes BootTest::firmware_with_body(const char* version, std::uint32_t security_counter,
                                   const Bytes& body) {
  image::SignOptions opt;
  opt.version = *image::parse_version(version);
  opt.security_counter = security_counter;
  opt.header_size = 0x100;
  opt.vendor_uuid = vendor_;
  opt.class_uuid = device_class_;
  crypto::KeyFileSigner signer(root_);
  auto image = image::sign_image(body, opt, signer);
  EXPECT_TRUE(image) << image.error().message;
  return *image;
}

Bytes BootTest::firmware(const char* version, std::uint32_t security_counter,
                         const crypto::PrivateKey* key, bool with_hardware_id) {
  image::SignOptions opt;
  opt.version = *image::parse_version(version);
  opt.security_counter = security_counter;
  opt.header_size = 0x100;
  if (with_hardware_id) {
    opt.vendor_uuid = vendor_;
    opt.class_uuid = device_class_;
  }
  // About 9 KiB over three blocks, different for every version.
  Bytes body(9000);
  for (std::size_t i = 0; i < body.size(); ++i) {
    body[i] = static_cast<std::uint8_t>(i * 13 + opt.version.major * 7 + opt.version.minor);
  }
  crypto::KeyFileSigner signer(key ? *key : root_);
  auto image = image::sign_image(body, opt, signer);
  EXPECT_TRUE(image) << image.error().message;
  return *image;
}

std::unique_ptr<HostDevice> BootTest::make_device(const DeviceConfig& config,
                                                  const Bytes* first_firmware) {
  auto hd = HostDevice::create(config);
  EXPECT_TRUE(hd);
  Provisioning p;
  p.root_keys = {root_.public_key()};
  p.stage2_image = stage2_;
  p.firmware_image = first_firmware ? *first_firmware : v1_;
  p.vendor_uuid = vendor_;
  p.class_uuid = device_class_;
  auto r = provision(**hd, p);
  EXPECT_TRUE(r) << r.error().message;
  return std::move(*hd);
}

BootStep boot_and_run(HostDevice& device) {
  BootStep step;
  step.outcome = power_on(device.device(), step.loader.get(), &step.report);
  if (step.outcome == BootOutcome::kTrial &&
      step.report.info.header.version.major != kUnhealthyMajor) {
    step.confirm = confirm(device.device(), step.report.slot);
    step.confirmed_now = step.confirm == ConfirmResult::kConfirmed;
  }
  return step;
}

std::uint32_t otp_counter(HostDevice& device) {
  std::uint32_t v = 0;
  EXPECT_TRUE(read_counter(device.otp(), &v));
  return v;
}

BootState state_of(HostDevice& device) {
  BootState s;
  bool found = false;
  EXPECT_TRUE(load_state(device.flash(), device.geometry(), &s, &found));
  EXPECT_TRUE(found);
  return s;
}

}  // namespace ironseal::boot::testing
