// The value types of ironseal's device PKI: a P-256 key pair, an X.509 certificate, a
// certificate signing request (CSR) and a certificate revocation list (CRL), plus the device name
// every device certificate carries (serial number and hardware id, as the URI
// urn:ironseal:device:<hardware-id>:<serial> in subjectAltName; docs/pki.md).
//
// All types are immutable after creation and safe to share between threads. Parsing refuses
// anything malformed (ErrorCode::kMalformed); nothing here decides trust: chain verification is
// pki/verify.h, issuance policy is pki/ca.h.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::pki {

struct KeyHandle;
struct CertificateHandle;
struct RequestHandle;
struct CrlHandle;

// Unix time in seconds (the PKI's clock is always passed in, never read behind the caller's back).
using UnixTime = std::int64_t;

// ---- Device name --------------------------------------------------------------------------------

// The identity a device certificate binds to a key. Both parts are 1..64 characters of
// [A-Za-z0-9._-], so the URN below is unambiguous.
struct DeviceName {
  std::string serial;
  std::string hardware_id;
  bool operator==(const DeviceName&) const = default;
};

Result<void> check_identifier(std::string_view what, std::string_view value);
std::string device_urn(const DeviceName& name);  // urn:ironseal:device:<hardware_id>:<serial>
Result<DeviceName> parse_device_urn(std::string_view urn);

// ---- Keys
// ----------------------------------------------------------------------------------------

// An ECDSA P-256 key pair (the only key type the PKI issues for, and signs with). Where the
// private half lives is the backend's business: a PEM file, or a TPM through an OpenSSL provider
// (pki/device_key.h); signing works the same either way.
class KeyPair {
 public:
  static Result<KeyPair> generate_p256();
  // PKCS#8 PEM; refuses a file group or others can access (kPermission) and any non-P-256 key.
  static Result<KeyPair> load(const std::filesystem::path& path);
  // Takes over a handle made elsewhere (a key backend); refuses any non-P-256 key.
  static Result<KeyPair> adopt(std::shared_ptr<KeyHandle> handle);
  // Takes over an OpenSSL key of the default library context (a key backend's, e.g. the TPM's);
  // refuses any non-P-256 key. Ownership passes in on success and on failure.
  static Result<KeyPair> adopt_evp(EVP_PKEY* owned);

  // The key as a shared EVP_PKEY for the TLS set-up (libcurl's and the server's), which keeps
  // it for as long as a connection lives.
  Result<std::shared_ptr<EVP_PKEY>> shared_evp_key() const;

  // Writes PKCS#8 PEM, created 0600, never replacing an existing file.
  Result<void> save(const std::filesystem::path& path) const;
  Bytes spki_der() const;
  // ECDSA over SHA-256(message); DER-encoded signature.
  Result<Bytes> sign(ByteView message) const;

  const KeyHandle& handle() const { return *handle_; }

 private:
  explicit KeyPair(std::shared_ptr<KeyHandle> h) : handle_(std::move(h)) {}
  std::shared_ptr<KeyHandle> handle_;
};

// The key policy of the PKI: an ECDSA P-256 public key with a valid point. kNotTrusted with
// "weak_key: ..." (RSA under 2048 bits, ...) or "key_type_disallowed: ..." otherwise.
Result<void> check_key_allowed(ByteView spki_der);

// Verifies an ECDSA-SHA256 (or Ed25519) signature with a SubjectPublicKeyInfo; kNotTrusted if it
// does not verify.
Result<void> verify_with_spki(ByteView spki_der, ByteView message, ByteView signature);

// ---- Certificates
// --------------------------------------------------------------------------------

class Certificate {
 public:
  static Result<Certificate> from_pem(std::string_view pem);
  static Result<Certificate> from_der(ByteView der);
  // Every certificate of a PEM bundle, in order; a bundle without any is kMalformed.
  static Result<std::vector<Certificate>> all_from_pem(std::string_view pem);
  static Result<Certificate> load(const std::filesystem::path& path);
  static Result<std::vector<Certificate>> load_all(const std::filesystem::path& path);

