// The anti-rollback counter in a TPM NV counter: monotonic in the TPM itself, and the boot core
// refuses a downgrade against it exactly as against the OTP fuses.
#include <gtest/gtest.h>

#include "boot/boot_test_util.h"
#include "boot/otp_map.h"
#include "support/requirements.h"
#include "support/tpm_harness.h"
#include "tpm/esys.h"

namespace ironseal::tpm {
namespace {

using ironseal::testing::TpmEnvironment;

std::shared_ptr<Tpm> connect_or_die() {
  auto tpm = Tpm::connect();
  EXPECT_TRUE(tpm) << tpm.error().message;
  return tpm ? *tpm : nullptr;
}

TEST(TpmCounter, CountsFromZeroAndNeverGoesDown) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  auto tpm = connect_or_die();
  ASSERT_TRUE(tpm);
  auto defined = NvCounter::define_counter(*tpm);
  ASSERT_TRUE(defined) << defined.error().message;
  auto counter = NvCounter::open(tpm);
  ASSERT_TRUE(counter) << counter.error().message;
  std::uint32_t v = 99;
  ASSERT_TRUE((*counter)->read(&v));
  EXPECT_EQ(v, 0u);

  ASSERT_TRUE((*counter)->advance(5));
  ASSERT_TRUE((*counter)->read(&v));
  EXPECT_EQ(v, 5u);
  ASSERT_TRUE((*counter)->advance(3));  // a lower target changes nothing
  ASSERT_TRUE((*counter)->read(&v));
  EXPECT_EQ(v, 5u);
  auto raw = (*counter)->raw();
  ASSERT_TRUE(raw);
  EXPECT_EQ(*raw - (*counter)->base(), 5u);

  // The value lives in the TPM: a new connection (a new process, a reboot) reads the same.
  counter->reset();
  auto again = NvCounter::open(connect_or_die());
  ASSERT_TRUE(again) << again.error().message;
  ASSERT_TRUE((*again)->read(&v));
  EXPECT_EQ(v, 5u);

  // The TPM refuses to write a counter index: there is no way to set it back. Nor can the base
  // be raised to lower the counter: it is write-locked. (The same command works on an ordinary
  // index, so the refusals below are the TPM's, not a broken command line.)
  const std::string write = "printf '\\0\\0\\0\\0\\0\\0\\0\\377' | tpm2_nvwrite -i- ";
  ASSERT_EQ(TpmEnvironment::run("tpm2_nvdefine 0x01500020 -C o -s 8 -a 'authread|authwrite'"), 0);
  ASSERT_EQ(TpmEnvironment::run(write + "0x01500020"), 0);
  EXPECT_NE(TpmEnvironment::run(write + "0x01500010"), 0);
  EXPECT_NE(TpmEnvironment::run(write + "0x01500011"), 0);
  ASSERT_TRUE((*again)->read(&v));
  EXPECT_EQ(v, 5u);
}

TEST(TpmCounter, RefusesToRedefineAnExistingCounter) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto tpm = connect_or_die();
  ASSERT_TRUE(tpm);
  ASSERT_TRUE(NvCounter::define_counter(*tpm));
  auto counter = NvCounter::open(tpm);
  ASSERT_TRUE(counter);
  ASSERT_TRUE((*counter)->advance(2));
  auto again = NvCounter::define_counter(*tpm);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(again.error().message.find("already defined"), std::string::npos);
  std::uint32_t v = 0;
  ASSERT_TRUE((*counter)->read(&v));
  EXPECT_EQ(v, 2u);
}

TEST(TpmCounter, RefusesAnOrdinaryIndexPosingAsTheCounter) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  // An attacker with TPM access defines a writable index where the counter should be.
  ASSERT_EQ(TpmEnvironment::run("tpm2_nvdefine 0x01500010 -C o -s 8 -a 'authread|authwrite'"), 0);
  ASSERT_EQ(TpmEnvironment::run("tpm2_nvdefine 0x01500011 -C o -s 8 -a 'authread|authwrite'"), 0);
  auto counter = NvCounter::open(connect_or_die());
  ASSERT_FALSE(counter);
  EXPECT_EQ(counter.error().code, ErrorCode::kNotTrusted);
  EXPECT_NE(counter.error().message.find("not an ironseal anti-rollback counter"),
            std::string::npos)
      << counter.error().message;
}

