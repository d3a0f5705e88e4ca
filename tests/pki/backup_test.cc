// Device backup and restore on the library level (agent/device_backup.h, backup/archive.h,
// device/file_set.h): real provisioned and enrolled device directories and a real CA. Every
// refusal is checked for its reason and for having written nothing; a restore cut by a power
// failure at every write (and torn) leaves the old configuration or the new one; a replacement's
// record makes the CA revoke the old certificate as superseded.
#include "agent/device_backup.h"

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <map>

#include "backup/archive.h"
#include "boot/boot_test_util.h"
#include "boot/otp_map.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "device/factory.h"
#include "device/file_set.h"
#include "device/identity.h"
#include "device/provisioning.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::agent {
namespace {

namespace fs = std::filesystem;
using ironseal::testing::TempDir;
using pki::UnixTime;

UnixTime now() {
  return static_cast<UnixTime>(std::time(nullptr));
}

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

std::string get(const fs::path& p) {
  auto b = read_file(p);
  return b ? std::string(b->begin(), b->end()) : "<missing>";
}

// Every regular file under `dir` but the audit trail, with its content.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_regular_file() && !rel.starts_with("audit")) out[rel] = get(e.path());
  }
  return out;
}

class DeviceBackupTest : public boot::testing::BootTest {
 protected:
  void SetUp() override {
    BootTest::SetUp();
    pki::CaInitOptions o;
    o.now = now();
    ASSERT_TRUE(pki::CertificateAuthority::init(dir_ / "ca", o));
    auto ca = pki::CertificateAuthority::open(dir_ / "ca");
    ASSERT_TRUE(ca);
    ca_.emplace(std::move(*ca));
    auto rec = pki::ManufacturingRecord::open(dir_ / "mfg.sqlite", true);
    ASSERT_TRUE(rec);
    record_.emplace(std::move(*rec));
    auto op = crypto::SealPrivateKey::generate(crypto::SealKeyType::kX25519, dir_ / "op.key",
                                               dir_ / "op.pub");
    ASSERT_TRUE(op) << op.error().message;
    auto key = crypto::SealPrivateKey::load(dir_ / "op.key");
    ASSERT_TRUE(key);
    operator_key_.emplace(std::move(*key));
  }

  fs::path device(const std::string& serial, bool enrolled, const std::string& hw = "plc-x1") {
    const fs::path d = dir_ / serial;
    boot::DeviceConfig config = boot::testing::small_config();
    config.serial = serial;
    config.hardware_id = hw;
    boot::Provisioning p;
    p.root_keys = {root_.public_key()};
    p.stage2_image = stage2_;
    p.firmware_image = v1_;
    auto hd = boot::provision_device_dir(d, config, p);
    EXPECT_TRUE(hd) << hd.error().message;
    if (enrolled) {
      EXPECT_TRUE(pki::provision_key(d, pki::KeyBackend::kFile));
      auto e = pki::factory_enroll(*ca_, *record_, d, now());
      EXPECT_TRUE(e) << e.error().message;
    }
    put(d / "config" / "agent.json", R"({"poll_s": 30})");
    put(d / "config" / "plc" / "program.conf", "cycle_ms=10\n");
    return d;
  }

  backup::Archive backup_of(const fs::path& d) {
    DeviceBackupOptions o;
    o.recipients = {operator_key_->recipient()};
    o.created = "2026-12-08T00:00:00Z";
    auto b = create_device_backup(d, o);
    EXPECT_TRUE(b) << b.error().message;
    auto a = backup::parse_archive(b ? b->archive : Bytes{});
    EXPECT_TRUE(a) << a.error().message;
    return a ? *a : backup::Archive{};
  }

  RestoreOptions options() {
    RestoreOptions o;
    o.trust.anchors = {ca_->root()};
    auto crl = ca_->current_crl(pki::Profile::kDevice);
    EXPECT_TRUE(crl);
    o.trust.crls = {*crl};
    o.now = now();
    return o;
  }

  Result<RestoreOutcome> restore(const fs::path& d, const backup::Archive& a,
                                 RestoreOptions o) {
    return restore_device_backup(d, a, *operator_key_, o);
  }

  // Expects a refusal with `reason`, and the device directory untouched.
  void expect_refused(const fs::path& d, const backup::Archive& a, const RestoreOptions& o,
                      const std::string& reason) {
    const auto before = snapshot(d);
    auto r = restore(d, a, o);
    ASSERT_FALSE(r) << "restored; wanted " << reason;
    EXPECT_EQ(r.error().reason, reason) << r.error().message;
    EXPECT_EQ(snapshot(d), before) << "a refused restore changed the device (" << reason << ")";
  }

