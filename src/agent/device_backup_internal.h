// Shared by device_backup.cc and device_restore.cc only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/result.h"
#include "device/host_device.h"

namespace ironseal::agent::backup_detail {

// signed.version of a TUF metadata file.
Result<std::uint64_t> metadata_version(ByteView bytes, const std::string& path);
// The device's trust state: TUF root versions, rollback counter, fused key hashes, lifecycle.
Result<nlohmann::json> trust_state(const std::filesystem::path& device_dir, boot::HostDevice& hd);
// The configuration files DEVICE_DIR/backup.json names (default: the tree under config/).
Result<std::vector<std::string>> configured_files(const std::filesystem::path& device_dir);
// tuf/image/*.json and tuf/director/*.json.
std::vector<std::string> metadata_files(const std::filesystem::path& device_dir);

}  // namespace ironseal::agent::backup_detail
