// Factory provisioning and end of life on the library level: device key custody, enrolment,
// the pre-shipping check, decommission records and the revocation they lead to.
#include "device/factory.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <fstream>

#include "core/file.h"
#include "device/decommission.h"
#include "device/identity.h"
#include "pki/ca.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::pki {
namespace {

namespace fs = std::filesystem;
using ::ironseal::testing::TempDir;

UnixTime now() {
  return static_cast<UnixTime>(std::time(nullptr));
}

void write_device_json(const fs::path& dir, const std::string& serial) {
  fs::create_directories(dir);
  std::ofstream(dir / "device.json") << R"({"format": "ironseal-sim-device-1", "serial": ")"
                                     << serial << R"(", "hardware_id": "plc-x1"})";
}

std::string text(const fs::path& p) {
  auto b = read_file(p);
  return b ? std::string(b->begin(), b->end()) : std::string();
}

class Factory : public ::testing::Test {
 protected:
  void SetUp() override {
    CaInitOptions o;
    o.now = now();
    ASSERT_TRUE(CertificateAuthority::init(dir_ / "ca", o));
    auto ca = CertificateAuthority::open(dir_ / "ca");
    ASSERT_TRUE(ca);
    ca_.emplace(std::move(*ca));
    auto rec = ManufacturingRecord::open(dir_ / "mfg.sqlite", true);
    ASSERT_TRUE(rec);
    record_.emplace(std::move(*rec));
  }

  fs::path provisioned(const std::string& name, const std::string& serial) {
    const fs::path d = dir_ / name;
    write_device_json(d, serial);
    auto p = provision_key(d, KeyBackend::kFile);
    EXPECT_TRUE(p) << p.error().message;
    return d;
  }

  fs::path enrolled(const std::string& name, const std::string& serial) {
    const fs::path d = provisioned(name, serial);
    auto e = factory_enroll(*ca_, *record_, d, now());
    EXPECT_TRUE(e) << e.error().message;
    return d;
  }

  CheckReport check(const fs::path& d) {
    const std::vector<Crl> crls{*ca_->current_crl(Profile::kDevice)};
    return factory_check(d, *record_, ca_->root(), crls, now());
  }

  TempDir dir_;
  std::optional<CertificateAuthority> ca_;
  std::optional<ManufacturingRecord> record_;
};

std::string failed(const CheckReport& r) {
  std::string out;
  for (const auto& i : r.items) {
    if (!i.ok) out += (out.empty() ? "" : ",") + i.name;
  }
  return out;
}

TEST_F(Factory, ProvisionKeyKeepsTheKeyOwnerOnlyAndTheCsrNamesTheDevice) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  const fs::path d = provisioned("dev", "SN-1");
  const auto paths = identity_paths(d);
  struct stat st {};
  ASSERT_EQ(::stat(paths.key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto csr = CertificateRequest::load(paths.csr);
  ASSERT_TRUE(csr);
  EXPECT_TRUE(csr->verify_proof_of_possession());
  EXPECT_EQ(csr->requested_uris(), std::vector<std::string>{"urn:ironseal:device:plc-x1:SN-1"});
  EXPECT_EQ(csr->spki_der(), load_device_key(paths)->spki_der());
  EXPECT_EQ(text(paths.csr).find("PRIVATE"), std::string::npos);
  // A device key is never replaced.
  auto again = provision_key(d, KeyBackend::kFile);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
}

// No TPM reachable (the tpm2 provider pointed at a closed port): the TPM backend says so and
// never falls back to a file key. (With a TPM: tests/cli/tpm_identity_test.sh, cli.tpm_identity.)
TEST_F(Factory, UnreachableTpmFailsClearlyInsteadOfFallingBackToAFile) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  ::setenv("TPM2OPENSSL_TCTI", "swtpm:host=127.0.0.1,port=9", 1);
  const fs::path d = dir_ / "tpm";
  write_device_json(d, "SN-2");
  auto p = provision_key(d, KeyBackend::kTpm);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(p.error().message.starts_with("tpm_unavailable")) << p.error().message;
  const auto paths = identity_paths(d);
  EXPECT_FALSE(fs::exists(paths.key));
  EXPECT_FALSE(fs::exists(paths.tpm_key));
  EXPECT_FALSE(fs::exists(paths.csr));
  // A TPM key blob on disk is not silently ignored either.
  fs::create_directories(paths.dir);
  std::ofstream(paths.tpm_key) << "-----BEGIN TSS2 PRIVATE KEY-----\n";
  auto loaded = load_device_key(paths);
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(loaded.error().message.starts_with("tpm_unavailable"));
}

