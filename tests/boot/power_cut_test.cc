// Proof by exhaustion: an update (install -> trial -> confirm) and a failing update (install ->
// trials -> revert), with power cut at every single flash/OTP operation, plain and torn. After
// each cut the device is power-cycled and booted until it settles, checking at every boot: it
// runs a verified image, the old or the new one and nothing else; a confirmed image is never lost;
// the fused counter never exceeds the security counter of the image it runs (no brick); it settles
// within a bounded number of boots.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>

#include "boot/boot_test_util.h"
#include "boot/otp_map.h"
#include "support/requirements.h"

namespace ironseal::boot {
namespace {

using namespace testing;

struct Scenario {
  const char* name;
  Bytes image;
  std::uint32_t new_counter;
  bool healthy;
};

class PowerCut : public BootTest {
 protected:
  std::unique_ptr<HostDevice> clone(HostDevice& base) {
    auto d = HostDevice::create(small_config());
    EXPECT_TRUE(d);
    (*d)->flash().bytes() = base.flash().bytes();
    (*d)->otp().bytes() = base.otp().bytes();
    return std::move(*d);
  }

  // The update as the agent drives it; stops at the first operation that loses power.
  // Returns true when the update's own steps all completed.
  // `durable_sequence` is the boot state sequence number after the last step that completed.
  static bool drive(HostDevice& d, const Bytes& image, bool* install_done, bool* confirmed,
                    std::uint32_t* durable_sequence) {
    *install_done = false;
    *confirmed = false;
    *durable_sequence = state_of(d).sequence;
    InstallReport ir;
    const image::MemorySource src(image.data(), image.size());
    if (install(d.device(), src, small_config().trial_attempts, &ir) != InstallResult::kOk) {
      return false;
    }
    *install_done = true;
    *durable_sequence = state_of(d).sequence;
    for (int boot = 0; boot < 4; ++boot) {
      const BootStep s = boot_and_run(d);
      if (s.outcome == BootOutcome::kPowerLost || d.faults().power_lost()) return false;
      if (s.confirm == ConfirmResult::kPowerLost) return false;
      *durable_sequence = state_of(d).sequence;
      *confirmed = *confirmed || s.confirmed_now;
      if (s.outcome == BootOutcome::kBoot && s.report.state.pending == kNoSlot) return true;
    }
    return true;
  }

  // Runs one scenario with every cut point; returns the number of cut points covered.
  int exhaust(const Scenario& sc) {
    auto base = make_device();
    // Dry run: how many operations does the whole update take, and where does install end?
    auto dry = clone(*base);
    const std::uint64_t start = dry->faults().operations();
    bool install_done = false;
    bool confirmed = false;
    std::uint32_t sequence = 0;
    EXPECT_TRUE(drive(*dry, sc.image, &install_done, &confirmed, &sequence));
    EXPECT_EQ(confirmed, sc.healthy);
    const std::uint64_t total = dry->faults().operations() - start;
    EXPECT_GT(total, 10u);

    int covered = 0;
    for (std::uint64_t cut = 0; cut < total; ++cut) {
      for (bool tear : {false, true}) {
        SCOPED_TRACE(std::string(sc.name) + " cut after " + std::to_string(cut) +
                     (tear ? " ops (torn)" : " ops"));
        auto d = clone(*base);
        d->faults().cut_after(cut, tear);
        bool installed = false;
        bool confirmed_before_cut = false;
        std::uint32_t durable = 0;
        drive(*d, sc.image, &installed, &confirmed_before_cut, &durable);
        EXPECT_TRUE(d->faults().power_lost());
        d->faults().disarm();
        d->faults().power_cycle();
        // The last good state survives the cut: a record is found and it is not older.
        BootState after;
        bool found = false;
        EXPECT_TRUE(load_state(d->flash(), d->geometry(), &after, &found));
        EXPECT_TRUE(found) << "boot state lost";
        EXPECT_GE(after.sequence, durable);
        if (!found) return covered;
        check_recovery(*d, sc, confirmed_before_cut);
        EXPECT_EQ(d->flash().rule_violations(), 0u);
        ++covered;
        if (::testing::Test::HasFailure()) return covered;
      }
    }
    return covered;
  }

