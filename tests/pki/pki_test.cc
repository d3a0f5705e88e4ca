// The device PKI: CA initialisation, issuance policy (proof of possession, key policy, one key per
// device serial), and chain verification refusals, each checked for its reason.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "pki/ca.h"
#include "pki/ossl_x509.h"
#include "pki/verify.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::pki {
namespace {

using ::ironseal::testing::TempDir;

constexpr UnixTime kNow = 1'790'000'000;  // 2026-09-21
constexpr std::int64_t kDay = 86400;

// A CSR made with raw OpenSSL, so tests can build what ironseal's own builder never would: a
// public key that is not the signer's, other key types, mismatched names.
CertificateRequest raw_csr(EVP_PKEY* subject_key, EVP_PKEY* signer, const std::string& serial,
                           const std::string& uri) {
  ossl::ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(serial.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_NID(name, NID_serialNumber, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(serial.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), subject_key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
  ossl::ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  const std::string value = "URI:" + uri;
  sk_X509_EXTENSION_push(exts.get(),
                         X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, value.c_str()));
  X509_REQ_add_extensions(req.get(), exts.get());
  const EVP_MD* md = EVP_PKEY_is_a(signer, "ED25519") ? nullptr : EVP_sha256();
  EXPECT_GT(X509_REQ_sign(req.get(), signer, md), 0);
  auto h = std::make_shared<RequestHandle>();
  h->req = std::move(req);
  return CertificateRequest::adopt(std::move(h));
}

IssueOptions at(UnixTime now) {
  IssueOptions o;
  o.now = now;
  return o;
}

IssueOptions replacing(UnixTime now, std::string serial) {
  IssueOptions o = at(now);
  o.replaces_serial_hex = std::move(serial);
  return o;
}

VerifyOptions options(Purpose purpose, UnixTime now, std::span<const Crl> crls,
                      Revocation revocation = Revocation::kRequireCrl, std::string host = "") {
  VerifyOptions o;
  o.purpose = purpose;
  o.at = now;
  o.crls = crls;
  o.revocation = revocation;
  o.hostname = std::move(host);
  return o;
}

class Pki : public ::testing::Test {
 protected:
  void SetUp() override {
    CaInitOptions o;
    o.organization = "Example Plant";
    o.server_domain = "fleet.example";
    o.now = kNow;
    ASSERT_TRUE(CertificateAuthority::init(dir_ / "ca", o));
    auto ca = CertificateAuthority::open(dir_ / "ca");
    ASSERT_TRUE(ca) << ca.error().message;
    ca_.emplace(std::move(*ca));
  }

  KeyPair key() { return *KeyPair::generate_p256(); }

  Result<IssuedCertificate> issue_device(const KeyPair& k, const std::string& serial,
                                         UnixTime when = kNow) {
    auto csr = CertificateRequest::for_device(k, {serial, "plc-x1"});
    EXPECT_TRUE(csr);
    return ca_->issue(*csr, Profile::kDevice, at(when));
  }

  std::expected<VerifiedCertificate, CertificateFailure> verify(const IssuedCertificate& issued,
                                                                Purpose purpose,
                                                                UnixTime when = kNow,
                                                                std::string hostname = "") {
    auto crl = ca_->current_crl(issued.certificate.is_ca()    ? Profile::kDevice
                                : purpose == Purpose::kServer ? Profile::kServer
                                                              : Profile::kDevice);
    EXPECT_TRUE(crl);
    const std::vector<Crl> crls{*ca_->current_crl(Profile::kDevice),
                                *ca_->current_crl(Profile::kServer)};
    const std::vector<Certificate> chain{issued.issuing_ca};
    const std::vector<Certificate> anchors{ca_->root()};
    return verify_certificate(issued.certificate, chain, anchors,
                              options(purpose, when, crls, Revocation::kRequireCrl, hostname));
  }

  TempDir dir_;
  std::optional<CertificateAuthority> ca_;
};

std::string reason(const std::expected<VerifiedCertificate, CertificateFailure>& r) {
  return r ? "trusted" : std::string(cert_reason_name(r.error().reason));
}

TEST_F(Pki, InitWritesPrivateKeysOwnerOnlyAndAConsistentHierarchy) {
  IRONSEAL_REQUIREMENTS("CR 1.8; CR 1.9");
  for (const char* k : {"offline/root-ca.key.pem", "device-ca/key.pem", "server-ca/key.pem"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / "ca" / k).c_str(), &st), 0) << k;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << k;
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "ca" / "index.sqlite").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  EXPECT_TRUE(ca_->root().is_ca());
  EXPECT_EQ(ca_->root().subject(), "CN=Example Plant Root CA,O=Example Plant");
  EXPECT_EQ(ca_->issuing_ca(Profile::kDevice).issuer(), ca_->root().subject());
  EXPECT_EQ(ca_->issuing_ca(Profile::kDevice).not_after() - kNow, (10 * 365 + 3) * kDay);
  // A second init into the same directory is refused, never replacing keys.
  EXPECT_FALSE(CertificateAuthority::init(dir_ / "ca", CaInitOptions{}));
}

