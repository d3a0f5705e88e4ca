// The boot core's state machine and the attacks it must refuse, each for the right reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "boot/boot_test_util.h"
#include "boot/otp_map.h"
#include "core/file.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::boot {
namespace {

using namespace testing;

image::MemorySource source_of(const Bytes& b) {
  return image::MemorySource(b.data(), b.size());
}

InstallReport install_bytes(HostDevice& d, const Bytes& image, std::uint8_t attempts = 2) {
  InstallReport r;
  const auto src = source_of(image);
  install(d.device(), src, attempts, &r);
  return r;
}

// Writes raw bytes into a slot, as an attacker with flash access would (no checks).
void write_slot_raw(HostDevice& d, SlotId slot, const Bytes& bytes) {
  const std::uint32_t base = slot_offset(d.geometry(), slot);
  std::fill_n(d.flash().bytes().begin() + base, d.geometry().slot_size, 0xff);
  std::copy(bytes.begin(), bytes.end(), d.flash().bytes().begin() + base);
}

void forge_state(HostDevice& d, BootState st) {
  ASSERT_TRUE(store_state(d.flash(), d.geometry(), &st));
}

std::string version_text(const BootReport& r) {
  return image::format_version(r.info.header.version);
}

class Boot : public BootTest {};

TEST_F(Boot, ProvisionedDeviceBootsItsConfirmedImage) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 3.4");
  auto d = make_device();
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.slot, SlotId::kA);
  EXPECT_EQ(version_text(s.report), "1.0.0+0");
  EXPECT_TRUE(s.report.stage2_trusted);
  EXPECT_EQ(s.report.otp_counter, 1u);
  EXPECT_EQ(d->flash().rule_violations(), 0u);
}

TEST_F(Boot, InstallTrialConfirmMovesTheCounterOnlyOnConfirmation) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 3.4; SUM-4");
  auto d = make_device();
  const InstallReport ir = install_bytes(*d, firmware("2.0.0", 4));
  ASSERT_EQ(ir.result, InstallResult::kOk) << check_name(ir.reason);
  EXPECT_EQ(ir.slot, SlotId::kB);
  EXPECT_EQ(state_of(*d).pending, static_cast<std::uint8_t>(SlotId::kB));
  EXPECT_EQ(otp_counter(*d), 1u);

  RamLoader loader;
  BootReport trial;
  ASSERT_EQ(power_on(d->device(), &loader, &trial), BootOutcome::kTrial);
  EXPECT_EQ(version_text(trial), "2.0.0+0");
  EXPECT_EQ(trial.state.attempts_left, 1);
  EXPECT_EQ(otp_counter(*d), 1u);  // a trial does not move the counter
  ASSERT_EQ(confirm(d->device(), SlotId::kB), ConfirmResult::kConfirmed);
  EXPECT_EQ(otp_counter(*d), 4u);
  EXPECT_EQ(state_of(*d).primary, SlotId::kB);

  const BootStep after = boot_and_run(*d);
  ASSERT_EQ(after.outcome, BootOutcome::kBoot);
  EXPECT_EQ(version_text(after.report), "2.0.0+0");
  EXPECT_EQ(confirm(d->device(), SlotId::kB), ConfirmResult::kAlreadyConfirmed);
  EXPECT_EQ(confirm(d->device(), SlotId::kA), ConfirmResult::kNotRunning);
}

