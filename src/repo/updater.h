// Updater: the TUF client workflow (specification 1.0.x, section 5) against one repository.
// It fetches metadata in the spec's order, has TrustedMetadata verify each piece, and persists
// what was accepted in the metadata directory under unversioned names (root.json,
// timestamp.json, snapshot.json, targets.json, and QUOTED_ROLE.json for delegated roles, the role
// name percent-encoded as python-tuf does) with crash-safe writes, only after verification.
// Then it finds targets through the delegation graph and downloads them verified.
//
// One Updater is one client session (one refresh); not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "repo/error.h"
#include "repo/fetcher.h"
#include "repo/metadata.h"
#include "repo/trusted_metadata.h"

namespace ironseal::repo {

struct UpdaterConfig {
  std::uint64_t max_root_rotations = 256;  // root versions fetched in one refresh, at most
  std::uint64_t max_delegations = 32;      // roles visited in one target search, at most
  // Size limits for metadata whose length no trusted metadata states (python-tuf's defaults).
  std::uint64_t root_max_length = 512000;
  std::uint64_t timestamp_max_length = 16384;
  std::uint64_t snapshot_max_length = 2000000;
  std::uint64_t targets_max_length = 5000000;
  bool prefix_targets_with_hash = true;  // HASH.name target URLs under consistent_snapshot
};

class Updater {
 public:
  // `metadata_url` and `target_base_url` get a trailing '/' if missing. The metadata directory
  // must already hold a root.json (see init_metadata_dir()).
  Updater(std::filesystem::path metadata_dir, std::string metadata_url, Fetcher& fetcher,
          UpdaterConfig config = {}, Clock clock = system_clock());

  // 5.3-5.6: root rotation, timestamp, snapshot, top-level targets. Runs at most once; later
  // calls return the first result.
  TufResult<void> refresh();

  // 5.7: the target's trusted description, searching delegations in pre-order depth-first
  // order. Refreshes first if needed. kTargetNotFound when no reachable role lists it.
  TufResult<TargetFile> find_target(const std::string& target_path);

  // The local path a target is stored at inside `target_dir` (its percent-encoded path).
  static std::filesystem::path target_file_path(const std::filesystem::path& target_dir,
                                                const TargetFile& target);
  // The URL the target's bytes are at under `target_base_url` (HASH.name under consistent
  // snapshots). Refreshes first if needed, since the naming depends on the trusted root.
  TufResult<std::string> target_url(const TargetFile& target, std::string target_base_url);
  // True if `target_dir` already holds this exact target (length and all hashes match).
  static bool is_cached(const std::filesystem::path& target_dir, const TargetFile& target);
  // Downloads the target (at most its trusted length), verifies length and hashes, and stores
  // it crash-safely at target_file_path(). Nothing is written unless it verifies.
  TufResult<std::filesystem::path> download_target(const TargetFile& target,
                                                   std::string target_base_url,
                                                   const std::filesystem::path& target_dir);

  const TrustedMetadata* trusted() const { return trusted_ ? &*trusted_ : nullptr; }

 private:
  TufResult<void> refresh_once();
  TufResult<void> load_root();
  TufResult<void> load_timestamp();
  TufResult<void> load_snapshot();
  TufResult<const Targets*> load_targets(const std::string& role, const std::string& delegator);
  std::optional<Bytes> read_local(const std::string& role) const;
  TufResult<void> persist(const std::string& role, ByteView bytes) const;
  void remove_local(const std::string& role) const;
  std::string metadata_url(const std::string& role, std::optional<std::uint64_t> version) const;

  std::filesystem::path dir_;
  std::string metadata_url_;
  Fetcher& fetcher_;
  UpdaterConfig config_;
  Clock clock_;
  std::optional<TrustedMetadata> trusted_;
  std::optional<TufResult<void>> refreshed_;
};

// The CLI's "init": stores `root_bytes` as the trusted root.json of a metadata directory
// (creating the directory). No verification: the first refresh verifies it.
TufResult<void> init_metadata_dir(const std::filesystem::path& metadata_dir, ByteView root_bytes);

}  // namespace ironseal::repo