TEST_F(Pki, IssuesADeviceCertificateThatVerifiesAsAClientWithItsIdentity) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8");
  auto k = key();
  auto issued = issue_device(k, "SN-0001");
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(issued->certificate.spki_der(), k.spki_der());
  EXPECT_EQ(issued->certificate.subject(), "serialNumber=SN-0001,CN=SN-0001,O=Example Plant");
  EXPECT_EQ(issued->certificate.not_after() - kNow, (10 * 365 + 2) * kDay);
  EXPECT_FALSE(issued->certificate.is_ca());
  auto v = verify(*issued, Purpose::kDeviceClient);
  ASSERT_TRUE(v) << v.error().detail;
  ASSERT_TRUE(v->device);
  EXPECT_EQ(v->device->serial, "SN-0001");
  EXPECT_EQ(v->device->hardware_id, "plc-x1");
  auto entry = ca_->find_fingerprint(issued->certificate.fingerprint_hex());
  ASSERT_TRUE(entry && *entry);
  EXPECT_EQ((*entry)->device_serial, "SN-0001");
}

TEST_F(Pki, RefusesACsrCarryingSomeoneElsesKey) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  auto victim = key();
  auto attacker = key();
  auto csr = raw_csr(victim.handle().pkey.get(), attacker.handle().pkey.get(), "SN-0002",
                     "urn:ironseal:device:plc-x1:SN-0002");
  auto r = ca_->issue(csr, Profile::kDevice, at(kNow));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(r.error().message.starts_with("csr_signature_invalid")) << r.error().message;
  // Nothing was bound: the real owner of the serial can still enrol.
  EXPECT_TRUE(issue_device(key(), "SN-0002"));
}

TEST_F(Pki, RefusesWeakAndDisallowedKeyTypes) {
  IRONSEAL_REQUIREMENTS("CR 1.9");
  struct Case {
    ossl::PkeyPtr pkey;
    const char* want;
  };
  std::vector<Case> cases;
  cases.push_back(
      {ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024})), "weak_key"});
  cases.push_back({ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})),
                   "key_type_disallowed"});
  cases.push_back({ossl::PkeyPtr(EVP_EC_gen("P-384")), "key_type_disallowed"});
  cases.push_back(
      {ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")), "key_type_disallowed"});
  int n = 0;
  for (auto& c : cases) {
    ASSERT_TRUE(c.pkey);
    const std::string serial = "SN-K" + std::to_string(n++);
    auto csr = raw_csr(c.pkey.get(), c.pkey.get(), serial, "urn:ironseal:device:plc-x1:" + serial);
    ASSERT_TRUE(csr.verify_proof_of_possession());
    auto r = ca_->issue(csr, Profile::kDevice, at(kNow));
    ASSERT_FALSE(r) << serial;
    EXPECT_TRUE(r.error().message.starts_with(c.want)) << r.error().message;
  }
}

TEST_F(Pki, RefusesASerialAlreadyBoundToAnotherKeyEvenAfterReopening) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8");
  auto first = key();
  auto issued = issue_device(first, "SN-0003");
  ASSERT_TRUE(issued);
  ca_.reset();  // the binding is in the index, not in memory
  auto reopened = CertificateAuthority::open(dir_ / "ca");
  ASSERT_TRUE(reopened);
  ca_.emplace(std::move(*reopened));
  auto clone = issue_device(key(), "SN-0003");
  ASSERT_FALSE(clone);
  EXPECT_TRUE(clone.error().message.starts_with("serial_bound_to_other_key"))
      << clone.error().message;
  // The same key gets its current certificate again (a lost certificate), a different serial is
  // unaffected.
  auto again = issue_device(first, "SN-0003");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->existing);
  EXPECT_EQ(again->certificate.serial_hex(), issued->certificate.serial_hex());
  EXPECT_TRUE(issue_device(key(), "SN-0004"));
}

TEST_F(Pki, ReEnrolmentWithANewKeySupersedesTheNamedCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  auto old_issued = issue_device(key(), "SN-0005");
  ASSERT_TRUE(old_issued);
  auto fresh = key();
  auto csr = CertificateRequest::for_device(fresh, {"SN-0005", "plc-x1"});
  // Naming a certificate of another serial does not unlock the binding.
  auto other = issue_device(key(), "SN-0006");
  ASSERT_TRUE(other);
  auto wrong = ca_->issue(*csr, Profile::kDevice, replacing(kNow, other->certificate.serial_hex()));
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().message.starts_with("serial_bound_to_other_key"));
  auto renewed =
      ca_->issue(*csr, Profile::kDevice, replacing(kNow, old_issued->certificate.serial_hex()));
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_EQ(reason(verify(*old_issued, Purpose::kDeviceClient)), "revoked");
  EXPECT_EQ(reason(verify(*renewed, Purpose::kDeviceClient)), "trusted");
}

