// EST issuance (fleet::CertificateIssuer) by the device PKI's certificate authority (src/pki):
// simpleenroll from a factory (enrolment) certificate issues a device certificate; simplereenroll
// from a device certificate issues its successor and supersedes it (the CA moves the serial's
// key binding and revokes the old certificate as superseded, republishing the CRL the server
// reloads). The CA's own policy applies on top of the server's checks (proof of possession,
// key type, serial bound to one key, names).
#pragma once

#include <filesystem>
#include <memory>

#include "fleet/est.h"

namespace ironseal::fleet {

Result<std::unique_ptr<CertificateIssuer>> open_pki_issuer(const std::filesystem::path& ca_dir);

}  // namespace ironseal::fleet
