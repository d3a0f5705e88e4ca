// The boot core: one power-on of a device (ROM stage, then stage-2), installing an image into the
// inactive slot, and confirming a trial. One state machine (docs/boot-chain.md, "State machine"),
// used by the simulated device on the host and by the Cortex-M33 bootloader.
//
// Power-on, in order:
//   1. ROM: load the trust anchors (key store keys whose hash is fused in OTP) and verify the
//      stage-2 image against them. Untrusted stage-2: recovery, nothing runs.
//   2. Stage-2: read the boot state. A pending slot with attempts left is verified and booted as a
//      trial (one attempt is used, and written down, before it runs). Attempts exhausted: revert.
//      Pending image invalid: revert. Otherwise the confirmed (primary) slot is verified and
//      booted, and the OTP anti-rollback counter is raised to its security counter. A primary that
//      fails verification makes stage-2 fall back to the other slot if that verifies.
//   3. Every image is checked for: signature by an anchor key, fit in its slot, security counter
//      >= OTP counter, hardware identity (vendor and class UUID TLVs) if the device has one fused.
//   4. A measured-boot digest chains the stage-2 digest and the decision with the image digest.
//
// Every flash or OTP write can fail (power cut): the function returns kPowerLost at once, and the
// next power-on finds the last good state (boot_state.h).
//
// Portable: no heap, no exceptions, no OS calls.
#pragma once

#include <cstddef>
#include <cstdint>

#include "boot/boot_state.h"
#include "boot/hal.h"
#include "boot/keystore.h"
#include "boot/layout.h"
#include "image/verify.h"

namespace ironseal::boot {

// Why an image is refused: image::Status values (below 0x40) or one of these device checks.
enum Check : std::uint8_t {
  kCheckOk = 0,
  kCheckRolledBack = 0x40,      // security counter below the OTP counter (downgrade)
  kCheckWrongHardware = 0x41,   // vendor/class UUID missing or not this device's
  kCheckTooLarge = 0x42,        // image (with its TLVs) does not fit its slot
  kCheckNoCounter = 0x43,       // image carries no security counter TLV
  kCheckNoAnchors = 0x44,       // no key in the store is fused in OTP: nothing can be trusted
  kCheckDecommissioned = 0x45,  // lifecycle says the device must not boot
  kCheckBadSlot = 0x46,         // the slot is marked bad in the boot state
};
const char* check_name(std::uint8_t check);

// An ImageSource over a region of flash.
class FlashRegion final : public image::ImageSource {
 public:
  FlashRegion() = default;
  FlashRegion(const Flash& flash, std::uint32_t offset, std::uint32_t size)
      : flash_(&flash), offset_(offset), size_(size) {}
  std::uint64_t size() const override { return size_; }
  bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) const override;

 private:
  const Flash* flash_ = nullptr;
  std::uint32_t offset_ = 0;
  std::uint32_t size_ = 0;
};

// Erases the blocks [offset, offset + length) covers (offset block-aligned) and programs `data`,
// one block at a time (erase it, then program its pages), skipping pages that are all 0xff
// (programming erased bytes changes nothing).
// False as soon as a flash operation fails (power cut).
bool write_erased_region(Flash& flash, std::uint32_t offset, const std::uint8_t* data,
                         std::uint32_t length);

// Supplies the bytes of a slot to verify and to run. The default (nullptr loader) verifies flash
// in place, as an execute-in-place MCU runs it. The host loads the image into RAM and returns
// that copy, so the bytes verified are exactly the bytes it executes (never re-read from flash).
class SlotLoader {
 public:
  virtual const image::ImageSource* load(SlotId slot, const image::ImageSource& on_flash) = 0;

 protected:
  ~SlotLoader() = default;
};

struct Device {
  Flash* flash = nullptr;
  Otp* otp = nullptr;
  image::CryptoBackend* crypto = nullptr;
  Geometry geometry;
  std::uint8_t* scratch = nullptr;  // >= 2 * flash page size and >= 64 bytes
  std::size_t scratch_size = 0;
  // The anti-rollback counter: nullptr means the thermometer counter in OTP.
  MonotonicCounter* counter = nullptr;
};

// The device's anti-rollback counter, wherever it lives (Device::counter, else OTP).
bool read_rollback_counter(const Device& device, std::uint32_t* value);
bool advance_rollback_counter(Device& device, std::uint32_t target);

enum class BootOutcome : std::uint8_t {
  kBoot,       // run the confirmed image
  kTrial,      // run a pending image on trial
  kRecovery,   // nothing verifiable to run; `reason` says why
  kPowerLost,  // a write failed: power was cut
};