TEST_F(Pki, RefusesADeviceCsrWhoseNamesDisagree) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  auto k = key();
  auto csr = raw_csr(k.handle().pkey.get(), k.handle().pkey.get(), "SN-0007",
                     "urn:ironseal:device:plc-x1:SN-9999");
  auto r = ca_->issue(csr, Profile::kDevice, at(kNow));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("identity_invalid")) << r.error().message;
  auto bad_urn = raw_csr(k.handle().pkey.get(), k.handle().pkey.get(), "SN-0007",
                         "urn:ironseal:device:plc x1:SN-0007");
  auto r2 = ca_->issue(bad_urn, Profile::kDevice, at(kNow));
  ASSERT_FALSE(r2);
  EXPECT_TRUE(r2.error().message.starts_with("identity_invalid")) << r2.error().message;
}

TEST_F(Pki, RefusesExpiredAndNotYetValidCertificates) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  auto issued = issue_device(key(), "SN-0010");
  ASSERT_TRUE(issued);
  const UnixTime after = issued->certificate.not_after() + 1;
  auto late = verify(*issued, Purpose::kDeviceClient, after);
  EXPECT_EQ(reason(late), "expired");
  auto early = verify(*issued, Purpose::kDeviceClient, kNow - kDay);
  EXPECT_EQ(reason(early), "not_yet_valid");
  // The CRL outlives neither: a week later the CRL itself is stale.
  EXPECT_EQ(reason(verify(*issued, Purpose::kDeviceClient, kNow + 8 * kDay)), "crl_expired");
  EXPECT_EQ(reason(verify(*issued, Purpose::kDeviceClient, kNow + 6 * kDay)), "trusted");
}

TEST_F(Pki, RefusesADeviceCertificateUsedAsACa) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  auto device_key = key();
  auto device = issue_device(device_key, "SN-0011");
  ASSERT_TRUE(device);
  // The device signs a certificate for a key of its choice, as if it were a CA.
  auto victim = key();
  ossl::X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
  X509_NAME* sub = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_NID(sub, NID_organizationName, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Example Plant"), -1, -1, 0);
  X509_NAME_add_entry_by_NID(sub, NID_commonName, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("SN-6666"), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(device->certificate.handle().x509.get()));
  ASN1_TIME_set(X509_getm_notBefore(x.get()), kNow);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), kNow + 365 * kDay);
  X509_set_pubkey(x.get(), victim.handle().pkey.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, device->certificate.handle().x509.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, v] : std::initializer_list<std::pair<int, const char*>>{
           {NID_subject_alt_name, "URI:urn:ironseal:device:plc-x1:SN-6666"},
           {NID_ext_key_usage, "clientAuth"},
           {NID_key_usage, "critical,digitalSignature"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"}}) {
    ossl::ExtPtr e(X509V3_EXT_conf_nid(nullptr, &ctx, nid, v));
    ASSERT_TRUE(e);
    X509_add_ext(x.get(), e.get(), -1);
  }
  ASSERT_GT(X509_sign(x.get(), device_key.handle().pkey.get(), EVP_sha256()), 0);
  auto h = std::make_shared<CertificateHandle>();
  h->x509 = std::move(x);
  const Certificate forged = Certificate::adopt(std::move(h));
  const std::vector<Certificate> chain{device->certificate, device->issuing_ca};
  const std::vector<Certificate> anchors{ca_->root()};
  const std::vector<Crl> crls{*ca_->current_crl(Profile::kDevice)};
  auto r =
      verify_certificate(forged, chain, anchors,
                         options(Purpose::kDeviceClient, kNow + 60, crls, Revocation::kNotChecked));
  EXPECT_EQ(reason(r), "issuer_not_ca") << (r ? "" : r.error().detail);
}

TEST_F(Pki, RefusesAServerCertificateUsedAsAClientAndTheReverse) {
  IRONSEAL_REQUIREMENTS("CR 1.8; CR 2.12");
  auto csr = CertificateRequest::for_server(key(), {"api.fleet.example"});
  ASSERT_TRUE(csr);
  auto server = ca_->issue(*csr, Profile::kServer, at(kNow));
  ASSERT_TRUE(server) << server.error().message;
  EXPECT_EQ(reason(verify(*server, Purpose::kServer, kNow, "api.fleet.example")), "trusted");
  EXPECT_EQ(reason(verify(*server, Purpose::kServer, kNow, "evil.fleet.example")),
            "hostname_mismatch");
  EXPECT_EQ(reason(verify(*server, Purpose::kDeviceClient)), "wrong_purpose");
  auto device = issue_device(key(), "SN-0012");
  ASSERT_TRUE(device);
  EXPECT_EQ(reason(verify(*device, Purpose::kServer)), "wrong_purpose");
}

