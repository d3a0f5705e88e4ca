// Progress of long work on a terminal (bytes, rate, time left; for a chunked install also what was
// downloaded and what delta and resume saved). Silent when stderr is not a terminal (scripts, CI).
//
// Progress of a chunked install on a terminal: bytes, rate, time left, what was downloaded and
// what delta and resume saved. Silent when stderr is not a terminal (scripts, CI).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "delivery/installer.h"

namespace ironseal::cli {

class InstallProgressLine {
 public:
  InstallProgressLine()
      : tty_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

  void operator()(const delivery::InstallProgress& p) const {
    if (!tty_) return;
    constexpr double kMiB = 1048576.0;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? static_cast<double>(p.done) / secs : 0;
    const double eta = rate > 0 ? static_cast<double>(p.image_size - p.done) / rate : 0;
    std::fprintf(stderr,
                 "\r  %6.1f / %.1f MiB  %7.1f MiB/s  eta %4.0f s  downloaded %.1f MiB  delta "
                 "saved %.1f MiB  resumed %.1f MiB ",
                 static_cast<double>(p.done) / kMiB, static_cast<double>(p.image_size) / kMiB,
                 rate / kMiB, eta, static_cast<double>(p.downloaded) / kMiB,
                 static_cast<double>(p.local) / kMiB, static_cast<double>(p.resumed) / kMiB);
    if (p.done == p.image_size) std::fprintf(stderr, "\n");
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

// Bytes of a long one-pass job (signing, hashing): "LABEL  done / total MiB  rate  eta".
// Redraws at most ten times a second.
class ByteProgress {
 public:
  explicit ByteProgress(const char* label)
      : label_(label),
        tty_(::isatty(STDERR_FILENO) == 1),
        start_(std::chrono::steady_clock::now()) {}

  void update(std::uint64_t done, std::uint64_t total) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done != total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    constexpr double kMiB = 1048576.0;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0;
    std::fprintf(stderr, "\r  %s %8.1f / %.1f MiB  %7.1f MiB/s  eta %4.0f s ", label_,
                 static_cast<double>(done) / kMiB, static_cast<double>(total) / kMiB, rate / kMiB,
                 eta);
  }
  // Ends the line if anything was drawn.
  void finish() const {
    if (tty_ && drawn_) std::fprintf(stderr, "\n");
  }

 private:
  const char* label_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace ironseal::cli
