// The fleet server's configuration file (JSON; docs/fleet-server.md lists every key). Relative
// paths are relative to the file's directory. Unknown keys are refused, so a typo never silently
// leaves a default (e.g. a CRL) out.
#pragma once

#include <filesystem>

#include "core/result.h"
#include "fleet/http_server.h"
#include "fleet/service.h"

namespace ironseal::fleet {

struct FleetConfig {
  ServerConfig server;
  ServiceConfig service;
  std::filesystem::path database;
  bool has_repository = false;
  // The device PKI's CA directory (ironseal ca init) that issues EST enrolments; empty: none.
  std::filesystem::path est_ca;
};

Result<FleetConfig> load_config(const std::filesystem::path& path);

}  // namespace ironseal::fleet
