// A device's configuration and security configuration, backed up and restored (docs/backup.md;
// IEC 62443-4-2 CR 7.3, CR 7.6): `ironseal backup create|verify|restore`.
//
// What a device backup holds (backup/archive.h is the container):
//   entries   identity/device.cert.pem, chain.pem, anchors.pem (never a private key);
//             tuf/image/*.json and tuf/director/*.json (trusted roots and current metadata, each
//             with its version); the configuration files DEVICE_DIR/backup.json lists
//             ({"files": ["config/", "app.conf", ...]}, a trailing / takes a directory's tree;
//             default ["config/"])
//   trust     (header, clear and signed) the TUF root versions, the anti-rollback counter, the
//             SHA-256 of each fused root key, the lifecycle
//   manifest  the device (serial, hardware id), its key's SPKI SHA-256 and certificate, the trust
//             state again, and the boot state summary (agent::device_status)
// It is signed by the device's identity key (file or TPM) and encrypted to the operators' backup
// keys.
//
// Restore refuses, before writing anything (ErrorCode, reason): a signer that does not verify
// (backup/archive.h's reasons); another hardware id, or other fused root keys (kNotTrusted
// "other_hardware"); a trust state older than the device's (kNotTrusted "older_trust_state":
// restore never downgrades trust); another serial or device key unless restoring onto a
// replacement was asked for (kInvalidArgument "replacement_not_confirmed"); a replacement without
// its own certificate (kInvalidArgument "replacement_not_enrolled"). Then it writes every file in
// one all-or-nothing step (device/file_set.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup/archive.h"
#include "core/result.h"
#include "crypto/seal.h"
#include "device/sim.h"
#include "pki/certificate.h"

namespace ironseal::agent {

struct DeviceBackupOptions {
  std::vector<crypto::SealRecipient> recipients;
  std::string created;  // RFC 3339, now
};

struct DeviceBackup {
  Bytes archive;
  backup::Header header;
  std::vector<std::string> paths;  // the entries, in order
};

Result<DeviceBackup> create_device_backup(const std::filesystem::path& device_dir,
                                          const DeviceBackupOptions& options);

// The device's trust state as a backup header records it (for comparison and `--json`).
Result<nlohmann::json> device_trust_state(const std::filesystem::path& device_dir);

struct RestoreOptions {
  backup::Trust trust;  // the device CA's root and current CRL (required)
  pki::UnixTime now = 0;
  // Restoring another device's backup (another serial or key) onto this one, which must have its
  // own certificate already. The restore then writes a replacement record (`record_out`) that the
  // CA ingests (`ironseal ca ingest-replacement`) to revoke the old certificate as superseded.
  bool replacement = false;
  std::optional<std::filesystem::path> record_out;
  boot::FaultInjector* faults = nullptr;  // simulated devices only: cut power at a write
};

struct RestoreOutcome {
  bool replacement = false;
  std::vector<std::string> written;
  std::vector<std::string> removed;
  std::vector<std::string> kept;  // entries not restored (another device's identity files)
  nlohmann::json trust_before;
  nlohmann::json trust_after;
};

Result<RestoreOutcome> restore_device_backup(const std::filesystem::path& device_dir,
                                             const backup::Archive& archive,
                                             const crypto::SealPrivateKey& key,
                                             const RestoreOptions& options);

// ---- Replacement records (the CA side of a replacement) -----------------------------------------

// {"format": "ironseal-replacement-1", "payload": "<JSON text>", "signature_hex",
//  "certificate_pem"}: payload {"type": "replacement", "old": {"serial", "hardware_id",
// "certificate_serial", "certificate_sha256"}, "new": {same}, "archive_sha256", "replaced_at"},
// signed by the replacement device's key (the holder of the new certificate).
struct ReplacementClaim {
  pki::DeviceName old_device;
  std::string old_certificate_serial_hex;
  pki::DeviceName new_device;
  std::string new_certificate_serial_hex;
  std::string archive_sha256_hex;
  pki::UnixTime replaced_at = 0;
};
// Checks the record's signature against its certificate and its own consistency (not yet the
// CA's index): kMalformed, kNotTrusted "replacement_signature_invalid" / "replacement_mismatch".
Result<ReplacementClaim> verify_replacement_record(std::string_view record_json);

}  // namespace ironseal::agent
