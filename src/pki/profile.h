// The certificate profiles of ironseal's PKI, encoded in one place (docs/pki.md): what the root,
// the issuing CAs, a device and a server certificate carry. Internal to src/pki:
// CertificateAuthority (pki/ca.h) and DeviceIssuer (pki/device_issuer.h) issue through it, so
// there is one encoding of each profile, never a second one.
//
// These functions decide nothing: the caller has checked the names and the key against its
// policy. Stateless, so safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "pki/ca.h"
#include "pki/certificate.h"
#include "pki/ossl_x509.h"

namespace ironseal::pki::profile {

constexpr std::int64_t kDay = 24 * 60 * 60;
// Certificates are valid from a little before issuance, so a device whose clock lags the CA's by
// a few minutes does not refuse a certificate it has just received.
constexpr std::int64_t kBackdate = 5 * 60;

// What an end-entity certificate is made from besides its names.
struct EndEntity {
  const Certificate* issuer = nullptr;
  const KeyPair* issuer_key = nullptr;
  EVP_PKEY* subject_key = nullptr;
  std::string organization;  // O= of the subject; empty: none
  UnixTime not_before = 0;
  UnixTime not_after = 0;
};

// A GENERAL_NAMES of one GEN_* type (GEN_DNS, GEN_URI) holding `values`: the subjectAltName of
// every profile and of the device's CSR, encoded here once.
Result<ossl::GeneralNamesPtr> general_names(int type, const std::vector<std::string>& values);

// Root profile: self-signed, subject O=<organization>, CN=<organization> Root CA; CA:TRUE with
// pathlen 1, keyCertSign and cRLSign; subject key identifier.
Result<Certificate> sign_root_certificate(const KeyPair& key, const std::string& organization,
                                          UnixTime not_before, UnixTime not_after);
// Issuing CA profile: signed by the root, subject O=<organization>, CN=<organization> Device (or
// Server) Issuing CA; CA:TRUE with pathlen 0, keyCertSign and cRLSign; clientAuth (device) or
// serverAuth (server) only; name constraints: subjects under O=<organization>, and for a server
// CA DNS names in `dns_domain`; key identifiers.
Result<Certificate> sign_issuing_ca_certificate(const Certificate& root, const KeyPair& root_key,
                                                const KeyPair& key, Profile profile,
                                                const std::string& organization,
                                                const std::string& dns_domain, UnixTime not_before,
                                                UnixTime not_after);

// Device profile: subject O=<organization>, CN=<serial>, serialNumber=<serial>; subjectAltName
// URI urn:ironseal:device:<hardware-id>:<serial>; CA:FALSE, digitalSignature, clientAuth; key
// identifiers.
Result<Certificate> sign_device_certificate(const EndEntity& e, const DeviceName& device);
// Server profile: subject O=<organization>, CN=<first name>; subjectAltName DNS names; CA:FALSE,
// digitalSignature, serverAuth; key identifiers.
Result<Certificate> sign_server_certificate(const EndEntity& e,
                                            const std::vector<std::string>& dns_names);

}  // namespace ironseal::pki::profile
