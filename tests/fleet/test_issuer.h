// A certificate issuer for tests (OpenSSL, in memory, TEST key generated per run): stands in for
// the PKI library (src/pki) behind fleet::CertificateIssuer until that is bound to the server.
#pragma once

#include <memory>

#include "fleet/est.h"

namespace ironseal::testing {

class TestIssuer final : public fleet::CertificateIssuer {
 public:
  TestIssuer();
  ~TestIssuer() override;
  Result<std::vector<Bytes>> issue(ByteView csr_der, const fleet::DeviceIdentity& id) override;
  Result<std::vector<Bytes>> ca_certificates() override;
  int issued() const { return issued_; }

  // A DER PKCS#10 request for a fresh P-256 key; `serial` (if not empty) as subject serialNumber.
  static Bytes make_csr(const std::string& serial);

 private:
  struct Ca;
  std::unique_ptr<Ca> ca_;
  int issued_ = 0;
};

}  // namespace ironseal::testing