TEST_F(Pki, RefusesServerNamesOutsideTheDomain) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  for (const char* name : {"fleet.example.evil", "evilfleet.example", "API.fleet.example"}) {
    auto csr = CertificateRequest::for_server(key(), {name});
    ASSERT_TRUE(csr);
    auto r = ca_->issue(*csr, Profile::kServer, at(kNow));
    ASSERT_FALSE(r) << name;
    EXPECT_TRUE(r.error().message.starts_with("name_not_permitted")) << r.error().message;
  }
  // A device CSR cannot obtain a server certificate (no DNS name to certify).
  auto device_csr = CertificateRequest::for_device(key(), {"SN-0013", "plc-x1"});
  auto r = ca_->issue(*device_csr, Profile::kServer, at(kNow));
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().message.starts_with("identity_invalid"));
}

TEST_F(Pki, RefusesARevokedCertificateAndOneWithoutACrl) {
  IRONSEAL_REQUIREMENTS("CR 1.8; CR 2.12");
  auto issued = issue_device(key(), "SN-0014");
  ASSERT_TRUE(issued);
  auto other = issue_device(key(), "SN-0015");
  ASSERT_TRUE(other);
  auto entry =
      ca_->revoke(issued->certificate.serial_hex(), RevocationReason::kKeyCompromise, kNow + 10);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->certificate.revocation_reason, "keyCompromise");
  EXPECT_TRUE(entry->also_revoked.empty());  // another device's certificate is not reached
  EXPECT_EQ(reason(verify(*issued, Purpose::kDeviceClient, kNow + 20)), "revoked");
  EXPECT_EQ(reason(verify(*other, Purpose::kDeviceClient, kNow + 20)), "trusted");
  auto crl = ca_->current_crl(Profile::kDevice);
  ASSERT_TRUE(crl);
  EXPECT_EQ(crl->revoked_serials_hex(), std::vector<std::string>{issued->certificate.serial_hex()});
  // Revoking twice is refused; so is an unknown serial.
  auto again = ca_->revoke(issued->certificate.serial_hex(), RevocationReason::kUnspecified, kNow);
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().message.starts_with("already_revoked"));
  EXPECT_EQ(ca_->revoke("0badc0de", RevocationReason::kUnspecified, kNow).error().code,
            ErrorCode::kNotFound);
  // Revocation required but no CRL given: not trusted.
  const std::vector<Certificate> chain{issued->issuing_ca};
  const std::vector<Certificate> anchors{ca_->root()};
  auto r = verify_certificate(other->certificate, chain, anchors,
                              options(Purpose::kDeviceClient, kNow, {}));
  EXPECT_EQ(reason(r), "crl_unavailable");
}

TEST_F(Pki, RefusesAChainToAForeignRoot) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  CaInitOptions o;
  o.organization = "Example Plant";  // same names, different keys: an impostor CA
  o.server_domain = "fleet.example";
  o.now = kNow;
  ASSERT_TRUE(CertificateAuthority::init(dir_ / "foreign", o));
  auto foreign = CertificateAuthority::open(dir_ / "foreign");
  ASSERT_TRUE(foreign);
  auto csr = CertificateRequest::for_device(key(), {"SN-0016", "plc-x1"});
  auto issued = foreign->issue(*csr, Profile::kDevice, at(kNow));
  ASSERT_TRUE(issued);
  const std::vector<Crl> crls{*foreign->current_crl(Profile::kDevice)};
  const std::vector<Certificate> anchors{ca_->root()};
  // With the impostor's issuing CA in the chain, and with ours (same name, other key).
  for (const auto& intermediate : {issued->issuing_ca, ca_->issuing_ca(Profile::kDevice)}) {
    const std::vector<Certificate> chain{intermediate};
    auto r = verify_certificate(issued->certificate, chain, anchors,
                                options(Purpose::kDeviceClient, kNow, crls));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().reason == CertReason::kUntrustedChain ||
                r.error().reason == CertReason::kBadSignature)
        << cert_reason_name(r.error().reason) << ": " << r.error().detail;
  }
  // The impostor's root as the leaf's only companion is a self-signed root we do not trust.
  const std::vector<Certificate> chain{issued->issuing_ca, foreign->root()};
  auto r = verify_certificate(issued->certificate, chain, anchors,
                              options(Purpose::kDeviceClient, kNow, crls));
  EXPECT_EQ(reason(r), "untrusted_chain");
}

