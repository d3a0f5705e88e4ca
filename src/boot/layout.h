// Where things live on a device's flash. Every area starts on an erase-block boundary, so that
// erasing one never touches another.
//
//   [key store: 1 block][stage-2][slot A][slot B][boot state: 2 blocks][configuration]
//
// The key store holds the public keys (DER SubjectPublicKeyInfo) whose SHA-256 hashes are fused
// in OTP: flash is writable by an attacker, so a key there counts only if its hash is in OTP.
//
// Portable: no heap, no exceptions, no OS calls.
#pragma once

#include <cstdint>

namespace ironseal::boot {

enum class SlotId : std::uint8_t { kA = 0, kB = 1 };
inline constexpr SlotId other(SlotId s) {
  return s == SlotId::kA ? SlotId::kB : SlotId::kA;
}
inline constexpr char slot_name(SlotId s) {
  return s == SlotId::kA ? 'A' : 'B';
}

struct Geometry {
  std::uint32_t block_size = 0;
  std::uint32_t keystore_offset = 0;
  std::uint32_t stage2_offset = 0;
  std::uint32_t stage2_size = 0;
  std::uint32_t slot_offset[2] = {0, 0};
  std::uint32_t slot_size = 0;
  std::uint32_t state_offset = 0;  // two blocks, one record each
  std::uint32_t config_offset = 0;
  std::uint32_t config_size = 0;
  std::uint32_t total_size = 0;
};

// Lays the areas out back to back. Sizes are rounded up to whole blocks. Returns false when a
// size is zero, the block size is not a power of two, or the total exceeds 4 GiB.
bool make_geometry(std::uint32_t block_size, std::uint32_t stage2_size, std::uint32_t slot_size,
                   std::uint32_t config_size, Geometry* out);

inline std::uint32_t slot_offset(const Geometry& g, SlotId s) {
  return g.slot_offset[static_cast<int>(s)];
}

}  // namespace ironseal::boot
