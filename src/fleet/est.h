// EST (RFC 7030) on the server: the wire forms and the checks, with certificate issuance behind
// the small CertificateIssuer interface so the PKI library (src/pki) can be bound to it.
//
//   GET  /.well-known/est/cacerts         -> application/pkcs7-mime, base64 certs-only PKCS#7
//   POST /.well-known/est/simpleenroll    application/pkcs10 (base64 DER CSR) -> certs-only
//   POST /.well-known/est/simplereenroll  same, renewal with the current device certificate
//
// The CSR's self-signature must verify, and any device serial it names must be the serial of the
// TLS client certificate: the issued identity comes from the authenticated connection.
//
// EstEndpoint is the service side: the three routes above, and the check that a device connects
// with a certificate the issuer issued to it and has not revoked.
//
// Thread-safety: the EST functions are pure over their arguments; a CertificateIssuer is called
// from any of the server's threads and must serialise its own state (PkiIssuer holds a mutex
// around the CA). EstEndpoint has no mutex of its own: it calls the issuer without the
// SharedStore's lock and takes that lock only to read the device cache and audit.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "fleet/http_message.h"
#include "fleet/metrics.h"
#include "fleet/shared_store.h"
#include "fleet/tls.h"
#include "net/est_wire.h"

namespace ironseal::fleet {

using net::base64_decode;
using net::base64_encode;
using net::certs_only_base64;

class CertificateIssuer {
 public:
  virtual ~CertificateIssuer() = default;
  // Issues a device certificate for the public key in `csr_der` (already checked by the caller:
  // signature verified, serial consistent) to `identity` (serial, hardware id). Returns DER
  // certificates: the new certificate first, then its issuing chain.
  virtual Result<std::vector<Bytes>> issue(ByteView csr_der, const DeviceIdentity& identity) = 0;
  // The CA certificates a device should trust for its device identity (DER).
  virtual Result<std::vector<Bytes>> ca_certificates() = 0;
  // Whether the certificate a device connected with is one this issuer issued to it and still
  // current: kNotTrusted ("not_issued: ..." or "revoked: ...") otherwise. An issuer that keeps no
  // record of what it issued accepts every certificate the handshake accepted.
  virtual Result<void> check_issued(const DeviceIdentity& /*identity*/) { return {}; }
};

// Decodes base64 (whitespace and line breaks allowed) into DER and checks that it is a PKCS#10
// request whose signature verifies with its own key. Returns the DER and the identity the CSR
// names (serial may be empty when it names none).
struct CheckedCsr {
  Bytes der;
  std::string serial;
  std::string hardware_id;
};
Result<CheckedCsr> check_csr(std::string_view base64_body);

class EstEndpoint {
 public:
  // `issuer` may be null: then EST answers 501 and every certificate is accepted as issued.
  EstEndpoint(CertificateIssuer* issuer, SharedStore& shared, Metrics& metrics);

  // nullopt when the device's certificate is one the issuer issued to it and still current (or
  // the issuer keeps no record, or it is an enrolment certificate); otherwise the refusal.
  std::optional<HttpResponse> refuse_unissued(const HttpRequest& r, const DeviceIdentity& id);

  // `op`: "cacerts" (any listener) or, from an admitted device, "simpleenroll" /
  // "simplereenroll".
  HttpResponse handle(const HttpRequest& r, const std::string& op);

 private:
  HttpResponse enrol(const HttpRequest& r, const std::string& op);
  // The identity to issue to: the connection's, with the registered hardware id; or the refusal.
  std::optional<HttpResponse> refuse_csr(const std::string& op, const DeviceIdentity& id,
                                         const CheckedCsr& csr, DeviceIdentity* subject);

  CertificateIssuer* issuer_;
  SharedStore& shared_;
  Metrics& metrics_;
};

}  // namespace ironseal::fleet
