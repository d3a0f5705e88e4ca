// The device side of an update, in two steps an agent (or the CLI) runs:
//   plan_update   refreshes the director's per-device metadata and the image repository's
//                 metadata (TUF client workflow, each from its own trusted root), takes the target
//                 the director assigns to this device, and accepts it only if the image repository
//                 lists the same target with the same length, hashes and hardware id, and the same
//                 chunk index binding (Uptane: neither repository alone decides what installs);
//                 then downloads the chunk index through TUF and checks it against that binding;
//   apply_update  streams the image into the inactive slot (delivery::install_chunked), resuming
//                 and using deltas, and leaves it pending a trial boot.
//
// Repository URL layout (REPO): REPO/image/metadata/, REPO/image/targets/,
// REPO/director/devices/SERIAL/metadata/. Trusted roots and accepted metadata live in the device
// directory: tuf/image/, tuf/director/; downloaded chunk indexes in tuf/cache/.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/result.h"
#include "delivery/http_source.h"
#include "delivery/installer.h"
#include "device/host_device.h"
#include "image/chunk_index.h"
#include "repo/fetcher.h"

namespace ironseal::agent {

struct UpdatePlan {
  std::string target;     // the image's TUF target path
  std::string image_url;  // where its bytes are (consistent-snapshot name)
  std::uint64_t length = 0;
  std::string sha256;   // hex
  std::string version;  // from custom.ironseal, informational
  std::uint32_t security_counter = 0;
  // Proven against the SHA-256 both repositories' signed metadata bind (always set by plan_update).
  std::optional<image::AuthenticatedChunkIndex> index;
  bool up_to_date = false;       // the confirmed slot already holds exactly this image
  bool already_pending = false;  // the pending slot holds exactly this image, awaiting its trial
  std::string installed_version;
};

// `device_dir` holds device.json (serial, hardware id) and tuf/{image,director}/root.json.
Result<UpdatePlan> plan_update(boot::HostDevice& device, const std::filesystem::path& device_dir,
                               const std::string& repo_url, repo::Fetcher& fetcher,
                               const std::optional<std::string>& target = std::nullopt);

// `http`: timeouts and TLS (trust anchors, mutual-TLS identity) for the image download.
Result<delivery::ChunkedInstallReport> apply_update(boot::HostDevice& device,
                                                    const std::filesystem::path& device_dir,
                                                    const UpdatePlan& plan,
                                                    const delivery::ChunkedInstallOptions& options,
                                                    const delivery::HttpLimits& http = {});

// Stores the trusted roots for updates in a device directory (factory step).
Result<void> install_update_roots(const std::filesystem::path& device_dir,
                                  const std::filesystem::path& image_root,
                                  const std::filesystem::path& director_root);

}  // namespace ironseal::agent
