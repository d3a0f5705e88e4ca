// `ironseal backup`: a device's configuration and security configuration, encrypted to operators
// and signed by the device (docs/backup.md).
//   keygen    an operator's backup key pair (X25519 or P-256)
//   create    back a device up
//   verify    check an archive's signer against the device CA (and, with --key, its contents)
//   restore   (cmd_backup_restore.cc) restore onto the device or a replacement
#include <ctime>
#include <iostream>

#include "agent/device_backup.h"
#include "audit/log.h"
#include "backup/archive.h"
#include "backup_cli.h"
#include "cli.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "device/device_audit.h"

namespace ironseal::cli {

namespace fs = std::filesystem;
using Json = nlohmann::json;

pki::UnixTime backup_now() {
  return static_cast<pki::UnixTime>(std::time(nullptr));
}

Result<backup::Trust> trust_inputs(const BackupArgs& a, const fs::path& fallback_anchors,
                                   const std::string& kind) {
  return backup::load_trust(a.ca.empty() ? fallback_anchors : fs::path(a.ca), a.crl, kind);
}

namespace {

Json header_summary(const backup::Header& h) {
  Json recipients = Json::array();
  for (const auto& r : h.recipients) {
    recipients.push_back({{"key_id", r.key_id}, {"type", crypto::seal_key_type_name(r.type)}});
  }
  return {{"format_version", h.format_version}, {"kind", h.kind},   {"created", h.created},
          {"subject", h.subject},               {"trust", h.trust}, {"recipients", recipients}};
}

Result<void> do_keygen(const BackupArgs& a) {
  auto type = crypto::parse_seal_key_type(a.type);
  if (!type) return std::unexpected(type.error());
  auto r = crypto::SealPrivateKey::generate(*type, a.out, a.public_out);
  if (!r) return std::unexpected(r.error());
  if (a.json) {
    print_json({{"key_id", r->key_id}, {"type", a.type}, {"private", a.out},
                {"public", a.public_out}});
  } else {
    std::cout << "backup key " << r->key_id << " (" << a.type << "): private " << a.out
              << " (0600, keep it offline), public " << a.public_out << " (give it to --to)\n";
  }
  return {};
}

Result<void> do_create(const BackupArgs& a) {
  agent::DeviceBackupOptions options;
  for (const auto& to : a.to) {
    auto r = crypto::load_seal_recipient(to);
    if (!r) return fail_in(r.error(), "--to ", to, ": ");
    options.recipients.push_back(std::move(*r));
  }
  options.created = audit::now_rfc3339_ms();
  auto b = agent::create_device_backup(a.device, options);
  if (!b) return std::unexpected(b.error());
  if (auto w = write_file_atomic(a.out, b->archive, {0600, false}); !w) return w;
  const std::string sha = to_hex(crypto::sha256(b->archive));
  auto trail = boot::DeviceAudit::open(a.device);
  if (!trail) return fail_in(trail.error(), "device audit trail: ");
  if (auto r = trail->record("backup.create", "ok",
                             {{"archive_sha256", sha}, {"entries", b->paths.size()},
                              {"recipients", a.to.size()}, {"trust", b->header.trust}});
      !r) {
    return fail_in(r.error(), "device audit trail: ");
  }
  if (a.json) {
    Json j = header_summary(b->header);
    j["archive"] = a.out;
    j["sha256"] = sha;
    j["bytes"] = b->archive.size();
    j["entries"] = b->paths;
    print_json(j);
  } else {
    std::cout << "backed up " << b->paths.size() << " files of " << a.device << " to " << a.out
              << " (" << b->archive.size() << " bytes, encrypted to " << a.to.size()
              << " key(s), signed by the device)\n";
  }
  return {};
}

Result<void> do_verify(const BackupArgs& a) {
  auto bytes = read_file(a.archive, backup::kMaxArchiveBytes);
  if (!bytes) return std::unexpected(bytes.error());
  auto archive = backup::parse_archive(std::move(*bytes));
  if (!archive) return std::unexpected(archive.error());
  auto trust = trust_inputs(a, "", archive->header.kind);
  if (!trust) return std::unexpected(trust.error());
  auto signer = backup::verify_signer_of(*archive, archive->header.kind, *trust, backup_now());
  if (!signer) return std::unexpected(signer.error());
  Json j = header_summary(archive->header);
  j["signer"] = {{"subject", signer->subject}, {"certificate_serial", signer->certificate.serial_hex}};
  if (!a.key.empty()) {
    auto key = crypto::SealPrivateKey::load(a.key);
    if (!key) return std::unexpected(key.error());
    auto contents = backup::open_archive(*archive, *key);
    if (!contents) return std::unexpected(contents.error());
    Json entries = Json::array();
    for (const auto& e : contents->entries) {
      Json x = {{"path", e.path}, {"size", e.content.size()}};
      if (e.version) x["version"] = *e.version;
      entries.push_back(x);
    }
    j["entries"] = entries;
  }
  if (a.json) {
    print_json(j);
  } else {
    std::cout << "ok: " << archive->header.kind << " backup of " << archive->header.subject.dump()
              << ", made " << archive->header.created << ", signed by " << signer->subject
              << (a.key.empty() ? "" : "; contents decrypted and match the manifest") << "\n";
  }
  return {};
}

}  // namespace

void register_backup_commands(CLI::App& app) {
  auto a = std::make_shared<BackupArgs>();
  auto* backup = app.add_subcommand(
      "backup",
      "Back up and restore a device's configuration and security configuration (docs/backup.md).\n\n"
      "An archive holds the device certificate and chain, the trusted TUF roots and metadata and\n"
      "the configuration files DEVICE/backup.json lists (never a private key), with the trust\n"
      "state (root versions, anti-rollback counter, fused key hashes). It is encrypted to one or\n"
      "more operators' backup keys and signed by the device's identity key.");
  backup->require_subcommand(1);

  auto* keygen = backup->add_subcommand("keygen", "Generate an operator's backup key pair");
  keygen->add_option("--out", a->out, "private key (created 0600; never overwritten)")->required();
  keygen->add_option("--public-out", a->public_out, "public key, for `backup create --to`")
      ->required();
  keygen->add_option("--type", a->type, "x25519 or p256")->capture_default_str()
      ->check(CLI::IsMember({"x25519", "p256"}));
  keygen->add_flag("--json", a->json, "Print as JSON");
  set_action(keygen, [a] { return do_keygen(*a); });

  auto* create = backup->add_subcommand("create", "Back a device up, encrypted and signed");
  create->add_option("DEVICE", a->device, "Device directory")->required();
  create->add_option("--to", a->to, "An operator's public backup key (repeat for several)")
      ->required();
  create->add_option("--out", a->out, "Archive to write (0600)")->required();
  create->add_flag("--json", a->json, "Print as JSON");
  set_action(create, [a] { return do_create(*a); });

  auto* verify = backup->add_subcommand(
      "verify", "Check an archive: structure, signature, and the signer's certificate against the "
                "CA and its CRL. With --key also decrypt and check every entry. Exit 1 with the "
                "reason: bad_signature, untrusted_chain, revoked, signer_mismatch, decrypt_failed, "
                "manifest_mismatch; unknown_format and malformed_archive otherwise");
  verify->add_option("ARCHIVE", a->archive, "Backup archive")->required();
  verify->add_option("--ca", a->ca, "CA directory, or the root certificate (then --crl)")
      ->required();
  verify->add_option("--crl", a->crl, "The device CA's CRL (taken from a CA directory otherwise)");
  verify->add_option("--key", a->key, "An operator's private backup key: check the contents too");
  verify->add_flag("--json", a->json, "Print as JSON");
  set_action(verify, [a] { return do_verify(*a); });

  register_backup_restore(*backup, app, a);
}

}  // namespace ironseal::cli
