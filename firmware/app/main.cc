// A small PLC-style application for the non-secure side: it runs a few scan cycles of a
// start/stop motor rung with an on-delay timer, prints its version and the measured-boot digest
// the bootloader handed over, and confirms its image once its health check passes.
//
// Build variants (CMake): IRONSEAL_APP_HEALTHY=0 fails the health check (never confirms, so the
// bootloader reverts it); IRONSEAL_APP_PROBE=1 tries to read the key store in secure flash
// (must fault; =3 through the non-secure alias); IRONSEAL_APP_PROBE=2 asks the bootloader to
// install an "image" from secure memory (must be refused); IRONSEAL_APP_STANDALONE=1 calls no
// secure entry function (for images whose build must not depend on the bootloader's, e.g. the
// committed imgtool-signed fixture).
//
// If the update staging buffer holds an image (what a download would leave there), the
// application hands it to the bootloader to install, then ends the run (reboot).
#include "an505.h"
#include "app/nsc.h"
#include "exit_codes.h"
#include "semihost.h"
#include "startup.h"
#include "uart.h"

#ifndef IRONSEAL_APP_VERSION
#error "IRONSEAL_APP_VERSION must be set by the build"
#endif

namespace ironseal::fw {
namespace {

struct Plc {
  bool start = false, stop = false, motor = false;
  std::uint32_t timer_ms = 0;
  bool running_ok = false;
  void scan(std::uint32_t dt_ms) {
    motor = (start || motor) && !stop;        // seal-in rung
    timer_ms = motor ? timer_ms + dt_ms : 0;  // TON
    running_ok = motor && timer_ms >= 500;    // motor up to speed
  }
};

bool health_check() {
  Plc plc;
  plc.start = true;
  plc.scan(10);
  plc.start = false;
  for (int i = 0; i < 60; ++i) plc.scan(10);
  const bool logic_ok = plc.motor && plc.running_ok;
  return logic_ok && IRONSEAL_APP_HEALTHY != 0;
}

[[noreturn]] void install_staged(const StagingHeader& staged) {
  uart::put("app: staged update found (");
  uart::put_u32(staged.length);
  uart::put(" bytes), asking the bootloader to install it\n");
#if IRONSEAL_APP_STANDALONE
  semihost::exit(kExitHardFault);
#else
  const std::int32_t r = ironseal_nsc_install(&staged + 1, staged.length);
  const std::int32_t result = r >> 8;
  const auto reason = static_cast<std::uint8_t>(r & 0xff);
  if (result == 0) {
    uart::put("app: update installed; rebooting into its trial\n");
    semihost::exit(kExitInstalled);
  }
  uart::put("app: update not installed\n");
  semihost::exit(result == 1 ? refused_exit(reason) : kExitInstallFailed);
#endif
}

}  // namespace
}  // namespace ironseal::fw

using namespace ironseal::fw;

extern "C" void fw_main(void) {
  uart::use(kUart0Ns);
  const auto* handoff = reinterpret_cast<const volatile Handoff*>(kNsHandoff);
  uart::put("app: ironseal demo PLC " IRONSEAL_APP_VERSION " (non-secure)\n");
  if (handoff->magic == kHandoffMagic) {
    uart::put("app: booted from slot ");
    uart::put(handoff->slot == 0 ? "A" : "B");
    uart::put(handoff->trial != 0 ? " on TRIAL" : " (confirmed)");
    uart::put(", version ");
    uart::put_u32(handoff->version_major);
    uart::put(".");
    uart::put_u32(handoff->version_minor);
    uart::put(".");
    uart::put_u32(handoff->version_revision);
    uart::put("+");
    uart::put_u32(handoff->version_build);
    uart::put("\napp: measured boot ");
    std::uint8_t m[32];
    for (int i = 0; i < 32; ++i) m[i] = handoff->measurement[i];
    uart::put_hex(m, 32);
    uart::put("\n");
  }

#if IRONSEAL_APP_PROBE == 2
  // Confused deputy, part 1: a range that starts in the non-secure window and runs past its end
  // into memory the application may not read (the check must cover the whole range, not only its
  // first byte).
  uart::put("app: asking the bootloader to install from a range crossing the window's end\n");
  const std::int32_t crossing =
      ironseal_nsc_install(reinterpret_cast<const void*>(kNsBase + kNsSize - 256), 512);
  if ((crossing >> 8) != 1) semihost::exit(kExitInstallFailed);
  // Part 2: ask the secure side to "install" from secure memory (the key store).
  uart::put("app: asking the bootloader to install from secure memory at ");
  uart::put_hex32(kFlashBase);
  uart::put("\n");
  const std::int32_t deputy = ironseal_nsc_install(reinterpret_cast<const void*>(kFlashBase), 4096);
  semihost::exit((deputy >> 8) == 1 ? refused_exit(static_cast<std::uint8_t>(deputy & 0xff))
                                    : kExitInstallFailed);
#elif IRONSEAL_APP_PROBE
  // Probe 1: the key store through its secure alias; probe 3: the same bytes through the
  // non-secure alias of SSRAM1 (bit 28 clear), which the SAU and the MPC must both deny.
  const std::uint32_t target = IRONSEAL_APP_PROBE == 3 ? kFlashBase - 0x10000000u : kFlashBase;
  uart::put("app: reading the key store in secure flash at ");
  uart::put_hex32(target);
  uart::put("\n");
  const std::uint32_t leaked = *reinterpret_cast<const volatile std::uint32_t*>(target);
  uart::put("app: LEAKED key store word ");
  uart::put_hex32(leaked);
  uart::put("\n");
  semihost::exit(kExitAppHealthy + 99);
#endif

  const auto* staged = reinterpret_cast<const StagingHeader*>(kNsStaging);
  if (staged->magic == kStagingMagic && staged->length > 0 &&
      staged->length <= kNsStagingWindow - sizeof(StagingHeader)) {
    install_staged(*staged);
  }

  if (!health_check()) {
    uart::put("app: health check FAILED; not confirming\n");
    semihost::exit(kExitAppUnhealthy);
  }
  uart::put("app: health check passed\n");
#if IRONSEAL_APP_STANDALONE
  semihost::exit(kExitAppHealthy);
#else
  const std::int32_t r = ironseal_nsc_confirm();
  if (r != 0 && r != 1) {
    uart::put("app: confirm refused\n");
    semihost::exit(kExitConfirmFailed);
  }
  uart::put(r == 0 ? "app: image confirmed\n" : "app: image already confirmed\n");
  semihost::exit(kExitAppHealthy);
#endif
}

namespace {
extern "C" [[noreturn]] void app_fault() {
  uart::put("app: FAULT (non-secure)\n");
  semihost::exit(kExitHardFault);
}
}  // namespace

extern "C" __attribute__((section(".vectors"), used)) void* const app_vectors[16] = {
    __stack_top,
    reinterpret_cast<void*>(fw_reset),
    reinterpret_cast<void*>(app_fault),
    reinterpret_cast<void*>(app_fault),
    reinterpret_cast<void*>(app_fault),
    reinterpret_cast<void*>(app_fault),
    reinterpret_cast<void*>(app_fault),
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    reinterpret_cast<void*>(app_fault),
    reinterpret_cast<void*>(app_fault),
    nullptr,
    reinterpret_cast<void*>(app_fault),
    reinterpret_cast<void*>(app_fault),
};
