// The device agent: what runs on each device with no one watching. One cycle:
//   1. check in with the fleet server (the device's state: versions, slots, boot attempts,
//      last revert reason);
//   2. follow the director (plan_update: Uptane agreement between director and image repository);
//   3. install with the streaming installer into the inactive slot (resumable);
//   4. reboot into the trial and follow it until the firmware confirms itself or the bootloader
//      reverts;
//   5. report each step and the outcome, with reasons, to the server.
//
// Crash safety: the agent's own state (DEVICE_DIR/agent.json, written atomically) says which
// step it was in; flash and the boot state say the rest. Killed or cut at any point, the next
// start carries on: an interrupted download resumes from the installer's journal, an interrupted
// trial is followed from the boot state. Reports are sent at least once (a step interrupted
// after its report may be reported again).
//
// A target that reverted on this device is not installed again by itself (the operator's
// rollout decides what happens next), so a bad release cannot make a device loop.
//
// Thread-safety: not thread-safe. One Agent drives one device directory from one thread; a second
// agent on the same directory is not supported (the installer's journal and agent.json assume a
// single writer).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/fleet_client.h"
#include "core/result.h"

namespace ironseal::boot {
class HostDevice;
}  // namespace ironseal::boot

namespace ironseal::agent {

struct UpdatePlan;

struct AgentOptions {
  std::filesystem::path device_dir;
  // One power cycle of the device: bootloader, then the firmware until it exits. Returns the
  // firmware's exit status (informational: the boot state decides).
  std::function<Result<int>()> reboot;
  std::uint32_t max_boots_per_trial = 8;        // bound on reboots while following one trial
  std::function<void(const std::string&)> log;  // one line per event; may be empty
  std::filesystem::path ca_override;  // trust anchors for the server, if not the factory's
  // Renew the certificate (EST simplereenroll) in the next cycle even before the server's
  // renew_after (maintenance, tests).
  bool renew_now = false;
};

struct CycleResult {
  // idle (nothing assigned), up_to_date, held (assigned target reverted here before),
  // confirmed, reverted, failed, refused (the assignment did not verify)
  std::string outcome;
  std::string target;
  std::string reason;
  long poll_interval_s = 0;      // as the server asked
  std::int64_t renew_after = 0;  // unix time to renew the certificate (EST), 0 if not said
  std::string renewed_serial;    // set when this cycle renewed the device certificate
};

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> create(AgentOptions options,
                                               std::unique_ptr<FleetClient> client);
  // One check-in and all it leads to. Errors are transport or device errors (retry later).
  Result<CycleResult> cycle();

 private:
  Agent(AgentOptions options, std::unique_ptr<FleetClient> client);
  Result<void> save();
  void log(const std::string& line) const;
  Result<void> check_in(CycleResult* result);
  // Installs `plan` into the other slot: true when it is pending, false when the install was
  // refused for good (result says why); errors are the ones to retry.
  Result<bool> install(boot::HostDevice& hd, const UpdatePlan& plan, CycleResult* result);
  Result<CycleResult> follow_trial(CycleResult result);
  void renew_if_due(CycleResult* result);
  void report(const std::string& step, const std::string& target, const std::string& reason,
              const nlohmann::json& detail);

  AgentOptions options_;
  std::unique_ptr<FleetClient> client_;
  nlohmann::json state_;  // agent.json
};

}  // namespace ironseal::agent