TEST_F(Pki, AProcessKilledMidIssuanceLeavesEveryBindingWithItsCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  // A child issues certificates back to back and is killed at an arbitrary point; whatever it
  // had committed must be whole (certificate and binding), and what it had not, absent.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto ca = CertificateAuthority::open(dir_ / "ca");
    for (int i = 0; ca; ++i) {
      auto k = KeyPair::generate_p256();
      auto csr = CertificateRequest::for_device(*k, {"SN-C" + std::to_string(i), "plc-x1"});
      (void)ca->issue(*csr, Profile::kDevice, at(kNow));
    }
    ::_exit(1);
  }
  // Wait (bounded) until the child has committed a few issuances, so the kill lands in the
  // middle of the loop rather than before it started (slow under ASan or on a loaded machine).
  for (int waited = 0; waited < 30000; waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto observer = CertificateAuthority::open(dir_ / "ca");
    auto issued = observer ? observer->list() : Result<std::vector<IndexEntry>>();
    if (issued && issued->size() >= 3) break;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(::getpid() % 37));  // some cut point
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  ca_.reset();
  auto ca = CertificateAuthority::open(dir_ / "ca");
  ASSERT_TRUE(ca) << ca.error().message;
  ca_.emplace(std::move(*ca));
  auto all = ca_->list();
  ASSERT_TRUE(all);
  ASSERT_GE(all->size(), 3u) << "the child issued too little within 30 s";
  std::set<std::string> serials;
  for (const auto& e : *all) {
    auto cert = Certificate::from_pem(e.certificate_pem);
    ASSERT_TRUE(cert);
    EXPECT_EQ(cert->fingerprint_hex(), e.fingerprint_hex);
    serials.insert(e.device_serial);
    // Each committed serial is bound: another key is refused.
    auto other = issue_device(key(), e.device_serial);
    ASSERT_FALSE(other) << e.device_serial;
    EXPECT_TRUE(other.error().message.starts_with("serial_bound_to_other_key"));
  }
  // The serials form a gap-free prefix SN-C0..SN-C(n-1); SN-Cn, in flight when killed, was not
  // bound (no binding without its certificate): a new key for it is accepted.
  const std::size_t n = serials.size();
  for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(serials.count("SN-C" + std::to_string(i)));
  EXPECT_TRUE(issue_device(key(), "SN-C" + std::to_string(n)));
}

TEST_F(Pki, CertsOnlyPkcs7CarriesTheChainForEst) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  auto issued = issue_device(key(), "SN-0020");
  ASSERT_TRUE(issued);
  auto der = certs_only_pkcs7({issued->certificate, issued->issuing_ca});
  ASSERT_TRUE(der) << der.error().message;
  const unsigned char* p = der->data();
  ossl::Owned<PKCS7, PKCS7_free> p7(
      d2i_PKCS7(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_TRUE(p7);
  ASSERT_TRUE(PKCS7_type_is_signed(p7.get()));
  STACK_OF(X509)* certs = p7->d.sign->cert;
  ASSERT_EQ(sk_X509_num(certs), 2);
  EXPECT_EQ(X509_cmp(sk_X509_value(certs, 0), issued->certificate.handle().x509.get()), 0);
  EXPECT_EQ(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
}

// What a thief holding an issuing CA's key can mint, signed with raw OpenSSL around the CA's own
// checks: the certificate must still fail verification because of the CA certificate's EKU and
// name constraints.
Certificate mint(const Certificate& ca_cert, const KeyPair& ca_key, const std::string& org,
                 const char* san, const char* eku) {
  ossl::X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 4242);
  X509_NAME* sub = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_NID(sub, NID_organizationName, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(org.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_NID(sub, NID_commonName, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("minted"), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(ca_cert.handle().x509.get()));
  ASN1_TIME_set(X509_getm_notBefore(x.get()), kNow - 60);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), kNow + 365 * kDay);
  auto subject_key = KeyPair::generate_p256();
  X509_set_pubkey(x.get(), subject_key->handle().pkey.get());
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert.handle().x509.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, v] : std::initializer_list<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:FALSE"},
           {NID_subject_alt_name, san},
           {NID_ext_key_usage, eku},
           {NID_key_usage, "critical,digitalSignature"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"}}) {
    ossl::ExtPtr e(X509V3_EXT_conf_nid(nullptr, &ctx, nid, v));
    EXPECT_TRUE(e);
    X509_add_ext(x.get(), e.get(), -1);
  }
  EXPECT_GT(X509_sign(x.get(), ca_key.handle().pkey.get(), EVP_sha256()), 0);
  auto h = std::make_shared<CertificateHandle>();
  h->x509 = std::move(x);
  return Certificate::adopt(std::move(h));
}