TEST_F(Boot, ConfirmRefusesAnImageThatHasNotStartedItsTrial) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; CR 3.4; SUM-4");
  // Confirming an installed image before it ever ran would fuse its security counter: if it then
  // failed, neither it nor the older image could boot. Only the running trial may confirm.
  auto d = make_device();
  ASSERT_EQ(install_bytes(*d, firmware("3.0.0", 3)).result, InstallResult::kOk);
  const BootState before = state_of(*d);
  EXPECT_EQ(confirm(d->device(), SlotId::kB), ConfirmResult::kNotInTrial);
  EXPECT_EQ(otp_counter(*d), 1u);                     // nothing fused
  EXPECT_EQ(state_of(*d).sequence, before.sequence);  // nothing written
  EXPECT_EQ(state_of(*d).pending, static_cast<std::uint8_t>(SlotId::kB));

  // The image then fails its trials: the device reverts and the older image still runs, and an
  // update to another release is still possible (no counter was fused for v3).
  for (int attempt = 0; attempt < 2; ++attempt) {
    RamLoader unhealthy;  // the trial runs but never confirms
    BootReport r;
    ASSERT_EQ(power_on(d->device(), &unhealthy, &r), BootOutcome::kTrial);
  }
  const BootStep reverted = boot_and_run(*d);
  ASSERT_EQ(reverted.outcome, BootOutcome::kBoot);
  EXPECT_EQ(version_text(reverted.report), "1.0.0+0");
  EXPECT_EQ(otp_counter(*d), 1u);
  EXPECT_EQ(install_bytes(*d, firmware("2.0.0", 2)).result, InstallResult::kOk);

  // Once the trial has started, the same call confirms.
  RamLoader loader;
  BootReport trial;
  ASSERT_EQ(power_on(d->device(), &loader, &trial), BootOutcome::kTrial);
  EXPECT_EQ(confirm(d->device(), trial.slot), ConfirmResult::kConfirmed);
  EXPECT_EQ(otp_counter(*d), 2u);
}

TEST_F(Boot, UnconfirmedTrialRevertsAfterItsAttemptsAndRecordsWhy) {
  IRONSEAL_REQUIREMENTS("EDR 3.14; SUM-4");
  auto d = make_device();
  ASSERT_EQ(install_bytes(*d, firmware("9.0.0", 5), 2).result, InstallResult::kOk);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const BootStep s = boot_and_run(*d);
    ASSERT_EQ(s.outcome, BootOutcome::kTrial) << attempt;
    EXPECT_EQ(version_text(s.report), "9.0.0+0");
  }
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.event, BootEvent::kRevertedUnconfirmed);
  EXPECT_EQ(version_text(s.report), "1.0.0+0");
  const BootState st = state_of(*d);
  EXPECT_EQ(st.last_event, BootEvent::kRevertedUnconfirmed);
  EXPECT_EQ(st.bad[1], 1);
  EXPECT_EQ(st.revert_count, 1u);
  EXPECT_EQ(otp_counter(*d), 1u);  // never past the confirmed image's counter
  // The failed image is never tried again.
  EXPECT_EQ(boot_and_run(*d).report.slot, SlotId::kA);
}

TEST_F(Boot, MeasurementChainsStage2TheImageAndTheDecision) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  const BootStep a = boot_and_run(*d);
  const BootStep b = boot_and_run(*d);
  EXPECT_EQ(0, std::memcmp(a.report.measurement, b.report.measurement, 32));  // deterministic
  ASSERT_EQ(install_bytes(*d, firmware("2.0.0", 1)).result, InstallResult::kOk);
  const BootStep trial = boot_and_run(*d);
  ASSERT_EQ(trial.outcome, BootOutcome::kTrial);
  EXPECT_NE(0, std::memcmp(a.report.measurement, trial.report.measurement, 32));
  EXPECT_EQ(0, std::memcmp(a.report.stage2_measurement, trial.report.stage2_measurement, 32));
}

// ---- Attacks ----------------------------------------------------------------------------------

TEST_F(Boot, ImageSignedByAnUnknownKeyIsRefusedAtInstallAndAtBoot) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  auto d = make_device();
  const auto attacker = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  const Bytes evil = firmware("5.0.0", 9, &attacker);
  const InstallReport ir = install_bytes(*d, evil);
  EXPECT_EQ(ir.result, InstallResult::kRefused);
  EXPECT_EQ(ir.reason, static_cast<std::uint8_t>(image::Status::kUnknownKey));
  // Written straight to flash with a forged pending mark: refused at boot, old image runs.
  write_slot_raw(*d, SlotId::kB, evil);
  BootState st = state_of(*d);
  st.pending = 1;
  st.attempts_left = 3;
  forge_state(*d, st);
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.event, BootEvent::kRevertedInvalid);
  EXPECT_EQ(s.report.reason, static_cast<std::uint8_t>(image::Status::kUnknownKey));
  EXPECT_EQ(version_text(s.report), "1.0.0+0");
}