TEST_F(Factory, EnrolledDevicePassesEveryCheck) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8");
  const fs::path d = enrolled("dev", "SN-3");
  const auto report = check(d);
  EXPECT_TRUE(report.ok()) << failed(report);
  EXPECT_EQ(report.items.size(), 10u);
  auto entry = record_->find("SN-3");
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->certificate_fingerprint_hex,
            Certificate::load(identity_paths(d).certificate)->fingerprint_hex());
}

TEST_F(Factory, CheckCatchesACertificateOfAnotherDevice) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8");
  const fs::path a = enrolled("a", "SN-4");
  const fs::path b = enrolled("b", "SN-5");
  fs::copy_file(identity_paths(b).certificate, identity_paths(a).certificate,
                fs::copy_options::overwrite_existing);
  EXPECT_EQ(failed(check(a)), "key_matches_certificate,serial_matches_device,manufacturing_record");
}

// A key file whose public half was replaced by the certificate's, around another private scalar:
// comparing public keys alone would pass it; the signed challenge does not.
TEST_F(Factory, CheckCatchesAKeyThatCannotSignForItsCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  const fs::path d = enrolled("dev", "SN-9");
  const auto paths = identity_paths(d);
  auto cert = Certificate::load(paths.certificate);
  ASSERT_TRUE(cert);
  // The certificate's public point, and a fresh unrelated private scalar.
  const Bytes spki = cert->spki_der();
  const unsigned char* p = spki.data();
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  ASSERT_NE(pub, nullptr);
  unsigned char point[65];
  std::size_t point_len = 0;
  ASSERT_EQ(EVP_PKEY_get_octet_string_param(pub, "pub", point, sizeof point, &point_len), 1);
  EVP_PKEY_free(pub);
  EVP_PKEY* other = EVP_EC_gen("P-256");
  BIGNUM* scalar = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(other, "priv", &scalar), 1);
  EVP_PKEY_free(other);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, "group", "P-256", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, "pub", point, point_len);
  OSSL_PARAM_BLD_push_BN(bld, "priv", scalar);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* mixed = nullptr;
  ASSERT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_fromdata(ctx, &mixed, EVP_PKEY_KEYPAIR, params), 1);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_clear_free(scalar);
  fs::remove(paths.key);
  FILE* f = std::fopen(paths.key.c_str(), "w");
  ASSERT_NE(f, nullptr);
  ::chmod(paths.key.c_str(), 0600);
  ASSERT_EQ(PEM_write_PrivateKey(f, mixed, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(f);
  EVP_PKEY_free(mixed);
  EXPECT_EQ(failed(check(d)), "key_signs");
}

TEST_F(Factory, CheckCatchesAnEnrolmentTheRecordDoesNotHold) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  const fs::path d = provisioned("dev", "SN-6");
  // Certified by the CA, but outside the station: the record never saw it.
  auto csr = CertificateRequest::load(identity_paths(d).csr);
  IssueOptions o;
  o.now = now();
  auto issued = ca_->issue(*csr, Profile::kDevice, o);
  ASSERT_TRUE(issued);
  ASSERT_TRUE(write_pem_bundle(identity_paths(d).certificate, {issued->certificate}));
  ASSERT_TRUE(write_pem_bundle(identity_paths(d).chain, {issued->issuing_ca}));
  ASSERT_TRUE(write_pem_bundle(identity_paths(d).anchors, {ca_->root()}));
  EXPECT_EQ(failed(check(d)), "manufacturing_record");
}

