// `ironseal backup restore` and `ironseal ca ingest-replacement` (docs/backup.md).
#include <iostream>

#include "agent/device_backup.h"
#include "backup/archive.h"
#include "backup_cli.h"
#include "cli.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "device/device_audit.h"
#include "device/identity.h"
#include "pki/ca.h"

namespace ironseal::cli {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// `bytes`: the archive file as read (its error, if it could not be); moved from.
Result<agent::RestoreOutcome> restore(const BackupArgs& a, Result<Bytes>& bytes) {
  if (!bytes) return std::unexpected(bytes.error());
  auto archive = backup::parse_archive(std::move(*bytes));
  if (!archive) return std::unexpected(archive.error());
  auto trust = trust_inputs(a, pki::identity_paths(a.device).anchors);
  if (!trust) return std::unexpected(trust.error());
  auto key = crypto::SealPrivateKey::load(a.key);
  if (!key) return std::unexpected(key.error());
  agent::RestoreOptions o;
  o.trust = std::move(*trust);
  o.now = backup_now();
  o.replacement = a.replacement;
  if (!a.record_out.empty()) o.record_out = a.record_out;
  boot::FaultInjector faults;
  if (a.power_cut_after >= 0) {
    faults.cut_after(static_cast<std::uint64_t>(a.power_cut_after), false);
    o.faults = &faults;
  }
  return agent::restore_device_backup(a.device, *archive, *key, o);
}

Result<void> do_restore(const BackupArgs& a) {
  if (a.replacement && a.record_out.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--replacement needs --record-out FILE: the CA revokes the old device's "
                "certificate from that record (`ironseal ca ingest-replacement`)");
  }
  auto bytes = read_file(a.archive, backup::kMaxArchiveBytes);
  const std::string sha = bytes ? to_hex(crypto::sha256(*bytes)) : "";
  auto r = restore(a, bytes);
  // Every restore, done or refused, goes to the device's audit trail (a cut one is not: the
  // power is gone; the next run completes it and records that).
  if (r || r.error().reason != "power_cut") {
    auto trail = boot::DeviceAudit::open(a.device);
    if (trail) {
      Json details = {{"archive_sha256", sha}};
      if (r) {
        details["replacement"] = r->replacement;
        details["written"] = r->written.size();
        details["removed"] = r->removed.size();
        details["trust_after"] = r->trust_after;
      } else {
        details["reason"] = r.error().reason;
        details["message"] = r.error().message;
      }
      if (auto w = trail->record("backup.restore", r ? "ok" : "refused", details); !w && r) {
        return fail_in(w.error(), "device audit trail: ");
      }
    }
  }
  if (!r) return std::unexpected(r.error());
  if (a.json) {
    print_json({{"replacement", r->replacement}, {"written", r->written}, {"removed", r->removed},
                {"kept", r->kept}, {"trust_before", r->trust_before},
                {"trust_after", r->trust_after}, {"archive_sha256", sha}});
  } else {
    std::cout << "restored " << r->written.size() << " files onto " << a.device << " ("
              << r->removed.size() << " removed)";
    if (r->replacement) {
      std::cout << " as a replacement; hand " << a.record_out
                << " to `ironseal ca ingest-replacement` to revoke the old certificate";
    }
    std::cout << "\n";
  }
  return {};
}

Result<void> do_ingest(const BackupArgs& a) {
  auto text = read_file(a.record, 1 << 20);
  if (!text) return std::unexpected(text.error());
  auto claim = agent::verify_replacement_record(
      std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!claim) return std::unexpected(claim.error());
  auto ca = pki::CertificateAuthority::open(a.ca_dir);
  if (!ca) return std::unexpected(ca.error());
  auto old = ca->find_serial(claim->old_certificate_serial_hex);
  if (!old) return std::unexpected(old.error());
  if (!*old || (*old)->device_serial != claim->old_device.serial) {
    return fail_because(ErrorCode::kNotTrusted, "replacement_mismatch",
                        "this CA issued no certificate ", claim->old_certificate_serial_hex,
                        " to device ", claim->old_device.serial);
  }
  auto entry = ca->record_replacement(claim->old_certificate_serial_hex,
                                      claim->new_certificate_serial_hex,
                                      claim->archive_sha256_hex, backup_now());
  if (!entry) return std::unexpected(entry.error());
  if (a.json) {
    print_json({{"old", {{"serial", claim->old_device.serial},
                         {"certificate_serial", entry->serial_hex},
                         {"revocation_reason", entry->revocation_reason}}},
                {"new", {{"serial", claim->new_device.serial},
                         {"certificate_serial", claim->new_certificate_serial_hex}}}});
  } else {
    std::cout << "device " << claim->old_device.serial << " replaced by "
              << claim->new_device.serial << ": certificate " << entry->serial_hex << " revoked ("
              << entry->revocation_reason << "), the link recorded; CRL republished\n";
  }
  return {};
}

}  // namespace

void register_backup_restore(CLI::App& backup, CLI::App& app,
                             const std::shared_ptr<BackupArgs>& a) {
  auto* restore = backup.add_subcommand(
      "restore",
      "Restore an archive onto a device, all or nothing (a power cut leaves the old configuration "
      "or the new one). Refused, before anything is written, with the reason: the archive's "
      "signer (bad_signature, untrusted_chain, revoked, ...), other_hardware, older_trust_state "
      "(restore never downgrades trust), unknown_format, decrypt_failed, manifest_mismatch, "
      "replacement_not_confirmed, replacement_not_enrolled");
  restore->add_option("DEVICE", a->device, "Device directory")->required();
  restore->add_option("ARCHIVE", a->archive, "Backup archive")->required();
  restore->add_option("--key", a->key, "An operator's private backup key")->required();
  restore->add_option("--ca", a->ca, "CA directory or root certificate (default: the device's "
                                     "identity/anchors.pem)");
  restore->add_option("--crl", a->crl, "The device CA's CRL (required unless --ca is a CA "
                                       "directory)");
  restore->add_flag("--replacement", a->replacement,
                    "The archive is another device's (a replaced unit): restore its configuration "
                    "and trust, keep this device's own identity");
  restore->add_option("--record-out", a->record_out,
                      "With --replacement: where to write the replacement record the CA ingests");
  restore->add_option("--power-cut-after", a->power_cut_after,
                      "Simulated device only: cut power after N file operations (testing)");
  restore->add_flag("--json", a->json, "Print as JSON");
  set_action(restore, [a] { return do_restore(*a); });

  CLI::App* ca = app.get_subcommand("ca");
  auto* ingest = ca->add_subcommand(
      "ingest-replacement",
      "Revoke a replaced device's certificate as superseded and record old -> new, from the "
      "replacement record the new device signed (`backup restore --replacement --record-out`)");
  ingest->add_option("DIR", a->ca_dir, "CA directory")->required();
  ingest->add_option("RECORD", a->record, "Replacement record (JSON)")->required();
  ingest->add_flag("--json", a->json, "Print as JSON");
  set_action(ingest, [a] { return do_ingest(*a); });
}

}  // namespace ironseal::cli
