// Certificate chain verification for ironseal's PKI: is this certificate, with these
// intermediates, trusted by these anchors, for this purpose, at this time, and not revoked?
//
// One function, used by everything that authenticates a peer: the fleet server's mTLS and EST
// endpoints (device-client), devices checking the server (server), and `ironseal factory check`.
// A refusal carries a CertReason that says why; every parse or verification error means "not
// trusted". Thread-safe: no shared state.
#pragma once

#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "pki/certificate.h"

namespace ironseal::pki {

enum class Purpose {
  kDeviceClient,  // a device authenticating as a TLS client: EKU clientAuth, ironseal device URN
  kServer,        // a fleet server: EKU serverAuth (and the host name, when one is given)
};

enum class CertReason {
  kUntrustedChain,    // no path to a trust anchor (unknown issuer, foreign root, self-signed)
  kBadSignature,      // a signature in the path does not verify
  kExpired,           // a certificate in the path is past notAfter
  kNotYetValid,       // a certificate in the path is before notBefore
  kNotACa,            // an issuer in the path is not a CA (e.g. a device certificate)
  kWrongPurpose,      // key usage / extended key usage does not allow this purpose
  kRevoked,           // the leaf is on its issuer's CRL
  kCrlUnavailable,    // revocation was required but no valid CRL from the issuer was given
  kCrlExpired,        // the issuer's CRL is past its nextUpdate (or not yet valid)
  kPathTooLong,       // a CA's pathLenConstraint is exceeded
  kNameConstraint,    // a name in the path violates a CA's name constraints
  kIdentityMissing,   // a device certificate without exactly one well-formed device URN
  kHostnameMismatch,  // a server certificate not for the host name expected
  kMalformed,         // a certificate or extension that does not parse / is not allowed
  kOther,             // any other refusal by the verifier (message says which)
};

std::string_view cert_reason_name(CertReason reason);  // e.g. "expired", "revoked"

struct CertificateFailure {
  CertReason reason;
  std::string detail;
  // ErrorCode::kNotTrusted with "<reason>: <detail>".
  Error to_error() const;
};

enum class Revocation {
  kRequireCrl,  // the leaf's issuer must have a current CRL in `crls`; revoked leaves are refused
  kNotChecked,  // only for callers that check revocation some other way (say so in the docs)
};

struct VerifyOptions {
  Purpose purpose = Purpose::kDeviceClient;
  UnixTime at = 0;  // the time to verify at (seconds since 1970)
  Revocation revocation = Revocation::kRequireCrl;
  std::span<const Crl> crls;
  std::string hostname;  // kServer: the name the client connected to (empty: not checked)
};

struct VerifiedCertificate {
  std::optional<DeviceName> device;  // set for kDeviceClient
  std::string fingerprint_hex;
  std::string serial_hex;
};

std::expected<VerifiedCertificate, CertificateFailure> verify_certificate(
    const Certificate& leaf, std::span<const Certificate> intermediates,
    std::span<const Certificate> anchors, const VerifyOptions& options);

}  // namespace ironseal::pki