  TempDir dir_;
  std::optional<pki::CertificateAuthority> ca_;
  std::optional<pki::ManufacturingRecord> record_;
  std::optional<crypto::SealPrivateKey> operator_key_;
};

TEST_F(DeviceBackupTest, RestoresConfigurationAndTrustAndNeverHoldsAPrivateKey) {
  IRONSEAL_REQUIREMENTS("CR 7.3; CR 7.6; CR 1.5");
  const fs::path d = device("SN-1", true);
  const auto original = snapshot(d);
  const backup::Archive a = backup_of(d);
  EXPECT_EQ(a.header.subject["serial"], "SN-1");
  EXPECT_EQ(a.header.trust["rollback_counter"], 1);
  EXPECT_EQ(a.header.trust["fused_key_hashes"].size(), 1u);
  auto contents = backup::open_archive(a, *operator_key_);
  ASSERT_TRUE(contents) << contents.error().message;
  for (const auto& e : contents->entries) {
    const std::string text(e.content.begin(), e.content.end());
    EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos) << e.path;
  }
  const std::string key_pem = get(d / "identity" / "device.key.pem");
  EXPECT_EQ(std::string(a.bytes.begin(), a.bytes.end()).find(key_pem.substr(40, 40)),
            std::string::npos);

  put(d / "config" / "agent.json", R"({"poll_s": 1})");
  put(d / "config" / "rogue.conf", "debug=1\n");
  fs::remove(d / "tuf" / "director" / "root.json");
  auto r = restore(d, a, options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->replacement);
  EXPECT_EQ(r->removed, std::vector<std::string>{"config/rogue.conf"});
  auto after = snapshot(d);
  EXPECT_EQ(after, original);
}

TEST_F(DeviceBackupTest, RefusesEachUntrustworthyArchiveForItsReasonAndWritesNothing) {
  IRONSEAL_REQUIREMENTS("CR 7.3; CR 7.6; CR 3.4; CR 1.9");
  const fs::path d = device("SN-1", true);
  const backup::Archive good = backup_of(d);
  put(d / "config" / "agent.json", R"({"poll_s": 5})");  // so a restore would change something
  auto reparse = [](Bytes b) {
    auto a = backup::parse_archive(std::move(b));
    EXPECT_TRUE(a) << a.error().message;
    return *a;
  };

  // Tampered: a bit of the ciphertext, then of the clear header.
  Bytes t = good.bytes;
  t[good.header_end + 40] ^= 0x01;
  expect_refused(d, reparse(t), options(), "bad_signature");
  auto structure = [](Bytes b) {
    auto a = backup::parse_archive(std::move(b));
    return a ? std::string("parsed") : a.error().reason;
  };
  EXPECT_EQ(structure(Bytes(good.bytes.begin(), good.bytes.end() - 10)), "malformed_archive");
  Bytes v2 = good.bytes;
  v2[16] = 2;
  EXPECT_EQ(structure(v2), "unknown_format");
  Bytes trailing = good.bytes;
  trailing.push_back(0);
  EXPECT_EQ(structure(trailing), "malformed_archive");

  // A CA that is not the device's.
  pki::CaInitOptions o;
  o.now = now();
  ASSERT_TRUE(pki::CertificateAuthority::init(dir_ / "other-ca", o));
  auto other = pki::CertificateAuthority::open(dir_ / "other-ca");
  ASSERT_TRUE(other);
  RestoreOptions foreign = options();
  foreign.trust.anchors = {other->root()};
  expect_refused(d, good, foreign, "untrusted_chain");
  RestoreOptions no_crl = options();
  no_crl.trust.crls.clear();
  expect_refused(d, good, no_crl, "crl_unavailable");

  // Not encrypted to this operator.
  ASSERT_TRUE(crypto::SealPrivateKey::generate(crypto::SealKeyType::kP256, dir_ / "o2.key",
                                               dir_ / "o2.pub"));
  auto stranger = crypto::SealPrivateKey::load(dir_ / "o2.key");
  ASSERT_TRUE(stranger);
  auto wrong_key = restore_device_backup(d, good, *stranger, options());
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().reason, "not_a_recipient");

  // Another hardware id, and other fused root keys.
  const fs::path y = device("SN-9", true, "plc-y9");
  RestoreOptions repl = options();
  repl.replacement = true;
  expect_refused(y, good, repl, "other_hardware");
  root_ = *crypto::PrivateKey::generate(crypto::KeyType::kEd25519);
  BootTest::SetUp();  // stage-2 and firmware signed by the new root key
  const fs::path z = device("SN-8", true);
  expect_refused(z, good, repl, "other_hardware");

  // Another device's backup without --replacement, and a replacement with no identity of its own.
  const fs::path r = dir_ / "SN-1-restored";
  fs::copy(d, r, fs::copy_options::recursive);
  ASSERT_TRUE(pki::destroy_device_key(pki::identity_paths(r)));
  ASSERT_TRUE(pki::provision_key(r, pki::KeyBackend::kFile));  // a new key, the old certificate
  expect_refused(r, good, options(), "replacement_not_confirmed");
  expect_refused(r, good, repl, "replacement_not_enrolled");

  // The device's trust moved on since the backup: its anti-rollback counter is higher now.
  {
    auto hd = boot::load_device(d);
    ASSERT_TRUE(hd);
    ASSERT_TRUE(boot::advance_counter((*hd)->otp(), 2));
    ASSERT_TRUE(boot::save_device(d, **hd));
  }
  expect_refused(d, good, options(), "older_trust_state");

  // The signer's certificate was revoked.
  const fs::path s = device("SN-2", true);
  const backup::Archive of_s = backup_of(s);
  auto entry = ca_->find_serial(pki::Certificate::load(s / "identity" / "device.cert.pem")->serial_hex());
  ASSERT_TRUE(entry && *entry);
  ASSERT_TRUE(ca_->revoke((*entry)->serial_hex, pki::RevocationReason::kKeyCompromise, now()));
  expect_refused(s, of_s, options(), "revoked");
}