  std::string to_pem() const;
  Bytes der() const;
  std::string fingerprint_hex() const;  // SHA-256 of the DER certificate, lower-case hex
  std::string serial_hex() const;       // lower-case hex, no leading zero bytes
  std::string subject() const;          // RFC 2253 one-line form
  std::string issuer() const;
  UnixTime not_before() const;
  UnixTime not_after() const;
  Bytes spki_der() const;
  bool is_ca() const;
  // The ironseal device name in subjectAltName, if the certificate carries exactly one.
  std::optional<DeviceName> device_name() const;
  std::vector<std::string> dns_names() const;

  const CertificateHandle& handle() const { return *handle_; }
  static Certificate adopt(std::shared_ptr<CertificateHandle> h) {
    return Certificate(std::move(h));
  }

 private:
  explicit Certificate(std::shared_ptr<CertificateHandle> h) : handle_(std::move(h)) {}
  std::shared_ptr<CertificateHandle> handle_;
};

Result<void> write_pem_bundle(const std::filesystem::path& path,
                              const std::vector<Certificate>& certs);

// A certificates-only PKCS#7 SignedData (DER), as EST (RFC 7030) returns enrolled certificates
// and CA certificates in: no signer, no content, just `certs`.
Result<Bytes> certs_only_pkcs7(const std::vector<Certificate>& certs);

// ---- Certificate signing requests
// ------------------------------------------------------------------

class CertificateRequest {
 public:
  static Result<CertificateRequest> from_pem(std::string_view pem);
  // Exactly one DER request, nothing after it (EST sends DER).
  static Result<CertificateRequest> from_der(ByteView der);
  Bytes der() const;
  static Result<CertificateRequest> load(const std::filesystem::path& path);

  // A device's CSR: subject CN and serialNumber = serial, and a requested subjectAltName URI with
  // the device URN. Signed by `key` (proof of possession).
  static Result<CertificateRequest> for_device(const KeyPair& key, const DeviceName& name);
  // A server's CSR: subject CN = first name, requested subjectAltName DNS names.
  static Result<CertificateRequest> for_server(const KeyPair& key,
                                               const std::vector<std::string>& dns_names);

  std::string to_pem() const;
  Bytes spki_der() const;
  // Proof of possession: the CSR's self-signature verifies with the public key it carries.
  // kNotTrusted "csr_signature_invalid" otherwise.
  Result<void> verify_proof_of_possession() const;
  std::string subject_serial_number() const;  // empty when absent
  // Requested subjectAltName entries (from the extension request).
  std::vector<std::string> requested_uris() const;
  std::vector<std::string> requested_dns_names() const;

  const RequestHandle& handle() const { return *handle_; }
  static CertificateRequest adopt(std::shared_ptr<RequestHandle> h) {
    return CertificateRequest(std::move(h));
  }

 private:
  explicit CertificateRequest(std::shared_ptr<RequestHandle> h) : handle_(std::move(h)) {}
  std::shared_ptr<RequestHandle> handle_;
};

// ---- Revocation lists
// --------------------------------------------------------------------------------

class Crl {
 public:
  static Result<Crl> from_pem(std::string_view pem);
  static Result<Crl> load(const std::filesystem::path& path);
  std::string to_pem() const;
  std::string issuer() const;
  UnixTime this_update() const;
  UnixTime next_update() const;
  std::vector<std::string> revoked_serials_hex() const;

  const CrlHandle& handle() const { return *handle_; }
  static Crl adopt(std::shared_ptr<CrlHandle> h) { return Crl(std::move(h)); }

 private:
  explicit Crl(std::shared_ptr<CrlHandle> h) : handle_(std::move(h)) {}
  std::shared_ptr<CrlHandle> handle_;
};

}  // namespace ironseal::pki
