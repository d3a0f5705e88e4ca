#include "boot/drivers.h"

#include "an505.h"
#include "exit_codes.h"
#include "semihost.h"
#include "uart.h"

namespace ironseal::fw {

PowerSupply::Step PowerSupply::operation(const char* what, std::uint32_t offset) {
  if (armed_ && operations_ >= cut_after_) {
    uart::put(tear_ ? "power: cut during operation " : "power: cut before operation ");
    uart::put_u32(operations_ + 1);
    uart::put(" (");
    uart::put(what);
    uart::put(" at ");
    uart::put_hex32(offset);
    uart::put(")\n");
    if (!tear_) lost();
    return Step::kTear;
  }
  ++operations_;
  return Step::kPerform;
}

void PowerSupply::lost() {
  semihost::exit(kExitPowerCut);
}

bool NorFlash::attach(const char* path) {
  fd_ = semihost::open_rw(path);
  return fd_ >= 0;
}

std::uint32_t NorFlash::block_size() const {
  return kBlockSize;
}
std::uint32_t NorFlash::page_size() const {
  return kPageSize;
}

bool NorFlash::read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) return false;
  const std::uint8_t* src = at(offset);
  for (std::size_t i = 0; i < length; ++i) out[i] = src[i];
  return true;
}

bool NorFlash::program(std::uint32_t offset, const std::uint8_t* data, std::size_t length) {
  if (length == 0 || offset > size_ || length > size_ - offset || length > kPageSize ||
      offset / kPageSize != (offset + length - 1) / kPageSize) {
    ++violations_;
    return false;
  }
  std::uint8_t* dst = at(offset);
  for (std::size_t i = 0; i < length; ++i) {
    if (dst[i] != 0xff) {  // programming over programmed bytes: refused, as the controller would
      ++violations_;
      return false;
    }
  }
  const bool torn = power_.operation("program", offset) == PowerSupply::Step::kTear;
  const std::size_t n = torn ? length / 2 : length;
  for (std::size_t i = 0; i < n; ++i) dst[i] = data[i];
  if (fd_ >= 0 && n != 0 && !semihost::write_at(fd_, offset, dst, n)) return false;
  if (torn) power_.lost();
  return true;
}

bool NorFlash::erase_block(std::uint32_t offset) {
  if (offset % kBlockSize != 0 || offset >= size_ || size_ - offset < kBlockSize) {
    ++violations_;
    return false;
  }
  const bool torn = power_.operation("erase", offset) == PowerSupply::Step::kTear;
  const std::uint32_t n = torn ? kBlockSize / 2 : kBlockSize;
  std::uint8_t* dst = at(offset);
  for (std::uint32_t i = 0; i < n; ++i) dst[i] = 0xff;
  if (fd_ >= 0 && !semihost::write_at(fd_, offset, dst, n)) return false;
  if (torn) power_.lost();
  return true;
}

bool FuseOtp::attach(const char* path) {
  fd_ = semihost::open_rw(path);
  return fd_ >= 0;
}

bool FuseOtp::read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) return false;
  const std::uint8_t* src = at(offset);
  for (std::size_t i = 0; i < length; ++i) out[i] = src[i];
  return true;
}

bool FuseOtp::program(std::uint32_t offset, const std::uint8_t* bits, std::size_t length) {
  if (offset > size_ || length > size_ - offset) return false;
  const bool torn = power_.operation("fuse", offset) == PowerSupply::Step::kTear;
  const std::size_t n = torn ? length / 2 : length;
  std::uint8_t* dst = at(offset);
  for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<std::uint8_t>(dst[i] | bits[i]);
  if (fd_ >= 0 && n != 0 && !semihost::write_at(fd_, offset, dst, n)) return false;
  if (torn) power_.lost();
  return true;
}

}  // namespace ironseal::fw
