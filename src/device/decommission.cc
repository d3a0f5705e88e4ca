#include "device/decommission.h"

#include <nlohmann/json.hpp>

#include "boot/otp_map.h"
#include "core/bytes.h"
#include "core/file.h"
#include "device/device_audit.h"
#include "device/host_device.h"
#include "device/identity.h"

namespace ironseal::pki {

Result<std::string> sign_decommission_record(const KeyPair& key, const Certificate& cert,
                                             UnixTime now) {
  if (key.spki_der() != cert.spki_der()) {
    return fail(ErrorCode::kNotTrusted, "the device certificate is not for the device key");
  }
  auto name = cert.device_name();
  if (!name) return fail(ErrorCode::kNotTrusted, "the device certificate names no device");
  const nlohmann::json payload = {{"type", "decommission"},
                                  {"serial", name->serial},
                                  {"hardware_id", name->hardware_id},
                                  {"certificate_serial", cert.serial_hex()},
                                  {"certificate_sha256", cert.fingerprint_hex()},
                                  {"decommissioned_at", now}};
  const std::string text = payload.dump();
  auto sig = key.sign(as_bytes(text));
  if (!sig) return std::unexpected(sig.error());
  const nlohmann::json record = {{"format", "ironseal-decommission-1"},
                                 {"payload", text},
                                 {"signature_hex", to_hex(*sig)},
                                 {"certificate_pem", cert.to_pem()}};
  return record.dump(2) + "\n";
}

Result<DecommissionClaim> verify_decommission_record(std::string_view record_json) {
  std::string payload_text, signature_hex, cert_pem;
  try {
    const auto j = nlohmann::json::parse(record_json);
    if (j.at("format") != "ironseal-decommission-1") {
      return fail(ErrorCode::kMalformed, "not an ironseal decommission record");
    }
    payload_text = j.at("payload").get<std::string>();
    signature_hex = j.at("signature_hex").get<std::string>();
    cert_pem = j.at("certificate_pem").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kMalformed, "decommission record: ", e.what());
  }
  auto cert = Certificate::from_pem(cert_pem);
  if (!cert) return fail(ErrorCode::kMalformed, "decommission record: ", cert.error().message);
  auto sig = from_hex(signature_hex);
  if (!sig) return fail(ErrorCode::kMalformed, "decommission record: bad signature encoding");
  if (auto v = verify_with_spki(cert->spki_der(), as_bytes(payload_text), *sig); !v) {
    return fail_because(ErrorCode::kNotTrusted, "decommission_signature_invalid",
                        "the record is not signed by the key of the "
                        "certificate it carries");
  }
  DecommissionClaim claim;
  try {
    const auto p = nlohmann::json::parse(payload_text);
    if (p.at("type") != "decommission") {
      return fail(ErrorCode::kMalformed, "decommission record: wrong payload type");
    }
    claim.device.serial = p.at("serial").get<std::string>();
    claim.device.hardware_id = p.at("hardware_id").get<std::string>();
    claim.certificate_serial_hex = p.at("certificate_serial").get<std::string>();
    claim.certificate_fingerprint_hex = p.at("certificate_sha256").get<std::string>();
    claim.decommissioned_at = p.at("decommissioned_at").get<UnixTime>();
  } catch (const nlohmann::json::exception& e) {
    return fail(ErrorCode::kMalformed, "decommission payload: ", e.what());
  }
  const auto cert_name = cert->device_name();
  if (!cert_name || *cert_name != claim.device ||
      claim.certificate_serial_hex != cert->serial_hex() ||
      claim.certificate_fingerprint_hex != cert->fingerprint_hex()) {
    return fail_because(ErrorCode::kNotTrusted, "decommission_mismatch",
                        "the signed payload does not name the certificate it "
                        "carries");
  }
  return claim;
}

Result<IndexEntry> ingest_decommission(CertificateAuthority& ca, std::string_view record_json,
                                       UnixTime now) {
  auto claim = verify_decommission_record(record_json);
  if (!claim) return std::unexpected(claim.error());
  auto entry = ca.find_fingerprint(claim->certificate_fingerprint_hex);
  if (!entry) return std::unexpected(entry.error());
  if (!*entry || (*entry)->profile != Profile::kDevice ||
      (*entry)->device_serial != claim->device.serial) {
    return fail_because(ErrorCode::kNotTrusted, "unknown_certificate",
                        "this CA did not issue the certificate in the record to "
                        "device ",
                        claim->device.serial);
  }
  auto revoked = ca.revoke((*entry)->serial_hex, RevocationReason::kCessationOfOperation, now);
  if (!revoked) return std::unexpected(revoked.error());
  return revoked->certificate;
}

// ---- On the device --------------------------------------------------------------------------

