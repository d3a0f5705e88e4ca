// UpdateRepositories: what the fleet service needs from the update repositories (src/repo): the
// image repository's published targets, and the director's per-device assignment, re-signed when
// a rollout reaches a device. An interface so rollout logic is tested without signing keys.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/result.h"

namespace ironseal::fleet {

struct PublishedTarget {
  std::string name;
  std::string version;      // custom.ironseal.version
  std::string hardware_id;  // custom.hardware_id
};

class UpdateRepositories {
 public:
  virtual ~UpdateRepositories() = default;
  // A target the image repository publishes (verified as a client would), or kNotFound.
  virtual Result<PublishedTarget> published_target(const std::string& name) = 0;
  // Re-signs SERIAL's director metadata so that it lists exactly `target` ("" = nothing).
  virtual Result<void> assign(const std::string& serial, const std::string& target) = 0;
  // What SERIAL's director metadata lists now ("" = nothing or no metadata yet).
  virtual Result<std::string> assigned(const std::string& serial) = 0;
};

// BASE/image (the image repository) and BASE/director (the director, with its online keys): the
// layout `ironseal update --repo` reads. Not thread-safe (the service serialises calls).
Result<std::unique_ptr<UpdateRepositories>> open_repositories(const std::filesystem::path& base);

}  // namespace ironseal::fleet
