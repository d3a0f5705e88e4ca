// Device certificates from a CA held as PEM files (pki::DeviceIssuer, what `fleet simulate`
// issues through): the CA's own device profile, so a certificate from the CA directory's device
// issuing CA passes the same checks (chain, name constraints, purpose, device URN) as one from
// `ca issue`; and the refusals of an issuer that is not one.
#include "pki/device_issuer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>

#include "device/identity.h"
#include "pki/ca.h"
#include "pki/verify.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::pki {
namespace {

namespace fs = std::filesystem;
using ironseal::testing::TempDir;

UnixTime now() {
  return static_cast<UnixTime>(std::time(nullptr));
}

class DeviceIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CaInitOptions o;
    o.organization = "PLC Example";
    o.now = now();
    ASSERT_TRUE(CertificateAuthority::init(dir_ / "ca", o));
    auto ca = CertificateAuthority::open(dir_ / "ca");
    ASSERT_TRUE(ca);
    ca_.emplace(std::move(*ca));
  }

  Result<DeviceIssuer> device_ca() const {
    return DeviceIssuer::load(dir_ / "ca" / "device-ca" / "cert.pem",
                              dir_ / "ca" / "device-ca" / "key.pem");
  }

  std::expected<VerifiedCertificate, CertificateFailure> verify_device(const Certificate& leaf) {
    VerifyOptions o;
    o.purpose = Purpose::kDeviceClient;
    o.at = now();
    o.revocation = Revocation::kRequireCrl;
    const std::vector<Crl> crls{*ca_->current_crl(Profile::kDevice)};
    o.crls = crls;
    const std::vector<Certificate> chain{ca_->issuing_ca(Profile::kDevice)};
    const std::vector<Certificate> anchors{ca_->root()};
    return verify_certificate(leaf, chain, anchors, o);
  }

  TempDir dir_;
  std::optional<CertificateAuthority> ca_;
};

TEST_F(DeviceIssuerTest, IssuesTheDeviceProfileOfTheCa) {
  IRONSEAL_REQUIREMENTS("CR 1.2;CR 1.8");
  auto issuer = device_ca();
  ASSERT_TRUE(issuer) << issuer.error().message;
  auto key = KeyPair::generate_p256();
  ASSERT_TRUE(key);
  const DeviceName name{"SIM-00001", "plc-x1"};
  auto cert = issuer->issue(*key, name, now());
  ASSERT_TRUE(cert) << cert.error().message;
  // What `ca issue` would have made for the same device: the same subject and name.
  auto csr = CertificateRequest::for_device(*key, name);
  ASSERT_TRUE(csr);
  IssueOptions io;
  io.now = now();
  auto from_ca = ca_->issue(*csr, Profile::kDevice, io);
  ASSERT_TRUE(from_ca) << from_ca.error().message;
  EXPECT_EQ(cert->subject(), from_ca->certificate.subject());
  EXPECT_EQ(cert->issuer(), from_ca->certificate.issuer());
  EXPECT_EQ(cert->device_name(), std::optional<DeviceName>(name));
  EXPECT_FALSE(cert->is_ca());
  // The issuing CA is name-constrained to its organisation: only the CA's own profile passes.
  auto v = verify_device(*cert);
  ASSERT_TRUE(v) << v.error().detail;
  ASSERT_TRUE(v->device);
  EXPECT_EQ(*v->device, name);
  EXPECT_LE(cert->not_after(), now() + 366 * 24 * 3600) << "a year by default";
}

TEST_F(DeviceIssuerTest, RefusesAnIssuerThatIsNotOne) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  auto issuer = device_ca();
  ASSERT_TRUE(issuer);
  // A device certificate and its key, offered as a CA.
  auto key = KeyPair::generate_p256();
  ASSERT_TRUE(key);
  auto leaf = issuer->issue(*key, {"SIM-00002", "plc-x1"}, now());
  ASSERT_TRUE(leaf);
  ASSERT_TRUE(write_pem_bundle(dir_ / "leaf.pem", {*leaf}));
  ASSERT_TRUE(key->save(dir_ / "leaf.key"));
  auto not_ca = DeviceIssuer::load(dir_ / "leaf.pem", dir_ / "leaf.key");
  ASSERT_FALSE(not_ca);
  EXPECT_EQ(not_ca.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(not_ca.error().message.starts_with("issuer_not_ca: ")) << not_ca.error().message;
  // The CA's certificate with a key that is not its own.
  auto mismatch = DeviceIssuer::load(dir_ / "ca" / "device-ca" / "cert.pem", dir_ / "leaf.key");
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(mismatch.error().message.starts_with("key_mismatch: ")) << mismatch.error().message;
  // A CA key others can read.
  ASSERT_EQ(::chmod((dir_ / "ca" / "device-ca" / "key.pem").c_str(), 0644), 0);
  auto exposed = device_ca();
  ASSERT_FALSE(exposed);
  EXPECT_EQ(exposed.error().code, ErrorCode::kPermission);
}

TEST_F(DeviceIssuerTest, GivesADeviceItsIdentityOnceAndRefusesMalformedNames) {
  IRONSEAL_REQUIREMENTS("CR 1.2;CR 1.5");
  auto issuer = device_ca();
  ASSERT_TRUE(issuer);
  auto bad = issuer->issue(*KeyPair::generate_p256(), {"SIM 1", "plc-x1"}, now());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(bad.error().message.starts_with("identity_invalid: ")) << bad.error().message;

  const fs::path d = dir_ / "dev";
  const std::string anchors = ca_->root().to_pem();
  auto cert = issue_device_identity(*issuer, d, {"SIM-00003", "plc-x1"}, anchors, now());
  ASSERT_TRUE(cert) << cert.error().message;
  const IdentityPaths paths = identity_paths(d);
  struct stat st {};
  ASSERT_EQ(::stat(paths.key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(paths.dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto key = load_device_key(paths);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->spki_der(), cert->spki_der()) << "the certificate is for the key on the device";
  auto chain = Certificate::load_all(paths.chain);
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->front().fingerprint_hex(), ca_->issuing_ca(Profile::kDevice).fingerprint_hex());
  // A device key is never replaced by a second identity.
  auto again = issue_device_identity(*issuer, d, {"SIM-00003", "plc-x1"}, anchors, now());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(load_device_key(paths)->spki_der(), key->spki_der());
}

}  // namespace
}  // namespace ironseal::pki
