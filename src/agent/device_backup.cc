// Making a device backup (device_backup.h); restoring one is device_restore.cc.
#include "agent/device_backup.h"

#include <algorithm>

#include "agent/device_status.h"
#include "agent/device_backup_internal.h"
#include "boot/otp_map.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "device/host_device.h"
#include "device/identity.h"

namespace ironseal::agent {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace backup_detail {

Result<std::uint64_t> metadata_version(ByteView bytes, const std::string& path) {
  Json j = Json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (!j.is_object() || !j.contains("signed") || !j["signed"].is_object() ||
      !j["signed"].contains("version") || !j["signed"]["version"].is_number_unsigned()) {
    return fail(ErrorCode::kMalformed, path, " is not TUF metadata with a version");
  }
  return j["signed"]["version"].get<std::uint64_t>();
}

Result<std::uint64_t> root_version(const fs::path& device_dir, const char* role) {
  const fs::path p = device_dir / "tuf" / role / "root.json";
  std::error_code ec;
  if (!fs::exists(p, ec)) return 0;  // a device without this repository's root trusts none
  auto bytes = read_file(p, 16 << 20);
  if (!bytes) return std::unexpected(bytes.error());
  return metadata_version(*bytes, p.string());
}

Result<Json> trust_state(const fs::path& device_dir, boot::HostDevice& hd) {
  auto status = device_status(hd);
  if (!status) return std::unexpected(status.error());
  Json hashes = Json::array();
  for (std::uint32_t i = 0; i < boot::kOtpKeySlots; ++i) {
    std::uint8_t h[32];
    bool used = false;
    if (!boot::read_key_hash(hd.otp(), i, h, &used)) {
      return fail(ErrorCode::kIo, "cannot read the fused root-key hashes");
    }
    if (used) hashes.push_back(to_hex(ByteView(h, 32)));
  }
  auto image = root_version(device_dir, "image");
  auto director = root_version(device_dir, "director");
  if (!image) return std::unexpected(image.error());
  if (!director) return std::unexpected(director.error());
  return Json{{"image_root_version", *image},
              {"director_root_version", *director},
              {"rollback_counter", (*status)["otp_counter"]},
              {"fused_key_hashes", hashes},
              {"lifecycle", (*status)["lifecycle"]}};
}

Result<std::vector<std::string>> configured_files(const fs::path& device_dir) {
  std::vector<std::string> patterns = {"config/"};
  const fs::path list = device_dir / "backup.json";
  std::error_code ec;
  if (fs::exists(list, ec)) {
    auto bytes = read_file(list, 1 << 20);
    if (!bytes) return std::unexpected(bytes.error());
    Json j = Json::parse(bytes->begin(), bytes->end(), nullptr, false);
    if (!j.is_object() || !j.contains("files") || !j["files"].is_array()) {
      return fail(ErrorCode::kMalformed, list.string(), ": must be {\"files\": [...]}");
    }
    patterns.clear();
    for (const Json& f : j["files"]) {
      if (!f.is_string()) return fail(ErrorCode::kMalformed, list.string(), ": files must be strings");
      patterns.push_back(f.get<std::string>());
    }
  }
  std::vector<std::string> out;
  for (const std::string& p : patterns) {
    const bool tree = !p.empty() && p.back() == '/';
    const std::string rel = tree ? p.substr(0, p.size() - 1) : p;
    if (auto ok = backup::check_entry_path(rel); !ok) {
      return fail_in(ok.error(), list.string(), ": ");
    }
    if (rel.starts_with("identity") || rel.starts_with("tuf") || rel == "device.json" ||
        rel == "otp.bin" || rel == "flash.img") {
      return fail(ErrorCode::kInvalidArgument, list.string(), ": ", p,
                  " is not configuration (identity, trust metadata and the simulated hardware are "
                  "handled by the backup itself)");
    }
    const fs::path abs = device_dir / rel;
    if (!tree) {
      if (fs::is_regular_file(abs, ec)) out.push_back(rel);
      continue;
    }
    if (!fs::is_directory(abs, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(abs, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file()) out.push_back(fs::relative(it->path(), device_dir).string());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> metadata_files(const fs::path& device_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const char* role : {"image", "director"}) {
    const fs::path d = device_dir / "tuf" / role;
    for (auto it = fs::directory_iterator(d, ec); !ec && it != fs::end(it); it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".json") {
        out.push_back("tuf/" + std::string(role) + "/" + it->path().filename().string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace backup_detail

using namespace backup_detail;

Result<Json> device_trust_state(const fs::path& device_dir) {
  auto hd = boot::load_device(device_dir);
  if (!hd) return std::unexpected(hd.error());
  return trust_state(device_dir, **hd);
}

Result<DeviceBackup> create_device_backup(const fs::path& device_dir,
                                          const DeviceBackupOptions& options) {
  auto name = pki::read_device_name(device_dir);
  if (!name) return std::unexpected(name.error());
  const auto paths = pki::identity_paths(device_dir);
  auto key = pki::load_device_key(paths);
  if (!key) return fail_in(key.error(), "the device's identity key (it signs the backup): ");
  auto cert = pki::Certificate::load(paths.certificate);
  if (!cert) return fail_in(cert.error(), "the device certificate (enrol the device first): ");
  auto chain = pki::Certificate::load_all(paths.chain);
  if (!chain) return std::unexpected(chain.error());
  auto hd = boot::load_device(device_dir);
  if (!hd) return std::unexpected(hd.error());
  auto trust = trust_state(device_dir, **hd);
  if (!trust) return std::unexpected(trust.error());
  auto status = device_status(**hd);
  if (!status) return std::unexpected(status.error());
  auto config = configured_files(device_dir);
  if (!config) return std::unexpected(config.error());

  backup::Contents contents;
  DeviceBackup out;
  std::vector<std::string> files = {"identity/device.cert.pem", "identity/chain.pem",
                                    "identity/anchors.pem"};
  for (auto& m : metadata_files(device_dir)) files.push_back(std::move(m));
  for (auto& c : *config) files.push_back(std::move(c));
  std::error_code ec;
  for (const std::string& f : files) {
    if (!fs::exists(device_dir / f, ec)) continue;
    auto bytes = read_file(device_dir / f, 64 << 20);
    if (!bytes) return std::unexpected(bytes.error());
    backup::Entry e{f, std::move(*bytes), std::nullopt};
    if (f.starts_with("tuf/")) {
      auto v = metadata_version(e.content, f);
      if (!v) return std::unexpected(v.error());
      e.version = *v;
    }
    out.paths.push_back(f);
    contents.entries.push_back(std::move(e));
  }
  const Json subject = {{"serial", name->serial}, {"hardware_id", name->hardware_id}};
  contents.manifest = {{"device", subject},
                       {"key_spki_sha256", to_hex(crypto::sha256(key->spki_der()))},
                       {"certificate", {{"serial", cert->serial_hex()},
                                        {"sha256", cert->fingerprint_hex()}}},
                       {"trust", *trust},
                       {"boot", *status}};
  backup::Header header;
  header.kind = "device";
  header.created = options.created;
  header.subject = subject;
  header.trust = *trust;
  auto archive = backup::seal_archive(header, contents, options.recipients, *key, *cert, *chain);
  if (!archive) return std::unexpected(archive.error());
  out.archive = std::move(*archive);
  out.header = std::move(header);
  for (const auto& r : options.recipients) out.header.recipients.push_back({r.key_id, r.type, {}, {}});
  return out;
}

}  // namespace ironseal::agent
