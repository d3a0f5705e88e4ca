// Verify what you run, run what you verified: the host executes the verified in-memory copy via
// a sealed memfd; later changes to flash cannot reach it, and the memfd cannot be written.
#include "device/exec.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "boot/boot_test_util.h"
#include "support/requirements.h"

namespace ironseal::boot {
namespace {

using namespace testing;

class Exec : public BootTest {};

TEST_F(Exec, RunsTheVerifiedCopyNotWhatFlashHoldsLater) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 3.4");
  auto d = make_device();
  RamLoader loader;
  BootReport r;
  ASSERT_EQ(power_on(d->device(), &loader, &r), BootOutcome::kBoot);
  // An attacker rewrites the slot right after the check (time of check / time of use).
  const std::uint32_t body = slot_offset(d->geometry(), SlotId::kA) + r.info.header.header_size;
  for (std::uint32_t i = 0; i < 64; ++i) d->flash().bytes()[body + i] = 0x00;

  auto fd = sealed_body(loader.bytes(), r.info);
  ASSERT_TRUE(fd) << fd.error().message;
  std::vector<std::uint8_t> run(r.info.header.image_size);
  ASSERT_EQ(::pread(*fd, run.data(), run.size(), 0), static_cast<ssize_t>(run.size()));
  const Bytes expected(v1_.begin() + r.info.header.header_size,
                       v1_.begin() + r.info.header.header_size + r.info.header.image_size);
  EXPECT_TRUE(run == expected);
  // Sealed: neither written nor resized after the copy.
  const std::uint8_t x = 0;
  EXPECT_EQ(::pwrite(*fd, &x, 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::ftruncate(*fd, 1), 0);
  const int seals = ::fcntl(*fd, F_GET_SEALS);
  EXPECT_TRUE(seals & F_SEAL_WRITE);
  EXPECT_TRUE(seals & F_SEAL_SEAL);
  ::close(*fd);
}

TEST_F(Exec, BodyOutsideTheCopyIsRefused) {
  auto d = make_device();
  RamLoader loader;
  BootReport r;
  ASSERT_EQ(power_on(d->device(), &loader, &r), BootOutcome::kBoot);
  const Bytes truncated(loader.bytes().begin(), loader.bytes().begin() + 100);
  auto fd = sealed_body(truncated, r.info);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, ErrorCode::kMalformed);
}

}  // namespace
}  // namespace ironseal::boot
