// EST on the fleet service bound to the real device CA (src/fleet/pki_issuer.cc over src/pki),
// driven with the identity the TLS layer would hand over. What it proves, end to end at the
// service: the certificate names the registered hardware id or nothing is issued (403
// hardware_mismatch, audited); a device holds one current certificate, so a renewal with the same
// key retires the old one and a replayed CSR mints nothing; a key revoked for keyCompromise is
// refused in every certificate that carries it.
#include "fleet/est.h"

#include <gtest/gtest.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>

#include "crypto/hash.h"
#include "fleet/pki_issuer.h"
#include "fleet/service.h"
#include "pki/ca.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ironseal::testing::TempDir;

class EstWithCa : public ::testing::Test {
 protected:
  void SetUp() override {
    pki::CaInitOptions o;
    o.organization = "Example Plant";
    o.server_domain = "fleet.example";
    o.now = static_cast<pki::UnixTime>(std::time(nullptr));
    ASSERT_TRUE(pki::CertificateAuthority::init(dir_ / "ca", o));
    auto issuer = open_pki_issuer(dir_ / "ca");
    ASSERT_TRUE(issuer) << issuer.error().message;
    issuer_ = std::move(*issuer);
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    Device d;
    d.serial = "SN-1";
    d.hardware_id = "plc-x1";
    d.group = "default";
    ASSERT_TRUE((*store)->add_device(d));
    // The device's director metadata, so that an accepted request answers 200.
    ServiceConfig config;
    config.repository = dir_ / "repo";
    const fs::path meta = config.repository / "director" / "devices" / "SN-1" / "metadata";
    fs::create_directories(meta);
    std::ofstream(meta / "timestamp.json") << "{}";
    service_ =
        std::make_unique<FleetService>(config, std::move(*store), nullptr, issuer_.get(), metrics_);
    auto k = pki::KeyPair::generate_p256();
    ASSERT_TRUE(k);
    key_.emplace(std::move(*k));
  }

  // The device key's CSR naming SN-1 with `hardware_id`, as EST sends it (base64 DER).
  std::string csr(const std::string& hardware_id) const {
    auto req = pki::CertificateRequest::for_device(*key_, {"SN-1", hardware_id});
    EXPECT_TRUE(req);
    return base64_encode(req->der());
  }

  // The factory (enrolment) certificate's identity.
  static DeviceIdentity factory() {
    DeviceIdentity id;
    id.serial = "SN-1";
    id.hardware_id = "plc-x1";
    id.certificate_serial = "01";
    id.enrolment_only = true;
    return id;
  }

  HttpResponse enrol(const std::string& op, const std::string& body, const DeviceIdentity& id) {
    HttpRequest r;
    r.listener = Listener::kDevice;
    r.method = "POST";
    r.target = "/.well-known/est/" + op;
    r.content_type = "application/pkcs10";
    r.body = body;
    r.device = id;
    return service_->handle(r);
  }

  HttpResponse director(const DeviceIdentity& id) {
    HttpRequest r;
    r.listener = Listener::kDevice;
    r.method = "GET";
    r.target = "/director/devices/SN-1/metadata/timestamp.json";
    r.device = id;
    return service_->handle(r);
  }

  // The identity the TLS layer would derive from the certificate an EST answer carries first.
  static DeviceIdentity issued_identity(const HttpResponse& answer) {
    DeviceIdentity out;
    auto der = base64_decode(answer.body);
    EXPECT_TRUE(der);
    if (!der) return out;
    const unsigned char* p = der->data();
    PKCS7* p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(der->size()));
    if (p7 == nullptr || !PKCS7_type_is_signed(p7) || sk_X509_num(p7->d.sign->cert) < 1) {
      ADD_FAILURE() << "not a certs-only PKCS#7 with a certificate";
      PKCS7_free(p7);
      return out;
    }
    X509* cert = sk_X509_value(p7->d.sign->cert, 0);
    auto id = identity_from_certificate(cert);
    EXPECT_TRUE(id) << id.error().message;
    if (id) out = *id;
    unsigned char* cert_der = nullptr;
    const int len = i2d_X509(cert, &cert_der);
    out.certificate_sha256 = to_hex(crypto::sha256(ByteView(cert_der, static_cast<size_t>(len))));
    OPENSSL_free(cert_der);
    PKCS7_free(p7);
    out.enrolment_only = false;
    return out;
  }

  static std::string error_of(const HttpResponse& r) {
    auto j = Json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : r.body;
  }

  std::vector<pki::IndexEntry> index() {
    auto ca = pki::CertificateAuthority::open(dir_ / "ca");
    EXPECT_TRUE(ca);
    auto all = ca->list();
    EXPECT_TRUE(all);
    return all ? *all : std::vector<pki::IndexEntry>{};
  }

  // Audit events with this action and outcome, oldest first (read through a second connection).
  std::vector<Event> events(const std::string& action, const std::string& outcome) {
    auto store = open_sqlite_store(dir_ / "fleet.db");
    EXPECT_TRUE(store);
    auto all = (*store)->events(1000);
    EXPECT_TRUE(all);
    std::vector<Event> out;
    for (const auto& e : *all) {
      if (e.action == action && e.outcome == outcome) out.insert(out.begin(), e);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<CertificateIssuer> issuer_;
  Metrics metrics_;
  std::unique_ptr<FleetService> service_;
  std::optional<pki::KeyPair> key_;
};

TEST_F(EstWithCa, RefusesACsrNamingAnotherHardwareIdAndAuditsIt) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9; CR 2.8");
  // SN-1 is registered as plc-x1; its CSR asks for evil-hw.
  const HttpResponse refused = enrol("simpleenroll", csr("evil-hw"), factory());
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(error_of(refused), "hardware_mismatch");
  EXPECT_TRUE(index().empty()) << "nothing may be issued";
  auto audited = events("est.simpleenroll", "refused");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_EQ(audited[0].actor, "device:SN-1");
  EXPECT_NE(audited[0].detail.dump().find("hardware_mismatch"), std::string::npos)
      << audited[0].detail.dump();
  EXPECT_NE(audited[0].detail.dump().find("evil-hw"), std::string::npos);

  // The same through renewal, from a device certificate.
  const HttpResponse ok = enrol("simpleenroll", csr("plc-x1"), factory());
  ASSERT_EQ(ok.status, 200) << ok.body;
  const DeviceIdentity device = issued_identity(ok);
  EXPECT_EQ(device.hardware_id, "plc-x1");
  const HttpResponse renamed = enrol("simplereenroll", csr("evil-hw"), device);
  EXPECT_EQ(renamed.status, 403) << renamed.body;
  EXPECT_EQ(error_of(renamed), "hardware_mismatch");
  EXPECT_EQ(events("est.simplereenroll", "refused").size(), 1u);
  EXPECT_EQ(index().size(), 1u);
}

