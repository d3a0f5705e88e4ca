// The device's TLS identity and its renewal.
//
// device_tls: what every transfer of the device presents and trusts: the device certificate and
// chain with the device key (a file, or a TPM-held key through the tpm2 provider), and the trust
// anchors the factory installed (DEVICE_DIR/identity/anchors.pem) unless overridden.
//
// renew_certificate: EST simplereenroll (RFC 7030) over the device's current mutual-TLS
// connection. The device keeps its key (it may live in a TPM, where a new one could not be
// exported anyway) and asks for a successor certificate: the CSR proves possession of that key
// and names the device; the answer must certify the same key, name the same device and chain to
// the factory's anchors before it replaces anything. The chain file is written first, then the
// certificate, each atomically, so a cut at any point leaves a certificate that matches the key.
#pragma once

#include <filesystem>

#include "agent/fleet_client.h"
#include "core/result.h"
#include "net/tls_client.h"

namespace ironseal::agent {

Result<net::TlsClient> device_tls(const std::filesystem::path& device_dir,
                                  const std::filesystem::path& ca_override = {});

struct Renewal {
  std::string serial_hex;     // of the new certificate
  std::int64_t not_after = 0;
};

Result<Renewal> renew_certificate(FleetClient& client, const std::filesystem::path& device_dir,
                                  std::int64_t now);

}  // namespace ironseal::agent
