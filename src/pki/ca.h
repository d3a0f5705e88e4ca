// ironseal's certificate authority: an offline root CA and two online issuing CAs, one for
// devices and one for fleet servers, kept in one directory with a crash-safe SQLite index of
// everything issued (docs/pki.md has the profiles, lifetimes and name constraints).
//
//   DIR/offline/root-ca.key.pem   the root key (0600): used by `init` only; move it offline
//   DIR/root-ca.cert.pem          the trust anchor devices and servers install
//   DIR/device-ca/{key,cert,crl}.pem, DIR/server-ca/{key,cert,crl}.pem
//   DIR/index.sqlite              issued certificates, device serial <-> key bindings, CRL numbers
//
// Issuance is policy, not a rubber stamp: the CA builds subject and extensions itself from the
// profile and takes from a CSR only its public key and the names it asks for, after checking them.
// Refusals are ErrorCode::kNotTrusted (or kInvalidArgument) with a message that starts with a
// stable reason token: csr_signature_invalid, key_type_disallowed, identity_invalid,
// serial_bound_to_other_key, name_not_permitted, hardware_mismatch, key_revoked.
//
// Revocation follows the key, not just the certificate: a device serial holds at most one current
// (unrevoked, unexpired) certificate, so a re-enrolment supersedes the one before it and a
// replayed enrolment gets the current certificate back instead of another one; keyCompromise
// revokes every certificate of that public key and the CA never certifies the key again.
//
// A CertificateAuthority may be used from one thread at a time; several processes may share a
// directory (the index serialises writers).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "pki/certificate.h"

namespace ironseal::pki {

enum class Profile { kDevice, kServer };
std::string_view profile_name(Profile p);  // "device", "server"
Result<Profile> parse_profile(std::string_view name);

// RFC 5280 CRLReason values the CA accepts (certificateHold is deliberately absent: a revoked
// device certificate is never reinstated).
enum class RevocationReason {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
};
std::string_view revocation_reason_name(
    RevocationReason r);  // RFC 5280 spelling, e.g. keyCompromise
Result<RevocationReason> parse_revocation_reason(std::string_view name);

struct CaLifetimes {
  std::int64_t root_days = 20 * 365 + 5;
  std::int64_t issuing_ca_days = 10 * 365 + 3;
  std::int64_t device_days = 10 * 365 + 2;
  std::int64_t server_days = 397;
  std::int64_t crl_days = 7;
};

struct CaInitOptions {
  std::string organization = "ironseal";
  // Server certificates may only name hosts in this DNS domain (and its subdomains).
  std::string server_domain = "ironseal.internal";
  UnixTime now = 0;
  CaLifetimes lifetimes;
};

struct IssueOptions {
  UnixTime now = 0;
  // Re-enrolment (EST simplereenroll): the serial's current certificate, which the caller has
  // authenticated. A new certificate is minted and every other current certificate of the serial
  // is revoked as superseded; with a new key the serial's binding moves to it.
  std::optional<std::string> replaces_serial_hex;
  // Device profile: the hardware id the device is registered with (the fleet server's registry).
  // A CSR that names another is refused (hardware_mismatch), never certified as asked.
  std::optional<std::string> expected_hardware_id;
};

struct IssuedCertificate {
  Certificate certificate;
  Certificate issuing_ca;  // the chain to send with it (root is the anchor, not sent)
  // True when nothing was minted: the CSR's key already holds the serial's current certificate and
  // this is it (an enrolment retried or replayed without naming it as replaced).
  bool existing = false;
};

struct IndexEntry {
  std::string serial_hex;
  Profile profile;
  std::string subject;
  std::string device_serial;  // device profile only
  std::string hardware_id;    // device profile only
  std::string fingerprint_hex;
  std::string spki_sha256_hex;
  UnixTime not_before = 0;
  UnixTime not_after = 0;
  bool revoked = false;
  UnixTime revoked_at = 0;
  std::string revocation_reason;
  std::string certificate_pem;
};

// How far one revocation reaches beyond the certificate named. Whatever the scope, keyCompromise
// also revokes every certificate of the named certificates' public keys.
enum class RevokeScope {
  kCertificate,  // the named certificate (and, for keyCompromise, its key's)
  kAllOfDevice,  // every certificate the CA issued to the named certificate's device serial
};

struct RevokeOutcome {
  IndexEntry certificate;  // the named certificate, as the index now holds it
  // The other certificates this call revoked (or re-marked keyCompromise), as the index now holds
  // them.
  std::vector<IndexEntry> also_revoked;
};

class CertificateAuthority {
 public:
  // Creates the directory, the three key pairs and certificates, the index and empty CRLs.
  // Refuses a directory that already holds a CA.
  static Result<void> init(const std::filesystem::path& dir, const CaInitOptions& options);
  // Opens an existing CA: the issuing keys (checked 0600) and the index. Never reads the root key.
  static Result<CertificateAuthority> open(const std::filesystem::path& dir);

  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

