// The hardware the boot core runs on, as small interfaces: NOR flash, OTP fuses, an optional
// monotonic counter, and (from src/image) the crypto primitives. The host plugs in a simulated
// device (src/device/sim.h); the Cortex-M33 bootloader plugs in memory-mapped flash and a
// verify-only Ed25519.
//
// Portable: no heap, no exceptions, no OS calls.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ironseal::boot {

// NOR flash. Erase sets a whole block to 0xff; program only clears bits, and programming bytes
// that are not erased (0xff) is an error, as on most MCU flash controllers. Any operation may
// fail because power was cut: the core then stops and the next power-on starts over.
class Flash {
 public:
  virtual std::uint32_t size() const = 0;
  virtual std::uint32_t block_size() const = 0;  // erase granularity
  virtual std::uint32_t page_size() const = 0;   // largest single program operation
  virtual bool read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const = 0;
  virtual bool program(std::uint32_t offset, const std::uint8_t* data, std::size_t length) = 0;
  virtual bool erase_block(std::uint32_t offset) = 0;
  // Programs [offset, offset + length) page by page (offset page-aligned): each page is one
  // program operation, with program()'s rules. A driver that can issue several page programs in
  // one transfer overrides this; false as soon as one page fails, pages before it programmed.
  virtual bool program_pages(std::uint32_t offset, const std::uint8_t* data, std::size_t length) {
    const std::uint32_t page = page_size();
    for (std::size_t p = 0; p < length; p += page) {
      const std::size_t n = length - p < page ? length - p : page;
      if (!program(offset + static_cast<std::uint32_t>(p), data + p, n)) return false;
    }
    return true;
  }

 protected:
  ~Flash() = default;
};

// One-time-programmable fuses: bits read 0 until programmed to 1, and never go back.
class Otp {
 public:
  virtual std::uint32_t size() const = 0;
  virtual bool read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const = 0;
  // Sets to 1 every bit that is 1 in `bits`; other bits are left as they are.
  virtual bool program(std::uint32_t offset, const std::uint8_t* bits, std::size_t length) = 0;

 protected:
  ~Otp() = default;
};

// A monotonic anti-rollback counter kept outside the OTP fuses (e.g. a TPM 2.0 NV counter). When
// a Device has none, the thermometer-coded counter in OTP is used (otp_map.h). Either way the
// value only ever goes up, and an advance a power cut interrupted is completed by calling again.
class MonotonicCounter {
 public:
  virtual bool read(std::uint32_t* value) const = 0;
  // Raises the counter until it reads at least `target`; never lowers it. False if the hardware
  // failed (the counter then holds a value between the old one and `target`).
  virtual bool advance(std::uint32_t target) = 0;

 protected:
  ~MonotonicCounter() = default;
};

}  // namespace ironseal::boot
