// EST (RFC 7030) on the fleet service, driven at the service level with the identity the TLS
// layer would hand over: what is issued, to whom, and every refusal with its reason.
#include <gtest/gtest.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "fleet/est.h"
#include "fleet/service.h"
#include "support/requirements.h"
#include "support/test_env.h"
#include "test_issuer.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
using ironseal::testing::TempDir;
using ironseal::testing::TestIssuer;

class Est : public ::testing::Test {
 protected:
  void SetUp() override {
    IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8; CR 2.8");
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    Device d;
    d.serial = "SN-1";
    d.hardware_id = "plc-x1";
    d.group = "default";
    ASSERT_TRUE((*store)->add_device(d));
    service_ = std::make_unique<FleetService>(ServiceConfig{}, std::move(*store), nullptr,
                                              &issuer_, metrics_);
  }

  HttpResponse enrol(const std::string& op, const std::string& body, DeviceIdentity id,
                     const std::string& type = "application/pkcs10") {
    HttpRequest r;
    r.listener = Listener::kDevice;
    r.method = "POST";
    r.target = "/.well-known/est/" + op;
    r.content_type = type;
    r.body = body;
    r.device = std::move(id);
    return service_->handle(r);
  }

  static DeviceIdentity identity(const std::string& serial, bool factory) {
    DeviceIdentity id;
    id.serial = serial;
    id.enrolment_only = factory;
    id.certificate_serial = "01";
    return id;
  }

  // The certificates of a base64 certs-only PKCS#7 answer.
  static std::vector<X509*> certs_of(const std::string& body) {
    auto der = base64_decode(body);
    EXPECT_TRUE(der);
    const unsigned char* p = der->data();
    PKCS7* p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(der->size()));
    std::vector<X509*> out;
    if (p7 == nullptr || !PKCS7_type_is_signed(p7)) {
      ADD_FAILURE() << "not a SignedData PKCS#7";
      PKCS7_free(p7);
      return out;
    }
    STACK_OF(X509)* certs = p7->d.sign->cert;
    for (int i = 0; i < sk_X509_num(certs); ++i) {
      X509* c = sk_X509_value(certs, i);
      X509_up_ref(c);
      out.push_back(c);
    }
    PKCS7_free(p7);
    return out;
  }

  TempDir dir_;
  TestIssuer issuer_;
  Metrics metrics_;
  std::unique_ptr<FleetService> service_;
};

TEST_F(Est, CacertsAnswersCertsOnlyPkcs7WithTheCaCertificate) {
  HttpRequest r;
  r.listener = Listener::kOperator;
  r.method = "GET";
  r.target = "/.well-known/est/cacerts";
  const HttpResponse out = service_->handle(r);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.content_type, "application/pkcs7-mime");
  auto certs = certs_of(out.body);
  ASSERT_EQ(certs.size(), 1u);
  auto ca = issuer_.ca_certificates();
  const unsigned char* p = (*ca)[0].data();
  X509* expected = d2i_X509(nullptr, &p, static_cast<long>((*ca)[0].size()));
  EXPECT_EQ(X509_cmp(certs[0], expected), 0);
  X509_free(expected);
  for (auto* c : certs) X509_free(c);
}

TEST_F(Est, FactoryCertificateEnrolsAndTheCertificateNamesTheTlsIdentity) {
  const Bytes csr = TestIssuer::make_csr("");
  const HttpResponse out = enrol("simpleenroll", base64_encode(csr), identity("SN-1", true));
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.content_type, "application/pkcs7-mime; smime-type=certs-only");
  auto certs = certs_of(out.body);
  ASSERT_EQ(certs.size(), 2u);  // the new certificate, then its CA
  auto id = identity_from_certificate(certs[0]);
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->serial, "SN-1");
  EXPECT_EQ(id->hardware_id, "plc-x1");  // from the registration, not from the CSR
  // The certificate certifies the CSR's key.
  const unsigned char* p = csr.data();
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(csr.size()));
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(certs[0]), X509_REQ_get0_pubkey(req)), 1);
  X509_REQ_free(req);
  for (auto* c : certs) X509_free(c);
  EXPECT_EQ(issuer_.issued(), 1);
}

TEST_F(Est, DeviceCertificateRenews) {
  const HttpResponse out =
      enrol("simplereenroll", base64_encode(TestIssuer::make_csr("SN-1")), identity("SN-1", false));
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(metrics_.certificates_issued.load(), 1u);
}

