// Repository: the publishing side of TUF, a directory that a TUF client (updater.h) trusts. It
// owns the role keys (through crypto::Signer, so a key file today and an HSM later), the root
// history, and one or more "chains" of targets -> snapshot -> timestamp metadata signed under
// that root. The image repository has one chain (R/metadata); the director (director.h) has one
// per device (D/devices/SERIAL/metadata), all under the director's single root.
//
// Layout of a repository directory R (docs/repository.md):
//   R/repo.json                  configuration: kind, key type, per role key files/threshold/expiry
//   R/keys/ROLE-KEYID16.pem      private keys (PKCS#8 PEM, 0600); R/keys/retired/ after rotation
//   R/metadata/N.root.json       every root version; root.json = the latest
//   R/metadata/timestamp.json, V.snapshot.json, V.targets.json (consistent snapshots), plus
//                                unversioned snapshot.json / targets.json (the latest, for humans)
//   R/targets/SHA256.NAME        target files under consistent-snapshot names
//   R/staged-targets.json        image repository only: target list waiting for `publish`
//
// Every write is write_file_atomic, in the order a client reads backwards: target files, then
// targets, snapshot, timestamp, so a served timestamp never names a file that is not there yet.
// Not thread-safe, and not safe against two processes publishing the same directory at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "crypto/key.h"
#include "repo/trusted_metadata.h"

namespace ironseal::repo {

enum class RepositoryKind { kImage, kDirector };

// What `init` sets up. Roles not named get the defaults: one key, threshold 1, and expiries of
// root 365 days, targets 90, snapshot 7, timestamp 1. A role gets max(keys, threshold) keys.
struct RepositoryOptions {
  RepositoryKind kind = RepositoryKind::kImage;
  crypto::KeyType key_type = crypto::KeyType::kEd25519;
  std::map<std::string, std::uint64_t> keys;         // role -> number of keys
  std::map<std::string, std::uint64_t> thresholds;   // role -> threshold
  std::map<std::string, std::int64_t> expires_days;  // role -> lifetime of each signature
};

// An image target as `add-target` describes it.
struct ImageTargetOptions {
  std::string name;         // target path; default: the image's file name
  std::string hardware_id;  // required
  nlohmann::json custom;    // null or an object merged into the target's custom
  std::uint32_t chunk_size = 64 * 1024;
  // The CycloneDX SBOM of the firmware in the image (ironseal evidence sbom), published beside it
  // as target NAME.cdx.json; its SHA-256 and length go into the image's signed custom metadata
  // (custom.ironseal.sbom), so whoever holds the image's metadata can fetch and verify the exact
  // SBOM of what a device runs. Refused unless it is a CycloneDX 1.6 document.
  std::filesystem::path sbom;
};

// What publish / rotate re-signed in one chain (versions after the operation).
struct ChainReport {
  std::filesystem::path metadata_dir;
  bool targets_signed = false;
  bool snapshot_signed = false;
  std::uint64_t targets_version = 0;
  std::uint64_t snapshot_version = 0;
  std::uint64_t timestamp_version = 0;
};

class Repository {
 public:
  static constexpr const char* kRoles[] = {"root", "targets", "snapshot", "timestamp"};

  // Creates the directory (refused when it exists and is not empty), the keys, 1.root.json and,
  // for an image repository, version 1 of an empty targets, its snapshot and timestamp.
  static Result<Repository> init(const std::filesystem::path& dir, const RepositoryOptions& options,
                                 Clock clock = system_clock());
  static Result<Repository> open(const std::filesystem::path& dir, Clock clock = system_clock());

  RepositoryKind kind() const { return kind_; }
  const std::filesystem::path& dir() const { return dir_; }
  const Clock& clock() const { return clock_; }
  std::filesystem::path metadata_dir() const { return dir_ / "metadata"; }
  std::filesystem::path targets_dir() const { return dir_ / "targets"; }

  // Image repository: checks that `image` is a structurally valid boot image (its signature is
  // not checked: that is the device's job), copies it and its chunk index into targets/, and
  // stages both entries. Returns the target name. Nothing is visible to clients until publish().
  Result<std::string> add_image_target(const std::filesystem::path& image,
                                       const ImageTargetOptions& options);
  // Image repository: makes the staged target list current (see publish_chain()).
  Result<ChainReport> publish();

  // New keys for `role`. Root: N+1.root.json signed by the old root keys and the new ones.
  // Other roles: N+1.root.json (signed by the root keys) listing the new keys, then that role
  // and the roles below it re-signed in every chain. Old key files move to keys/retired/.
  // `hsm_keys` (PKCS#11 URIs, keys already in a token) replace the generated keys: that is how a
  // role moves into an HSM (docs/keys.md).
  Result<std::vector<ChainReport>> rotate(const std::string& role, std::uint64_t key_count,
                                          std::uint64_t threshold,
                                          const std::vector<std::string>& hsm_keys = {});

  // Re-signs what changed in the chain at `metadata_dir` so that it lists exactly `targets`:
  // targets when its content or signing keys changed or it would expire within the snapshot's
  // lifetime; snapshot when the targets entry changed, its keys changed or it would expire
  // within the timestamp's lifetime; timestamp always (so its expiry renews). Also copies every
  // root version into `metadata_dir` when it is not the repository's own.
  Result<ChainReport> publish_chain(const std::filesystem::path& metadata_dir,
                                    const nlohmann::json& targets);

  // The signed part of the latest root, and of a chain's current targets (null when none).
  Result<nlohmann::json> root() const;
  static Result<nlohmann::json> chain_role(const std::filesystem::path& metadata_dir,
                                           const std::string& role);

  // Roles, versions, expiries, keyids, thresholds, targets: what `repo inspect` prints.
  Result<nlohmann::json> describe() const;
  // The targets metadata dirs this repository signs: metadata/, or devices/*/metadata.
  std::vector<std::filesystem::path> chain_dirs() const;
  // The target list waiting for publish (the published one when nothing is staged).
  Result<nlohmann::json> staged_targets() const;

 private:
  Repository(std::filesystem::path dir, RepositoryKind kind, nlohmann::json config, Clock clock)
      : dir_(std::move(dir)), kind_(kind), config_(std::move(config)), clock_(std::move(clock)) {}
  Result<void> save_config() const;
  Result<void> write_root(const nlohmann::json& signed_root,
                          const std::vector<std::string>& extra_key_refs) const;
  Result<nlohmann::json> build_root(std::uint64_t version) const;
  Result<void> sync_roots(const std::filesystem::path& metadata_dir) const;
  std::int64_t expires_days(const std::string& role) const;

  std::filesystem::path dir_;
  RepositoryKind kind_;
  nlohmann::json config_;  // repo.json
  Clock clock_;
};

// The TUF key JSON of a public key and its keyid (SHA-256 of the key's canonical JSON), as the
// client and python-tuf compute them: ed25519 with a hex key, ecdsa-sha2-nistp256 with PEM.
nlohmann::json tuf_key(const crypto::PublicKey& key);
std::string tuf_keyid(const crypto::PublicKey& key);

}  // namespace ironseal::repo
