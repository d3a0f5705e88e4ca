// Portable: see otp_map.h.
#include "boot/otp_map.h"

namespace ironseal::boot {
namespace {

bool all_zero(const std::uint8_t* p, std::uint32_t n) {
  std::uint8_t acc = 0;
  for (std::uint32_t i = 0; i < n; ++i) acc = static_cast<std::uint8_t>(acc | p[i]);
  return acc == 0;
}

std::uint32_t popcount8(std::uint8_t b) {
  std::uint32_t n = 0;
  for (; b != 0; b = static_cast<std::uint8_t>(b & (b - 1))) ++n;
  return n;
}

}  // namespace

bool read_lifecycle(const Otp& otp, Lifecycle* out) {
  std::uint8_t b = 0;
  if (!otp.read(kOtpLifecycle, &b, 1)) return false;
  *out = (b & 0x02)   ? Lifecycle::kDecommissioned
         : (b & 0x01) ? Lifecycle::kSecured
                      : Lifecycle::kOpen;
  return true;
}

bool advance_lifecycle(Otp& otp, Lifecycle to) {
  const std::uint8_t bits = to == Lifecycle::kDecommissioned ? 0x03
                            : to == Lifecycle::kSecured      ? 0x01
                                                             : 0x00;
  return bits == 0 || otp.program(kOtpLifecycle, &bits, 1);
}

bool read_key_hash(const Otp& otp, std::uint32_t index, std::uint8_t (&hash)[32], bool* used) {
  if (index >= kOtpKeySlots) return false;
  if (!otp.read(kOtpKeyHashes + index * kOtpKeyHashSize, hash, kOtpKeyHashSize)) return false;
  *used = !all_zero(hash, kOtpKeyHashSize);
  return true;
}

bool add_key_hash(Otp& otp, const std::uint8_t (&hash)[32]) {
  for (std::uint32_t i = 0; i < kOtpKeySlots; ++i) {
    std::uint8_t current[32];
    bool used = false;
    if (!read_key_hash(otp, i, current, &used)) return false;
    if (!used) return otp.program(kOtpKeyHashes + i * kOtpKeyHashSize, hash, kOtpKeyHashSize);
  }
  return false;
}

bool read_counter(const Otp& otp, std::uint32_t* value) {
  std::uint8_t bits[kOtpCounterBits / 8];
  if (!otp.read(kOtpCounter, bits, sizeof bits)) return false;
  // Count every set bit: a fuse set out of order (a glitch) still only ever raises the value.
  std::uint32_t n = 0;
  for (std::uint8_t b : bits) n += popcount8(b);
  *value = n;
  return true;
}

bool advance_counter(Otp& otp, std::uint32_t target) {
  if (target > kOtpCounterBits) target = kOtpCounterBits;
  std::uint8_t bits[kOtpCounterBits / 8];
  if (!otp.read(kOtpCounter, bits, sizeof bits)) return false;
  std::uint32_t value = 0;
  for (std::uint8_t b : bits) value += popcount8(b);
  // Set the lowest clear bits until enough are set, one fuse per operation.
  for (std::uint32_t bit = 0; bit < kOtpCounterBits && value < target; ++bit) {
    const std::uint8_t mask = static_cast<std::uint8_t>(1u << (bit % 8));
    if (bits[bit / 8] & mask) continue;
    if (!otp.program(kOtpCounter + bit / 8, &mask, 1)) return false;
    bits[bit / 8] = static_cast<std::uint8_t>(bits[bit / 8] | mask);
    ++value;
  }
  return true;
}

bool read_hardware_id(const Otp& otp, HardwareId* out) {
  if (!otp.read(kOtpVendorUuid, out->vendor, 16) ||
      !otp.read(kOtpClassUuid, out->device_class, 16)) {
    return false;
  }
  out->programmed = !all_zero(out->vendor, 16) || !all_zero(out->device_class, 16);
  return true;
}

bool program_hardware_id(Otp& otp, const std::uint8_t (&vendor)[16],
                         const std::uint8_t (&device_class)[16]) {
  return otp.program(kOtpVendorUuid, vendor, 16) && otp.program(kOtpClassUuid, device_class, 16);
}

}  // namespace ironseal::boot
