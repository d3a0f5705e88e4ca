#include "device/sim.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/file.h"

namespace ironseal::boot {

SimFlash::SimFlash(std::uint32_t size, std::uint32_t block_size, std::uint32_t page_size,
                   FaultInjector* faults, Storage storage)
    : size_(size),
      bytes_(storage == Storage::kMemory ? size : 0, 0xff),
      block_size_(block_size),
      page_size_(page_size),
      faults_(faults) {}

SimFlash::~SimFlash() {
  if (fd_ >= 0) {
    store_pending_erase();
    ::close(fd_);
  }
}

Result<void> SimFlash::attach_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fail(ErrorCode::kIo, "cannot open ", path.string(), ": ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return fail(ErrorCode::kIo, "cannot stat ", path.string(), ": ", std::strerror(errno));
  }
  if (auto regular = require_regular(path, st); !regular) {
    ::close(fd);
    return std::unexpected(regular.error());
  }
  if (static_cast<std::uint64_t>(st.st_size) != size_) {
    ::close(fd);
    return fail(ErrorCode::kMalformed, path.string(), " is not ", std::to_string(size_),
                " bytes of flash");
  }
  if (fd_ >= 0) {
    store_pending_erase();
    ::close(fd_);
  }
  fd_ = fd;
  known_erased_.clear();
  pending_erase_.reset();
  bytes_.clear();
  bytes_.shrink_to_fit();
  return {};
}

Result<void> SimFlash::sync() {
  if (!store_pending_erase()) return fail(ErrorCode::kIo, "write flash: ", std::strerror(errno));
  if (fd_ >= 0 && ::fsync(fd_) != 0)
    return fail(ErrorCode::kIo, "fsync flash: ", std::strerror(errno));
  return {};
}

void SimFlash::start_writeback(std::uint32_t offset, std::uint32_t length) {
  if (fd_ >= 0) ::sync_file_range(fd_, offset, length, SYNC_FILE_RANGE_WRITE);  // a hint only
}

bool SimFlash::load(std::uint32_t offset, std::uint8_t* out, std::size_t length) const {
  if (fd_ < 0) {
    if (bytes_.size() != size_) return false;  // file storage not attached
    std::copy_n(bytes_.begin() + offset, length, out);
    return true;
  }
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  if (pending_erase_) {  // an erase not yet stored reads as erased
    const std::uint64_t lo = std::max<std::uint64_t>(offset, *pending_erase_);
    const std::uint64_t hi = std::min<std::uint64_t>(std::uint64_t{offset} + length,
                                                     std::uint64_t{*pending_erase_} + block_size_);
    if (lo < hi) std::fill(out + (lo - offset), out + (hi - offset), std::uint8_t{0xff});
  }
  return true;
}

bool SimFlash::store_pending_erase() {
  if (!pending_erase_) return true;
  const std::uint32_t block = *pending_erase_;
  pending_erase_.reset();
  if (erased_.size() < block_size_) erased_.assign(block_size_, 0xff);
  return store(block, erased_.data(), block_size_);
}

// Stores programmed bytes; when they fall in the block whose erase is pending, the parts of that
// block around them are stored as 0xff (none when the program covers the block, the common case:
// then the block costs this one write).
bool SimFlash::store_program(std::uint32_t offset, const std::uint8_t* data, std::size_t length) {
  if (pending_erase_) {
    const std::uint64_t bs = *pending_erase_;
    const std::uint64_t be = bs + block_size_;
    const std::uint64_t end = std::uint64_t{offset} + length;
    if (length == 0 || end <= bs || offset >= be) {
      if (!store_pending_erase()) return false;
    } else {
      pending_erase_.reset();
      if (erased_.size() < block_size_) erased_.assign(block_size_, 0xff);
      if (offset > bs && !store(static_cast<std::uint32_t>(bs), erased_.data(), offset - bs)) {
        return false;
      }
      if (end < be && !store(static_cast<std::uint32_t>(end), erased_.data(), be - end)) {
        return false;
      }
    }
  }
  return length == 0 || store(offset, data, length);
}

