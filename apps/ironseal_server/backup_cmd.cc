// `ironseal-server backup` and `ironseal-server restore` (fleet/server_backup.h, docs/backup.md).
#include "backup_cmd.h"

#include <chrono>
#include <ctime>
#include <iostream>

#include "audit/log.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "fleet/server_backup.h"

namespace ironseal::server_cli {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Result<void> backup(const BackupCommand& a) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<crypto::SealRecipient> to;
  for (const auto& p : a.to) {
    auto r = crypto::load_seal_recipient(p);
    if (!r) return fail_in(r.error(), "--to ", p, ": ");
    to.push_back(std::move(*r));
  }
  auto b = fleet::create_server_backup(a.config, to, audit::now_rfc3339_ms());
  if (!b) return std::unexpected(b.error());
  if (auto w = write_file_atomic(a.out, b->archive, {0600, false}); !w) return w;
  std::cout << "backed up " << b->files << " files (" << b->databases
            << " SQLite databases, online snapshots; " << b->plain_bytes << " bytes) to " << a.out
            << ": " << b->archive.size() << " bytes, sha256 "
            << to_hex(crypto::sha256(b->archive)) << ", in " << seconds_since(t0) << " s\n";
  return {};
}

Result<void> restore(const BackupCommand& a) {
  const auto t0 = std::chrono::steady_clock::now();
  auto bytes = read_file(a.archive, backup::kMaxArchiveBytes);
  if (!bytes) return std::unexpected(bytes.error());
  auto archive = backup::parse_archive(std::move(*bytes));
  if (!archive) return std::unexpected(archive.error());
  fleet::ServerRestoreOptions o;
  auto trust = backup::load_trust(a.ca, a.crl, "server");
  if (!trust) return std::unexpected(trust.error());
  o.trust = std::move(*trust);
  o.now = static_cast<pki::UnixTime>(std::time(nullptr));
  auto key = crypto::SealPrivateKey::load(a.key);
  if (!key) return std::unexpected(key.error());
  auto r = fleet::restore_server_backup(*archive, *key, a.into, o);
  if (!r) return std::unexpected(r.error());
  std::cout << "restored " << r->files << " files of " << r->server << " into " << a.into
            << " in " << seconds_since(t0) << " s; start it with `ironseal-server run --config "
            << r->config.string() << "`\n";
  return {};
}

}  // namespace

void add_backup_commands(CLI::App& app, BackupCommand& a) {
  a.backup = app.add_subcommand(
      "backup",
      "Back the server up while it serves: configuration, keys, CAs, CRLs, repository and audit "
      "trail, with every SQLite database (store, CA index) as an online snapshot; encrypted to "
      "operators' backup keys (`ironseal backup keygen`) and signed by the server's TLS key");
  a.backup->add_option("--config", a.config, "Configuration file (JSON)")->required();
  a.backup->add_option("--to", a.to, "An operator's public backup key (repeat for several)")
      ->required();
  a.backup->add_option("--out", a.out, "Archive to write (0600)")->required();
  a.restore = app.add_subcommand(
      "restore",
      "Restore a server backup into an empty directory (a fresh machine), after its signer "
      "verified as a server certificate of the PKI");
  a.restore->add_option("ARCHIVE", a.archive, "Server backup archive")->required();
  a.restore->add_option("--key", a.key, "An operator's private backup key")->required();
  a.restore->add_option("--ca", a.ca, "CA directory, or the root certificate (then --crl)")
      ->required();
  a.restore->add_option("--crl", a.crl, "The server CA's CRL");
  a.restore->add_option("--into", a.into, "Empty directory to restore into")->required();
}

Result<void> run_backup_commands(const BackupCommand& a) {
  if (a.backup && a.backup->parsed()) return backup(a);
  return restore(a);
}

}  // namespace ironseal::server_cli