TEST_F(DeviceBackupTest, AManifestThatDisagreesWithTheSignedHeaderIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 7.3; CR 3.4");
  const fs::path d = device("SN-1", true);
  const auto paths = pki::identity_paths(d);
  auto key = pki::load_device_key(paths);
  auto cert = pki::Certificate::load(paths.certificate);
  auto chain = pki::Certificate::load_all(paths.chain);
  ASSERT_TRUE(key && cert && chain);
  auto trust = device_trust_state(d);
  ASSERT_TRUE(trust);
  backup::Header h;
  h.kind = "device";
  h.created = "2026-12-08T00:00:00Z";
  h.subject = {{"serial", "SN-1"}, {"hardware_id", "plc-x1"}};
  h.trust = *trust;
  backup::Contents c;
  c.manifest = {{"device", h.subject}, {"trust", *trust}};
  c.manifest["trust"]["rollback_counter"] = 99;  // the device signed a lie about what is inside
  const crypto::SealRecipient to = operator_key_->recipient();
  auto bytes = backup::seal_archive(h, c, std::span(&to, 1), *key, *cert, *chain);
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto a = backup::parse_archive(*bytes);
  ASSERT_TRUE(a);
  expect_refused(d, *a, options(), "manifest_mismatch");
  // Entry paths that would leave the device directory are refused when the archive is made.
  c.entries.push_back({"../etc/passwd", {1, 2, 3}, std::nullopt});
  auto escape = backup::seal_archive(h, c, std::span(&to, 1), *key, *cert, *chain);
  ASSERT_FALSE(escape);
  EXPECT_EQ(escape.error().code, ErrorCode::kMalformed);
}