bool SimFlash::store(std::uint32_t offset, const std::uint8_t* data, std::size_t length) {
  if (fd_ < 0) {
    if (bytes_.size() != size_) return false;
    std::copy_n(data, length, bytes_.begin() + offset);
    return true;
  }
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pwrite(fd_, data + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool SimFlash::read(std::uint32_t offset, std::uint8_t* out, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) return false;
  return load(offset, out, length);
}

bool SimFlash::all_erased(std::uint32_t offset, std::size_t length) const {
  const std::uint32_t page = offset / page_size_;
  if (offset % page_size_ == 0 && length == page_size_ && page < known_erased_.size() &&
      known_erased_[page]) {
    return true;
  }
  std::uint8_t current[4096];
  if (length > sizeof current || !load(offset, current, length)) return false;
  // Checked eight bytes at a time.
  std::size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, current + i, 8);
    if (word != ~std::uint64_t{0}) return false;
  }
  for (; i < length; ++i) {
    if (current[i] != 0xff) return false;
  }
  return true;
}

void SimFlash::forget_erased(std::uint32_t offset, std::size_t length) {
  if (length == 0) return;
  const std::size_t last = (offset + length - 1) / page_size_;
  for (std::size_t p = offset / page_size_; p <= last && p < known_erased_.size(); ++p) {
    known_erased_[p] = false;
  }
}

bool SimFlash::program(std::uint32_t offset, const std::uint8_t* data, std::size_t length) {
  if (length > page_size_) {
    ++violations_;
    return false;
  }
  return program_pages(offset, data, length);
}

bool SimFlash::program_pages(std::uint32_t offset, const std::uint8_t* data, std::size_t length) {
  if (offset > size_ || length > size_ - offset ||
      (length > page_size_ && offset % page_size_ != 0)) {
    ++violations_;
    return false;
  }
  // Page by page: the NOR rule (only erased bytes may be programmed), then the fault injector.
  // The pages performed are stored with one write; a torn page lands a prefix.
  std::size_t done = 0;
  bool ok = true;
  while (done < length) {
    const std::size_t n = std::min<std::size_t>(page_size_, length - done);
    const auto at = static_cast<std::uint32_t>(offset + done);
    if (!all_erased(at, n)) {
      ++violations_;
      ok = false;
      break;
    }
    const auto verdict = faults_ ? faults_->next() : FaultInjector::Verdict::kPerform;
    if (verdict == FaultInjector::Verdict::kFail) {
      ok = false;
      break;
    }
    if (verdict == FaultInjector::Verdict::kTear) {
      done += n / 2;  // programming erased bytes leaves exactly `data` (1 AND d == d)
      ok = false;
      break;
    }
    done += n;
  }
  forget_erased(offset, done);
  if (!store_program(offset, data, done)) return false;
  return ok;
}

bool SimFlash::erase_block(std::uint32_t offset) {
  if (offset % block_size_ != 0 || offset >= size_) {
    ++violations_;
    return false;
  }
  if (!store_pending_erase()) return false;
  const auto verdict = faults_ ? faults_->next() : FaultInjector::Verdict::kPerform;
  if (verdict == FaultInjector::Verdict::kFail) return false;
  forget_erased(offset, block_size_);
  if (verdict == FaultInjector::Verdict::kPerform && fd_ >= 0) {
    pending_erase_ = offset;  // stored with the next operation
  } else {
    // A torn erase leaves the block partly erased, partly old.
    const std::uint32_t n =
        verdict == FaultInjector::Verdict::kTear ? block_size_ / 2 : block_size_;
    if (erased_.size() < n) erased_.assign(n, 0xff);
    if (!store(offset, erased_.data(), n)) return false;
    if (verdict != FaultInjector::Verdict::kPerform) return false;
  }
  // Only for file storage: tests edit memory storage directly through bytes().
  if (fd_ >= 0 && block_size_ % page_size_ == 0) {
    if (known_erased_.size() != size_ / page_size_) known_erased_.assign(size_ / page_size_, false);
    for (std::uint32_t p = offset / page_size_; p < (offset + block_size_) / page_size_; ++p) {
      known_erased_[p] = true;
    }
  }
  return true;
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
