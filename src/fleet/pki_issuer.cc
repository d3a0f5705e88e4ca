#include "fleet/pki_issuer.h"

#include <chrono>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>

#include "pki/ca.h"

namespace ironseal::fleet {
namespace {

class PkiIssuer final : public CertificateIssuer {
 public:
  explicit PkiIssuer(pki::CertificateAuthority ca) : ca_(std::move(ca)) {}

  Result<std::vector<Bytes>> issue(ByteView csr_der, const DeviceIdentity& identity) override {
    auto csr = pki::CertificateRequest::from_der(csr_der);
    if (!csr) return std::unexpected(csr.error());
    if (csr->subject_serial_number() != identity.serial) {
      return fail_because(ErrorCode::kNotTrusted, "identity_invalid", "the CSR names '",
                          csr->subject_serial_number(), "', the connection is ", identity.serial);
    }
    pki::IssueOptions options;
    options.now = static_cast<pki::UnixTime>(std::time(nullptr));
    // The registered hardware id, never the one a CSR asks for (the CA refuses another).
    if (!identity.hardware_id.empty()) options.expected_hardware_id = identity.hardware_id;
    if (!identity.enrolment_only) {
      // Re-enrolment: the certificate this device authenticated with is superseded.
      auto serial = pki::normalize_serial_hex(identity.certificate_serial);
      if (!serial) return std::unexpected(serial.error());
      options.replaces_serial_hex = *serial;
    }
    std::lock_guard lock(mutex_);  // one CA user at a time
    auto issued = ca_.issue(*csr, pki::Profile::kDevice, options);
    if (!issued) return std::unexpected(issued.error());
    // A new certificate superseded the device's others: forget that they were current.
    if (!issued->existing) known_.clear();
    return std::vector<Bytes>{issued->certificate.der(), issued->issuing_ca.der()};
  }

  Result<std::vector<Bytes>> ca_certificates() override {
    std::lock_guard lock(mutex_);
    return std::vector<Bytes>{ca_.issuing_ca(pki::Profile::kDevice).der(), ca_.root().der()};
  }

  // The CA's index must hold this very certificate (serial and fingerprint), issued to this
  // device, not revoked or superseded. That refuses a certificate that chains to the device CA but
  // was never issued by this CA's process: one minted with a stolen issuing key, or restored from
  // before a re-enrolment. A positive answer is kept for kRecheck, so a device's chunk requests
  // do not each cost a database lookup; a revocation still takes effect within that time (and at
  // once in the handshake, through the CRL).
  Result<void> check_issued(const DeviceIdentity& identity) override {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (auto it = known_.find(identity.certificate_sha256);
        it != known_.end() && now < it->second) {
      return {};
    }
    auto serial = pki::normalize_serial_hex(identity.certificate_serial);
    if (!serial) return not_issued(identity, "its serial number is malformed");
    auto entry = ca_.find_serial(*serial);
    if (!entry) return std::unexpected(entry.error());
    if (!*entry) return not_issued(identity, "the CA's index holds no certificate with its serial");
    const pki::IndexEntry& e = **entry;
    if (e.fingerprint_hex != identity.certificate_sha256) {
      return not_issued(identity, "the CA issued a different certificate under its serial");
    }
    if (e.profile != pki::Profile::kDevice || e.device_serial != identity.serial) {
      return not_issued(identity, "the CA issued it to another device or for another use");
    }
    if (e.revoked) {
      return fail_because(ErrorCode::kNotTrusted, "revoked", "certificate ", *serial, " of ",
                          identity.serial, " was revoked (", e.revocation_reason, ")");
    }
    if (known_.size() >= kMaxKnown) known_.clear();
    known_[identity.certificate_sha256] = now + kRecheck;
    return {};
  }

 private:
  static constexpr auto kRecheck = std::chrono::seconds(30);
  static constexpr std::size_t kMaxKnown = 100000;

  static Result<void> not_issued(const DeviceIdentity& identity, const char* why) {
    return fail_because(ErrorCode::kNotTrusted, "not_issued", "the certificate ", identity.serial,
                        " connected with is not one this CA issued: ", why);
  }

  std::mutex mutex_;
  pki::CertificateAuthority ca_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> known_;
};

}  // namespace

Result<std::unique_ptr<CertificateIssuer>> open_pki_issuer(const std::filesystem::path& ca_dir) {
  auto ca = pki::CertificateAuthority::open(ca_dir);
  if (!ca) return std::unexpected(ca.error());
  return std::unique_ptr<CertificateIssuer>(new PkiIssuer(std::move(*ca)));
}

}  // namespace ironseal::fleet