TEST(TpmCounter, OpenFailsWithoutADefinedCounter) {
  IRONSEAL_REQUIREMENTS("CR 3.4");
  auto counter = NvCounter::open(connect_or_die());
  ASSERT_FALSE(counter);
  EXPECT_EQ(counter.error().code, ErrorCode::kNotFound);
}

class TpmCounterBoot : public boot::testing::BootTest {
 protected:
  // A provisioned device whose anti-rollback counter is the TPM's.
  std::unique_ptr<boot::HostDevice> make_tpm_device() {
    tpm_ = connect_or_die();
    EXPECT_TRUE(NvCounter::define_counter(*tpm_));
    auto c = NvCounter::open(tpm_);
    EXPECT_TRUE(c);
    counter_ = std::move(*c);
    auto hd = boot::HostDevice::create(boot::testing::small_config());
    EXPECT_TRUE(hd);
    (*hd)->device().counter = counter_.get();
    boot::Provisioning p;
    p.root_keys = {root_.public_key()};
    p.stage2_image = stage2_;
    p.firmware_image = firmware("1.0.0", 2);
    p.vendor_uuid = vendor_;
    p.class_uuid = device_class_;
    auto r = boot::provision(**hd, p);
    EXPECT_TRUE(r) << r.error().message;
    return std::move(*hd);
  }
  std::uint32_t tpm_value() {
    std::uint32_t v = 0;
    EXPECT_TRUE(counter_->read(&v));
    return v;
  }
  std::shared_ptr<Tpm> tpm_;
  std::unique_ptr<NvCounter> counter_;
};

TEST_F(TpmCounterBoot, ConfirmRaisesTheTpmCounterAndADowngradeIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 3.4; EDR 3.14");
  auto d = make_tpm_device();
  EXPECT_EQ(tpm_value(), 2u);                     // the factory image's security counter
  EXPECT_EQ(boot::testing::otp_counter(*d), 0u);  // the fuses are not used

  // Older than the TPM counter: refused before flash is touched, for being a rollback.
  boot::InstallReport old;
  const Bytes v0 = firmware("0.9.0", 1);
  const image::MemorySource old_src(v0.data(), v0.size());
  boot::install(d->device(), old_src, 2, &old);
  EXPECT_EQ(old.result, boot::InstallResult::kRefused);
  EXPECT_EQ(old.reason, boot::kCheckRolledBack) << boot::check_name(old.reason);

  // Newer: trial (counter unchanged), confirm (counter raised in the TPM).
  const Bytes v2 = firmware("2.0.0", 4);
  const image::MemorySource new_src(v2.data(), v2.size());
  boot::InstallReport ir;
  ASSERT_EQ(boot::install(d->device(), new_src, 2, &ir), boot::InstallResult::kOk);
  boot::RamLoader loader;
  boot::BootReport trial;
  ASSERT_EQ(boot::power_on(d->device(), &loader, &trial), boot::BootOutcome::kTrial);
  EXPECT_EQ(tpm_value(), 2u);
  ASSERT_EQ(boot::confirm(d->device(), trial.slot), boot::ConfirmResult::kConfirmed);
  EXPECT_EQ(tpm_value(), 4u);
  EXPECT_EQ(boot::testing::otp_counter(*d), 0u);

  // The slot still holding 1.0.0 (counter 2) no longer boots: stage-2 refuses it as a rollback.
  const boot::testing::BootStep s = boot::testing::boot_and_run(*d);
  ASSERT_EQ(s.outcome, boot::BootOutcome::kBoot);
  EXPECT_EQ(s.report.otp_counter, 4u);
  boot::InstallReport again;
  const Bytes v3 = firmware("3.0.0", 3);
  const image::MemorySource v3_src(v3.data(), v3.size());
  boot::install(d->device(), v3_src, 2, &again);
  EXPECT_EQ(again.result, boot::InstallResult::kRefused);
  EXPECT_EQ(again.reason, boot::kCheckRolledBack);
}

}  // namespace
}  // namespace ironseal::tpm
