// Shared plumbing of the `ironseal` CLI: every subcommand registers itself on the CLI11 app and
// reports failures as ironseal::Error, which main() turns into one line on stderr and an exit code
// (0 ok, 1 not trusted / check failed, 2 usage, 3 environment or I/O).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/result.h"

namespace ironseal::cli {

// A command body; returns the error to report, or nothing on success.
using Action = std::function<Result<void>()>;

// Registered by main(): the action of the subcommand CLI11 selected.
void set_action(CLI::App* command, Action action);

void register_key_commands(CLI::App& app);
void register_image_commands(CLI::App& app);
void register_device_commands(CLI::App& app);
void register_repo_commands(CLI::App& app);
void register_update_commands(CLI::App& app);
void register_ca_commands(CLI::App& app);
void register_cert_commands(CLI::App& app);
// After register_device_commands: adds `device decommission` to it.
void register_pki_commands(CLI::App& app);
void register_fleet_commands(CLI::App& app);
void register_attest_commands(CLI::App& app);
// After register_fleet_commands: adds `fleet simulate` to it.
void register_simulate_commands(CLI::App& app);
void register_evidence_commands(CLI::App& app);
void register_audit_commands(CLI::App& app);
// After register_ca_commands: adds `ca ingest-replacement` to it.
void register_backup_commands(CLI::App& app);

// Makes every named option take one value per occurrence (main() calls it after registering).
void one_value_per_option(CLI::App& app);

// Prints JSON to stdout, two-space indented, with a final newline.
void print_json(const nlohmann::json& j);
// An Error as the JSON object scripts read: {"code", "reason", "message", "exit_code"}.
nlohmann::json error_json(const Error& e);

}  // namespace ironseal::cli