TEST_F(DeviceBackupTest, APowerCutAtEveryWriteOfARestoreLeavesTheOldOrTheNewConfiguration) {
  IRONSEAL_REQUIREMENTS("CR 7.3; CR 7.6; CR 7.4");
  const fs::path d = device("SN-1", true);
  const backup::Archive a = backup_of(d);
  const auto want_new = snapshot(d);
  put(d / "config" / "agent.json", R"({"poll_s": 999})");
  put(d / "config" / "plc" / "program.conf", "cycle_ms=1\n");
  put(d / "config" / "stale.conf", "x\n");
  const auto old = snapshot(d);
  const fs::path pristine = dir_ / "pristine";
  fs::copy(d, pristine, fs::copy_options::recursive);

  // How many writes a whole restore makes.
  boot::FaultInjector count;
  RestoreOptions o = options();
  o.faults = &count;
  ASSERT_TRUE(restore(d, a, o));
  const std::uint64_t writes = count.operations();
  ASSERT_GE(writes, 10u);
  EXPECT_EQ(snapshot(d), want_new);

  int saw_old = 0, saw_new = 0;
  for (bool tear : {false, true}) {
    for (std::uint64_t n = 0; n < writes; ++n) {
      fs::remove_all(d);
      fs::copy(pristine, d, fs::copy_options::recursive);
      boot::FaultInjector faults;
      faults.cut_after(n, tear);
      o.faults = &faults;
      auto cut = restore(d, a, o);
      ASSERT_FALSE(cut) << "write " << n << " was not cut";
      EXPECT_EQ(cut.error().reason, "power_cut");
      // Power on: loading the device completes or discards the restore.
      ASSERT_TRUE(boot::load_device(d)) << "after a cut at write " << n;
      const auto now_state = snapshot(d);
      const bool is_old = now_state == old, is_new = now_state == want_new;
      EXPECT_TRUE(is_old || is_new) << "a cut at write " << n << (tear ? " (torn)" : "")
                                    << " left a mix";
      saw_old += is_old;
      saw_new += is_new;
      // Restoring again after the cut finishes the job.
      o.faults = nullptr;
      ASSERT_TRUE(restore(d, a, o));
      EXPECT_EQ(snapshot(d), want_new);
    }
  }
  EXPECT_GT(saw_old, 0);
  EXPECT_GT(saw_new, 0);

  // A committed journal damaged afterwards is not guessed at: the device refuses to power on
  // until someone looks (a half-applied restore must never pass for a whole one).
  put(d / "restore.journal", "ironseal-restore-journal-1\nput\tnot-a-hash\tx\tconfig/agent.json\n");
  auto damaged = boot::load_device(d);
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().reason, "restore_journal_inconsistent");
  fs::remove(d / "restore.journal");
  // A staged file gone and its path not holding the journal's content: the same refusal.
  put(d / "restore.journal", "ironseal-restore-journal-1\nput\t" + std::string(64, '0') +
                                 "\t.restore/9\tconfig/agent.json\n");
  auto missing = boot::load_device(d);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, "restore_journal_inconsistent");
}

TEST_F(DeviceBackupTest, AReplacementKeepsItsIdentityAndTheCaRevokesTheOldCertificate) {
  IRONSEAL_REQUIREMENTS("CR 7.3; CR 7.6; CR 1.2; CR 1.8");
  const fs::path old_dev = device("SN-1", true);
  const std::string old_cert = pki::Certificate::load(old_dev / "identity/device.cert.pem")->serial_hex();
  const backup::Archive a = backup_of(old_dev);
  const fs::path fresh = device("SN-2", true);
  fs::remove_all(fresh / "config");
  const std::string own_cert_pem = get(fresh / "identity/device.cert.pem");

  RestoreOptions o = options();
  o.replacement = true;
  o.record_out = dir_ / "replacement.json";
  auto r = restore(fresh, a, o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->replacement);
  EXPECT_EQ(r->kept.size(), 3u);  // the old device's certificate, chain and anchors
  EXPECT_EQ(get(fresh / "identity/device.cert.pem"), own_cert_pem);
  EXPECT_EQ(get(fresh / "config/agent.json"), R"({"poll_s": 30})");

  auto text = read_file(dir_ / "replacement.json");
  ASSERT_TRUE(text);
  const std::string record(text->begin(), text->end());
  auto claim = verify_replacement_record(record);
  ASSERT_TRUE(claim) << claim.error().message;
  EXPECT_EQ(claim->old_device.serial, "SN-1");
  EXPECT_EQ(claim->new_device.serial, "SN-2");
  EXPECT_EQ(claim->old_certificate_serial_hex, old_cert);
  auto entry = ca_->record_replacement(claim->old_certificate_serial_hex,
                                       claim->new_certificate_serial_hex,
                                       claim->archive_sha256_hex, now());
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->revocation_reason, "superseded");
  EXPECT_EQ(*ca_->replaced_by(old_cert), claim->new_certificate_serial_hex);
  // The old device's backups no longer verify: its certificate is on the republished CRL.
  RestoreOptions later = options();
  later.replacement = true;
  later.record_out = dir_ / "again.json";
  expect_refused(fresh, a, later, "revoked");

  // A record whose payload was edited no longer verifies; a replacement by another hardware id is
  // refused by the CA.
  std::string forged = record;
  forged.replace(forged.find("SN-1"), 4, "SN-7");
  auto bad = verify_replacement_record(forged);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, "replacement_signature_invalid");
  const fs::path other_hw = device("SN-3", true, "plc-y9");
  auto cross = ca_->record_replacement(
      claim->new_certificate_serial_hex,
      pki::Certificate::load(other_hw / "identity/device.cert.pem")->serial_hex(), "00", now());
  ASSERT_FALSE(cross);
  EXPECT_EQ(cross.error().reason, "replacement_mismatch");
}

}  // namespace
}  // namespace ironseal::agent