TEST_F(Pki, AStolenIssuingCaKeyStaysInsideItsConstraints) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  auto device_ca_key = KeyPair::load(dir_ / "ca" / "device-ca" / "key.pem");
  auto server_ca_key = KeyPair::load(dir_ / "ca" / "server-ca" / "key.pem");
  ASSERT_TRUE(device_ca_key && server_ca_key);
  const Certificate& device_ca = ca_->issuing_ca(Profile::kDevice);
  const Certificate& server_ca = ca_->issuing_ca(Profile::kServer);
  const std::vector<Certificate> anchors{ca_->root()};
  auto check = [&](const Certificate& leaf, const Certificate& ca, Purpose purpose,
                   const std::string& host) {
    const std::vector<Certificate> chain{ca};
    return reason(verify_certificate(leaf, chain, anchors,
                                     options(purpose, kNow, {}, Revocation::kNotChecked, host)));
  };
  // The checks can pass: a well-formed mint inside the constraints verifies.
  EXPECT_EQ(check(mint(device_ca, *device_ca_key, "Example Plant",
                       "URI:urn:ironseal:device:plc-x1:SN-7777", "clientAuth"),
                  device_ca, Purpose::kDeviceClient, ""),
            "trusted");
  // The device CA cannot make server certificates (its EKU is clientAuth only) ...
  EXPECT_EQ(
      check(mint(device_ca, *device_ca_key, "Example Plant", "DNS:api.fleet.example", "serverAuth"),
            device_ca, Purpose::kServer, "api.fleet.example"),
      "wrong_purpose");
  // ... nor certificates for another organization.
  EXPECT_EQ(check(mint(device_ca, *device_ca_key, "Evil Corp",
                       "URI:urn:ironseal:device:plc-x1:SN-7778", "clientAuth"),
                  device_ca, Purpose::kDeviceClient, ""),
            "name_constraint_violation");
  // The server CA cannot certify hosts outside its domain, nor device identities.
  EXPECT_EQ(
      check(mint(server_ca, *server_ca_key, "Example Plant", "DNS:www.bank.example", "serverAuth"),
            server_ca, Purpose::kServer, "www.bank.example"),
      "name_constraint_violation");
  EXPECT_EQ(check(mint(server_ca, *server_ca_key, "Example Plant",
                       "URI:urn:ironseal:device:plc-x1:SN-7779", "clientAuth"),
                  server_ca, Purpose::kDeviceClient, ""),
            "wrong_purpose");
}

TEST_F(Pki, EstIssuanceRequiresTheCsrToNameTheAuthenticatedDevice) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.8");
  auto k = key();
  auto csr = CertificateRequest::for_device(k, {"SN-0030", "plc-x1"});
  ASSERT_TRUE(csr);
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(i2d_X509_REQ_bio(bio.get(), csr->handle().req.get()), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const Bytes der(data, data + len);
  // A device authenticated as SN-0031 asking for SN-0030's name is refused.
  auto wrong = issue_device_der(*ca_, der, {"SN-0031", "plc-x1"}, at(kNow));
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(wrong.error().message.starts_with("identity_mismatch")) << wrong.error().message;
  auto chain = issue_device_der(*ca_, der, {"SN-0030", "plc-x1"}, at(kNow));
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_EQ(chain->size(), 2u);
  auto leaf = Certificate::from_der(chain->front());
  ASSERT_TRUE(leaf);
  EXPECT_EQ(leaf->spki_der(), k.spki_der());
  EXPECT_EQ(chain->back(), ca_->issuing_ca(Profile::kDevice).der());
  // Trailing garbage after the DER is not a CSR.
  Bytes padded = der;
  padded.push_back(0);
  auto bad = issue_device_der(*ca_, padded, {"SN-0030", "plc-x1"}, at(kNow));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kMalformed);
}

TEST_F(Pki, DeviceNamesAreRestrictedToAnUnambiguousAlphabet) {
  IRONSEAL_REQUIREMENTS("CR 1.8");
  EXPECT_TRUE(parse_device_urn("urn:ironseal:device:plc-x1:SN-1"));
  EXPECT_EQ(parse_device_urn("urn:ironseal:device:plc-x1:SN-1")->hardware_id, "plc-x1");
  EXPECT_FALSE(parse_device_urn("urn:ironseal:device:plc:x1:SN-1"));
  EXPECT_FALSE(parse_device_urn("urn:ironseal:device:plc-x1:"));
  EXPECT_FALSE(parse_device_urn("urn:other:device:plc-x1:SN-1"));
  EXPECT_FALSE(CertificateRequest::for_device(*KeyPair::generate_p256(), {"SN 1", "plc"}));
  EXPECT_FALSE(CertificateRequest::for_device(*KeyPair::generate_p256(), {"SN_1", "plc"}));
}

// ---- One current certificate per device and key; revocation follows the key -------------------
//
// Invariants: a device serial holds at most one current (unrevoked, unexpired) certificate;
// enrolling again with the key of that certificate mints nothing; keyCompromise reaches every
// certificate of the key, and the key is never certified again.

// Every current (unrevoked) certificate of a device serial in the index.
std::vector<IndexEntry> current_of(CertificateAuthority& ca, const std::string& serial) {
  std::vector<IndexEntry> out;
  auto all = ca.list();
  EXPECT_TRUE(all);
  for (const auto& e : *all) {
    if (e.device_serial == serial && !e.revoked) out.push_back(e);
  }
  return out;
}

std::string reason_of(CertificateAuthority& ca, const std::string& serial_hex) {
  auto e = ca.find_serial(serial_hex);
  EXPECT_TRUE(e && *e);
  return (*e)->revoked ? (*e)->revocation_reason : "current";
}

