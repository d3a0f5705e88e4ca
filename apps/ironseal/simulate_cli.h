// Shared by `ironseal fleet simulate` (cmd_simulate.cc: the command and the run) and its set-up
// (cmd_simulate_setup.cc: creating and registering the simulated devices).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace ironseal::cli {

struct SimArgs {
  std::uint32_t devices = 0;
  std::string dir;
  std::string server;
  std::string serial_prefix = "SIM-";
  std::string hardware_id;
  std::string group = "default";
  // set-up
  std::vector<std::string> root_keys;
  std::string stage2;
  std::string firmware;
  std::string image_root;
  std::string director_root;
  std::string ca_cert;
  std::string ca_key;
  std::string anchors;
  std::uint32_t slot_size = 64 * 1024;
  std::uint32_t stage2_size = 16 * 1024;
  std::uint32_t attempts = 2;
  bool register_devices = false;
  std::string operator_url;
  std::string token;
  std::string cacert;
  // run
  std::uint32_t parallel = 16;
  double interval = 2;
  double max_backoff = 60;
  std::uint32_t cycles = 0;
  std::string until_target;
  double timeout = 600;
  std::vector<std::string> unhealthy_versions;
  bool setup_only = false;
  bool json = false;
  bool verbose = false;
};

// Set-up: devices missing under --dir are created, all are registered with --register.
Result<void> set_up(const SimArgs& a, const std::vector<std::string>& serials);
// The options of the set-up group.
void add_setup_options(CLI::App* sim, SimArgs* a);

}  // namespace ironseal::cli
