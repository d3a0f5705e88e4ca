// Constant-time byte comparison for digests, key hashes and MACs: no early exit, so the time taken
// does not reveal where two values first differ. Portable: usable freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ironseal {

inline bool ct_equal(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) {
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < n; ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace ironseal