TEST_F(EstWithCa, RenewalWithTheSameKeySupersedesThePreviousCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  const HttpResponse first = enrol("simpleenroll", csr("plc-x1"), factory());
  ASSERT_EQ(first.status, 200) << first.body;
  const DeviceIdentity old_id = issued_identity(first);
  EXPECT_EQ(director(old_id).status, 200);
  const HttpResponse renewed = enrol("simplereenroll", csr("plc-x1"), old_id);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  const DeviceIdentity new_id = issued_identity(renewed);
  EXPECT_NE(new_id.certificate_serial, old_id.certificate_serial);
  // The old certificate is retired at once: refused, with the reason.
  const HttpResponse with_old = director(old_id);
  EXPECT_EQ(with_old.status, 403) << with_old.body;
  EXPECT_EQ(error_of(with_old), "revoked");
  EXPECT_NE(with_old.body.find("superseded"), std::string::npos) << with_old.body;
  EXPECT_EQ(director(new_id).status, 200);
  int current = 0;
  for (const auto& e : index()) current += e.revoked ? 0 : 1;
  EXPECT_EQ(current, 1) << "one current certificate per device";
}

TEST_F(EstWithCa, AReplayedCsrMintsNoSecondCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  const std::string body = csr("plc-x1");
  const HttpResponse first = enrol("simpleenroll", body, factory());
  ASSERT_EQ(first.status, 200) << first.body;
  const HttpResponse replayed = enrol("simpleenroll", body, factory());
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  EXPECT_EQ(issued_identity(replayed).certificate_sha256, issued_identity(first).certificate_sha256)
      << "the replay gets the current certificate back";
  EXPECT_EQ(index().size(), 1u);
  // A renewal replayed with the certificate it retired is refused before the CA sees it.
  const DeviceIdentity old_id = issued_identity(first);
  ASSERT_EQ(enrol("simplereenroll", body, old_id).status, 200);
  const HttpResponse replayed_renewal = enrol("simplereenroll", body, old_id);
  EXPECT_EQ(replayed_renewal.status, 403);
  EXPECT_EQ(error_of(replayed_renewal), "revoked");
  EXPECT_EQ(index().size(), 2u);
}

TEST_F(EstWithCa, KeyCompromiseOfAnOldCertificateRefusesEveryCertificateOfTheKey) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9; CR 2.8");
  const HttpResponse first = enrol("simpleenroll", csr("plc-x1"), factory());
  ASSERT_EQ(first.status, 200) << first.body;
  const DeviceIdentity old_id = issued_identity(first);
  const HttpResponse renewed = enrol("simplereenroll", csr("plc-x1"), old_id);
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  const DeviceIdentity new_id = issued_identity(renewed);
  // The operator knows the first certificate (from a log, a stolen unit) and revokes it as
  // keyCompromise, in another process's CA handle (`ironseal ca revoke`).
  {
    auto ca = pki::CertificateAuthority::open(dir_ / "ca");
    ASSERT_TRUE(ca);
    auto revoked = ca->revoke(old_id.certificate_serial, pki::RevocationReason::kKeyCompromise,
                              static_cast<pki::UnixTime>(std::time(nullptr)));
    ASSERT_TRUE(revoked) << revoked.error().message;
  }
  const HttpResponse with_new = director(new_id);
  EXPECT_EQ(with_new.status, 403) << with_new.body;
  EXPECT_EQ(error_of(with_new), "revoked");
  EXPECT_NE(with_new.body.find("keyCompromise"), std::string::npos) << with_new.body;
  // The factory certificate cannot bring the key back: the CA's refusal is the answer, audited.
  const HttpResponse again = enrol("simpleenroll", csr("plc-x1"), factory());
  EXPECT_EQ(again.status, 403) << again.body;
  EXPECT_EQ(error_of(again), "key_revoked");
  auto audited = events("est.simpleenroll", "refused");
  ASSERT_EQ(audited.size(), 1u);
  EXPECT_NE(audited[0].detail.dump().find("key_revoked"), std::string::npos);
}

}  // namespace
}  // namespace ironseal::fleet
