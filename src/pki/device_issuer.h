// Device certificates from an issuing CA held as two PEM files (certificate and key) instead of a
// CA directory: the TEST CA of `ironseal fleet simulate`, which gives thousands of simulated
// devices their own key and certificate in one run. It issues with the device profile of the
// CA (pki/profile.h: the same subject, subjectAltName URN, key usage and extensions as
// CertificateAuthority::issue), but keeps no index, no serial <-> key binding and no CRL: it is
// a load-test tool, not the factory (device/factory.h is). `issue_device_identity`
// (device/identity.h) writes what it issues into a device directory.
//
// A DeviceIssuer is immutable after load() and may be shared between threads; issue() may run
// concurrently.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "pki/certificate.h"

namespace ironseal::pki {

class DeviceIssuer {
 public:
  // `certificate_pem`: the issuing CA's certificate, optionally followed by its own chain (which
  // devices then carry in chain.pem). `key_pem`: its P-256 key (0600). Refusals: kPermission (key
  // readable by others), kMalformed, kNotTrusted "issuer_not_ca" (the certificate is no CA) or
  // "key_mismatch" (the key is not the certificate's).
  static Result<DeviceIssuer> load(const std::filesystem::path& certificate_pem,
                                   const std::filesystem::path& key_pem);

  // A certificate for `device_key` naming `device`, valid from a few minutes before `now` for
  // `days` days (never beyond the issuer). kNotTrusted "identity_invalid" for a malformed name.
  Result<Certificate> issue(const KeyPair& device_key, const DeviceName& device, UnixTime now,
                            std::int64_t days = 365) const;

  // The issuing CA's certificate, then its chain as the file gave it.
  const std::vector<Certificate>& chain() const { return chain_; }

 private:
  DeviceIssuer(std::vector<Certificate> chain, KeyPair key, std::string organization)
      : chain_(std::move(chain)), key_(std::move(key)), organization_(std::move(organization)) {}
  std::vector<Certificate> chain_;
  KeyPair key_;
  std::string organization_;  // the issuer's O=, which its devices' subjects carry too
};

}  // namespace ironseal::pki
