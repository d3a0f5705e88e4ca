// The memory map of ironseal's Cortex-M33 target on QEMU's mps2-an505 (IoTKit + AN505 FPGA image),
// and how the bootloader divides it between the secure and the non-secure world.
//
//   0x10000000  SSRAM1, secure alias (4 MiB; the board's "code flash"; MPC: every block secure)
//     0x10000000  bootloader (secure "ROM"), up to 1 MiB; its last 4 KiB hold the NSC veneers
//     0x10100000  NOR flash device (geometry below): key store, stage-2, slots A/B, boot state
//     0x103ff000  OTP fuses (4 KiB window, kOtpSize used)
//   0x28000000  SSRAM2+3, non-secure alias (4 MiB; MPCs: every block non-secure)
//     0x28000000  application image, copied here from its slot and verified here (1 MiB)
//     0x28100000  application RAM (data, stack); 0x281fff00 the boot hand-off block
//     0x28200000  update staging buffer (what the application downloaded)
//   0x30000000  IoTKit internal SRAM bank 0 (32 KiB), secure alias: the bootloader RAM
//   0x40200000  UART0 (non-secure after hand-over: APB PPC EXP1 port 5); 0x50200000 secure alias
//
// QEMU keeps nothing between runs: a power cycle is a new QEMU run. The harness keeps flash and
// OTP in files (flash.img, otp.bin), preloads them with -device loader, and the drivers write
// every program/erase through to those files by semihosting, so a run that ends (power cut)
// leaves exactly the operations that completed.
#pragma once

#include <cstdint>

namespace ironseal::fw {

inline constexpr std::uint32_t kBootBase = 0x10000000;
inline constexpr std::uint32_t kVeneerBase = 0x100ff000;  // NSC region (SAU), 4 KiB
inline constexpr std::uint32_t kVeneerSize = 0x1000;
inline constexpr std::uint32_t kFlashBase = 0x10100000;
inline constexpr std::uint32_t kFlashWindow = 0x002ff000;  // up to the OTP window
inline constexpr std::uint32_t kOtpBase = 0x103ff000;
inline constexpr std::uint32_t kOtpWindow = 0x1000;

// Flash geometry: must match the device the harness provisions (`ironseal device init
// --block-size 4096 --page-size 256 --slot-size 1048576`; stage-2 64 KiB, config 16 KiB).
inline constexpr std::uint32_t kBlockSize = 4096;
inline constexpr std::uint32_t kPageSize = 256;
inline constexpr std::uint32_t kStage2Size = 64 * 1024;
inline constexpr std::uint32_t kSlotSize = 1024 * 1024;
inline constexpr std::uint32_t kConfigSize = 16 * 1024;

inline constexpr std::uint32_t kNsBase = 0x28000000;
inline constexpr std::uint32_t kNsSize = 0x00400000;
inline constexpr std::uint32_t kNsImageBase = 0x28000000;  // image header here; body follows
inline constexpr std::uint32_t kNsImageWindow = 0x00100000;
inline constexpr std::uint32_t kNsHandoff = 0x281fff00;
inline constexpr std::uint32_t kNsStaging = 0x28200000;
inline constexpr std::uint32_t kNsStagingWindow = 0x00200000;

inline constexpr std::uint32_t kUart0Ns = 0x40200000;
inline constexpr std::uint32_t kUart0S = 0x50200000;
inline constexpr std::uint32_t kSecCtl = 0x50080000;     // IoTKit secure privilege control
inline constexpr std::uint32_t kMpcSsram1 = 0x58007000;  // ssram-0-mpc (0x00000000 / 0x10000000)
inline constexpr std::uint32_t kMpcSsram2 = 0x58008000;  // ssram-1-mpc (0x28000000)
inline constexpr std::uint32_t kMpcSsram3 = 0x58009000;  // ssram-2-mpc (0x28200000)

// The hand-off block the bootloader writes into non-secure RAM before it starts the application
// (what the application may know about its own boot; nothing secret).
struct Handoff {
  std::uint32_t magic;  // kHandoffMagic
  std::uint8_t slot;    // 0 = A, 1 = B
  std::uint8_t trial;   // 1: running on trial, must confirm
  std::uint8_t version_major;
  std::uint8_t version_minor;
  std::uint16_t version_revision;
  std::uint16_t reserved;
  std::uint32_t version_build;
  std::uint32_t security_counter;
  std::uint8_t measurement[32];  // measured-boot digest of this boot
};
inline constexpr std::uint32_t kHandoffMagic = 0x4f464849;  // "IHFO"

// The update staging buffer: the application writes a downloaded image behind this header.
struct StagingHeader {
  std::uint32_t magic;  // kStagingMagic
  std::uint32_t length;
  std::uint32_t reserved[2];
};
inline constexpr std::uint32_t kStagingMagic = 0x50554953;  // "SIUP"

}  // namespace ironseal::fw
