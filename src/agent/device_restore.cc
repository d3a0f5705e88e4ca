// Restoring a device backup (device_backup.h), and the replacement record a restore onto another
// device signs for the CA.
#include <algorithm>
#include <set>

#include "agent/device_backup.h"
#include "agent/device_backup_internal.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "device/file_set.h"
#include "device/host_device.h"
#include "device/identity.h"

namespace ironseal::agent {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using namespace backup_detail;

namespace {

// A header's trust field as a number, or a refusal (a signed archive with a malformed trust state
// is not trusted: it cannot be compared).
Result<std::uint64_t> trust_number(const Json& trust, const char* key) {
  if (!trust.contains(key) || !trust[key].is_number_unsigned()) {
    return fail_because(ErrorCode::kMalformed, "malformed_archive", "header.trust.", key,
                        " must be a non-negative integer");
  }
  return trust[key].get<std::uint64_t>();
}

// Hardware and trust checks against the device, before anything is decrypted.
Result<void> check_against_device(const backup::Header& h, const pki::DeviceName& device,
                                  const Json& before) {
  if (!h.subject.contains("hardware_id") || h.subject["hardware_id"] != device.hardware_id) {
    return fail_because(ErrorCode::kNotTrusted, "other_hardware", "the backup is of hardware ",
                        h.subject.value("hardware_id", Json("?")).dump(), ", this device is ",
                        device.hardware_id);
  }
  if (!h.trust.contains("fused_key_hashes") || h.trust["fused_key_hashes"] != before["fused_key_hashes"]) {
    return fail_because(ErrorCode::kNotTrusted, "other_hardware",
                        "the backup was made under other fused root keys than this device's: its "
                        "images would not boot here");
  }
  for (const char* key : {"image_root_version", "director_root_version", "rollback_counter"}) {
    auto theirs = trust_number(h.trust, key);
    if (!theirs) return std::unexpected(theirs.error());
    const std::uint64_t ours = before[key].get<std::uint64_t>();
    if (*theirs < ours) {
      return fail_because(ErrorCode::kNotTrusted, "older_trust_state", "the backup's ", key, " is ",
                          std::to_string(*theirs), ", the device's ", std::to_string(ours),
                          ": restoring it would downgrade trust (make a new backup, or restore a "
                          "newer one)");
    }
  }
  return {};
}

Result<std::string> sign_replacement(const fs::path& device_dir, const backup::VerifiedSigner& old,
                                     const pki::DeviceName& old_name, const backup::Archive& a,
                                     pki::UnixTime now) {
  const auto paths = pki::identity_paths(device_dir);
  auto key = pki::load_device_key(paths);
  if (!key) return std::unexpected(key.error());
  auto cert = pki::Certificate::load(paths.certificate);
  if (!cert) return std::unexpected(cert.error());
  auto name = cert->device_name();
  if (!name) return fail(ErrorCode::kNotTrusted, "the device certificate names no device");
  const Json payload = {
      {"type", "replacement"},
      {"old", {{"serial", old_name.serial}, {"hardware_id", old_name.hardware_id},
               {"certificate_serial", old.certificate.serial_hex},
               {"certificate_sha256", old.certificate.fingerprint_hex}}},
      {"new", {{"serial", name->serial}, {"hardware_id", name->hardware_id},
               {"certificate_serial", cert->serial_hex()},
               {"certificate_sha256", cert->fingerprint_hex()}}},
      {"archive_sha256", to_hex(crypto::sha256(a.bytes))},
      {"replaced_at", now}};
  const std::string text = payload.dump();
  auto sig = key->sign(as_bytes(text));
  if (!sig) return std::unexpected(sig.error());
  return Json{{"format", "ironseal-replacement-1"},
              {"payload", text},
              {"signature_hex", to_hex(*sig)},
              {"certificate_pem", cert->to_pem()}}
             .dump(2) +
         "\n";
}

// Whether this device is the one the backup was made on (same serial, same key), and if not,
// whether it may take the backup as a replacement.
Result<bool> is_replacement(const fs::path& device_dir, const pki::DeviceName& device,
                            const backup::Contents& c, const RestoreOptions& options) {
  const auto paths = pki::identity_paths(device_dir);
  auto key = pki::load_device_key(paths);
  const std::string spki = key ? to_hex(crypto::sha256(key->spki_der())) : "";
  const bool same = c.manifest["device"]["serial"] == device.serial &&
                    c.manifest.contains("key_spki_sha256") && c.manifest["key_spki_sha256"] == spki;
  if (same) return false;
  if (!options.replacement) {
    return fail_because(ErrorCode::kInvalidArgument, "replacement_not_confirmed",
                        "the backup is of device ", c.manifest["device"]["serial"].dump(),
                        " (another serial or key than this device's): restoring it here replaces "
                        "that device; say so with --replacement");
  }
  auto cert = pki::Certificate::load(paths.certificate);
  if (!key || !cert || cert->spki_der() != key->spki_der()) {
    return fail_because(ErrorCode::kInvalidArgument, "replacement_not_enrolled",
                        "a replacement needs its own key and certificate first (factory flow or "
                        "EST enrolment); the old device's identity is never copied");
  }
  return true;
}

// The writes of a restore: every entry (but another device's identity files), and the removal of
// trust metadata and configuration files the backup does not hold.
std::vector<boot::FileChange> plan(const fs::path& device_dir, const backup::Contents& c,
                                   bool replacement, RestoreOutcome& out) {
  std::vector<boot::FileChange> changes;
  std::set<std::string> in_archive;
  for (const auto& e : c.entries) {
    in_archive.insert(e.path);
    if (replacement && e.path.starts_with("identity/")) {
      out.kept.push_back(e.path);
      continue;
    }
    const bool secret = !e.path.starts_with("identity/") && !e.path.starts_with("tuf/");
    changes.push_back({e.path, false, e.content, static_cast<mode_t>(secret ? 0600 : 0644)});
    out.written.push_back(e.path);
  }
  std::vector<std::string> present = metadata_files(device_dir);
  if (auto config = configured_files(device_dir)) {
    present.insert(present.end(), config->begin(), config->end());
  }
  for (const auto& p : present) {
    if (in_archive.count(p)) continue;
    changes.push_back({p, true, {}, 0});
    out.removed.push_back(p);
  }
  return changes;
}

}  // namespace

Result<RestoreOutcome> restore_device_backup(const fs::path& device_dir,
                                             const backup::Archive& archive,
                                             const crypto::SealPrivateKey& key,
                                             const RestoreOptions& options) {
  if (auto r = boot::recover_file_set(device_dir); !r) return std::unexpected(r.error());
  const backup::Header& h = archive.header;
  auto signer = backup::verify_signer_of(archive, "device", options.trust, options.now);
  if (!signer) return std::unexpected(signer.error());
  auto device = pki::read_device_name(device_dir);
  if (!device) return std::unexpected(device.error());
  RestoreOutcome out;
  {
    auto hd = boot::load_device(device_dir);
    if (!hd) return std::unexpected(hd.error());
    auto before = trust_state(device_dir, **hd);
    if (!before) return std::unexpected(before.error());
    out.trust_before = *before;
  }
  if (auto ok = check_against_device(h, *device, out.trust_before); !ok) {
    return std::unexpected(ok.error());
  }
  auto contents = backup::open_archive(archive, key);
  if (!contents) return std::unexpected(contents.error());
  const Json& m = contents->manifest;
  if (!m.contains("device") || m["device"] != h.subject || !m.contains("trust") ||
      m["trust"] != h.trust) {
    return fail_because(ErrorCode::kNotTrusted, "manifest_mismatch",
                        "the encrypted manifest names another device or trust state than the "
                        "signed header");
  }
  auto replacement = is_replacement(device_dir, *device, *contents, options);
  if (!replacement) return std::unexpected(replacement.error());
  out.replacement = *replacement;
  const auto changes = plan(device_dir, *contents, out.replacement, out);
  if (auto r = boot::apply_file_set(device_dir, changes, options.faults); !r) {
    return std::unexpected(r.error());
  }
  if (out.replacement && options.record_out) {
    const pki::DeviceName old{h.subject["serial"].get<std::string>(), device->hardware_id};
    auto record = sign_replacement(device_dir, *signer, old, archive, options.now);
    if (!record) return std::unexpected(record.error());
    if (auto w = write_file_atomic(*options.record_out, as_bytes(*record)); !w) {
      return std::unexpected(w.error());
    }
  }
  auto after = device_trust_state(device_dir);
  if (!after) return std::unexpected(after.error());
  out.trust_after = *after;
  return out;
}

Result<ReplacementClaim> verify_replacement_record(std::string_view record_json) {
  const Json j = Json::parse(record_json, nullptr, false);
  auto field = [](const Json& o, const char* k) -> const Json* {
    return o.is_object() && o.contains(k) && o[k].is_string() ? &o[k] : nullptr;
  };
  const Json* format = field(j, "format");
  const Json* payload = field(j, "payload");
  const Json* sig_hex = field(j, "signature_hex");
  const Json* pem = field(j, "certificate_pem");
  if (!format || *format != "ironseal-replacement-1" || !payload || !sig_hex || !pem) {
    return fail(ErrorCode::kMalformed, "not an ironseal replacement record");
  }
  auto cert = pki::Certificate::from_pem(pem->get<std::string>());
  auto sig = from_hex(sig_hex->get<std::string>());
  if (!cert || !sig) return fail(ErrorCode::kMalformed, "replacement record: bad certificate or signature encoding");
  const std::string text = payload->get<std::string>();
  if (!pki::verify_with_spki(cert->spki_der(), as_bytes(text), *sig)) {
    return fail_because(ErrorCode::kNotTrusted, "replacement_signature_invalid",
                        "the record is not signed by the key of the certificate it carries");
  }
  const Json p = Json::parse(text, nullptr, false);
  ReplacementClaim c;
  auto side = [&](const char* which, pki::DeviceName& name, std::string& serial) {
    const Json* o = p.is_object() && p.contains(which) ? &p[which] : nullptr;
    const Json *s = o ? field(*o, "serial") : nullptr, *hw = o ? field(*o, "hardware_id") : nullptr,
               *cs = o ? field(*o, "certificate_serial") : nullptr;
    if (!s || !hw || !cs) return false;
    name = {s->get<std::string>(), hw->get<std::string>()};
    serial = cs->get<std::string>();
    return true;
  };
  const Json* archive = field(p, "archive_sha256");
  if (!field(p, "type") || p["type"] != "replacement" || !archive ||
      !side("old", c.old_device, c.old_certificate_serial_hex) ||
      !side("new", c.new_device, c.new_certificate_serial_hex) || !p.contains("replaced_at") ||
      !p["replaced_at"].is_number_integer()) {
    return fail(ErrorCode::kMalformed, "replacement record: the payload lacks a field");
  }
  c.archive_sha256_hex = archive->get<std::string>();
  c.replaced_at = p["replaced_at"].get<pki::UnixTime>();
  if (cert->device_name() != c.new_device || cert->serial_hex() != c.new_certificate_serial_hex) {
    return fail_because(ErrorCode::kNotTrusted, "replacement_mismatch",
                        "the signed payload does not name the certificate it carries");
  }
  return c;
}

}  // namespace ironseal::agent
