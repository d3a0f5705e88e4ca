// Director: the Uptane-style second repository. It is a Repository of kind "director" (its own
// keys and root, same layout and code) whose targets chain exists once per device, under
// D/devices/SERIAL/metadata/, and lists exactly what that device should install. The entries are
// copied byte-for-byte from the image repository's published, verified targets metadata (same
// length, hashes and custom, including the hardware id), so a device that accepts a target only
// when both repositories agree cannot be given anything the image repository did not sign.
//
// Not thread-safe; one process per director directory at a time.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "publish/repository.h"

namespace ironseal::repo {

// The image repository's published targets (the signed "targets" object), after checking them
// the way a client does: root self-signed, timestamp -> snapshot -> targets signed by the keys
// that root names, lengths and hashes consistent, nothing expired.
Result<nlohmann::json> verified_published_targets(const std::filesystem::path& image_repo,
                                                  Clock clock = system_clock());

struct Assignment {
  std::string serial;
  std::vector<std::string> targets;  // the assigned targets and their chunk indexes
  ChainReport chain;
};

class Director {
 public:
  static Result<Director> init(const std::filesystem::path& dir, RepositoryOptions options,
                               Clock clock = system_clock());
  static Result<Director> open(const std::filesystem::path& dir, Clock clock = system_clock());

  // Re-signs D/devices/SERIAL/metadata so that it lists exactly `target_names` (each with its
  // NAME.chunks entry) as the image repository at `image_repo` publishes them.
  Result<Assignment> assign(const std::string& serial, const std::filesystem::path& image_repo,
                            const std::vector<std::string>& target_names);

  std::filesystem::path device_metadata_dir(const std::string& serial) const;
  // The director's roles, and per device (or only `serial`) its versions and assigned targets.
  Result<nlohmann::json> describe(const std::optional<std::string>& serial) const;

  Repository& repository() { return repo_; }

 private:
  explicit Director(Repository repo) : repo_(std::move(repo)) {}
  Repository repo_;
};

}  // namespace ironseal::repo
