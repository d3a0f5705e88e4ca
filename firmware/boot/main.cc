// ironseal's secure bootloader for the Cortex-M33 of QEMU's mps2-an505.
//
// One power-on: the portable boot core (src/boot/boot.cc, unchanged from the host's simulated
// device) verifies stage-2 against the fused keys, picks a slot by the boot state, verifies the
// image in the copy it will run (non-secure RAM), and reports. The bootloader then partitions
// the machine with TrustZone-M (trustzone.h) and starts the application non-secure. The
// application reaches back only through the non-secure-callable entry functions at the bottom of
// this file: confirm the running trial image, install a staged update.
#include <arm_cmse.h>

#include "an505.h"
#include "boot/boot.h"
#include "boot/drivers.h"
#include "boot/otp_map.h"
#include "boot/trustzone.h"
#include "crypto/firmware_backend.h"
#include "exit_codes.h"
#include "semihost.h"
#include "startup.h"
#include "uart.h"

namespace ironseal::fw {
namespace {

// Copies a slot's image into the non-secure execution window and hands the core that copy to
// verify: the bytes verified are the bytes that run, and nothing else runs before them.
class NsRamLoader final : public boot::SlotLoader {
 public:
  const image::ImageSource* load(boot::SlotId, const image::ImageSource& on_flash) override {
    image::Layout layout;
    // Unparseable: let the verifier report why from flash (nothing will run).
    if (image::parse_layout(on_flash, &layout) != image::Status::kOk) return &on_flash;
    if (layout.unprotected_end > kNsImageWindow) return nullptr;
    const auto size = static_cast<std::size_t>(layout.unprotected_end);
    if (!on_flash.read(0, reinterpret_cast<std::uint8_t*>(kNsImageBase), size)) return nullptr;
    source_ = image::MemorySource(reinterpret_cast<const std::uint8_t*>(kNsImageBase), size);
    return &source_;
  }
  const image::ImageSource* copy() const { return &source_; }

