// TLS policy of the fleet server, in plain OpenSSL (no Boost here): the server's contexts, the
// device trust store with its CRLs (reloaded when the files change), and the device identity read
// from a verified client certificate (or claimed by an EST request). The fleet's only OpenSSL code.
//
// Device identity comes only from the certificate: the serial in a URI SAN
// `urn:ironseal:device:<hardware-id>:<serial>`, or else the subject's serialNumber attribute.
// A request body never names the device.
//
// TrustStore is thread-safe: connections take an immutable snapshot (shared X509_STORE) when they
// start, and a reload swaps in a new snapshot without touching stores in use.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::fleet {

struct DeviceIdentity {
  std::string serial;
  std::string hardware_id;  // "" when the certificate names only a serialNumber
  std::string certificate_serial;  // hex, of the client certificate itself
  std::int64_t not_before = 0;     // unix seconds
  std::int64_t not_after = 0;
  // True when the certificate chains to an enrolment (factory) CA rather than the device CA:
  // such a client may only enrol (EST simpleenroll), nothing else.
  bool enrolment_only = false;
  std::string certificate_sha256;  // hex SHA-256 of the certificate's DER (set by TrustStore::identity)
};

// The identity a certificate carries (no chain check here: the handshake did that).
Result<DeviceIdentity> identity_from_certificate(X509* cert);

struct TlsConfig {
  std::filesystem::path certificate_chain;  // PEM: server certificate then intermediates
  std::filesystem::path private_key;        // PEM, 0600
  bool allow_tls12 = false;                 // TLS 1.3 only unless set
};

// Server-side context settings shared by both listeners: protocol floor, certificate, key,
// no renegotiation/compression/tickets that outlive a revocation. With `require_client_cert`,
// a client without a certificate is refused in the handshake (TLS 1.3 alert
// certificate_required); the chain is checked against the store set per connection.
Result<void> configure_server_context(SSL_CTX* ctx, const TlsConfig& config,
                                      bool require_client_cert);

struct TrustConfig {
  std::vector<std::filesystem::path> device_ca;  // anchors for device certificates
  std::vector<std::filesystem::path> enrol_ca;   // anchors for factory (bootstrap) certificates
  std::vector<std::filesystem::path> crl;        // CRLs of those CAs; all are checked when set
};

class TrustStore {
 public:
  static Result<std::unique_ptr<TrustStore>> load(TrustConfig config);

  // Binds the current snapshot to a new connection before its handshake.
  Result<void> attach(SSL* ssl) const;
  // After a successful handshake: the identity, and whether it is enrolment-only.
  Result<DeviceIdentity> identity(SSL* ssl) const;

  // Re-reads the files when one changed (mtime or size). Returns true when a new snapshot is in
  // place; an error (and the old snapshot kept) when the new files do not load.
  Result<bool> reload_if_changed();
  std::uint64_t reloads() const;

  struct Snapshot;

 private:
  explicit TrustStore(TrustConfig config) : config_(std::move(config)) {}
  Result<std::shared_ptr<const Snapshot>> build() const;
  std::vector<std::pair<std::int64_t, std::uintmax_t>> stamps() const;

  TrustConfig config_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::vector<std::pair<std::int64_t, std::uintmax_t>> stamps_;
  std::uint64_t reloads_ = 0;
};

// OpenSSL's error queue as one line (empty when it is empty).
std::string openssl_errors();
// Empties OpenSSL's error queue (after a failed handshake, so it is not blamed on the next one).
void clear_openssl_errors();

// Why the handshake on `ssl` refused the client's certificate (OpenSSL's verify error text), or
// nullopt when the certificate check did not fail.
std::optional<std::string> client_certificate_refusal(const SSL* ssl);

// The device a PKCS#10 request (DER) names, read by the rules of identity_from_certificate, once
// its self-signature verifies with its own key. kMalformed when it does not parse or names a
// device badly; kNotTrusted when the signature does not verify. Both fields are empty when the
// request names no device (the connection's identity is used then).
struct RequestedIdentity {
  std::string serial;
  std::string hardware_id;
};
Result<RequestedIdentity> identity_from_request(ByteView der);

}  // namespace ironseal::fleet