struct BootReport {
  BootOutcome outcome = BootOutcome::kRecovery;
  SlotId slot = SlotId::kA;
  image::ImageInfo info;                               // of the image to run
  const image::ImageSource* image = nullptr;           // the verified bytes to run
  BootEvent event = BootEvent::kNone;                  // what this power-on changed
  std::uint8_t reason = kCheckOk;                      // why a slot was refused (the last refusal)
  std::uint8_t slot_reason[2] = {kCheckOk, kCheckOk};  // why each slot was refused, this power-on
  bool stage2_trusted = false;
  std::uint8_t stage2_measurement[32] = {};  // SHA-256(zeros || stage-2 image digest)
  std::uint8_t measurement[32] =
      {};                         // SHA-256(stage-2 measurement || slot || trial || image digest)
  std::uint32_t otp_counter = 0;  // the anti-rollback counter (OTP or Device::counter) after boot
  BootState state;                // after this boot
  FlashRegion flash_image;        // storage for `image` when it is verified in place
};

BootOutcome power_on(Device& device, SlotLoader* loader, BootReport* report);

// Checks an image for this device without touching flash: trust, fit, counter, hardware.
// `prehashed`: see image::RegionDigest (a digest the caller computed from these same bytes).
std::uint8_t check_image(Device& device, const TrustAnchors& anchors,
                         const image::ImageSource& source, image::ImageInfo* info,
                         const image::RegionDigest* prehashed = nullptr);

enum class InstallResult : std::uint8_t {
  kOk,
  kRefused,           // the image failed check_image (see `reason`); flash untouched
  kPowerLost,         // interrupted: calling install again resumes (finished blocks are skipped)
  kVerifyAfterWrite,  // the slot does not verify after writing (flash fault)
};

struct InstallReport {
  InstallResult result = InstallResult::kRefused;
  std::uint8_t reason = kCheckOk;
  SlotId slot = SlotId::kA;
  std::uint32_t blocks_written = 0;
  std::uint32_t blocks_skipped = 0;  // already held the right bytes (resume)
  image::ImageInfo info;
};

// Writes `image` into the inactive slot, verifies it in place and marks it pending with
// `attempts` trial boots. Checks the image before touching flash.
InstallResult install(Device& device, const image::ImageSource& image, std::uint8_t attempts,
                      InstallReport* report);

// The same in steps, for installers that stream an image they do not hold whole (chunked
// delivery proves each piece against a signed chunk index before writing it):
//   install_begin   picks the inactive slot and drops any pending mark on it;
//   install_write   erases the blocks [offset, offset + length) covers and programs `data`
//                   (offset block-aligned; length a multiple of the block size except at the end);
//   install_finish  verifies the slot as the bootloader will, checks it holds the image with
//                   `expected_digest` (if given), and marks it pending. An installer that read
//                   each written piece back from flash and hashed it may pass that digest as
//                   `readback` so the slot is not read a second time (image::RegionDigest).
struct InstallSession {
  SlotId slot = SlotId::kA;
  TrustAnchors anchors;
};
InstallResult install_begin(Device& device, InstallSession* session, std::uint8_t* reason);
InstallResult install_write(Device& device, const InstallSession& session, std::uint32_t offset,
                            const std::uint8_t* data, std::uint32_t length);
InstallResult install_finish(Device& device, const InstallSession& session,
                             const std::uint8_t* expected_digest, std::uint8_t attempts,
                             InstallReport* report, const image::RegionDigest* readback = nullptr);

enum class ConfirmResult : std::uint8_t {
  kConfirmed,         // the trial is now the confirmed image
  kAlreadyConfirmed,  // `running` was already the confirmed image (counter brought up to date)
  kNotRunning,        // `running` is neither on trial nor confirmed
  kRefused,           // the slot no longer verifies
  kPowerLost,
  kNotInTrial,  // `running` is pending but its trial has not started: it never booted
};

// Called by the running firmware after its own health check passes. Only the image that is
// running its trial can be confirmed: the boot state must name `running` as pending *and* record
// that stage-2 started its trial (last event kTrialStarted). An image that was installed but never
// booted is refused (kNotInTrial): confirming it would raise the anti-rollback counter to a
// security counter no running firmware has vouched for, and if that image then failed, neither it
// nor the older image could run again.
ConfirmResult confirm(Device& device, SlotId running);

}  // namespace ironseal::boot
