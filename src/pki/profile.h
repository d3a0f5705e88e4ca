// The certificate profiles of ironseal's PKI, encoded in one place (docs/pki.md): what a device
// and a server certificate carry, and the X.509 building blocks the CA certificates are made of.
// Internal to src/pki: CertificateAuthority (pki/ca.h) and DeviceIssuer (pki/device_issuer.h)
// issue through it, so there is one encoding of each profile, never a second one.
//
// These functions decide nothing: the caller has checked the names and the key against its
// policy. Stateless, so safe from any thread.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "pki/certificate.h"
#include "pki/ossl_x509.h"

namespace ironseal::pki::profile {

constexpr std::int64_t kDay = 24 * 60 * 60;
// Certificates are valid from a little before issuance, so a device whose clock lags the CA's by
// a few minutes does not refuse a certificate it has just received.
constexpr std::int64_t kBackdate = 5 * 60;

struct Extension {
  int nid;
  const char* value;
};

// Extensions in OpenSSL's configuration syntax, with `issuer` as the authority.
Result<void> add_conf_extensions(X509* cert, X509* issuer, std::initializer_list<Extension> exts);
// subjectAltName-style names of one GEN_* type.
Result<void> add_general_names(X509* cert, int nid, int type,
                               const std::vector<std::string>& values, bool critical);
// Name constraints of an issuing CA: subjects must lie under O=<organization>; with a domain, DNS
// names must lie in it.
Result<void> add_name_constraints(X509* cert, const std::string& organization,
                                  const std::string& dns_domain);
// A name of (NID, value) entries in order; entries with an empty value are left out.
Result<ossl::NamePtr> make_name(std::initializer_list<std::pair<int, std::string>> entries);
// A new certificate with a random positive 128-bit serial, the given subject, key and validity.
Result<ossl::X509Ptr> new_certificate(const X509_NAME* subject, const X509_NAME* issuer,
                                      EVP_PKEY* subject_key, UnixTime not_before,
                                      UnixTime not_after);
// Signs with ECDSA-SHA256 and hands the result over as a Certificate.
Result<Certificate> sign_certificate(ossl::X509Ptr x, EVP_PKEY* issuer_key);

// What an end-entity certificate is made from besides its names.
struct EndEntity {
  const Certificate* issuer = nullptr;
  const KeyPair* issuer_key = nullptr;
  EVP_PKEY* subject_key = nullptr;
  std::string organization;  // O= of the subject; empty: none
  UnixTime not_before = 0;
  UnixTime not_after = 0;
};

// Device profile: subject O=<organization>, CN=<serial>, serialNumber=<serial>; subjectAltName
// URI urn:ironseal:device:<hardware-id>:<serial>; CA:FALSE, digitalSignature, clientAuth; key
// identifiers.
Result<Certificate> sign_device_certificate(const EndEntity& e, const DeviceName& device);
// Server profile: subject O=<organization>, CN=<first name>; subjectAltName DNS names; CA:FALSE,
// digitalSignature, serverAuth; key identifiers.
Result<Certificate> sign_server_certificate(const EndEntity& e,
                                            const std::vector<std::string>& dns_names);

}  // namespace ironseal::pki::profile