 private:
  image::MemorySource source_{nullptr, 0};
};

PowerSupply g_power;
NorFlash g_flash(kFlashBase, kFlashWindow, g_power);
FuseOtp g_otp(kOtpBase, boot::kOtpSize, g_power);
FirmwareBackend g_crypto;
NsRamLoader g_loader;
// Working memory for the core: two flash pages (install compares a page written with the page
// wanted) is also enough to stream hashes; a larger buffer saves only read calls.
alignas(8) std::uint8_t g_scratch[2 * kPageSize];
boot::Device g_device;
boot::SlotId g_running = boot::SlotId::kA;
bool g_partitioned = false;

void put_reason(std::uint8_t reason) {
  uart::put(boot::check_name(reason));
  uart::put(" (");
  uart::put_u32(reason);
  uart::put(")");
}

void put_version(const image::Version& v) {
  uart::put_u32(v.major);
  uart::put(".");
  uart::put_u32(v.minor);
  uart::put(".");
  uart::put_u32(v.revision);
  uart::put("+");
  uart::put_u32(v.build);
}

// SysTick on the processor clock, started at reset: how long the boot took, in clock ticks.
// Under `qemu -icount shift=0` one instruction is one nanosecond of virtual time, so
// ticks * (1e9 / clock) counts instructions (bench/firmware_boot.sh).
constexpr std::uint32_t kSystCsr = 0xe000e010, kSystRvr = 0xe000e014, kSystCvr = 0xe000e018;
volatile std::uint32_t& sys(std::uint32_t a) {
  return *reinterpret_cast<volatile std::uint32_t*>(a);
}
void start_ticks() {
  sys(kSystRvr) = 0x00ffffff;
  sys(kSystCvr) = 0;
  sys(kSystCsr) = 5;  // enable, processor clock, no interrupt
}
std::uint32_t ticks() {
  return 0x00ffffffu - (sys(kSystCvr) & 0x00ffffffu);
}

// Stack high-water mark: the free stack is painted at reset; the lowest changed word tells how
// deep any call went since.
extern "C" std::uint32_t __bss_end[];
constexpr std::uint32_t kPaint = 0x5afe57acu;
void paint_stack() {
  std::uint32_t sp = 0;
  asm volatile("mov %0, sp" : "=r"(sp));
  for (auto* p = __bss_end; reinterpret_cast<std::uint32_t>(p) < sp - 64; ++p) *p = kPaint;
}
std::uint32_t stack_used() {
  const std::uint32_t* p = __bss_end;
  while (*p == kPaint) ++p;
  return reinterpret_cast<std::uint32_t>(__stack_top) - reinterpret_cast<std::uint32_t>(p);
}

void put_operations() {
  uart::put("flash: operations=");
  uart::put_u32(g_power.operations());
  uart::put(" violations=");
  uart::put_u32(g_flash.violations());
  uart::put(" stack=");
  uart::put_u32(stack_used());
  uart::put("\n");
}

// Command line (semihosting): "cut=N" cuts power after N flash/OTP operations of this run;
// "tear" makes the cut operation land half-way.
void parse_command_line() {
  char line[128];
  if (!semihost::command_line(line, sizeof line)) return;
  bool cut = false, tear = false;
  std::uint32_t cut_after = 0;
  for (const char* p = line; *p != '\0';) {
    while (*p == ' ') ++p;
    if (*p == '\0') break;
    const char* word = p;
    while (*p != '\0' && *p != ' ') ++p;
    if (p - word > 4 && word[0] == 'c' && word[1] == 'u' && word[2] == 't' && word[3] == '=') {
      std::uint32_t n = 0;
      for (const char* d = word + 4; d < p; ++d) {
        if (*d < '0' || *d > '9') {
          uart::put("boot: bad command line argument\n");
          semihost::exit(kExitBadCommandLine);
        }
        n = n * 10 + static_cast<std::uint32_t>(*d - '0');
      }
      cut = true;
      cut_after = n;
    } else if (p - word == 4 && word[0] == 't' && word[1] == 'e' && word[2] == 'a' &&
               word[3] == 'r') {
      tear = true;
    }
    // Other words (QEMU puts the kernel file name first) are ignored.
  }
  if (cut) g_power.cut_after(cut_after, tear);
}

// The ROM stage verifies the signed stage-2 image on flash against the fused keys (boot core).
// Here the running bootloader is that stage-2: its code must be byte for byte the signed body,
// so that what was verified and measured is what runs.
bool stage2_is_running_code() {
  const boot::FlashRegion stage2(g_flash, g_device.geometry.stage2_offset,
                                 g_device.geometry.stage2_size);
  image::Layout layout;
  if (image::parse_layout(stage2, &layout) != image::Status::kOk) return false;
  const auto* code = reinterpret_cast<const std::uint8_t*>(kBootBase);
  const std::uint32_t size = layout.header.image_size;
  for (std::uint32_t at = 0; at < size; at += sizeof g_scratch) {
    const std::uint32_t n = size - at < sizeof g_scratch ? size - at : sizeof g_scratch;
    if (!stage2.read(layout.body_offset + at, g_scratch, n)) return false;
    std::uint8_t diff = 0;
    for (std::uint32_t i = 0; i < n; ++i)
      diff = static_cast<std::uint8_t>(diff | (g_scratch[i] ^ code[at + i]));
    if (diff != 0) return false;
  }
  uart::put("boot: stage-2 image on flash is this bootloader (");
  uart::put_u32(size);
  uart::put(" bytes)\n");
  return size != 0;
}

[[noreturn]] void recovery(const boot::BootReport& report) {
  const boot::SlotId primary = report.state.primary;
  const std::uint8_t reason = report.slot_reason[static_cast<int>(primary)] != boot::kCheckOk
                                  ? report.slot_reason[static_cast<int>(primary)]
                                  : report.reason;
  uart::put("boot: RECOVERY, nothing verifiable to run: slot A ");
  put_reason(report.slot_reason[0]);
  uart::put(", slot B ");
  put_reason(report.slot_reason[1]);
  uart::put("; reason ");
  put_reason(reason);
  uart::put("\n");
  put_operations();
  semihost::exit(recovery_exit(reason));
}

}  // namespace
}  // namespace ironseal::fw

