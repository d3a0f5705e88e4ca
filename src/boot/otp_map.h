// The OTP fuse map of an ironseal device and the operations on it: root-key hashes, the
// thermometer-coded anti-rollback counter, the lifecycle state and the hardware identity.
//
//   offset  size  content
//   0x000   1     lifecycle, thermometer: 0 open, bit0 secured, bit1 decommissioned
//   0x010   4x32  root-key slots: SHA-256 of a DER SubjectPublicKeyInfo; all zero = unused
//   0x090   16    vendor UUID (hardware identity); all zero = not programmed
//   0x0a0   16    device class UUID
//   0x0b0   8     anti-rollback counter: the number of set bits (0..64), set from bit 0 upwards
//   0x0c0         end (kOtpSize)
//
// Portable: no heap, no exceptions, no OS calls.
#pragma once

#include <cstdint>

#include "boot/hal.h"

namespace ironseal::boot {

inline constexpr std::uint32_t kOtpLifecycle = 0x000;
inline constexpr std::uint32_t kOtpKeyHashes = 0x010;
inline constexpr std::uint32_t kOtpKeySlots = 4;
inline constexpr std::uint32_t kOtpKeyHashSize = 32;
inline constexpr std::uint32_t kOtpVendorUuid = 0x090;
inline constexpr std::uint32_t kOtpClassUuid = 0x0a0;
inline constexpr std::uint32_t kOtpCounter = 0x0b0;
inline constexpr std::uint32_t kOtpCounterBits = 64;
inline constexpr std::uint32_t kOtpSize = 0x0c0;

enum class Lifecycle : std::uint8_t { kOpen = 0, kSecured = 1, kDecommissioned = 2 };

bool read_lifecycle(const Otp& otp, Lifecycle* out);
bool advance_lifecycle(Otp& otp, Lifecycle to);

// Reads slot `index`; *used is false for an all-zero slot.
bool read_key_hash(const Otp& otp, std::uint32_t index, std::uint8_t (&hash)[32], bool* used);
// Programs the first unused slot; false if all are used or the write fails.
bool add_key_hash(Otp& otp, const std::uint8_t (&hash)[32]);

bool read_counter(const Otp& otp, std::uint32_t* value);
// Burns fuses one bit (one OTP operation) at a time until the counter reads `target` (capped at
// kOtpCounterBits). A power cut leaves a counter between the old value and `target`; calling
// again completes it. Never lowers the counter (fuses cannot be cleared).
bool advance_counter(Otp& otp, std::uint32_t target);

struct HardwareId {
  bool programmed = false;
  std::uint8_t vendor[16] = {};
  std::uint8_t device_class[16] = {};
};
bool read_hardware_id(const Otp& otp, HardwareId* out);
bool program_hardware_id(Otp& otp, const std::uint8_t (&vendor)[16],
                         const std::uint8_t (&device_class)[16]);

}  // namespace ironseal::boot
