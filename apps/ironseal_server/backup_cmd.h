// `ironseal-server backup|restore` (backup_cmd.cc).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/result.h"

namespace ironseal::server_cli {

struct BackupCommand {
  CLI::App* backup = nullptr;
  CLI::App* restore = nullptr;
  std::string config, out, archive, key, ca, crl, into;
  std::vector<std::string> to;
};

void add_backup_commands(CLI::App& app, BackupCommand& a);
// Runs whichever of the two was parsed.
Result<void> run_backup_commands(const BackupCommand& a);

}  // namespace ironseal::server_cli