using namespace ironseal;
using namespace ironseal::fw;

extern "C" void fw_main(void) {
  // On the stack, not a global: its initialiser (vtable pointer, reason codes) would otherwise be
  // a .data image in flash.
  boot::BootReport report;
  paint_stack();
  start_ticks();
  uart::init(kUart0S);
  uart::put("\nironseal secure boot (Cortex-M33, TrustZone-M, mps2-an505)\n");
  parse_command_line();
  if (!g_flash.attach("flash.img") || !g_otp.attach("otp.bin")) {
    uart::put("boot: no flash.img/otp.bin: changes are lost at power-off\n");
  }
  if (!boot::make_geometry(kBlockSize, kStage2Size, kSlotSize, kConfigSize, &g_device.geometry) ||
      g_device.geometry.total_size > kFlashWindow) {
    uart::put("boot: flash geometry does not fit the flash window\n");
    semihost::exit(kExitHardFault);
  }
  g_device.flash = &g_flash;
  g_device.otp = &g_otp;
  g_device.crypto = &g_crypto;
  g_device.scratch = g_scratch;
  g_device.scratch_size = sizeof g_scratch;

  if (!stage2_is_running_code()) {
    uart::put("boot: RECOVERY, the stage-2 image on flash is not the running bootloader\n");
    semihost::exit(kExitStage2Mismatch);
  }
  const boot::BootOutcome outcome = boot::power_on(g_device, &g_loader, &report);
  uart::put("boot: stage-2 ");
  uart::put(report.stage2_trusted ? "trusted" : "NOT trusted");
  uart::put(", event ");
  uart::put(boot::boot_event_name(report.event));
  if (report.event != boot::BootEvent::kNone && report.reason != boot::kCheckOk) {
    uart::put(" (");
    put_reason(report.reason);
    uart::put(")");
  }
  uart::put(", otp counter ");
  uart::put_u32(report.otp_counter);
  uart::put("\n");

  if (outcome == boot::BootOutcome::kPowerLost) {
    uart::put("boot: a flash or OTP operation failed\n");
    put_operations();
    semihost::exit(kExitHardFault);
  }
  if (outcome == boot::BootOutcome::kRecovery) recovery(report);
  if (report.image != g_loader.copy()) {  // only the verified copy in the window may run
    uart::put("boot: verified image is not the non-secure copy; refusing\n");
    semihost::exit(kExitHardFault);
  }

  const image::ImageInfo& info = report.info;
  g_running = report.slot;
  auto* handoff = reinterpret_cast<volatile Handoff*>(kNsHandoff);
  handoff->magic = kHandoffMagic;
  handoff->slot = static_cast<std::uint8_t>(report.slot);
  handoff->trial = outcome == boot::BootOutcome::kTrial ? 1 : 0;
  handoff->version_major = info.header.version.major;
  handoff->version_minor = info.header.version.minor;
  handoff->version_revision = info.header.version.revision;
  handoff->version_build = info.header.version.build;
  handoff->security_counter = info.security_counter;
  for (int i = 0; i < 32; ++i) handoff->measurement[i] = report.measurement[i];

  uart::put("boot: slot ");
  const char slot[2] = {boot::slot_name(report.slot), '\0'};
  uart::put(slot);
  uart::put(" version ");
  put_version(info.header.version);
  uart::put(outcome == boot::BootOutcome::kTrial ? " TRIAL" : " confirmed");
  uart::put(", security counter ");
  uart::put_u32(info.security_counter);
  uart::put(", ");
  uart::put(info.signature_kind == image::SignatureKind::kEd25519Pure ? "ed25519-pure" : "ed25519");
  uart::put("\nboot: measurement ");
  uart::put_hex(report.measurement, 32);
  uart::put("\n");
  put_operations();
  uart::put("boot: ");
  uart::put_u32(ticks());
  uart::put(" SysTick ticks from reset to hand-over\n");

  partition_for_application();
  g_partitioned = true;
  start_non_secure(kNsImageBase + info.header.header_size);
}

