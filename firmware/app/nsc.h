// The bootloader's non-secure-callable entry functions, as the application sees them. Their
// addresses come from the bootloader's CMSE import library (linked into every application).
#pragma once

#include <cstdint>

extern "C" {
// Returns boot::ConfirmResult: 0 confirmed, 1 already confirmed, 2 not running, 3 refused,
// 4 power lost.
std::int32_t ironseal_nsc_confirm(void);
// Returns (boot::InstallResult << 8) | reason: result 0 ok, 1 refused, 2 power lost,
// 3 does not verify after writing.
std::int32_t ironseal_nsc_install(const void* image, std::uint32_t length);
}
