// The boot state: which slot is confirmed, which is pending a trial and with how many attempts
// left, which slots are known bad, and what happened last (and why). Stage-2 reads it at every
// power-on; install, trial boots, confirmation and reverts write it.
//
// Crash safety: two erase blocks hold one record each. A write goes to the block that does *not*
// hold the newest valid record (erase, then one program of the 64-byte record with a sequence
// number one higher and a CRC-32). A power cut or torn write at any point leaves the newest valid
// record untouched, so the last good state is always readable.
//
// The boot state is not a security boundary: an attacker who writes flash can forge it. Every
// image it points at is verified before it runs; the worst a forged state can do is make the
// device fall back or refuse, never run an unverified or rolled-back image.
//
// Portable: no heap, no exceptions, no OS calls.
#pragma once

#include <cstdint>

#include "boot/hal.h"
#include "boot/layout.h"

namespace ironseal::boot {

inline constexpr std::uint32_t kStateMagic = 0x53425349;  // "ISBS"
inline constexpr std::uint32_t kStateRecordSize = 64;
inline constexpr std::uint8_t kNoSlot = 0xff;

// What the last state change was; with `image_status`, why a revert or fallback happened.
enum class BootEvent : std::uint8_t {
  kNone = 0,
  kProvisioned = 1,          // device init wrote the first image
  kInstalled = 2,            // an image was written to a slot and marked pending
  kTrialStarted = 3,         // a pending image is being tried (one attempt used)
  kConfirmed = 4,            // the running trial image confirmed itself
  kRevertedUnconfirmed = 5,  // attempts ran out without confirmation (or the trial crashed)
  kRevertedInvalid = 6,      // the pending image failed verification at boot
  kPrimaryInvalid = 7,       // the confirmed image failed verification; fell back to the other
  kInstallAborted = 8,       // a pending image was dropped because a new install began
};

const char* boot_event_name(BootEvent event);

struct BootState {
  std::uint32_t sequence = 0;
  SlotId primary = SlotId::kA;     // the confirmed slot
  std::uint8_t pending = kNoSlot;  // slot awaiting a trial, or kNoSlot
  std::uint8_t attempts_left = 0;  // trial boots left for the pending slot
  std::uint8_t bad[2] = {0, 0};    // 1: the slot's image failed; never boot it again as is
  BootEvent last_event = BootEvent::kNone;
  std::uint8_t image_status = 0;  // image::Status of the failure behind last_event
  std::uint32_t revert_count = 0;
  std::uint32_t boot_count = 0;
};

void encode_state(const BootState& state, std::uint8_t (&out)[kStateRecordSize]);
// False when magic, CRC or field values are wrong.
bool decode_state(const std::uint8_t (&in)[kStateRecordSize], BootState* out);

std::uint32_t crc32(const std::uint8_t* data, std::uint32_t length);

// Reads the newest valid record. *found is false when neither block holds one (a new or wiped
// device); `state` is then the default. Returns false only when flash cannot be read.
bool load_state(const Flash& flash, const Geometry& g, BootState* state, bool* found);
// Writes `state` with sequence = newest + 1 into the other block. False on a flash failure
// (power cut): the previous record is then still the newest valid one.
bool store_state(Flash& flash, const Geometry& g, BootState* state);

}  // namespace ironseal::boot
