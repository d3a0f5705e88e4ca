#include "boot/sim.h"

#include <algorithm>

namespace ironseal::boot {

SimFlash::SimFlash(std::uint32_t size, std::uint32_t block_size, std::uint32_t page_size,
                   FaultInjector* faults)
    : bytes_(size, 0xff), block_size_(block_size), page_size_(page_size), faults_(faults) {}

bool SimFlash::read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const {
  if (offset > bytes_.size() || length > bytes_.size() - offset) return false;
  std::copy_n(bytes_.begin() + offset, length, out);
  return true;
}

bool SimFlash::program(std::uint32_t offset, const std::uint8_t* data, std::size_t length) {
  if (offset > bytes_.size() || length > bytes_.size() - offset || length > page_size_) {
    ++violations_;
    return false;
  }
  for (std::size_t i = 0; i < length; ++i) {
    if (bytes_[offset + i] != 0xff) {  // NOR: only erased bytes may be programmed
      ++violations_;
      return false;
    }
  }
  const auto verdict = faults_ ? faults_->next() : FaultInjector::Verdict::kPerform;
  if (verdict == FaultInjector::Verdict::kFail) return false;
  const std::size_t n = verdict == FaultInjector::Verdict::kTear ? length / 2 : length;
  for (std::size_t i = 0; i < n; ++i) bytes_[offset + i] &= data[i];
  return verdict == FaultInjector::Verdict::kPerform;
}

bool SimFlash::erase_block(std::uint32_t offset) {
  if (offset % block_size_ != 0 || offset >= bytes_.size()) {
    ++violations_;
    return false;
  }
  const auto verdict = faults_ ? faults_->next() : FaultInjector::Verdict::kPerform;
  if (verdict == FaultInjector::Verdict::kFail) return false;
  // A torn erase leaves the block partly erased, partly old.
  const std::uint32_t n = verdict == FaultInjector::Verdict::kTear ? block_size_ / 2 : block_size_;
  std::fill_n(bytes_.begin() + offset, n, 0xff);
  return verdict == FaultInjector::Verdict::kPerform;
}

SimOtp::SimOtp(std::uint32_t size, FaultInjector* faults) : bytes_(size, 0), faults_(faults) {}

bool SimOtp::read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const {
  if (offset > bytes_.size() || length > bytes_.size() - offset) return false;
  std::copy_n(bytes_.begin() + offset, length, out);
  return true;
}

bool SimOtp::program(std::uint32_t offset, const std::uint8_t* bits, std::size_t length) {
  if (offset > bytes_.size() || length > bytes_.size() - offset) return false;
  const auto verdict = faults_ ? faults_->next() : FaultInjector::Verdict::kPerform;
  if (verdict == FaultInjector::Verdict::kFail) return false;
  const std::size_t n = verdict == FaultInjector::Verdict::kTear ? length / 2 : length;
  for (std::size_t i = 0; i < n; ++i) bytes_[offset + i] |= bits[i];  // fuses only go 0 -> 1
  return verdict == FaultInjector::Verdict::kPerform;
}

}  // namespace ironseal::boot