TEST_F(Boot, KeyInTheFlashKeyStoreButNotFusedIsNotTrusted) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  const auto attacker = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  const auto keys = image::to_trusted_keys(
      std::vector<crypto::PublicKey>{root_.public_key(), attacker.public_key()});
  std::vector<std::uint8_t> store(d->geometry().block_size, 0xff);
  ASSERT_GT(encode_keystore(keys.data(), 2, store.data(), static_cast<std::uint32_t>(store.size())),
            0u);
  std::copy(store.begin(), store.end(), d->flash().bytes().begin() + d->geometry().keystore_offset);
  const InstallReport ir = install_bytes(*d, firmware("5.0.0", 9, &attacker));
  EXPECT_EQ(ir.result, InstallResult::kRefused);
  EXPECT_EQ(ir.reason, static_cast<std::uint8_t>(image::Status::kUnknownKey));
}

TEST_F(Boot, ValidSignatureForOtherHardwareIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto d = make_device();
  EXPECT_EQ(install_bytes(*d, firmware("2.0.0", 2, nullptr, false)).reason, kCheckWrongHardware);
  vendor_ = *image::parse_uuid("other-maker.example", image::kUuidNamespaceDns);
  const InstallReport ir = install_bytes(*d, firmware("2.0.0", 2));
  EXPECT_EQ(ir.result, InstallResult::kRefused);
  EXPECT_EQ(ir.reason, kCheckWrongHardware);
}

class Downgrade : public BootTest {
 protected:
  // v1 (counter 1) in A, v2 (counter 2) confirmed in B, fuses at 2.
  std::unique_ptr<HostDevice> device_on_v2() {
    auto d = make_device();
    EXPECT_EQ(install_bytes(*d, firmware("2.0.0", 2)).result, InstallResult::kOk);
    EXPECT_TRUE(boot_and_run(*d).confirmed_now);
    EXPECT_EQ(otp_counter(*d), 2u);
    return d;
  }
};

TEST_F(Downgrade, ViaInstallIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4; SUM-4");
  auto d = device_on_v2();
  const InstallReport ir = install_bytes(*d, firmware("1.5.0", 1));
  EXPECT_EQ(ir.result, InstallResult::kRefused);
  EXPECT_EQ(ir.reason, kCheckRolledBack);
}

TEST_F(Downgrade, ViaTheTrialPathIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  auto d = device_on_v2();
  BootState st = state_of(*d);  // slot A still holds the old v1: mark it pending
  st.pending = 0;
  st.attempts_left = 3;
  st.bad[0] = 0;
  forge_state(*d, st);
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.event, BootEvent::kRevertedInvalid);
  EXPECT_EQ(s.report.reason, kCheckRolledBack);
  EXPECT_EQ(version_text(s.report), "2.0.0+0");
}

TEST_F(Downgrade, OldImageWrittenStraightIntoTheConfirmedSlotIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  auto d = device_on_v2();
  write_slot_raw(*d, SlotId::kB, v1_);  // validly signed, but counter 1 < fused 2
  const BootStep s = boot_and_run(*d);
  // Both slots now hold counter-1 images: nothing may run.
  EXPECT_EQ(s.outcome, BootOutcome::kRecovery);
  EXPECT_EQ(s.report.reason, kCheckRolledBack);
  EXPECT_EQ(s.report.image, nullptr);
}

TEST_F(Boot, SlotModifiedAfterInstallIsRefusedAndReverted) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  auto d = make_device();
  ASSERT_EQ(install_bytes(*d, firmware("2.0.0", 2)).result, InstallResult::kOk);
  d->flash().bytes()[slot_offset(d->geometry(), SlotId::kB) + 0x100 + 1234] ^= 0x04;
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.event, BootEvent::kRevertedInvalid);
  EXPECT_EQ(s.report.reason, static_cast<std::uint8_t>(image::Status::kHashMismatch));
  EXPECT_EQ(version_text(s.report), "1.0.0+0");
}

