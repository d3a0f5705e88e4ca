// The device identity read from a client certificate: where the serial comes from, and the
// certificates that must not yield one (two devices, disagreeing names, path-like serials).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fleet/tls.h"
#include "support/requirements.h"

namespace ironseal::fleet {
namespace {

struct Cert {
  X509* x = nullptr;
  ~Cert() { X509_free(x); }
};

// A self-signed certificate with the given subject serialNumber (if any) and URI SANs.
void make(Cert* out, const std::string& serial_number, const std::vector<std::string>& uris) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("device"), -1, -1, 0);
  if (!serial_number.empty()) {
    X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(serial_number.c_str()), -1,
                               -1, 0);
  }
  X509_set_issuer_name(x, name);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3000);
  X509_set_pubkey(x, key);
  if (!uris.empty()) {
    std::string san;
    for (const auto& u : uris) san += (san.empty() ? "URI:" : ",URI:") + u;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    ASSERT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  EVP_PKEY_free(key);
  out->x = x;
}

TEST(DeviceIdentity, SerialAndHardwareFromTheUriSan) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  Cert c;
  make(&c, "", {"https://example.com/x", "urn:ironseal:device:plc-x1:SN-1"});
  auto id = identity_from_certificate(c.x);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->serial, "SN-1");
  EXPECT_EQ(id->hardware_id, "plc-x1");
  EXPECT_GT(id->not_after, id->not_before);
}

TEST(DeviceIdentity, SerialFromTheSubjectSerialNumber) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  Cert c;
  make(&c, "SN-2", {});
  auto id = identity_from_certificate(c.x);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->serial, "SN-2");
  EXPECT_EQ(id->hardware_id, "");
}

TEST(DeviceIdentity, RefusesUriAndSerialNumberThatDisagree) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  Cert c;
  make(&c, "SN-2", {"urn:ironseal:device:plc-x1:SN-1"});
  auto id = identity_from_certificate(c.x);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kNotTrusted);
  EXPECT_NE(id.error().message.find("differ"), std::string::npos) << id.error().message;
}

TEST(DeviceIdentity, RefusesACertificateNamingTwoDevices) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  Cert c;
  make(&c, "", {"urn:ironseal:device:plc-x1:SN-1", "urn:ironseal:device:plc-x1:SN-2"});
  auto id = identity_from_certificate(c.x);
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find("more than one device"), std::string::npos);
}

TEST(DeviceIdentity, RefusesSerialsThatCouldBePaths) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  for (const std::string bad : {"..", "SN/1", "SN 1", "", "SN-1%2f"}) {
    Cert c;
    make(&c, bad, {});
    auto id = identity_from_certificate(c.x);
    EXPECT_FALSE(id) << "'" << bad << "'";
    if (!id) {
      EXPECT_NE(id.error().message.find("no usable device serial"), std::string::npos);
    }
  }
  Cert c;
  make(&c, "", {"urn:ironseal:device:plc-x1:../SN-1"});
  EXPECT_FALSE(identity_from_certificate(c.x));
}

TEST(DeviceIdentity, RefusesNoCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  auto id = identity_from_certificate(nullptr);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kNotTrusted);
}

}  // namespace
}  // namespace ironseal::fleet