  const Certificate& root() const;
  const Certificate& issuing_ca(Profile p) const;

  Result<IssuedCertificate> issue(const CertificateRequest& csr, Profile profile,
                                  const IssueOptions& options);
  // Marks the certificate revoked in the index (with `scope`, more: see RevokeScope) and
  // republishes the CRLs concerned, in one transaction. For keyCompromise, certificates of the key
  // that were already revoked for another reason (e.g. superseded) are re-marked keyCompromise.
  // Refusals: kNotFound (no such serial), kInvalidArgument "already_revoked" (nothing left to
  // change), kInvalidArgument "not_a_device" (kAllOfDevice on a server certificate).
  Result<RevokeOutcome> revoke(std::string_view serial_hex, RevocationReason reason, UnixTime now,
                               RevokeScope scope = RevokeScope::kCertificate);
  // A device replaced by another (restored from its backup, docs/backup.md): revokes the old
  // certificate as superseded (unless it is revoked already) and records old -> new in the index,
  // in one transaction, then republishes the device CA's CRL. Both must be device certificates
  // this CA issued for the same hardware id, the new one current. Refusals: kNotFound,
  // kNotTrusted "replacement_mismatch" (another hardware id, a revoked or the same certificate).
  // Recording the same replacement again changes nothing.
  Result<IndexEntry> record_replacement(std::string_view old_serial_hex,
                                        std::string_view new_serial_hex,
                                        std::string_view archive_sha256_hex, UnixTime now);
  // The certificate that replaced `serial_hex` (record_replacement), if any.
  Result<std::optional<std::string>> replaced_by(std::string_view serial_hex);

  // Signs a fresh CRL for one issuing CA (next CRL number, nextUpdate = now + crl_days) and
  // writes it to DIR/<ca>/crl.pem atomically.
  Result<Crl> publish_crl(Profile ca, UnixTime now);
  Result<Crl> current_crl(Profile ca) const;

  Result<std::optional<IndexEntry>> find_serial(std::string_view serial_hex);
  Result<std::optional<IndexEntry>> find_fingerprint(std::string_view fingerprint_hex);
  Result<std::vector<IndexEntry>> list();

  struct State;

 private:
  explicit CertificateAuthority(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

// EST's issuance step (simpleenroll / simplereenroll), for the fleet server's CertificateIssuer:
// parses a DER CSR, requires it to name exactly `authenticated` (the identity the TLS client
// certificate proved; "identity_mismatch" otherwise), issues it with the device profile, and
// returns DER certificates: the new one first, then the issuing CA.
Result<std::vector<Bytes>> issue_device_der(CertificateAuthority& ca, ByteView csr_der,
                                            const DeviceName& authenticated,
                                            const IssueOptions& options);

// Lower-case hex of a serial number as the index keeps it (accepts "0x", colons and upper case).
Result<std::string> normalize_serial_hex(std::string_view text);

}  // namespace ironseal::pki
