// A device's identity on the device side: where its key lives, the CSR it sends to the factory,
// and the certificate, chain and trust anchors the factory installs.
//
//   DEVICE_DIR/device.json              serial and hardware_id (device/host_device.h)
//   DEVICE_DIR/identity/                0700
//     device.key.pem                    the device key, file backend (0600; never leaves the
//     device) device.key.tss2.pem               the device key, TPM backend: a TPM-wrapped blob
//     (0600),
//                                       useless without this device's TPM
//     device.csr.pem                    what the factory station reads
//     device.cert.pem, chain.pem        the device certificate and its issuing CA
//     anchors.pem                       the root CA: what the device trusts servers by
//
// Key custody is one seam: create_device_key / load_device_key / destroy_device_key pick the
// backend. The TPM backend generates the key inside a TPM 2.0 (src/tpm, through the tpm2 OpenSSL
// provider) and hands it out as a key of OpenSSL's default context whose signatures the TPM
// makes (tpm::default_context_key), so CSR signing, decommission records, the factory check and
// TLS client authentication (libcurl included) work unchanged. Without a reachable TPM, asking
// for it fails with "tpm_unavailable"; it never falls back to a file key.
#pragma once

#include <openssl/types.h>

#include <filesystem>
#include <memory>

#include "core/result.h"
#include "pki/certificate.h"
#include "pki/device_issuer.h"

namespace ironseal::pki {

struct IdentityPaths {
  std::filesystem::path dir;
  std::filesystem::path key;
  std::filesystem::path tpm_key;
  std::filesystem::path csr;
  std::filesystem::path certificate;
  std::filesystem::path chain;
  std::filesystem::path anchors;
};
IdentityPaths identity_paths(const std::filesystem::path& device_dir);

// Serial and hardware id from DEVICE_DIR/device.json; both must be set and well-formed.
Result<DeviceName> read_device_name(const std::filesystem::path& device_dir);

enum class KeyBackend { kFile, kTpm };
std::string_view key_backend_name(KeyBackend b);  // "file", "tpm"

// Creates the device key in the backend; refuses when one exists already (either backend).
Result<KeyPair> create_device_key(const IdentityPaths& paths, KeyBackend backend);
// Loads whichever backend holds the key (a file key must be 0600).
Result<KeyPair> load_device_key(const IdentityPaths& paths);
Result<KeyBackend> device_key_backend(const IdentityPaths& paths);
// The device key as an OpenSSL handle, for TLS client authentication (either backend).
Result<std::shared_ptr<EVP_PKEY>> load_device_tls_key(const IdentityPaths& paths);
// Destroys the key: the file (or the TPM-wrapped blob, the only form of a TPM key outside the
// TPM) is overwritten, synced and unlinked.
Result<void> destroy_device_key(const IdentityPaths& paths);

struct ProvisionedKey {
  DeviceName name;
  KeyBackend backend;
  CertificateRequest csr;
};
// `ironseal provision key`: makes the identity directory, the key and the CSR for this device.
Result<ProvisionedKey> provision_key(const std::filesystem::path& device_dir, KeyBackend backend);

// Overwrites a file's bytes with zeros, syncs, unlinks it and syncs its directory. (On flash
// storage with wear levelling or a copy-on-write file system the old blocks may survive: the TPM
// backend, where the key never touches the file system, is the real answer; docs/keys.md.)
Result<void> wipe_file(const std::filesystem::path& path);

// Gives the device in `device_dir` an identity in one step, as `provision key` and `factory
// enroll` do in two: a new file-held P-256 key in DEVICE_DIR/identity/ (0700 directory, 0600
// key), a certificate from `issuer` for it, the issuer's chain and `anchors_pem` (what the device
// trusts servers by). Refuses a device that has a key already.
Result<Certificate> issue_device_identity(const DeviceIssuer& issuer,
                                          const std::filesystem::path& device_dir,
                                          const DeviceName& device, std::string_view anchors_pem,
                                          UnixTime now);

}  // namespace ironseal::pki
