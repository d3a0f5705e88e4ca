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
// Thread-safety: the EST functions are pure over their arguments; a CertificateIssuer is called
// from any of the server's threads and must serialise its own state (PkiIssuer holds a mutex
// around the CA).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/est_wire.h"
#include "core/bytes.h"
#include "core/result.h"
#include "fleet/tls.h"

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



}  // namespace ironseal::fleet
