// The TrustZone-M partition the bootloader sets up before it starts the application:
//   SAU  region 0: 0x28000000..0x283fffff non-secure (application image, RAM, staging buffer)
//        region 1: 0x40200000..0x40200fff non-secure (UART0)
//        region 2: the veneer page, non-secure callable
//        everything else secure: bootloader, flash (key store, boot state), OTP, secure SRAM
//   IDAU NSCCFG.CODENSC so that the veneer page in the secure code region can be NSC
//   MPCs SSRAM1 (bootloader, flash, OTP): every block secure; SSRAM2/3: every block non-secure;
//        all three locked until reset
//   PPC  UART0 non-secure
//   SecureFault enabled: a non-secure access to secure memory traps into the bootloader, which
//   reports it (kExitSecureFault).
#pragma once

#include <cstdint>

namespace ironseal::fw {

void partition_for_application();
// Starts the non-secure image whose vector table is at `vectors`; does not return.
[[noreturn]] void start_non_secure(std::uint32_t vectors);

}  // namespace ironseal::fw
