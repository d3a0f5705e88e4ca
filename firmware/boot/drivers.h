// The bootloader's hardware behind the boot core's interfaces (src/boot/hal.h): NOR flash and
// OTP fuses on memory of the mps2-an505, with the rules of real parts enforced in software.
//
// NOR flash: erase sets one 4 KiB block to 0xff (offset must be block-aligned); program writes at
// most one 256-byte page, never across a page boundary, and only into erased bytes (0xff).
// Breaking a rule is refused and counted (a caller bug; scenario runs assert there are none).
// OTP: program only sets bits.
//
// Every program/erase (flash and OTP alike) is one numbered operation. The harness may cut power
// after N operations (command line "cut=N"): operation N+1 does not happen (or, with "tear",
// lands half-way) and the run ends with kExitPowerCut, as if the supply had dropped. Completed
// operations are written through to the harness's backing files (semihosting), so the next run
// (power-on) sees exactly them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "boot/hal.h"

namespace ironseal::fw {

class PowerSupply {
 public:
  // Operations 1..n complete; operation n+1 does not happen, or with `tear` lands half-way
  // (the first half of the bytes of a program or erase), and the run ends.
  void cut_after(std::uint32_t n, bool tear) {
    armed_ = true;
    cut_after_ = n;
    tear_ = tear;
  }
  enum class Step { kPerform, kTear };
  // Called before each operation. A plain cut does not return; kTear asks the driver to do half
  // of the operation and then call lost().
  Step operation(const char* what, std::uint32_t offset);
  [[noreturn]] void lost();
  std::uint32_t operations() const { return operations_; }

 private:
  bool armed_ = false;
  bool tear_ = false;
  std::uint32_t cut_after_ = 0;
  std::uint32_t operations_ = 0;
};

class NorFlash final : public boot::Flash {
 public:
  NorFlash(std::uintptr_t base, std::uint32_t size, PowerSupply& power)
      : base_(base), size_(size), power_(power) {}
  // Opens the backing file by semihosting; without one, writes stay in this run's RAM only.
  bool attach(const char* path);
  std::uint32_t size() const override { return size_; }
  std::uint32_t block_size() const override;
  std::uint32_t page_size() const override;
  bool read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const override;
  bool program(std::uint32_t offset, const std::uint8_t* data, std::size_t length) override;
  bool erase_block(std::uint32_t offset) override;
  std::uint32_t violations() const { return violations_; }

 private:
  std::uint8_t* at(std::uint32_t offset) const {
    return reinterpret_cast<std::uint8_t*>(base_ + offset);
  }
  std::uintptr_t base_;
  std::uint32_t size_;
  PowerSupply& power_;
  int fd_ = -1;
  std::uint32_t violations_ = 0;
};

class FuseOtp final : public boot::Otp {
 public:
  FuseOtp(std::uintptr_t base, std::uint32_t size, PowerSupply& power)
      : base_(base), size_(size), power_(power) {}
  bool attach(const char* path);
  std::uint32_t size() const override { return size_; }
  bool read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const override;
  bool program(std::uint32_t offset, const std::uint8_t* bits, std::size_t length) override;

 private:
  std::uint8_t* at(std::uint32_t offset) const {
    return reinterpret_cast<std::uint8_t*>(base_ + offset);
  }
  std::uintptr_t base_;
  std::uint32_t size_;
  PowerSupply& power_;
  int fd_ = -1;
};

}  // namespace ironseal::fw
