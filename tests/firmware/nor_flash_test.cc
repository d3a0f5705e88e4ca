// The bootloader's NOR flash and OTP drivers (firmware/boot/drivers.cc), on host memory: the
// rules of the parts are enforced (and counted), every completed operation is numbered and
// written through to the backing file, and a power cut stops before the next operation.
#include <gtest/gtest.h>

#include <vector>

#include "an505.h"
#include "boot/drivers.h"
#include "exit_codes.h"
#include "support/requirements.h"
#include "tests/firmware/fw_host_stubs.h"

namespace ironseal::fw {
namespace {

struct Rig {
  std::vector<std::uint8_t> memory = std::vector<std::uint8_t>(4 * kBlockSize, 0x00);
  PowerSupply power;
  NorFlash flash{reinterpret_cast<std::uintptr_t>(memory.data()),
                 static_cast<std::uint32_t>(memory.size()), power};
  Rig() {
    g_write_through.clear();
    EXPECT_TRUE(flash.attach("flash.img"));
  }
};

std::vector<std::uint8_t> page(std::uint8_t value, std::size_t n = kPageSize) {
  return std::vector<std::uint8_t>(n, value);
}

TEST(FirmwareNorFlash, EraseSetsOneBlockAndIsWrittenThrough) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  Rig r;
  ASSERT_TRUE(r.flash.erase_block(kBlockSize));
  for (std::uint32_t i = 0; i < r.memory.size(); ++i) {
    ASSERT_EQ(r.memory[i], i >= kBlockSize && i < 2 * kBlockSize ? 0xff : 0x00) << i;
  }
  ASSERT_EQ(g_write_through.size(), 1u);
  EXPECT_EQ(g_write_through[0].offset, kBlockSize);
  EXPECT_EQ(g_write_through[0].bytes, page(0xff, kBlockSize));
  EXPECT_EQ(r.power.operations(), 1u);
  EXPECT_EQ(r.flash.violations(), 0u);
}

TEST(FirmwareNorFlash, ProgramOnlyIntoErasedBytesWithinOnePage) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  Rig r;
  ASSERT_TRUE(r.flash.erase_block(0));
  const auto data = page(0x5a);
  ASSERT_TRUE(r.flash.program(kPageSize, data.data(), data.size()));
  EXPECT_EQ(r.memory[kPageSize], 0x5a);
  EXPECT_EQ(g_write_through.back().offset, kPageSize);
  EXPECT_EQ(g_write_through.back().bytes, data);
  EXPECT_EQ(r.power.operations(), 2u);

  // Programming over programmed bytes: refused, memory unchanged, counted, not an operation.
  const auto other = page(0x0f);
  EXPECT_FALSE(r.flash.program(kPageSize, other.data(), other.size()));
  EXPECT_EQ(r.memory[kPageSize], 0x5a);
  // Across a page boundary, longer than a page, empty: refused.
  EXPECT_FALSE(r.flash.program(2 * kPageSize + 8, other.data(), kPageSize));
  const auto two_pages = page(0x11, 2 * kPageSize);
  EXPECT_FALSE(r.flash.program(2 * kPageSize, two_pages.data(), two_pages.size()));
  EXPECT_FALSE(r.flash.program(2 * kPageSize, other.data(), 0));
  // Not erased (the block behind was never erased): refused.
  EXPECT_FALSE(r.flash.program(kBlockSize, other.data(), 16));
  EXPECT_EQ(r.memory[kBlockSize], 0x00);
  EXPECT_EQ(r.flash.violations(), 5u);
  EXPECT_EQ(r.power.operations(), 2u);
  EXPECT_EQ(g_write_through.size(), 2u);
}

TEST(FirmwareNorFlash, MisalignedOrOutOfRangeEraseIsRefused) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  Rig r;
  EXPECT_FALSE(r.flash.erase_block(kPageSize));
  EXPECT_FALSE(r.flash.erase_block(4 * kBlockSize));
  EXPECT_FALSE(r.flash.erase_block(0xfffff000u));
  EXPECT_EQ(r.flash.violations(), 3u);
  EXPECT_EQ(r.power.operations(), 0u);
  std::uint8_t b = 0;
  EXPECT_FALSE(r.flash.read(4 * kBlockSize, &b, 1));
  EXPECT_FALSE(r.flash.read(4 * kBlockSize - 1, &b, 2));
}

TEST(FirmwareNorFlash, PowerCutStopsBeforeTheNextOperation) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 7.4");
  EXPECT_EXIT(
      {
        Rig r;
        r.power.cut_after(2, false);
        const auto data = page(0x42);
        if (!r.flash.erase_block(0) || !r.flash.program(0, data.data(), data.size()))
          std::_Exit(90);
        r.flash.program(kPageSize, data.data(), data.size());  // operation 3: cut
        std::_Exit(91);
      },
      ::testing::ExitedWithCode(kExitPowerCut),
      "power: cut before operation 3 \\(program at 0x00000100\\)");
}

TEST(FirmwareNorFlash, TornProgramLandsHalfWay) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 7.4");
  EXPECT_EXIT(
      {
        Rig r;
        r.power.cut_after(1, true);
        const auto data = page(0x42);
        if (!r.flash.erase_block(0)) std::_Exit(90);
        r.flash.program(kPageSize, data.data(), data.size());  // operation 2: torn
        std::_Exit(91);
      },
      ::testing::ExitedWithCode(kExitPowerCut),
      "power: cut during operation 2 \\(program at 0x00000100\\)\n"
      "write-through 0 4096\nwrite-through 256 128\n");
}

TEST(FirmwareNorFlash, TornEraseLeavesHalfTheBlock) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 7.4");
  EXPECT_EXIT(
      {
        Rig r;
        r.power.cut_after(0, true);
        r.flash.erase_block(kBlockSize);
        std::_Exit(91);
      },
      ::testing::ExitedWithCode(kExitPowerCut), "write-through 4096 2048\n");
}

TEST(FirmwareOtp, ProgramOnlySetsBits) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  std::vector<std::uint8_t> fuses(0xc0, 0);
  PowerSupply power;
  FuseOtp otp(reinterpret_cast<std::uintptr_t>(fuses.data()), 0xc0, power);
  const std::uint8_t a = 0x05, b = 0x0a, zero = 0x00;
  ASSERT_TRUE(otp.program(0xb0, &a, 1));
  ASSERT_TRUE(otp.program(0xb0, &b, 1));
  ASSERT_TRUE(otp.program(0xb0, &zero, 1));  // cannot clear
  EXPECT_EQ(fuses[0xb0], 0x0f);
  EXPECT_EQ(power.operations(), 3u);
  EXPECT_FALSE(otp.program(0xc0, &a, 1));
}

}  // namespace
}  // namespace ironseal::fw