TEST_F(Est, RefusesACsrThatNamesAnotherDevice) {
  const HttpResponse out =
      enrol("simpleenroll", base64_encode(TestIssuer::make_csr("SN-2")), identity("SN-1", true));
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(Json::parse(out.body)["error"], "serial_mismatch");
  EXPECT_EQ(issuer_.issued(), 0);
}

// A CSR that names a device badly is refused, not treated as naming none (which would let the
// connection's identity stand in for it).
TEST_F(Est, RefusesACsrWithAMalformedDeviceName) {
  for (const std::string serial : {"SN 1", "SN-1/../x", "SN:1"}) {
    const HttpResponse out =
        enrol("simpleenroll", base64_encode(TestIssuer::make_csr(serial)), identity("SN-1", true));
    EXPECT_EQ(out.status, 400) << serial;
    EXPECT_EQ(Json::parse(out.body)["error"], "bad_csr") << serial;
  }
  EXPECT_EQ(issuer_.issued(), 0);
}

TEST_F(Est, RefusesACsrWhoseSignatureDoesNotVerify) {
  Bytes csr = TestIssuer::make_csr("SN-1");
  csr[csr.size() - 5] ^= 0x01;  // inside the signature
  const HttpResponse out = enrol("simpleenroll", base64_encode(csr), identity("SN-1", true));
  EXPECT_EQ(out.status, 400);
  EXPECT_EQ(Json::parse(out.body)["error"], "bad_csr");
  EXPECT_NE(Json::parse(out.body)["message"].get<std::string>().find("signature"),
            std::string::npos);
  EXPECT_EQ(issuer_.issued(), 0);
}

TEST_F(Est, RefusesMalformedBodies) {
  for (const std::string body : {"", "!!!!", "QUJD", "not base64 at all"}) {
    const HttpResponse out = enrol("simpleenroll", body, identity("SN-1", true));
    EXPECT_EQ(out.status, 400) << body;
    EXPECT_EQ(Json::parse(out.body)["error"], "bad_csr") << body;
  }
  const HttpResponse wrong_type = enrol("simpleenroll", base64_encode(TestIssuer::make_csr("")),
                                        identity("SN-1", true), "application/json");
  EXPECT_EQ(wrong_type.status, 415);
}

TEST_F(Est, RenewalNeedsTheDeviceCertificateNotTheFactoryOne) {
  const HttpResponse out =
      enrol("simplereenroll", base64_encode(TestIssuer::make_csr("")), identity("SN-1", true));
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(Json::parse(out.body)["error"], "enrolment_only");
}

TEST_F(Est, FactoryCertificateMayDoNothingButEnrol) {
  HttpRequest r;
  r.listener = Listener::kDevice;
  r.method = "POST";
  r.target = "/api/v1/device/checkin";
  r.body = "{}";
  r.device = identity("SN-1", true);
  const HttpResponse out = service_->handle(r);
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(Json::parse(out.body)["error"], "enrolment_only");
}

TEST_F(Est, UnregisteredSerialCannotEnrol) {
  const HttpResponse out =
      enrol("simpleenroll", base64_encode(TestIssuer::make_csr("")), identity("SN-7", true));
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(Json::parse(out.body)["error"], "not_registered");
  EXPECT_EQ(issuer_.issued(), 0);
}

TEST(EstNoIssuer, EnrolmentAnswers501) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  TempDir dir;
  auto store = open_sqlite_store(dir / "fleet.db");
  ASSERT_TRUE(store);
  Device d;
  d.serial = "SN-1";
  d.hardware_id = "hw";
  d.group = "g";
  ASSERT_TRUE((*store)->add_device(d));
  Metrics metrics;
  FleetService service(ServiceConfig{}, std::move(*store), nullptr, nullptr, metrics);
  HttpRequest r;
  r.listener = Listener::kDevice;
  r.method = "POST";
  r.target = "/.well-known/est/simpleenroll";
  r.content_type = "application/pkcs10";
  r.device = DeviceIdentity{"SN-1", "", "01", 0, 0, true, ""};
  EXPECT_EQ(service.handle(r).status, 501);
}

TEST(Base64, RoundTripsAndRefusesJunk) {
  const Bytes data{0, 1, 2, 250, 251, 252, 253};
  for (std::size_t n = 0; n <= data.size(); ++n) {
    const Bytes part(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    if (n == 0) continue;
    auto back = base64_decode(base64_encode(part));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, part) << n;
  }
  EXPECT_FALSE(base64_decode("QUJ"));     // length
  EXPECT_FALSE(base64_decode("QU*D"));    // alphabet
  EXPECT_TRUE(base64_decode("QU\r\nJD"));  // line breaks allowed
}

}  // namespace
}  // namespace ironseal::fleet
