// A fleet of simulated devices driven from one process, for scale tests of the fleet service on
// one machine (`ironseal fleet simulate`, docs/fleet-simulate.md). Each device is a real device
// directory (flash, OTP, boot state, TUF roots, identity/) with its own key and certificate, and
// runs the real agent (agent/agent.h): check-in over mutual TLS, director, streaming install,
// trial, reports. Only the power cycle is in-process: the boot core's power_on, then a "firmware"
// that runs a health check and confirms a trial through the boot core, instead of exec'ing a
// firmware binary (docs/decisions.md).
//
// Set-up issues each device's certificate through pki::DeviceIssuer (the CA's device profile)
// from a TEST CA: this is a load tool, not the factory.
//
// Thread-safety: the functions share no state. make_simulated_devices and run_simulated_fleet
// start their own worker threads and join them before returning; a `log` callback is called
// from those threads, one call at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "device/host_device.h"

namespace ironseal::pki {
class DeviceIssuer;
}

namespace ironseal::agent {

// ---- Set-up
// ---------------------------------------------------------------------------------------

// "PREFIX" + the 1-based index in five digits: SIM-00001, SIM-00002, ...
std::string simulated_serial(std::string_view prefix, std::uint32_t index);

// The files every simulated device is made from.
struct SimDeviceSources {
  std::vector<std::filesystem::path> root_keys;  // public keys to fuse
  std::filesystem::path stage2;                  // signed stage-2 image
  std::filesystem::path firmware;                // signed first firmware (slot A, confirmed)
  std::filesystem::path image_root;              // image repository root.json
  std::filesystem::path director_root;           // director root.json
  std::filesystem::path ca_certificate;          // TEST device CA certificate (PEM)
  std::filesystem::path ca_key;                  // its key (PEM, 0600)
  std::filesystem::path anchors;                 // what devices trust the server by (PEM)
};

// Everything a device is made from, loaded once for all of them.
struct SimDeviceTemplate {
  boot::DeviceConfig config;  // geometry, trial attempts, hardware id; the serial is per device
  boot::Provisioning provisioning;
  std::filesystem::path image_root;
  std::filesystem::path director_root;
  std::shared_ptr<const pki::DeviceIssuer> issuer;
  std::string anchors_pem;
};

Result<SimDeviceTemplate> load_sim_template(const SimDeviceSources& sources,
                                            const boot::DeviceConfig& config);

// Makes DIR/SERIAL (`device_dir`) a provisioned device with roots for updates and an identity. It
// is built in DEVICE_DIR.partial and renamed when complete, so an interrupted set-up leaves no
// half device under the real name. Refuses a `device_dir` that exists (kInvalidArgument "...
// exists but holds no device (device.json); refusing to touch it").
Result<void> make_simulated_device(const SimDeviceTemplate& t,
                                   const std::filesystem::path& device_dir,
                                   const std::string& serial);

// make_simulated_device for each serial under `dir`, on up to `threads` threads; the first error
// stops the rest and is returned.
Result<void> make_simulated_devices(const SimDeviceTemplate& t, const std::filesystem::path& dir,
                                    const std::vector<std::string>& serials, std::uint32_t threads);

// ---- The in-process power cycle ---------------------------------------------------------------

// Bootloader, then the "firmware": a health check (failing on purpose when the booted version,
// with or without its +build, is in `unhealthy_versions`) and, on a trial boot that passed it,
// confirmation through the boot core. Returns the firmware's exit status as plc-runtime would: 0
// healthy, 1 health check failed, 128 power lost. A device in recovery is kNotTrusted.
Result<int> simulated_power_cycle(const std::filesystem::path& device_dir,
                                  const std::vector<std::string>& unhealthy_versions);

// ---- Running the fleet
// ----------------------------------------------------------------------------

struct SimRunOptions {
  std::string server;           // device API, https://HOST:PORT
  std::uint32_t parallel = 16;  // devices cycling at once (threads)
  double interval_s = 2;        // between one device's check-ins (jittered 0.8..1.2)
  double max_backoff_s = 60;    // longest wait after failed cycles (doubling from interval_s)
  double timeout_s = 600;       // give up after this long
  // The goal: every device has this target confirmed (or up to date), else every device has run
  // `cycles` cycles.
  std::string until_target;
  std::uint32_t cycles = 0;
  std::vector<std::string> unhealthy_versions;
  // Every step of every device (verbose); may be empty.
  std::function<void(const std::string& serial, const std::string& line)> log;
};

struct SimRunSummary {
  std::uint32_t devices = 0;
  std::uint32_t reached = 0;  // devices that reached the goal
  double all_reached_s = -1;  // when the last one did; -1: not all did
  double elapsed_s = 0;
  std::uint64_t cycles = 0;
  std::uint64_t cycle_errors = 0;
  // Last outcome of each device ("confirmed v2.img", "none", ...) -> devices; last error of the
  // devices that did not reach the goal -> devices.
  std::map<std::string, std::uint32_t> outcomes;
  std::map<std::string, std::uint32_t> errors;
};

// Runs the agents of the devices `serials` under `dir` (set up before) until every device reached
// the goal or the timeout passed; either way the summary says how far they got. Errors are set-up
// failures of a device's identity or agent.
Result<SimRunSummary> run_simulated_fleet(const std::filesystem::path& dir,
                                          const std::vector<std::string>& serials,
                                          const SimRunOptions& options);

}  // namespace ironseal::agent
