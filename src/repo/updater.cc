#include "repo/updater.h"

#include <set>
#include <system_error>
#include <vector>

#include "core/file.h"
#include "repo/signature.h"

namespace ironseal::repo {
namespace {

std::string with_slash(std::string url) {
  if (url.empty() || url.back() != '/') url.push_back('/');
  return url;
}

// Target paths go into URLs as they are (python-tuf does not quote them), except bytes that are
// never valid in a URL, which are percent-encoded the way HTTP libraries re-quote them.
std::string url_path(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
        c == '`' || c == '{' || c == '|' || c == '}') {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::set<std::string> keyid_set(const RoleKeys& keys) {
  return {keys.keyids.begin(), keys.keyids.end()};
}

}  // namespace

Updater::Updater(std::filesystem::path metadata_dir, std::string metadata_url, Fetcher& fetcher,
                 UpdaterConfig config, Clock clock)
    : dir_(std::move(metadata_dir)),
      metadata_url_(with_slash(std::move(metadata_url))),
      fetcher_(fetcher),
      config_(config),
      clock_(std::move(clock)) {}

std::string Updater::metadata_url(const std::string& role,
                                  std::optional<std::uint64_t> version) const {
  if (version) return metadata_url_ + std::to_string(*version) + "." + quote_name(role) + ".json";
  return metadata_url_ + quote_name(role) + ".json";
}

std::optional<Bytes> Updater::read_local(const std::string& role) const {
  auto bytes = read_file(dir_ / (quote_name(role) + ".json"));
  if (!bytes) return std::nullopt;
  return std::move(*bytes);
}

TufResult<void> Updater::persist(const std::string& role, ByteView bytes) const {
  if (auto ok = write_file_atomic(dir_ / (quote_name(role) + ".json"), bytes); !ok) {
    return refuse(Reason::kIo, "cannot store ", role, " metadata: ", ok.error().message);
  }
  return {};
}

void Updater::remove_local(const std::string& role) const {
  std::error_code ec;
  std::filesystem::remove(dir_ / (quote_name(role) + ".json"), ec);
}

TufResult<void> Updater::refresh() {
  if (!refreshed_) refreshed_ = refresh_once();
  return *refreshed_;
}

TufResult<void> Updater::refresh_once() {
  if (auto ok = load_root(); !ok) return ok;
  if (auto ok = load_timestamp(); !ok) return ok;
  if (auto ok = load_snapshot(); !ok) return ok;
  auto targets = load_targets("targets", "root");
  if (!targets) return std::unexpected(targets.error());
  return {};
}

TufResult<void> Updater::load_root() {
  // 5.2: the trusted root from the metadata directory, self-signed.
  auto local = read_local("root");
  if (!local) return refuse(Reason::kIo, "no trusted root.json in ", dir_.string());
  auto trusted = TrustedMetadata::from_root(*local, clock_);
  if (!trusted) return std::unexpected(trusted.error());
  trusted_.emplace(std::move(*trusted));
  const RoleKeys initial_timestamp = trusted_->root().role("timestamp");
  const RoleKeys initial_snapshot = trusted_->root().role("snapshot");

  // 5.3.2-5.3.9: N+1, N+2, ... until the repository has no next version.
  const std::uint64_t first = trusted_->root().version + 1;
  for (std::uint64_t next = first; next < first + config_.max_root_rotations; ++next) {
    auto bytes = fetcher_.fetch(metadata_url("root", next), config_.root_max_length);
    if (!bytes) {
      if (bytes.error().reason == Reason::kNotFound) break;
      return std::unexpected(bytes.error());
    }
    if (auto ok = trusted_->update_root(*bytes); !ok) return ok;
    if (auto ok = persist("root", *bytes); !ok) return ok;
  }

  // 5.3.11: rotated timestamp or snapshot keys make the stored copies useless as rollback
  // references (they are how a repository recovers from a fast-forward attack): delete them.
  const Root& root = trusted_->root();
  if (keyid_set(root.role("timestamp")) != keyid_set(initial_timestamp) ||
      keyid_set(root.role("snapshot")) != keyid_set(initial_snapshot)) {
    remove_local("timestamp");
    remove_local("snapshot");
  }
  // 5.3.10 (root expiry) is checked by TrustedMetadata before it accepts a timestamp.
  return {};
}

TufResult<void> Updater::load_timestamp() {
  // The stored timestamp, if still valid under the current root, is the rollback reference.
  // It may be expired: that does not stop it from being a reference.
  if (auto local = read_local("timestamp")) (void)trusted_->update_timestamp(*local);
  auto bytes = fetcher_.fetch(metadata_url("timestamp", std::nullopt),
                              config_.timestamp_max_length);
  if (!bytes) return std::unexpected(bytes.error());
  auto update = trusted_->update_timestamp(*bytes);
  if (!update) return std::unexpected(update.error());
  if (*update == TrustedMetadata::Update::kUnchanged) return {};  // keep the stored bytes
  return persist("timestamp", *bytes);
}

TufResult<void> Updater::load_snapshot() {
  // A stored snapshot that is still the one the timestamp names saves the download.
  if (auto local = read_local("snapshot")) {
    if (trusted_->update_snapshot(*local, /*from_local_cache=*/true)) return {};
  }
  const MetaFile& meta = trusted_->timestamp()->snapshot_meta;
  const std::optional<std::uint64_t> version =
      trusted_->root().consistent_snapshot ? std::optional(meta.version) : std::nullopt;
  auto bytes = fetcher_.fetch(metadata_url("snapshot", version),
                              meta.length.value_or(config_.snapshot_max_length));
  if (!bytes) return std::unexpected(bytes.error());
  if (auto ok = trusted_->update_snapshot(*bytes, /*from_local_cache=*/false); !ok) return ok;
  return persist("snapshot", *bytes);
}

TufResult<const Targets*> Updater::load_targets(const std::string& role,
                                                const std::string& delegator) {
  if (trusted_->targets(role) != nullptr) {
    // Already trusted through some delegator; it must satisfy this delegator as well.
    if (auto ok = trusted_->verify_targets_via(role, delegator); !ok) {
      return std::unexpected(ok.error());
    }
    return trusted_->targets(role);
  }
  if (auto local = read_local(role)) {
    if (trusted_->update_targets(role, delegator, *local)) return trusted_->targets(role);
  }
  auto meta = trusted_->snapshot()->meta.find(role + ".json");
  if (meta == trusted_->snapshot()->meta.end()) {
    return refuse(Reason::kMissingMeta, "snapshot does not list ", role);
  }
  const std::optional<std::uint64_t> version =
      trusted_->root().consistent_snapshot ? std::optional(meta->second.version) : std::nullopt;
  auto bytes = fetcher_.fetch(metadata_url(role, version),
                              meta->second.length.value_or(config_.targets_max_length));
  if (!bytes) return std::unexpected(bytes.error());
  if (auto ok = trusted_->update_targets(role, delegator, *bytes); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = persist(role, *bytes); !ok) return std::unexpected(ok.error());
  return trusted_->targets(role);
}

TufResult<TargetFile> Updater::find_target(const std::string& target_path) {
  if (auto ok = refresh(); !ok) return std::unexpected(ok.error());
  // Pre-order depth-first search: a role's own targets first, then its delegations in listed
  // order; a terminating delegation that covers the path ends the search below it.
  struct Visit {
    std::string role;
    std::string delegator;
  };
  std::vector<Visit> stack{{"targets", "root"}};
  std::set<std::string> visited;
  std::uint64_t budget = config_.max_delegations;
  while (!stack.empty() && budget > 0) {
    Visit visit = std::move(stack.back());
    stack.pop_back();
    if (visited.contains(visit.role)) continue;
    auto targets = load_targets(visit.role, visit.delegator);
    if (!targets) return std::unexpected(targets.error());
    if (auto it = (*targets)->targets.find(target_path); it != (*targets)->targets.end()) {
      return it->second;
    }
    visited.insert(visit.role);
    --budget;
    if (!(*targets)->delegations) continue;
    std::vector<Visit> children;
    for (const auto& d : (*targets)->delegations->roles) {
      if (!d.covers(target_path)) continue;
      children.push_back({d.name, visit.role});
      if (d.terminating) {
        stack.clear();
        break;
      }
    }
    stack.insert(stack.end(), children.rbegin(), children.rend());
  }
  return refuse(Reason::kTargetNotFound, "no trusted metadata lists target ", target_path);
}

std::filesystem::path Updater::target_file_path(const std::filesystem::path& target_dir,
                                                const TargetFile& target) {
  return target_dir / quote_name(target.path);
}

bool Updater::is_cached(const std::filesystem::path& target_dir, const TargetFile& target) {
  auto bytes = read_file(target_file_path(target_dir, target));
  return bytes && verify_length_and_hashes(*bytes, target.length, target.hashes, target.path);
}

TufResult<std::string> Updater::target_url(const TargetFile& target,
                                           std::string target_base_url) {
  if (auto ok = refresh(); !ok) return std::unexpected(ok.error());
  std::string remote = target.path;
  if (trusted_->root().consistent_snapshot && config_.prefix_targets_with_hash) {
    const auto slash = remote.rfind('/');
    const std::size_t name_at = slash == std::string::npos ? 0 : slash + 1;
    remote.insert(name_at, target.naming_hash() + ".");
  }
  return with_slash(std::move(target_base_url)) + url_path(remote);
}

TufResult<std::filesystem::path> Updater::download_target(
    const TargetFile& target, std::string target_base_url,
    const std::filesystem::path& target_dir) {
  auto url = target_url(target, std::move(target_base_url));
  if (!url) return std::unexpected(url.error());
  auto bytes = fetcher_.fetch(*url, target.length);
  if (!bytes) return std::unexpected(bytes.error());
  if (auto ok = verify_length_and_hashes(*bytes, target.length, target.hashes, target.path); !ok) {
    return std::unexpected(ok.error());
  }
  const auto path = target_file_path(target_dir, target);
  if (auto ok = write_file_atomic(path, *bytes); !ok) {
    return refuse(Reason::kIo, "cannot store target ", target.path, ": ", ok.error().message);
  }
  return path;
}

TufResult<void> init_metadata_dir(const std::filesystem::path& metadata_dir,
                                  ByteView root_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(metadata_dir, ec);
  if (ec) return refuse(Reason::kIo, "cannot create ", metadata_dir.string(), ": ", ec.message());
  if (auto ok = write_file_atomic(metadata_dir / "root.json", root_bytes); !ok) {
    return refuse(Reason::kIo, "cannot store root.json: ", ok.error().message);
  }
  return {};
}

}  // namespace ironseal::repo
