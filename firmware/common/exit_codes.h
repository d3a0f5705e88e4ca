// Exit codes of a QEMU run (semihosting SYS_EXIT_EXTENDED), one per outcome, so that scenario
// tests can tell why a power-on ended without parsing the UART. Shared by bootloader and apps.
#pragma once

#include <cstdint>

namespace ironseal::fw {

enum Exit : std::uint32_t {
  kExitAppHealthy = 0,          // application ran, passed its health check, image is confirmed
  kExitPowerCut = 3,            // the harness cut power after N flash/OTP operations
  kExitSecureFault = 4,         // the non-secure application touched secure memory (SecureFault)
  kExitHardFault = 5,           // any other fault
  kExitConfirmFailed = 6,       // the application's confirm call was refused
  kExitStage2Mismatch = 7,      // the signed stage-2 image on flash is not the running bootloader
  kExitAppUnhealthy = 10,       // application failed its health check: not confirmed
  kExitInstalled = 11,          // application staged an update, the bootloader installed it
  kExitInstallFailed = 13,      // the installed image did not verify after writing
  kExitBadCommandLine = 14,     // the harness passed an argument the bootloader does not know
  kExitRecoveryBase = 64,       // + image::Status (1..0x3f): nothing bootable, why (slot A/primary)
  kExitRecoveryCheckBase = 96,  // + (Check - 0x40): nothing bootable, device check failed
  kExitRefusedBase = 128,       // + image::Status: the staged update was refused, why
  kExitRefusedCheckBase = 192,  // + (Check - 0x40): the staged update failed a device check
};

// The recovery exit code for a refusal reason (boot::Check / image::Status value).
constexpr std::uint32_t recovery_exit(std::uint8_t reason) {
  return reason >= 0x40 ? kExitRecoveryCheckBase + (reason - 0x40u) : kExitRecoveryBase + reason;
}
// The exit code for a refused update.
constexpr std::uint32_t refused_exit(std::uint8_t reason) {
  return reason >= 0x40 ? kExitRefusedCheckBase + (reason - 0x40u) : kExitRefusedBase + reason;
}

}  // namespace ironseal::fw
