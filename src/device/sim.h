// A simulated device for the host: NOR flash and OTP fuses in memory (optionally written through
// to files in a device directory), and a fault injector that cuts power after the N-th
// program/erase operation, optionally tearing that operation (a prefix lands, the rest does not).
// Fault injection exists only here, in the simulation; no production path can skip a check.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "boot/hal.h"
#include "core/result.h"

namespace ironseal::boot {

// Counts every program/erase operation of the flash and OTP it is attached to. Once power is
// cut, every further operation fails until reset() (the next power-on).
class FaultInjector {
 public:
  // Operations 1..n succeed; operation n+1 fails (torn if `tear`), and so does everything after.
  void cut_after(std::uint64_t n, bool tear) {
    cut_after_ = n;
    tear_ = tear;
  }
  void disarm() { cut_after_.reset(); }
  void power_cycle() { power_lost_ = false; }  // a new power-on; stays armed if never triggered

  enum class Verdict { kPerform, kTear, kFail };
  Verdict next() {
    if (power_lost_) return Verdict::kFail;
    ++operations_;
    if (cut_after_ && operations_ > *cut_after_) {
      power_lost_ = true;
      cut_after_.reset();
      return tear_ ? Verdict::kTear : Verdict::kFail;
    }
    return Verdict::kPerform;
  }
  std::uint64_t operations() const { return operations_; }
  bool power_lost() const { return power_lost_; }

 private:
  std::optional<std::uint64_t> cut_after_;
  bool tear_ = false;
  bool power_lost_ = false;
  std::uint64_t operations_ = 0;
};

// Flash held in memory (tests), or in a file written through on every operation (a device
// directory: a killed process then behaves like a power cut, and memory use does not grow with the
// flash size).
class SimFlash final : public Flash {
 public:
  enum class Storage { kMemory, kFile };
  // kFile: no memory is allocated; attach_file() must be called before any operation.
  SimFlash(std::uint32_t size, std::uint32_t block_size, std::uint32_t page_size,
           FaultInjector* faults, Storage storage = Storage::kMemory);
  ~SimFlash();
  SimFlash(const SimFlash&) = delete;
  SimFlash& operator=(const SimFlash&) = delete;

  // Switches to file storage: `path` must hold exactly size() bytes. The memory copy is dropped.
  Result<void> attach_file(const std::filesystem::path& path);
  // Flushes file storage to disk (no-op in memory).
  Result<void> sync();
  // File storage: asks the kernel to start writing [offset, offset + length) to disk now, without
  // waiting, so a later sync() has less left to wait for. No-op in memory.
  void start_writeback(std::uint32_t offset, std::uint32_t length);
  std::uint32_t size() const override { return size_; }
  std::uint32_t block_size() const override { return block_size_; }
  std::uint32_t page_size() const override { return page_size_; }
  bool read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const override;
  bool program(std::uint32_t offset, const std::uint8_t* data, std::size_t length) override;
  // Each page is still one operation for the fault injector; file storage gets one write.
  bool program_pages(std::uint32_t offset, const std::uint8_t* data, std::size_t length) override;
  bool erase_block(std::uint32_t offset) override;

  // Programming a byte that is not erased, or a misaligned erase: bugs in the caller, counted so
  // tests can assert there are none (a real controller would reject them too).
  std::uint64_t rule_violations() const { return violations_; }
  // Memory storage only (tests).
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  bool load(std::uint32_t offset, std::uint8_t* out, std::size_t length) const;
  bool store(std::uint32_t offset, const std::uint8_t* data, std::size_t length);
  // The NOR rule for one program: every target byte erased. Checked against what this object
  // knows it erased (no read) or else against the stored bytes.
  bool all_erased(std::uint32_t offset, std::size_t length) const;
  void forget_erased(std::uint32_t offset, std::size_t length);
  // File storage defers storing an erase (a block of 0xff) until the next operation: when that
  // operation programs the same block, only the 0xff around the programmed bytes is stored (none
  // when the program covers the block), so the common erase-then-program-the-block costs one write
  // of the block, not two.
  // Any other change (erase, program elsewhere), sync() and destruction store the erase first,
  // and reads see the block erased, so the file only ever lags by the last operation, as if the
  // process had died just before it.
  bool store_pending_erase();
  bool store_program(std::uint32_t offset, const std::uint8_t* data, std::size_t length);

  std::uint32_t size_;
  int fd_ = -1;
  std::vector<std::uint8_t> bytes_;
  std::uint32_t block_size_;
  std::uint32_t page_size_;
  FaultInjector* faults_;
  std::uint64_t violations_ = 0;
  std::vector<std::uint8_t> erased_;  // a block of 0xff, written by erase_block
  // File storage: pages this object fully erased and has not programmed since, a cache of the
  // flash contents (this process is the file's only writer) so the NOR check need not read them.
  std::vector<bool> known_erased_;
  std::optional<std::uint32_t> pending_erase_;  // block offset, file storage only
};

class SimOtp final : public Otp {
 public:
  SimOtp(std::uint32_t size, FaultInjector* faults);
  std::uint32_t size() const override { return static_cast<std::uint32_t>(bytes_.size()); }
  bool read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const override;
  bool program(std::uint32_t offset, const std::uint8_t* bits, std::size_t length) override;
  std::vector<std::uint8_t>& bytes() { return bytes_; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
  FaultInjector* faults_;
};

}  // namespace ironseal::boot
