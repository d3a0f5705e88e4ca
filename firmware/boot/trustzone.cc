#include "boot/trustzone.h"

#include "an505.h"
#include "exit_codes.h"
#include "semihost.h"
#include "uart.h"

extern "C" void ironseal_call_non_secure(std::uint32_t entry_address);  // ns_call.c

namespace ironseal::fw {
namespace {

volatile std::uint32_t& reg(std::uint32_t address) {
  return *reinterpret_cast<volatile std::uint32_t*>(address);
}

// System control (secure view).
constexpr std::uint32_t kShcsr = 0xe000ed24;
constexpr std::uint32_t kSauCtrl = 0xe000edd0, kSauRnr = 0xe000edd8, kSauRbar = 0xe000eddc,
                        kSauRlar = 0xe000ede0;
constexpr std::uint32_t kVtorNs = 0xe002ed08;
// IoTKit secure privilege control.
constexpr std::uint32_t kNsccfg = kSecCtl + 0x14, kApbNsPpcExp1 = kSecCtl + 0x84;
// MPC registers.
constexpr std::uint32_t kMpcCtrl = 0x00, kMpcBlkMax = 0x10, kMpcBlkIdx = 0x18, kMpcBlkLut = 0x1c;

void sau_region(std::uint32_t n, std::uint32_t base, std::uint32_t limit, bool nsc) {
  reg(kSauRnr) = n;
  reg(kSauRbar) = base & ~31u;
  reg(kSauRlar) = (limit & ~31u) | (nsc ? 2u : 0u) | 1u;
}

void mpc_all(std::uint32_t mpc, bool non_secure) {
  const std::uint32_t max = reg(mpc + kMpcBlkMax);
  for (std::uint32_t i = 0; i <= max; ++i) {
    reg(mpc + kMpcBlkIdx) = i;
    reg(mpc + kMpcBlkLut) = non_secure ? 0xffffffffu : 0u;
  }
  reg(mpc + kMpcCtrl) = reg(mpc + kMpcCtrl) | (1u << 31);  // SEC_LOCK until reset
}

}  // namespace

void partition_for_application() {
  mpc_all(kMpcSsram1, false);
  mpc_all(kMpcSsram2, true);
  mpc_all(kMpcSsram3, true);
  reg(kApbNsPpcExp1) = reg(kApbNsPpcExp1) | (1u << 5);  // UART0
  reg(kNsccfg) = reg(kNsccfg) | 1u;                     // CODENSC
  sau_region(0, kNsBase, kNsBase + kNsSize - 1, false);
  sau_region(1, kUart0Ns, kUart0Ns + 0xfff, false);
  sau_region(2, kVeneerBase, kVeneerBase + kVeneerSize - 1, true);
  reg(kSauCtrl) = 1u;                      // enable; addresses outside the regions are secure
  reg(kShcsr) = reg(kShcsr) | (1u << 19);  // SECUREFAULTENA
  asm volatile("dsb\n isb" ::: "memory");
  uart::use(kUart0Ns);  // the UART now belongs to the non-secure side
}

void start_non_secure(std::uint32_t vectors) {
  const std::uint32_t sp = reinterpret_cast<const volatile std::uint32_t*>(vectors)[0];
  const std::uint32_t pc = reinterpret_cast<const volatile std::uint32_t*>(vectors)[1];
  reg(kVtorNs) = vectors;
  asm volatile("msr msp_ns, %0" ::"r"(sp));
  asm volatile("dsb\n isb" ::: "memory");
  ironseal_call_non_secure(pc);
  // An application that returns is finished as far as this power-on is concerned.
  uart::put("boot: the application returned\n");
  semihost::exit(kExitHardFault);
}

}  // namespace ironseal::fw
