// Shared by the `ironseal device` command files (cmd_device*.cc): fault injection for the
// simulation (--power-cut-after, --torn), how a check reason reads, and the parts of the `device`
// noun that live in their own files.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"
#include "device/host_device.h"

namespace ironseal::cli {

struct FaultArgs {
  std::int64_t power_cut_after = -1;
  bool torn = false;
};

inline void add_fault_options(CLI::App* cmd, FaultArgs& a) {
  cmd->add_option("--power-cut-after", a.power_cut_after,
                  "Simulation only: cut power after N flash/OTP operations")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--torn", a.torn, "Simulation only: the cut operation lands half-way");
}

inline void arm_faults(const FaultArgs& a, boot::HostDevice& d) {
  if (a.power_cut_after >= 0)
    d.faults().cut_after(static_cast<std::uint64_t>(a.power_cut_after), a.torn);
}

inline Error power_cut_error(boot::HostDevice& d) {
  return make_error(ErrorCode::kIo, "power_cut",
                    "POWER CUT (simulated) after " + std::to_string(d.faults().operations() - 1) +
                        " flash/OTP operations; the device keeps what landed");
}

inline std::string reason_text(std::uint8_t r) {
  return boot::check_name(r);
}

// `device boot`, `device confirm` and `device run` (cmd_device_boot.cc).
void add_device_boot_command(CLI::App* device);
void add_device_confirm_command(CLI::App* device);
void add_device_run_command(CLI::App* device);
// `device install` (cmd_device_install.cc).
void add_device_install_command(CLI::App* device);

// An install attempt (`device install`, `update install`) as the device's audit trail records
// it: `event` with outcome ok, refused (not trusted or malformed, with the reason) or failed. A
// power cut records nothing (the power is gone; the next attempt does). Returns `r`, or the
// trail's error when the install succeeded but could not be recorded.
Result<void> audited_install(const std::string& dir, const std::string& event,
                             const nlohmann::json& source, Result<void> r);

}  // namespace ironseal::cli
