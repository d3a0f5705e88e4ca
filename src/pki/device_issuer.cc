#include "pki/device_issuer.h"

#include <algorithm>

#include "core/file.h"
#include "pki/profile.h"

namespace ironseal::pki {
namespace {

namespace fs = std::filesystem;

std::string organization_of(const Certificate& c) {
  const X509_NAME* subject = X509_get_subject_name(c.handle().x509.get());
  const int at = X509_NAME_get_index_by_NID(subject, NID_organizationName, -1);
  if (at < 0) return {};
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) return {};
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

}  // namespace

Result<DeviceIssuer> DeviceIssuer::load(const fs::path& certificate_pem, const fs::path& key_pem) {
  auto key = KeyPair::load(key_pem);
  if (!key) return std::unexpected(key.error());
  auto chain = Certificate::load_all(certificate_pem);
  if (!chain) return std::unexpected(chain.error());
  const Certificate& ca = chain->front();
  if (!ca.is_ca()) {
    return fail_because(ErrorCode::kNotTrusted, "issuer_not_ca", certificate_pem.string(), " (",
                        ca.subject(), ") is not a CA certificate");
  }
  if (key->spki_der() != ca.spki_der()) {
    return fail_because(ErrorCode::kNotTrusted, "key_mismatch", key_pem.string(),
                        " does not match ", certificate_pem.string());
  }
  std::string organization = organization_of(ca);
  return DeviceIssuer(std::move(*chain), std::move(*key), std::move(organization));
}

Result<Certificate> DeviceIssuer::issue(const KeyPair& device_key, const DeviceName& device,
                                        UnixTime now, std::int64_t days) const {
  for (auto [what, value] :
       {std::pair{"serial", &device.serial}, std::pair{"hardware id", &device.hardware_id}}) {
    if (auto r = check_identifier(what, *value); !r) {
      return fail_because(ErrorCode::kNotTrusted, "identity_invalid", r.error().message);
    }
  }
  const Certificate& ca = chain_.front();
  const profile::EndEntity ee{&ca,
                              &key_,
                              device_key.handle().pkey.get(),
                              organization_,
                              now - profile::kBackdate,
                              std::min<UnixTime>(now + days * profile::kDay, ca.not_after())};
  return profile::sign_device_certificate(ee, device);
}

}  // namespace ironseal::pki