TEST_F(Pki, ReEnrolmentWithTheSameKeySupersedesTheCurrentCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  auto k = key();
  auto first = issue_device(k, "SN-0040");
  ASSERT_TRUE(first);
  auto csr = CertificateRequest::for_device(k, {"SN-0040", "plc-x1"});
  auto renewed =
      ca_->issue(*csr, Profile::kDevice, replacing(kNow + 60, first->certificate.serial_hex()));
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_FALSE(renewed->existing);
  EXPECT_NE(renewed->certificate.serial_hex(), first->certificate.serial_hex());
  EXPECT_EQ(reason_of(*ca_, first->certificate.serial_hex()), "superseded");
  EXPECT_EQ(reason(verify(*first, Purpose::kDeviceClient, kNow + 60)), "revoked");
  EXPECT_EQ(reason(verify(*renewed, Purpose::kDeviceClient, kNow + 60)), "trusted");
  const auto current = current_of(*ca_, "SN-0040");
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current.front().serial_hex, renewed->certificate.serial_hex());
}

TEST_F(Pki, AReplayedEnrolmentReturnsTheCurrentCertificateInsteadOfMintingAnother) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  auto k = key();
  auto csr = CertificateRequest::for_device(k, {"SN-0041", "plc-x1"});
  auto first = ca_->issue(*csr, Profile::kDevice, at(kNow));
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->existing);
  // The same CSR bytes again (simpleenroll replayed or retried): the current certificate.
  auto replayed = ca_->issue(*csr, Profile::kDevice, at(kNow + 10));
  ASSERT_TRUE(replayed) << replayed.error().message;
  EXPECT_TRUE(replayed->existing);
  EXPECT_EQ(replayed->certificate.fingerprint_hex(), first->certificate.fingerprint_hex());
  // A re-enrolment from the current certificate renews once; replaying that request (it names a
  // certificate that is no longer current) returns the renewed one.
  auto renewed =
      ca_->issue(*csr, Profile::kDevice, replacing(kNow + 20, first->certificate.serial_hex()));
  ASSERT_TRUE(renewed);
  EXPECT_FALSE(renewed->existing);
  auto replayed_renewal =
      ca_->issue(*csr, Profile::kDevice, replacing(kNow + 30, first->certificate.serial_hex()));
  ASSERT_TRUE(replayed_renewal) << replayed_renewal.error().message;
  EXPECT_TRUE(replayed_renewal->existing);
  EXPECT_EQ(replayed_renewal->certificate.serial_hex(), renewed->certificate.serial_hex());
  auto all = ca_->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);  // two minted, one of them superseded
  EXPECT_EQ(current_of(*ca_, "SN-0041").size(), 1u);
  // Once the current certificate has expired, the same key is certified afresh.
  const UnixTime later = renewed->certificate.not_after() + 1;
  auto fresh = ca_->issue(*csr, Profile::kDevice, at(later));
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->existing);
}

TEST_F(Pki, KeyCompromiseRevokesEveryCertificateOfTheKeyAndTheKeyIsNeverCertifiedAgain) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  auto k = key();
  // Certificates of one key: an old one (superseded by a renewal with the same key), its
  // successor, and one for a second serial that the same key was enrolled under.
  auto old_cert = issue_device(k, "SN-0042");
  ASSERT_TRUE(old_cert);
  auto csr = CertificateRequest::for_device(k, {"SN-0042", "plc-x1"});
  auto renewed =
      ca_->issue(*csr, Profile::kDevice, replacing(kNow + 10, old_cert->certificate.serial_hex()));
  ASSERT_TRUE(renewed);
  auto twin = issue_device(k, "SN-0043", kNow + 10);
  ASSERT_TRUE(twin);
  auto bystander = issue_device(key(), "SN-0044");
  ASSERT_TRUE(bystander);
  // The operator knows the old certificate only.
  auto out =
      ca_->revoke(old_cert->certificate.serial_hex(), RevocationReason::kKeyCompromise, kNow + 20);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->certificate.revocation_reason, "keyCompromise");  // was superseded
  std::set<std::string> reached;
  for (const auto& e : out->also_revoked) {
    reached.insert(e.serial_hex);
    EXPECT_EQ(e.revocation_reason, "keyCompromise");
  }
  EXPECT_EQ(reached, (std::set<std::string>{renewed->certificate.serial_hex(),
                                            twin->certificate.serial_hex()}));
  for (const auto* c : {&*old_cert, &*renewed, &*twin}) {
    EXPECT_EQ(reason_of(*ca_, c->certificate.serial_hex()), "keyCompromise");
    EXPECT_EQ(reason(verify(*c, Purpose::kDeviceClient, kNow + 30)), "revoked");
  }
  EXPECT_EQ(reason(verify(*bystander, Purpose::kDeviceClient, kNow + 30)), "trusted");
  auto crl = ca_->current_crl(Profile::kDevice);
  ASSERT_TRUE(crl);
  EXPECT_EQ(crl->revoked_serials_hex().size(), 3u);
  // The key is dead for every serial: no enrolment, no renewal, no replay brings it back.
  auto again = ca_->issue(*csr, Profile::kDevice, at(kNow + 40));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(again.error().message.starts_with("key_revoked")) << again.error().message;
  auto elsewhere = issue_device(k, "SN-0045", kNow + 40);
  ASSERT_FALSE(elsewhere);
  EXPECT_TRUE(elsewhere.error().message.starts_with("key_revoked"));
  // Nothing left to change: a second keyCompromise is refused as such.
  auto twice =
      ca_->revoke(renewed->certificate.serial_hex(), RevocationReason::kKeyCompromise, kNow + 50);
  ASSERT_FALSE(twice);
  EXPECT_TRUE(twice.error().message.starts_with("already_revoked")) << twice.error().message;
}

