// EST issuance (fleet::CertificateIssuer) by the device PKI's certificate authority (src/pki):
// simpleenroll from a factory (enrolment) certificate issues a device certificate; simplereenroll
// from a device certificate issues its successor and supersedes it, with the same key or a new
// one (the CA revokes the old certificate as superseded, moves the serial's key binding to a new
// key, and republishes the CRL the server reloads). An enrolment with a key that already holds the
// device's current certificate gets that certificate back: a replayed CSR mints nothing. The CA's
// own policy applies on top of the server's checks (proof of possession, key type, serial bound
// to one key, the registered hardware id, keys revoked for keyCompromise, names).
#pragma once

#include <filesystem>
#include <memory>

#include "fleet/est.h"

namespace ironseal::fleet {

Result<std::unique_ptr<CertificateIssuer>> open_pki_issuer(const std::filesystem::path& ca_dir);

}  // namespace ironseal::fleet