TEST_F(Boot, ConfirmedSlotCorruptedFallsBackToTheOtherVerifiedSlot) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  ASSERT_EQ(install_bytes(*d, firmware("2.0.0", 1)).result, InstallResult::kOk);
  ASSERT_TRUE(boot_and_run(*d).confirmed_now);
  d->flash().bytes()[slot_offset(d->geometry(), SlotId::kB) + 0x100 + 10] ^= 0x80;
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.event, BootEvent::kPrimaryInvalid);
  EXPECT_EQ(s.report.reason, static_cast<std::uint8_t>(image::Status::kHashMismatch));
  EXPECT_EQ(s.report.slot, SlotId::kA);
}

TEST_F(Boot, ModifiedStage2MeansRecoveryAndNothingRuns) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  d->flash().bytes()[d->geometry().stage2_offset + 0x100 + 3] ^= 0x01;
  const BootStep s = boot_and_run(*d);
  EXPECT_EQ(s.outcome, BootOutcome::kRecovery);
  EXPECT_FALSE(s.report.stage2_trusted);
  EXPECT_EQ(s.report.reason, static_cast<std::uint8_t>(image::Status::kHashMismatch));
  EXPECT_EQ(s.report.image, nullptr);
}

TEST_F(Boot, BootStateForgedToPointAtAnEmptySlotFallsBack) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  BootState st = state_of(*d);
  st.primary = SlotId::kB;  // erased
  forge_state(*d, st);
  const BootStep s = boot_and_run(*d);
  ASSERT_EQ(s.outcome, BootOutcome::kBoot);
  EXPECT_EQ(s.report.event, BootEvent::kPrimaryInvalid);
  EXPECT_EQ(s.report.reason, static_cast<std::uint8_t>(image::Status::kBadMagic));
  EXPECT_EQ(s.report.slot, SlotId::kA);
}

TEST_F(Boot, NoVerifiableImageMeansRecoveryWithTheReason) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  d->flash().bytes()[slot_offset(d->geometry(), SlotId::kA) + 0x100] ^= 0x01;
  const BootStep s = boot_and_run(*d);
  EXPECT_EQ(s.outcome, BootOutcome::kRecovery);
  EXPECT_EQ(s.report.image, nullptr);
  EXPECT_NE(s.report.reason, kCheckOk);
  // Each slot's own reason: the tampered confirmed image, and the never-written other slot.
  EXPECT_EQ(s.report.slot_reason[0], static_cast<std::uint8_t>(image::Status::kHashMismatch));
  EXPECT_EQ(s.report.slot_reason[1], static_cast<std::uint8_t>(image::Status::kBadMagic));
}

TEST_F(Boot, SlotReasonsAreClearedOnEveryPowerOn) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  auto d = make_device();
  const std::uint8_t before = d->flash().bytes()[slot_offset(d->geometry(), SlotId::kA) + 0x100];
  d->flash().bytes()[slot_offset(d->geometry(), SlotId::kA) + 0x100] ^= 0x01;
  BootReport report;
  RamLoader loader;
  ASSERT_EQ(power_on(d->device(), &loader, &report), BootOutcome::kRecovery);
  d->flash().bytes()[slot_offset(d->geometry(), SlotId::kA) + 0x100] = before;
  ASSERT_EQ(power_on(d->device(), &loader, &report), BootOutcome::kBoot);  // same report object
  EXPECT_EQ(report.slot_reason[0], kCheckOk);
  EXPECT_EQ(report.slot_reason[1], kCheckOk);
}

TEST_F(Boot, DecommissionedDeviceRunsNothing) {
  auto d = make_device();
  ASSERT_TRUE(advance_lifecycle(d->otp(), Lifecycle::kDecommissioned));
  const BootStep s = boot_and_run(*d);
  EXPECT_EQ(s.outcome, BootOutcome::kRecovery);
  EXPECT_EQ(s.report.reason, kCheckDecommissioned);
}

