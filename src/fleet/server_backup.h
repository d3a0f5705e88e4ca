// The fleet server's backup (docs/backup.md): `ironseal-server backup` while the server runs,
// `ironseal-server restore` onto a fresh machine.
//
// What goes in: the configuration file and every file and directory it names (TLS certificate
// chain and key, device/enrol CAs and CRLs, the repository with its online keys, the EST CA
// directory, the audit trail and its key), with every SQLite database (the fleet store, the CA
// index) taken through SQLite's online backup API: one consistent snapshot each, taken while the
// server keeps writing. Every path must lie under the configuration file's directory (the
// documented layout), so a restore reproduces it anywhere. The archive (backup/archive.h) is
// encrypted to the operators' backup keys and signed with the server's TLS key, whose certificate
// verifies as a server certificate of the PKI.
//
// Restore writes into an empty directory only (a fresh machine; never over a running server's
// files), every file 0600 and every directory 0700, after the archive's signer verified.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "backup/archive.h"
#include "core/result.h"
#include "crypto/seal.h"

namespace ironseal::fleet {

struct ServerBackup {
  Bytes archive;
  std::size_t files = 0;
  std::size_t databases = 0;
  std::uint64_t plain_bytes = 0;  // the contents before encryption
};

Result<ServerBackup> create_server_backup(const std::filesystem::path& config,
                                          const std::vector<crypto::SealRecipient>& recipients,
                                          const std::string& created);

struct ServerRestoreOptions {
  backup::Trust trust;  // the server CA's root and CRL
  pki::UnixTime now = 0;
};

struct ServerRestoreOutcome {
  std::filesystem::path config;  // the restored configuration file
  std::size_t files = 0;
  std::string server;  // the signer's subject
};

// kConflict "not_empty" when `into` holds anything; the archive's reasons otherwise.
Result<ServerRestoreOutcome> restore_server_backup(const backup::Archive& archive,
                                                   const crypto::SealPrivateKey& key,
                                                   const std::filesystem::path& into,
                                                   const ServerRestoreOptions& options);

}  // namespace ironseal::fleet
