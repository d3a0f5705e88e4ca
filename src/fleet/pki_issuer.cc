#include "fleet/pki_issuer.h"

#include <ctime>
#include <mutex>

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
      return fail(ErrorCode::kNotTrusted, "identity_invalid: the CSR names '",
                  csr->subject_serial_number(), "', the connection is ", identity.serial);
    }
    pki::IssueOptions options;
    options.now = static_cast<pki::UnixTime>(std::time(nullptr));
    if (!identity.enrolment_only) {
      // Re-enrolment: the certificate this device authenticated with is superseded.
      auto serial = pki::normalize_serial_hex(identity.certificate_serial);
      if (!serial) return std::unexpected(serial.error());
      options.replaces_serial_hex = *serial;
    }
    std::lock_guard lock(mutex_);  // one CA user at a time
    auto issued = ca_.issue(*csr, pki::Profile::kDevice, options);
    if (!issued) return std::unexpected(issued.error());
    return std::vector<Bytes>{issued->certificate.der(), issued->issuing_ca.der()};
  }

  Result<std::vector<Bytes>> ca_certificates() override {
    std::lock_guard lock(mutex_);
    return std::vector<Bytes>{ca_.issuing_ca(pki::Profile::kDevice).der(), ca_.root().der()};
  }

 private:
  std::mutex mutex_;
  pki::CertificateAuthority ca_;
};

}  // namespace

Result<std::unique_ptr<CertificateIssuer>> open_pki_issuer(const std::filesystem::path& ca_dir) {
  auto ca = pki::CertificateAuthority::open(ca_dir);
  if (!ca) return std::unexpected(ca.error());
  return std::unique_ptr<CertificateIssuer>(new PkiIssuer(std::move(*ca)));
}

}  // namespace ironseal::fleet