// ---- Non-secure-callable entry functions (SG veneers in .gnu.sgstubs) --------------------------
// `used`: nothing on the secure side calls them, and link-time optimisation would drop them.

// Confirms the running image after its health check. Returns boot::ConfirmResult.
extern "C" __attribute__((cmse_nonsecure_entry, used)) std::int32_t ironseal_nsc_confirm(void) {
  if (!g_partitioned) return -1;
  const boot::ConfirmResult r = boot::confirm(g_device, g_running);
  uart::put("secure: confirm slot ");
  const char slot[2] = {boot::slot_name(g_running), '\0'};
  uart::put(slot);
  static const char* const kNames[] = {"confirmed", "already confirmed", "not running",
                                       "refused",   "power lost",        "not in trial"};
  uart::put(": ");
  uart::put(kNames[static_cast<int>(r)]);
  uart::put("\n");
  put_operations();
  return static_cast<std::int32_t>(r);
}

// Whether the non-secure side may read all of [p, p + n): what libgcc's
// cmse_check_address_range(p, n, CMSE_NONSECURE | CMSE_MPU_READ) decides, written out for this one
// use (226 bytes of general flag handling less): the range must not wrap; its first and last
// byte must get the same answer from the TT instruction (TTA: as seen from the non-secure state),
// i.e. lie in one SAU/IDAU and one MPU region; and that region must be non-secure readable.
static bool ns_may_read(const void* p, std::uint32_t n) {
  const auto first = reinterpret_cast<std::uintptr_t>(p);
  if (n == 0 || first > UINTPTR_MAX - (n - 1)) return false;
  const cmse_address_info_t a = cmse_TTA(const_cast<void*>(p));
  const cmse_address_info_t b = cmse_TTA(reinterpret_cast<void*>(first + (n - 1)));
  return a.value == b.value && a.flags.nonsecure_read_ok != 0;
}

// Installs the image the application staged in non-secure memory into the inactive slot, pending
// a trial. Returns (InstallResult << 8) | reason. The range must be non-secure memory the caller
// may read: a pointer into secure memory is refused (the confused-deputy check).
extern "C" __attribute__((cmse_nonsecure_entry, used)) std::int32_t ironseal_nsc_install(
    const void* image, std::uint32_t length) {
  if (!g_partitioned) return -1;
  if (!ns_may_read(image, length)) {
    uart::put("secure: install refused: the staged image is not in non-secure memory\n");
    return static_cast<std::int32_t>(boot::InstallResult::kRefused) << 8;
  }
  const image::MemorySource source(static_cast<const std::uint8_t*>(image), length);
  boot::InstallReport report;
  const boot::InstallResult r = boot::install(g_device, source, 3, &report);
  const char slot[2] = {boot::slot_name(report.slot), '\0'};
  if (r != boot::InstallResult::kRefused) {  // a refused image never gets a slot
    uart::put("secure: install into slot ");
    uart::put(slot);
    uart::put(": ");
  }
  switch (r) {
    case boot::InstallResult::kOk:
      uart::put("ok, version ");
      put_version(report.info.header.version);
      uart::put(" pending a trial");
      break;
    case boot::InstallResult::kRefused:
      uart::put("secure: install REFUSED, ");
      put_reason(report.reason);
      break;
    case boot::InstallResult::kPowerLost: uart::put("power lost"); break;
    case boot::InstallResult::kVerifyAfterWrite:
      uart::put("does not verify after writing, ");
      put_reason(report.reason);
      break;
  }
  uart::put("\n");
  put_operations();
  return static_cast<std::int32_t>(static_cast<std::int32_t>(r) << 8 | report.reason);
}