TEST_F(Pki, RevokeAllOfDeviceReachesTheDevicesOtherCertificates) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  // SN-0046 re-enrolled with a new key: its first certificate is superseded, the second current.
  auto first = issue_device(key(), "SN-0046");
  ASSERT_TRUE(first);
  auto fresh = key();
  auto csr = CertificateRequest::for_device(fresh, {"SN-0046", "plc-x1"});
  auto current =
      ca_->issue(*csr, Profile::kDevice, replacing(kNow + 10, first->certificate.serial_hex()));
  ASSERT_TRUE(current);
  auto other_device = issue_device(key(), "SN-0047");
  ASSERT_TRUE(other_device);
  // Naming the old certificate alone changes nothing: it is already revoked.
  auto named_only = ca_->revoke(first->certificate.serial_hex(),
                                RevocationReason::kCessationOfOperation, kNow + 20);
  ASSERT_FALSE(named_only);
  EXPECT_TRUE(named_only.error().message.starts_with("already_revoked"));
  EXPECT_EQ(reason(verify(*current, Purpose::kDeviceClient, kNow + 20)), "trusted");
  // With all-of-device it reaches the current one.
  auto all = ca_->revoke(first->certificate.serial_hex(), RevocationReason::kCessationOfOperation,
                         kNow + 20, RevokeScope::kAllOfDevice);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->certificate.revocation_reason, "superseded");  // not keyCompromise: kept
  ASSERT_EQ(all->also_revoked.size(), 1u);
  EXPECT_EQ(all->also_revoked.front().serial_hex, current->certificate.serial_hex());
  EXPECT_EQ(all->also_revoked.front().revocation_reason, "cessationOfOperation");
  EXPECT_EQ(reason(verify(*current, Purpose::kDeviceClient, kNow + 30)), "revoked");
  EXPECT_EQ(reason(verify(*other_device, Purpose::kDeviceClient, kNow + 30)), "trusted");
  // A server certificate has no device.
  auto server_csr = CertificateRequest::for_server(key(), {"api.fleet.example"});
  auto server = ca_->issue(*server_csr, Profile::kServer, at(kNow));
  ASSERT_TRUE(server);
  auto wrong = ca_->revoke(server->certificate.serial_hex(), RevocationReason::kUnspecified, kNow,
                           RevokeScope::kAllOfDevice);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(wrong.error().message.starts_with("not_a_device")) << wrong.error().message;
  EXPECT_EQ(reason_of(*ca_, server->certificate.serial_hex()), "current");
}

TEST_F(Pki, RefusesACsrNamingAnotherHardwareIdThanTheDeviceHas) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 1.9");
  auto k = key();
  auto evil = CertificateRequest::for_device(k, {"SN-0048", "evil-hw"});
  ASSERT_TRUE(evil);
  // The registry says plc-x1 (EST passes it): the CSR's hardware id is refused, nothing bound.
  IssueOptions o = at(kNow);
  o.expected_hardware_id = "plc-x1";
  auto r = ca_->issue(*evil, Profile::kDevice, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotTrusted);
  EXPECT_TRUE(r.error().message.starts_with("hardware_mismatch")) << r.error().message;
  EXPECT_TRUE(current_of(*ca_, "SN-0048").empty());
  auto good = CertificateRequest::for_device(k, {"SN-0048", "plc-x1"});
  auto issued = ca_->issue(*good, Profile::kDevice, o);
  ASSERT_TRUE(issued) << issued.error().message;
  EXPECT_EQ(issued->certificate.device_name()->hardware_id, "plc-x1");
  // Without a registry, the serial's binding holds the hardware id: the same key asking for
  // another, with or without naming the current certificate, is refused too.
  auto rebound = ca_->issue(*evil, Profile::kDevice, at(kNow + 10));
  ASSERT_FALSE(rebound);
  EXPECT_TRUE(rebound.error().message.starts_with("hardware_mismatch")) << rebound.error().message;
  auto renamed =
      ca_->issue(*evil, Profile::kDevice, replacing(kNow + 10, issued->certificate.serial_hex()));
  ASSERT_FALSE(renamed);
  EXPECT_TRUE(renamed.error().message.starts_with("hardware_mismatch"));
  EXPECT_EQ(current_of(*ca_, "SN-0048").size(), 1u);
}

}  // namespace
}  // namespace ironseal::pki
