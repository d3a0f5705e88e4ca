// Portable: see layout.h.
#include "boot/layout.h"

namespace ironseal::boot {

bool make_geometry(std::uint32_t block_size, std::uint32_t stage2_size, std::uint32_t slot_size,
                   std::uint32_t config_size, Geometry* out) {
  if (block_size == 0 || (block_size & (block_size - 1)) != 0 || stage2_size == 0 ||
      slot_size == 0 || config_size == 0) {
    return false;
  }
  // block_size is a power of two: round up by masking (no 64-bit division: the bootloader would
  // link libgcc's __udivmoddi4, 746 bytes, for this alone).
  auto round_up = [block_size](std::uint64_t v) {
    return (v + block_size - 1) & ~static_cast<std::uint64_t>(block_size - 1);
  };
  Geometry g;
  g.block_size = block_size;
  std::uint64_t at = 0;
  g.keystore_offset = 0;
  at += block_size;
  g.stage2_offset = static_cast<std::uint32_t>(at);
  g.stage2_size = static_cast<std::uint32_t>(round_up(stage2_size));
  at += g.stage2_size;
  g.slot_size = static_cast<std::uint32_t>(round_up(slot_size));
  for (int i = 0; i < 2; ++i) {
    g.slot_offset[i] = static_cast<std::uint32_t>(at);
    at += g.slot_size;
  }
  g.state_offset = static_cast<std::uint32_t>(at);
  at += 2u * block_size;
  g.config_offset = static_cast<std::uint32_t>(at);
  g.config_size = static_cast<std::uint32_t>(round_up(config_size));
  at += g.config_size;
  if (at > 0xffffffffu) return false;
  g.total_size = static_cast<std::uint32_t>(at);
  *out = g;
  return true;
}

}  // namespace ironseal::boot