// ---- Vector table and fault handlers --------------------------------------------------------

namespace {

void put_fault(const char* what) {
  uart::put(what);
  uart::put(": CFSR=");
  uart::put_hex32(*reinterpret_cast<volatile std::uint32_t*>(0xe000ed28));
  uart::put(" HFSR=");
  uart::put_hex32(*reinterpret_cast<volatile std::uint32_t*>(0xe000ed2c));
  uart::put("\n");
}

// The exception frame a fault stacked: r0-r3, r12, lr, pc, xPSR. `exc_return` says on which
// stack (bit 6 S: secure; bit 2 SPSEL: process stack).
const std::uint32_t* stacked_frame(std::uint32_t exc_return) {
  std::uint32_t sp = 0;
  const bool secure = (exc_return & (1u << 6)) != 0;
  const bool process = (exc_return & (1u << 2)) != 0;
  if (secure) {
    if (process) {
      asm volatile("mrs %0, psp" : "=r"(sp));
    } else {
      asm volatile("mrs %0, msp" : "=r"(sp));
    }
  } else if (process) {
    asm volatile("mrs %0, psp_ns" : "=r"(sp));
  } else {
    asm volatile("mrs %0, msp_ns" : "=r"(sp));
  }
  return reinterpret_cast<const std::uint32_t*>(sp);
}

extern "C" [[noreturn]] __attribute__((used)) void fw_secure_fault_report(
    std::uint32_t exc_return) {
  const std::uint32_t sfsr = *reinterpret_cast<volatile std::uint32_t*>(0xe000ede4);
  const std::uint32_t sfar = *reinterpret_cast<volatile std::uint32_t*>(0xe000ede8);
  const bool from_ns = (exc_return & (1u << 6)) == 0;
  uart::put("secure: SECURE FAULT: ");
  uart::put(from_ns ? "the non-secure application" : "secure code");
  uart::put((sfsr & (1u << 3)) != 0 ? " accessed secure memory (AUVIOL)"
                                    : " violated the partition");
  if ((sfsr & (1u << 6)) != 0) {  // SFARVALID
    uart::put(" at ");
    uart::put_hex32(sfar);
  }
  uart::put(", pc ");
  uart::put_hex32(stacked_frame(exc_return)[6]);
  uart::put(", SFSR ");
  uart::put_hex32(sfsr);
  uart::put("; stopped\n");
  semihost::exit(kExitSecureFault);
}

// Entered with EXC_RETURN in lr; hands it to the reporter.
extern "C" __attribute__((naked)) void fw_secure_fault() {
  asm volatile("mov r0, lr\n b fw_secure_fault_report");
}

extern "C" [[noreturn]] void fw_hard_fault() {
  put_fault("secure: HARD FAULT");
  semihost::exit(kExitHardFault);
}

extern "C" [[noreturn]] void fw_other_fault() {
  put_fault("secure: FAULT");
  semihost::exit(kExitHardFault);
}

}  // namespace

extern "C" __attribute__((section(".vectors"), used)) void* const fw_vectors[16] = {
    __stack_top,
    reinterpret_cast<void*>(fw_reset),
    reinterpret_cast<void*>(fw_other_fault),  // NMI
    reinterpret_cast<void*>(fw_hard_fault),
    reinterpret_cast<void*>(fw_other_fault),  // MemManage
    reinterpret_cast<void*>(fw_other_fault),  // BusFault
    reinterpret_cast<void*>(fw_other_fault),  // UsageFault
    reinterpret_cast<void*>(fw_secure_fault),
    nullptr,
    nullptr,
    nullptr,
    reinterpret_cast<void*>(fw_other_fault),  // SVCall
    reinterpret_cast<void*>(fw_other_fault),  // DebugMonitor
    nullptr,
    reinterpret_cast<void*>(fw_other_fault),  // PendSV
    reinterpret_cast<void*>(fw_other_fault),  // SysTick
};