  void check_recovery(HostDevice& d, const Scenario& sc, bool confirmed_before_cut) {
    const std::string old_version = "1.0.0+0";
    const std::string new_version = image::format_version(
        image::decode_header(*reinterpret_cast<const std::uint8_t(*)[32]>(sc.image.data()))
            .version);
    bool new_is_confirmed = confirmed_before_cut;
    const int bound = small_config().trial_attempts + 3;
    for (int boot = 0;; ++boot) {
      ASSERT_LT(boot, bound) << "did not settle";
      const BootStep s = boot_and_run(d);
      ASSERT_TRUE(s.outcome == BootOutcome::kBoot || s.outcome == BootOutcome::kTrial)
          << "boot " << boot << " reason " << check_name(s.report.reason);
      const std::string running = image::format_version(s.report.info.header.version);
      ASSERT_TRUE(running == old_version || running == new_version) << running;
      // The bytes handed over verify on their own, against the root key alone.
      ASSERT_NE(s.report.image, nullptr);
      image::ImageInfo again;
      const auto trusted =
          image::to_trusted_keys(std::vector<crypto::PublicKey>{root_.public_key()});
      std::vector<std::uint8_t> scratch(4096);
      ASSERT_EQ(image::verify_image({s.report.image, trusted.data(), 1, &d.crypto(), scratch.data(),
                                     scratch.size()},
                                    &again),
                image::Status::kOk);
      if (s.outcome == BootOutcome::kBoot) {
        // A confirmed new image is never lost; the counter never exceeds what runs.
        if (new_is_confirmed) {
          EXPECT_EQ(running, new_version);
        }
        EXPECT_LE(otp_counter(d), s.report.info.security_counter);
        if (running == new_version) new_is_confirmed = true;
      }
      new_is_confirmed = new_is_confirmed || s.confirmed_now;
      if (s.outcome == BootOutcome::kBoot && s.report.state.pending == kNoSlot) {
        // Settled: a second power-on must run the same image the same way.
        const BootStep again_step = boot_and_run(d);
        ASSERT_EQ(again_step.outcome, BootOutcome::kBoot);
        EXPECT_EQ(image::format_version(again_step.report.info.header.version), running);
        if (!sc.healthy) {
          EXPECT_EQ(running, old_version);
          EXPECT_EQ(otp_counter(d), 1u);
        }
        return;
      }
    }
  }
};

TEST_F(PowerCut, UpdateThatConfirmsSurvivesACutAtEveryOperation) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 7.4; SUM-4");
  const Scenario sc{"install-trial-confirm", firmware("2.0.0", 3), 3, true};
  const int covered = exhaust(sc);
  RecordProperty("cut_points", covered);
  std::cout << "[ power cut ] " << sc.name << ": " << covered << " cut points covered\n";
}

TEST_F(PowerCut, UpdateThatFailsItsHealthCheckSurvivesACutAtEveryOperation) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 7.4; SUM-4");
  const Scenario sc{"install-trial-revert", firmware("9.0.0", 3), 3, false};
  const int covered = exhaust(sc);
  RecordProperty("cut_points", covered);
  std::cout << "[ power cut ] " << sc.name << ": " << covered << " cut points covered\n";
}

TEST_F(PowerCut, InterruptedInstallResumesWhereItStopped) {
  IRONSEAL_REQUIREMENTS("SUM-4");
  auto d = make_device();
  const Bytes v2 = firmware("2.0.0", 2);
  d->faults().cut_after(d->faults().operations() + 12, false);  // mid-way through the slot
  InstallReport first;
  const image::MemorySource src(v2.data(), v2.size());
  ASSERT_EQ(install(d->device(), src, 2, &first), InstallResult::kPowerLost);
  d->faults().power_cycle();
  const BootStep old = boot_and_run(*d);  // the old image still runs
  ASSERT_EQ(old.outcome, BootOutcome::kBoot);
  EXPECT_EQ(image::format_version(old.report.info.header.version), "1.0.0+0");
  InstallReport resumed;
  ASSERT_EQ(install(d->device(), src, 2, &resumed), InstallResult::kOk);
  EXPECT_GT(resumed.blocks_skipped, 0u);
  EXPECT_LT(resumed.blocks_written, first.blocks_written + resumed.blocks_skipped + 1);
  EXPECT_TRUE(boot_and_run(*d).confirmed_now);
}

TEST_F(PowerCut, CutDuringTheAntiRollbackFuseUpdateIsCompletedAtNextBoot) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  const Bytes v2 = firmware("2.0.0", 6);
  InstallReport ir;
  const image::MemorySource src(v2.data(), v2.size());
  ASSERT_EQ(install(d->device(), src, 2, &ir), InstallResult::kOk);
  RamLoader loader;
  BootReport trial;
  ASSERT_EQ(power_on(d->device(), &loader, &trial), BootOutcome::kTrial);
  // confirm: state erase + program (2 ops), then one fuse per counter step; cut after the 2nd fuse.
  d->faults().cut_after(d->faults().operations() + 4, false);
  EXPECT_EQ(confirm(d->device(), SlotId::kB), ConfirmResult::kPowerLost);
  EXPECT_EQ(otp_counter(*d), 3u);  // 1 -> 3 of 6
  d->faults().power_cycle();
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.slot, SlotId::kB);
  EXPECT_EQ(otp_counter(*d), 6u);
}

}  // namespace
}  // namespace ironseal::boot
