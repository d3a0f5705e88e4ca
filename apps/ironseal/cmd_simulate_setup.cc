// `ironseal fleet simulate` set-up (simulate_cli.h): creates the device directories missing under
// --dir, with small slots, keys and certificates from a TEST CA given on the command line, and
// registers every device over the operator API (net/operator_client.h).
#include <chrono>
#include <iostream>

#include "agent/simulator.h"
#include "cli.h"
#include "device/host_device.h"
#include "net/operator_client.h"
#include "simulate_cli.h"

namespace ironseal::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The set-up inputs, each named by its option when missing.
Result<void> check_setup_inputs(const SimArgs& a) {
  for (auto [v, opt] : {std::pair{&a.stage2, "--stage2"},
                        {&a.firmware, "--firmware"},
                        {&a.image_root, "--image-root"},
                        {&a.director_root, "--director-root"},
                        {&a.ca_cert, "--device-ca"},
                        {&a.ca_key, "--device-ca-key"},
                        {&a.anchors, "--anchors"},
                        {&a.hardware_id, "--hardware-id"}}) {
    if (v->empty()) {
      return fail(ErrorCode::kInvalidArgument, "devices to create: ", opt,
                  " is required (or create them in an earlier run)");
    }
  }
  if (a.root_keys.empty()) return fail(ErrorCode::kInvalidArgument, "--root-key is required");
  return {};
}

// Creates the devices `missing` names under --dir.
Result<void> create_devices(const SimArgs& a, const std::vector<std::string>& missing) {
  if (auto r = check_setup_inputs(a); !r) return r;
  agent::SimDeviceSources sources{{a.root_keys.begin(), a.root_keys.end()},
                                  a.stage2,
                                  a.firmware,
                                  a.image_root,
                                  a.director_root,
                                  a.ca_cert,
                                  a.ca_key,
                                  a.anchors};
  boot::DeviceConfig config;
  config.slot_size = a.slot_size;
  config.stage2_size = a.stage2_size;
  config.trial_attempts = static_cast<std::uint8_t>(a.attempts);
  config.hardware_id = a.hardware_id;
  auto t = agent::load_sim_template(sources, config);
  if (!t) return std::unexpected(t.error());
  return agent::make_simulated_devices(*t, a.dir, missing, a.parallel);
}

// Registers every serial over the operator API; returns how many the server did not know yet.
Result<std::uint32_t> register_devices(const SimArgs& a, const std::vector<std::string>& serials) {
  auto endpoint = net::endpoint_with_environment({a.operator_url, a.token, a.cacert});
  if (endpoint.url.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--register needs the operator API: --operator https://HOST:PORT or "
                "IRONSEAL_FLEET_URL");
  }
  if (endpoint.token.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "--register needs a token: --token or IRONSEAL_FLEET_TOKEN (`fleet login`)");
  }
  auto client = net::OperatorClient::create(std::move(endpoint));
  if (!client) return std::unexpected(client.error());
  std::uint32_t registered = 0;
  for (const auto& serial : serials) {
    auto r = client->ensure_registered(serial, a.hardware_id, a.group);
    if (!r) return std::unexpected(r.error());
    registered += *r ? 1 : 0;
  }
  return registered;
}

}  // namespace

Result<void> set_up(const SimArgs& a, const std::vector<std::string>& serials) {
  const auto t0 = Clock::now();
  std::vector<std::string> missing;
  for (const auto& s : serials) {
    if (!boot::holds_device(fs::path(a.dir) / s)) missing.push_back(s);
  }
  if (!missing.empty()) {
    if (auto r = create_devices(a, missing); !r) return r;
  }
  const double setup_s = seconds_since(t0);
  std::uint32_t registered = 0;
  if (a.register_devices) {
    auto r = register_devices(a, serials);
    if (!r) return std::unexpected(r.error());
    registered = *r;
  }
  const double register_s = seconds_since(t0) - setup_s;
  if (!a.json) {
    std::cout << "fleet " << a.dir << ": " << a.devices << " device(s), " << missing.size()
              << " created in " << setup_s << " s";
    if (a.register_devices)
      std::cout << ", " << registered << " newly registered in " << register_s << " s";
    std::cout << "\n" << std::flush;
  }
  if (a.setup_only && a.json) {
    print_json({{"devices", a.devices},
                {"created", missing.size()},
                {"registered", registered},
                {"setup_s", setup_s},
                {"register_s", register_s}});
  }
  return {};
}

void add_setup_options(CLI::App* sim, SimArgs* a) {
  auto* setup = "Set-up (devices missing under DIR)";
  sim->add_option("--root-key", a->root_keys, "Root public key to fuse (repeatable)")->group(setup);
  sim->add_option("--stage2", a->stage2, "Signed stage-2 image")->group(setup);
  sim->add_option("--firmware", a->firmware, "Signed first firmware (slot A, confirmed)")
      ->group(setup);
  sim->add_option("--image-root", a->image_root, "Image repository root.json")->group(setup);
  sim->add_option("--director-root", a->director_root, "Director root.json")->group(setup);
  sim->add_option("--device-ca", a->ca_cert, "TEST device CA certificate (PEM)")->group(setup);
  sim->add_option("--device-ca-key", a->ca_key, "TEST device CA key (PEM, 0600)")->group(setup);
  sim->add_option("--anchors", a->anchors, "Trust anchors for the server (PEM)")->group(setup);
  sim->add_option("--slot-size", a->slot_size, "Slot size in bytes (default 64 KiB)")->group(setup);
  sim->add_option("--stage2-size", a->stage2_size, "Stage-2 area in bytes (default 16 KiB)")
      ->group(setup);
  sim->add_option("--attempts", a->attempts, "Trial boot attempts (default 2)")->group(setup);
  sim->add_flag("--register", a->register_devices, "Register every device over the operator API")
      ->group(setup);
  sim->add_option("--operator", a->operator_url, "Operator API URL (or IRONSEAL_FLEET_URL)")
      ->group(setup);
  sim->add_option("--token", a->token, "Operator token (or IRONSEAL_FLEET_TOKEN)")->group(setup);
  sim->add_option("--cacert", a->cacert, "CA for the operator API (or IRONSEAL_FLEET_CACERT)")
      ->group(setup);
}

}  // namespace ironseal::cli
