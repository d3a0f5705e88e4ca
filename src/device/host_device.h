// A simulated device as the host uses it: flash, OTP, fault injector, OpenSSL backend and working
// memory bundled into one object, provisioning (what a factory does once), and the device
// directory that keeps a simulated device between commands (otp.bin, flash.img, device.json).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boot/boot.h"
#include "core/bytes.h"
#include "core/result.h"
#include "crypto/key.h"
#include "device/sim.h"
#include "image/host.h"
#include "image/sign.h"

namespace ironseal::tpm {
class Tpm;
}

namespace ironseal::boot {

struct DeviceConfig {
  std::uint32_t block_size = 4096;
  std::uint32_t page_size = 256;
  std::uint32_t stage2_size = 64 * 1024;
  std::uint32_t slot_size = 4 * 1024 * 1024;
  std::uint32_t config_size = 16 * 1024;
  std::uint8_t trial_attempts = 3;
  // Identity for updates: the director addresses the device by serial; images name the
  // hardware they are for (TUF target custom "hardware_id").
  std::string serial;
  std::string hardware_id;
  // TPM 2.0 (docs/tpm.md): `tpm` measures each boot into PCR 16 and allows quotes;
  // `tpm_counter` keeps the anti-rollback counter in a TPM NV counter instead of OTP fuses.
  bool tpm = false;
  bool tpm_counter = false;
  std::uint32_t tpm_counter_index = 0x01500010;
};

class HostDevice {
 public:
  // In-memory flash (tests), or kFile: flash to be attached with flash().attach_file().
  static Result<std::unique_ptr<HostDevice>> create(
      const DeviceConfig& config, SimFlash::Storage storage = SimFlash::Storage::kMemory);

  Device& device() { return device_; }
  const DeviceConfig& config() const { return config_; }
  const Geometry& geometry() const { return device_.geometry; }
  FaultInjector& faults() { return faults_; }
  SimFlash& flash() { return flash_; }
  SimOtp& otp() { return otp_; }
  image::OpenSslBackend& crypto() { return crypto_; }
  // The device's TPM when the configuration has one (load_device connects), else nullptr.
  const std::shared_ptr<tpm::Tpm>& tpm() const { return tpm_; }
  // Makes `counter` (kept alive by `owner`) the device's anti-rollback counter.
  void attach_tpm(std::shared_ptr<tpm::Tpm> tpm, std::shared_ptr<void> owner,
                  MonotonicCounter* counter);

 private:
  HostDevice(const DeviceConfig& config, const Geometry& g, SimFlash::Storage storage);
  DeviceConfig config_;
  FaultInjector faults_;
  SimFlash flash_;
  SimOtp otp_;
  image::OpenSslBackend crypto_;
  std::vector<std::uint8_t> scratch_;
  Device device_;
  std::shared_ptr<tpm::Tpm> tpm_;
  std::shared_ptr<void> counter_owner_;
};

struct Provisioning {
  std::vector<crypto::PublicKey> root_keys;  // fused in OTP (at most 4) and put in the key store
  Bytes stage2_image;                        // signed by a root key
  Bytes firmware_image;                      // signed by a root key; goes to slot A, confirmed
  std::optional<image::Uuid> vendor_uuid;    // hardware identity, fused when given
  std::optional<image::Uuid> class_uuid;
};

// The factory step: fuse keys and identity, lock the lifecycle to "secured", write key store,
// stage-2 and first firmware, and a boot state confirming slot A. Refuses images that would not
// boot on the device it is making.
Result<void> provision(HostDevice& device, const Provisioning& p);

// The device directory's files, named here and nowhere else.
struct DeviceFiles {
  std::filesystem::path description;      // device.json: the configuration (DeviceConfig)
  std::filesystem::path flash;            // flash.img
  std::filesystem::path otp;              // otp.bin
  std::filesystem::path attestation_key;  // ak.pub.pem: public attestation key (TPM devices)
  std::filesystem::path update_metadata;  // tuf/: trusted update metadata and its cache
  std::filesystem::path install_journal;  // install.journal: progress of a chunked install
};
DeviceFiles device_files(const std::filesystem::path& dir);
// True when `dir` holds a device (its device.json exists), whatever state it is in.
bool holds_device(const std::filesystem::path& dir);

// The device directory: device.json (configuration), otp.bin (fuses, saved by save_device) and
// flash.img (written through on every flash operation, so a killed process is a power cut).
// create_device_dir makes an erased, unfused device; load_device opens one.
Result<void> create_device_dir(const std::filesystem::path& dir, const DeviceConfig& config);
Result<std::unique_ptr<HostDevice>> load_device(const std::filesystem::path& dir);
Result<void> save_device(const std::filesystem::path& dir, HostDevice& device);

// After a power-on of a device with a TPM: resets PCR 16 (what the TPM reset of a real power-on
// does) and extends what this boot measured: the stage-2 measurement if stage-2 was trusted, then
// the boot measurement if an image runs; nothing after a power cut. A no-op without a TPM.
Result<void> measure_boot_into_tpm(HostDevice& device, const BootReport& report);

// Loads a slot's image into RAM, bounded by the slot size: the host runs exactly these bytes.
class RamLoader final : public SlotLoader {
 public:
  const image::ImageSource* load(SlotId slot, const image::ImageSource& on_flash) override;
  const Bytes& bytes() const { return bytes_; }

 private:
  Bytes bytes_;
  std::optional<image::MemorySource> source_;
};

}  // namespace ironseal::boot
