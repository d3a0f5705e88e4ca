// A provisioned simulated device with its keys and a factory of signed firmware images, for boot
// core tests. Firmware "health" is a property of the image: versions with major 9 fail their
// health check (they never confirm), like the demo runtime's failing test build.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "crypto/signer.h"
#include "device/host_device.h"

namespace ironseal::boot::testing {

inline constexpr std::uint8_t kUnhealthyMajor = 9;

DeviceConfig small_config();

class BootTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Signs firmware with the root key (or `key`), for this device's hardware identity.
  Bytes firmware(const char* version, std::uint32_t security_counter,
                 const crypto::PrivateKey* key = nullptr, bool with_hardware_id = true);
  // The same with a given body.
  Bytes firmware_with_body(const char* version, std::uint32_t security_counter, const Bytes& body);
  // A new, provisioned device running `v1` (1.0.0, security counter 1) confirmed in slot A.
  std::unique_ptr<HostDevice> make_device(const DeviceConfig& config = small_config(),
                                          const Bytes* first_firmware = nullptr);

  static image::Version version_of(const BootReport& r) { return r.info.header.version; }

  crypto::PrivateKey root_ = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  image::Uuid vendor_ = *image::parse_uuid("plc-maker.example", image::kUuidNamespaceDns);
  image::Uuid device_class_ = *image::parse_uuid("controller-x1", vendor_);
  Bytes stage2_;
  Bytes v1_;
};

// Boots once, and plays the firmware: a healthy image on trial confirms itself.
struct BootStep {
  std::unique_ptr<RamLoader> loader = std::make_unique<RamLoader>();  // owns report.image's bytes
  BootOutcome outcome;
  BootReport report;
  ConfirmResult confirm = ConfirmResult::kNotRunning;
  bool confirmed_now = false;
};
BootStep boot_and_run(HostDevice& device);

std::uint32_t otp_counter(HostDevice& device);
BootState state_of(HostDevice& device);

}  // namespace ironseal::boot::testing