TEST(Otp, CounterIsThermometerCodedAndCannotBeRolledBack) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  SimOtp otp(kOtpSize, nullptr);
  std::uint32_t v = 0;
  ASSERT_TRUE(advance_counter(otp, 5));
  ASSERT_TRUE(read_counter(otp, &v));
  EXPECT_EQ(v, 5u);
  ASSERT_TRUE(advance_counter(otp, 3));  // lower target: no change
  ASSERT_TRUE(read_counter(otp, &v));
  EXPECT_EQ(v, 5u);
  const std::uint8_t zeros[8] = {};
  ASSERT_TRUE(otp.program(kOtpCounter, zeros, 8));  // programming zeros clears nothing
  ASSERT_TRUE(read_counter(otp, &v));
  EXPECT_EQ(v, 5u);
  ASSERT_TRUE(advance_counter(otp, 1000));  // saturates
  ASSERT_TRUE(read_counter(otp, &v));
  EXPECT_EQ(v, kOtpCounterBits);
}

TEST(Flash, EnforcesNorRules) {
  SimFlash f(8192, 4096, 256, nullptr);
  const std::uint8_t data[4] = {0x12, 0x34, 0x56, 0x78};
  ASSERT_TRUE(f.program(0, data, 4));
  EXPECT_FALSE(f.program(0, data, 4));  // not erased
  EXPECT_FALSE(f.erase_block(100));     // misaligned
  EXPECT_EQ(f.rule_violations(), 2u);
  ASSERT_TRUE(f.erase_block(0));
  EXPECT_EQ(f.bytes()[0], 0xff);
}

// File storage keeps a cache of pages it erased; the NOR rules must hold exactly as in memory,
// and a multi-page program is still one fault-injector operation per page.
TEST(Flash, FileStorageEnforcesNorRulesAndCountsEachPage) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  const ironseal::testing::TempDir dir;
  const auto path = dir.path() / "flash.bin";
  ASSERT_TRUE(write_file_atomic(path, Bytes(8192, 0x00)));  // not erased to begin with
  FaultInjector faults;
  SimFlash f(8192, 4096, 256, &faults, SimFlash::Storage::kFile);
  ASSERT_TRUE(f.attach_file(path));
  Bytes data(3 * 256, 0x5a);
  EXPECT_FALSE(f.program_pages(0, data.data(), data.size()));  // never erased
  EXPECT_EQ(f.rule_violations(), 1u);
  ASSERT_TRUE(f.erase_block(0));
  ASSERT_TRUE(f.program_pages(0, data.data(), data.size()));
  EXPECT_FALSE(f.program(256, data.data(), 4));  // programmed since the erase: not erased
  EXPECT_FALSE(f.program(0, data.data(), 512));  // longer than a page
  EXPECT_EQ(f.rule_violations(), 3u);
  // A cut during the second page of a three-page program: page one lands, page two is torn.
  ASSERT_TRUE(f.erase_block(4096));
  faults.cut_after(faults.operations() + 1, /*tear=*/true);
  EXPECT_FALSE(f.program_pages(4096, data.data(), data.size()));
  Bytes back(3 * 256);
  ASSERT_TRUE(f.read(4096, back.data(), back.size()));
  EXPECT_EQ(std::count(back.begin(), back.begin() + 384, 0x5a), 384);
  EXPECT_EQ(std::count(back.begin() + 384, back.end(), 0xff), 384);
}

TEST(BootStateRecord, TornOrCorruptRecordIsIgnoredAndTheOlderOneWins) {
  IRONSEAL_REQUIREMENTS("EDR 3.14");
  Geometry g;
  ASSERT_TRUE(make_geometry(4096, 4096, 4096, 4096, &g));
  FaultInjector faults;
  SimFlash f(g.total_size, 4096, 256, &faults);
  BootState s;
  s.primary = SlotId::kB;
  ASSERT_TRUE(store_state(f, g, &s));
  s.primary = SlotId::kA;
  faults.cut_after(faults.operations() + 1, true);  // the erase lands, the program tears
  EXPECT_FALSE(store_state(f, g, &s));
  faults.power_cycle();
  BootState loaded;
  bool found = false;
  ASSERT_TRUE(load_state(f, g, &loaded, &found));
  ASSERT_TRUE(found);
  EXPECT_EQ(loaded.primary, SlotId::kB);
  EXPECT_EQ(loaded.sequence, 1u);
  std::uint8_t raw[kStateRecordSize];
  encode_state(loaded, raw);
  raw[9] ^= 1;
  EXPECT_FALSE(decode_state(raw, &loaded));
}

}  // namespace
}  // namespace ironseal::boot