TEST_F(Factory, EnrolRefusesACsrNamingAnotherUnitAndASecondKeyForASerial) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8");
  const fs::path a = provisioned("a", "SN-7");
  const fs::path b = provisioned("b", "SN-8");
  fs::copy_file(identity_paths(b).csr, identity_paths(a).csr, fs::copy_options::overwrite_existing);
  auto r = factory_enroll(*ca_, *record_, a, now());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("identity_mismatch")) << r.error().message;
  EXPECT_FALSE(fs::exists(identity_paths(a).certificate));

  enrolled("first", "SN-9");
  const fs::path clone = provisioned("clone", "SN-9");
  auto dup = factory_enroll(*ca_, *record_, clone, now());
  ASSERT_FALSE(dup);
  EXPECT_TRUE(dup.error().message.starts_with("serial_already_enrolled")) << dup.error().message;
  // Enrolling the same unit again (a station that crashed half-way) is fine.
  EXPECT_TRUE(factory_enroll(*ca_, *record_, dir_ / "first", now()));
}

TEST_F(Factory, DecommissionRecordRevokesTheDeviceCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.8; CR 2.12");
  const fs::path d = enrolled("dev", "SN-10");
  const auto paths = identity_paths(d);
  auto key = load_device_key(paths);
  auto cert = Certificate::load(paths.certificate);
  ASSERT_TRUE(key && cert);
  auto record = sign_decommission_record(*key, *cert, now());
  ASSERT_TRUE(record);
  auto claim = verify_decommission_record(*record);
  ASSERT_TRUE(claim) << claim.error().message;
  EXPECT_EQ(claim->device.serial, "SN-10");
  auto entry = ingest_decommission(*ca_, *record, now());
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->revocation_reason, "cessationOfOperation");
  EXPECT_EQ(failed(check(d)), "chain_verifies");
}

TEST_F(Factory, DecommissionRecordsThatAreNotTheDevicesOwnAreRefused) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  const fs::path d = enrolled("dev", "SN-11");
  const fs::path victim = enrolled("victim", "SN-12");
  auto key = load_device_key(identity_paths(d));
  auto cert = Certificate::load(identity_paths(d).certificate);
  auto victim_cert = Certificate::load(identity_paths(victim).certificate);
  // Edited after signing: another serial in the payload.
  auto record = sign_decommission_record(*key, *cert, now());
  std::string edited = *record;
  for (auto pos = edited.find("SN-11"); pos != std::string::npos; pos = edited.find("SN-11"))
    edited.replace(pos, 5, "SN-12");
  auto r1 = ingest_decommission(*ca_, edited, now());
  ASSERT_FALSE(r1);
  EXPECT_TRUE(r1.error().message.starts_with("decommission_signature_invalid"))
      << r1.error().message;
  // One device cannot decommission another: its key does not match the victim's certificate.
  EXPECT_FALSE(sign_decommission_record(*key, *victim_cert, now()));
  // A certificate from another CA, validly signed, is not ours to revoke.
  CaInitOptions o;
  o.now = now();
  ASSERT_TRUE(CertificateAuthority::init(dir_ / "other", o));
  auto other = CertificateAuthority::open(dir_ / "other");
  auto csr = CertificateRequest::for_device(*key, {"SN-12", "plc-x1"});
  IssueOptions io;
  io.now = now();
  auto foreign = other->issue(*csr, Profile::kDevice, io);
  ASSERT_TRUE(foreign);
  auto foreign_record = sign_decommission_record(*key, foreign->certificate, now());
  ASSERT_TRUE(foreign_record);
  auto r2 = ingest_decommission(*ca_, *foreign_record, now());
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().message.starts_with("unknown_certificate")) << r2.error().message;
  // And nothing was revoked along the way.
  EXPECT_TRUE(check(victim).ok());
  EXPECT_TRUE(check(d).ok());
}

TEST(WipeFile, OverwritesTheBytesInPlaceBeforeUnlinking) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  TempDir dir;
  const fs::path key = dir / "key.pem";
  ASSERT_TRUE(
      write_file_atomic(key, as_bytes(std::string(5000, 'K')), {.mode = 0600, .exclusive = true}));
  // A second name for the same inode shows what happened to the bytes after the unlink.
  ASSERT_EQ(::link(key.c_str(), (dir / "witness").c_str()), 0);
  ASSERT_TRUE(wipe_file(key));
  EXPECT_FALSE(fs::exists(key));
  const std::string left = text(dir / "witness");
  EXPECT_EQ(left, std::string(5000, '\0'));
}

}  // namespace
}  // namespace ironseal::pki
