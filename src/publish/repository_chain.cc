// Signing the chains of a TUF repository (repository.h): per chain (the image repository's
// metadata/, or one device's under devices/ of a director), targets, snapshot and timestamp are
// re-signed when stale or changed, and every root version is copied in.
#include <algorithm>

#include "core/file.h"
#include "publish/repository.h"
#include "publish/repository_internal.h"

namespace ironseal::repo {
namespace {

using namespace detail;

// A role of a chain as it stands after publish_chain: what the role above it points at.
struct PublishedRole {
  std::uint64_t version = 0;
  Bytes bytes;
  bool signed_now = false;  // a new version was signed in this run
};

// Signs the roles of one chain (a metadata directory) with the keys repo.json names for them.
struct ChainSigner {
  const fs::path& dir;  // the repository
  const Json& config;   // repo.json
  const Json& root;     // the current root's signed part
  std::int64_t now;
  const fs::path& mdir;  // the chain

  Result<Bytes> sign(const std::string& role, const Json& part) const {
    auto signers = open_role_signers(dir, config, role);
    if (!signers) return std::unexpected(signers.error());
    return sign_envelope(part, *signers);
  }

  // True when the current copy is missing, was signed by other keys than the root names now, or
  // expires within `window` seconds.
  bool stale(const std::optional<Envelope>& env, const std::string& role,
             std::int64_t window) const {
    return !env || env->signer_keyids() != role_keyids(root, role) || env->expires() < now + window;
  }

  // Keeps the published `role` unless it is stale (within `window`) or its `field` is not
  // `content`; then signs the next version, valid for `lifetime` seconds, as N.role.json and
  // role.json.
  Result<PublishedRole> refresh(const std::string& role, const char* field, const Json& content,
                                std::int64_t window, std::int64_t lifetime) const {
    auto current = load_envelope(mdir / (role + ".json"), role);
    if (!current) return std::unexpected(current.error());
    PublishedRole out;
    if (!stale(*current, role, window) && (*current)->signed_part()[field] == content) {
      out.version = (*current)->version();
      out.bytes = (*current)->raw;
      return out;
    }
    out.version = *current ? (*current)->version() + 1 : 1;
    Json part = common_part(role.c_str(), out.version, now + lifetime);
    part[field] = content;
    auto bytes = sign(role, part);
    if (!bytes) return std::unexpected(bytes.error());
    out.bytes = std::move(*bytes);
    const std::string name = std::to_string(out.version) + "." + role + ".json";
    if (auto ok = write_bytes(mdir / name, out.bytes); !ok) return std::unexpected(ok.error());
    if (auto ok = write_bytes(mdir / (role + ".json"), out.bytes); !ok) {
      return std::unexpected(ok.error());
    }
    out.signed_now = true;
    return out;
  }
};

}  // namespace

Result<Json> Repository::chain_role(const fs::path& metadata_dir, const std::string& role) {
  auto env = load_envelope(metadata_dir / (role + ".json"), role);
  if (!env) return std::unexpected(env.error());
  if (!*env) return Json();
  return (*env)->signed_part();
}

// Copies every root version the chain's directory lacks, and the latest as root.json, so that a
// device's client can walk the whole rotation history from whatever root it started with.
Result<void> Repository::sync_roots(const fs::path& metadata_dir) const {
  if (metadata_dir == this->metadata_dir()) return {};
  auto root = this->root();
  if (!root) return std::unexpected(root.error());
  const std::uint64_t latest = (*root)["version"].get<std::uint64_t>();
  for (std::uint64_t v = 1; v <= latest; ++v) {
    const std::string name = std::to_string(v) + ".root.json";
    std::error_code ec;
    if (fs::exists(metadata_dir / name, ec)) continue;
    auto bytes = read_file(this->metadata_dir() / name);
    if (!bytes) return std::unexpected(bytes.error());
    if (auto ok = write_bytes(metadata_dir / name, *bytes); !ok) return ok;
  }
  auto bytes = read_file(this->metadata_dir() / "root.json");
  if (!bytes) return std::unexpected(bytes.error());
  return write_bytes(metadata_dir / "root.json", *bytes);
}

Result<ChainReport> Repository::publish_chain(const fs::path& mdir, const Json& targets) {
  if (!targets.is_object()) return fail(ErrorCode::kInvalidArgument, "targets must be an object");
  if (auto ok = make_dir(mdir); !ok) return std::unexpected(ok.error());
  if (auto ok = sync_roots(mdir); !ok) return std::unexpected(ok.error());
  auto root = this->root();
  if (!root) return std::unexpected(root.error());
  const ChainSigner signer{dir_, config_, *root, clock_(), mdir};
  ChainReport report;
  report.metadata_dir = mdir;

  auto published_targets =
      signer.refresh("targets", "targets", targets, expires_days("snapshot") * kDay,
                     expires_days("targets") * kDay);
  if (!published_targets) return std::unexpected(published_targets.error());
  report.targets_signed = published_targets->signed_now;
  report.targets_version = published_targets->version;

  const Json targets_meta = meta_entry(published_targets->version, published_targets->bytes);
  auto published_snapshot =
      signer.refresh("snapshot", "meta", Json{{"targets.json", targets_meta}},
                     expires_days("timestamp") * kDay, expires_days("snapshot") * kDay);
  if (!published_snapshot) return std::unexpected(published_snapshot.error());
  report.snapshot_signed = published_snapshot->signed_now;
  report.snapshot_version = published_snapshot->version;

  // timestamp: always, last
  auto cur_timestamp = load_envelope(mdir / "timestamp.json", "timestamp");
  if (!cur_timestamp) return std::unexpected(cur_timestamp.error());
  const std::uint64_t ts_version = *cur_timestamp ? (*cur_timestamp)->version() + 1 : 1;
  Json part = common_part("timestamp", ts_version, signer.now + expires_days("timestamp") * kDay);
  part["meta"] = {
      {"snapshot.json", meta_entry(published_snapshot->version, published_snapshot->bytes)}};
  auto ts_bytes = signer.sign("timestamp", part);
  if (!ts_bytes) return std::unexpected(ts_bytes.error());
  if (auto ok = write_bytes(mdir / "timestamp.json", *ts_bytes); !ok) {
    return std::unexpected(ok.error());
  }
  report.timestamp_version = ts_version;
  return report;
}

std::vector<fs::path> Repository::chain_dirs() const {
  std::vector<fs::path> dirs;
  if (kind_ == RepositoryKind::kImage) {
    dirs.push_back(metadata_dir());
    return dirs;
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "devices", ec)) {
    if (fs::exists(entry.path() / "metadata" / "timestamp.json", ec)) {
      dirs.push_back(entry.path() / "metadata");
    }
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

}  // namespace ironseal::repo