namespace {

namespace fs = std::filesystem;

std::string_view text_of(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Step 1: the signed record at `out`, written before anything is wiped. Returns true when an
// earlier run had written it and wiped the key already (resuming after a cut): then the record
// must be this device's own.
Result<bool> sign_or_resume_record(const fs::path& device_dir, const IdentityPaths& paths,
                                   const fs::path& out, UnixTime now) {
  if (fs::exists(out) && !fs::exists(paths.key) && !fs::exists(paths.tpm_key)) {
    auto text = read_file(out);
    if (!text) return std::unexpected(text.error());
    auto claim = verify_decommission_record(text_of(*text));
    auto name = read_device_name(device_dir);
    if (!claim || !name || claim->device != *name) {
      return fail(ErrorCode::kNotTrusted, out.string(),
                  " exists but is not this device's decommission record, and the device key is "
                  "gone; refusing to continue");
    }
    return true;
  }
  auto key = load_device_key(paths);
  if (!key) return std::unexpected(key.error());
  auto cert = Certificate::load(paths.certificate);
  if (!cert) return std::unexpected(cert.error());
  auto record = sign_decommission_record(*key, *cert, now);
  if (!record) return std::unexpected(record.error());
  if (auto w = write_file_atomic(out, as_bytes(*record)); !w) return std::unexpected(w.error());
  return false;
}

// Wipes a file, or every file of a directory tree (overwritten, then unlinked) and the tree;
// adds what it wiped to `wiped`, relative to the device directory. Nothing there: nothing to do.
Result<void> wipe_tree(const fs::path& device_dir, const fs::path& root,
                       std::vector<std::string>& wiped) {
  std::error_code ec;
  if (fs::is_regular_file(fs::symlink_status(root, ec))) {
    if (auto r = wipe_file(root); !r) return r;
    wiped.push_back(fs::relative(root, device_dir, ec).string());
    return {};
  }
  if (!fs::is_directory(fs::symlink_status(root, ec))) return {};
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_regular_file() && !it->is_symlink()) files.push_back(it->path());
  }
  if (ec) return fail(ErrorCode::kIo, "cannot list ", root.string(), ": ", ec.message());
  for (const auto& f : files) {
    if (auto r = wipe_file(f); !r) return r;
  }
  fs::remove_all(root, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot remove ", root.string(), ": ", ec.message());
  wiped.push_back(fs::relative(root, device_dir, ec).string() + "/ (" +
                  std::to_string(files.size()) + " files)");
  return {};
}

// Step 2: the key, then everything the device keeps besides its simulated hardware: the identity
// directory, trusted update metadata and its cache, the install journal, the flash configuration.
Result<void> wipe_keys_and_configuration(const fs::path& device_dir, boot::HostDevice& hd,
                                         const IdentityPaths& paths,
                                         std::vector<std::string>& wiped) {
  if (fs::exists(paths.key) || fs::exists(paths.tpm_key)) {
    if (auto r = destroy_device_key(paths); !r) return r;
    wiped.push_back("device key");
  }
  const boot::DeviceFiles files = boot::device_files(device_dir);
  for (const fs::path& p : {paths.dir, files.update_metadata, files.install_journal}) {
    if (auto r = wipe_tree(device_dir, p, wiped); !r) return r;
  }
  const auto& g = hd.geometry();
  for (std::uint32_t off = g.config_offset; off < g.config_offset + g.config_size;
       off += g.block_size) {
    if (!hd.flash().erase_block(off)) {
      return fail(ErrorCode::kIo, "cannot erase the configuration block at ", std::to_string(off));
    }
  }
  wiped.push_back("flash configuration region");
  return {};
}

}  // namespace

Result<DecommissionOutcome> decommission_device(const fs::path& device_dir,
                                                const DecommissionOptions& options) {
  auto hd = boot::load_device(device_dir);
  if (!hd) return std::unexpected(hd.error());
  const IdentityPaths paths = identity_paths(device_dir);
  DecommissionOutcome out;
  if (options.record_out) {
    auto resumed = sign_or_resume_record(device_dir, paths, *options.record_out, options.now);
    if (!resumed) return std::unexpected(resumed.error());
    out.record_signed = true;
    out.resumed = *resumed;
  }
  // Recorded while the identity key can still sign a checkpoint; a failure stops here, before
  // anything is wiped (a rerun resumes).
  if (auto a = boot::audit_event(device_dir, "decommission.started", "ok",
                                 {{"record_signed", out.record_signed}, {"resumed", out.resumed}});
      !a) {
    return std::unexpected(a.error());
  }
  if (auto r = wipe_keys_and_configuration(device_dir, **hd, paths, out.wiped); !r) {
    return std::unexpected(r.error());
  }
  // Step 3: the lifecycle fuse; from now on stage-2 refuses to boot anything on this device.
  if (!boot::advance_lifecycle((*hd)->otp(), boot::Lifecycle::kDecommissioned)) {
    return fail(ErrorCode::kIo, "cannot program the lifecycle fuses");
  }
  if (auto r = boot::save_device(device_dir, **hd); !r) return std::unexpected(r.error());
  if (auto a = boot::audit_event(device_dir, "decommission.completed", "ok", {{"wiped", out.wiped}});
      !a) {
    return std::unexpected(a.error());
  }
  return out;
}

Result<void> refuse_decommissioned(const fs::path& device_dir) {
  auto hd = boot::load_device(device_dir);
  if (!hd) return std::unexpected(hd.error());
  boot::Lifecycle lifecycle{};
  if (!boot::read_lifecycle((*hd)->otp(), &lifecycle)) {
    return fail(ErrorCode::kIo, "cannot read the lifecycle fuses of ", device_dir.string());
  }
  if (lifecycle == boot::Lifecycle::kDecommissioned) {
    return fail_because(ErrorCode::kNotTrusted, "decommissioned", device_dir.string(),
                        " is decommissioned and cannot be given an identity");
  }
  return {};
}

}  // namespace ironseal::pki
