// `ironseal fleet simulate`: N simulated devices driven in one process, for scale tests of the
// fleet service on one machine (agent/simulator.h, docs/fleet-simulate.md). Set-up (skipped for
// devices that exist) creates device directories with small slots, keys and certificates from a
// TEST CA given on the command line, and registers them over the operator API
// (net/operator_client.h); the run drives every device's real agent until the goal is reached.
#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <mutex>

#include "agent/simulator.h"
#include "cli.h"
#include "net/operator_client.h"

namespace ironseal::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The set-up inputs, each named by its option when missing.
Result<void> check_setup_inputs(const SimArgs& a) {
  for (auto [v, opt] : {std::pair{&a.stage2, "--stage2"}, {&a.firmware, "--firmware"},
                        {&a.image_root, "--image-root"}, {&a.director_root, "--director-root"},
                        {&a.ca_cert, "--device-ca"}, {&a.ca_key, "--device-ca-key"},
                        {&a.anchors, "--anchors"}, {&a.hardware_id, "--hardware-id"}}) {
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

Result<void> check_args(const SimArgs& a) {
  if (a.devices == 0) return fail(ErrorCode::kInvalidArgument, "--devices must be at least 1");
  if (a.attempts == 0 || a.attempts > 255) {
    return fail(ErrorCode::kInvalidArgument, "--attempts must be 1..255");
  }
  if (!a.setup_only && a.until_target.empty() && a.cycles == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "say when to stop: --until-target TARGET, --cycles N or --setup-only");
  }
  return {};
}

// Set-up: devices missing under --dir are created, all are registered with --register.
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
    if (a.register_devices) std::cout << ", " << registered << " newly registered in " << register_s << " s";
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

void print_summary(const SimArgs& a, const agent::SimRunSummary& s) {
  if (a.json) {
    print_json({{"devices", s.devices},
                {"reached", s.reached},
                {"all_reached_s", s.all_reached_s},
                {"elapsed_s", s.elapsed_s},
                {"cycles", s.cycles},
                {"cycle_errors", s.cycle_errors},
                {"outcomes", s.outcomes},
                {"errors", s.errors}});
    return;
  }
  std::cout << s.reached << "/" << s.devices << " device(s) reached "
            << (a.until_target.empty() ? std::to_string(a.cycles) + " cycle(s)"
                                       : a.until_target + " (confirmed)")
            << " in " << s.elapsed_s << " s; " << s.cycles << " cycle(s), " << s.cycle_errors
            << " failed cycle(s)\n";
  for (const auto& [k, v] : s.outcomes) std::cout << "  last outcome " << k << ": " << v << "\n";
  for (const auto& [k, v] : s.errors) std::cout << "  last error (" << v << "): " << k << "\n";
}

Result<void> run_simulation(const SimArgs& a) {
  if (auto r = check_args(a); !r) return r;
  // Every device holds a keep-alive connection, and a cycle opens a few more.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  std::vector<std::string> serials;
  for (std::uint32_t i = 1; i <= a.devices; ++i) {
    serials.push_back(agent::simulated_serial(a.serial_prefix, i));
  }
  if (auto r = set_up(a, serials); !r) return r;
  if (a.setup_only) return {};
  if (a.server.empty()) return fail(ErrorCode::kInvalidArgument, "--server is required to run");
  agent::SimRunOptions o;
  o.server = a.server;
  o.parallel = a.parallel;
  o.interval_s = a.interval;
  o.max_backoff_s = a.max_backoff;
  o.timeout_s = a.timeout;
  o.until_target = a.until_target;
  o.cycles = a.cycles;
  o.unhealthy_versions = a.unhealthy_versions;
  if (a.verbose) {
    o.log = [](const std::string& serial, const std::string& line) {
      std::cerr << serial << ": " << line << "\n";
    };
  }
  auto summary = agent::run_simulated_fleet(a.dir, serials, o);
  if (!summary) return std::unexpected(summary.error());
  print_summary(a, *summary);
  if (summary->reached < summary->devices) {
    return fail(ErrorCode::kIo, std::to_string(summary->devices - summary->reached),
                " device(s) did not reach the goal within ", std::to_string(a.timeout), " s");
  }
  return {};
}

void add_setup_options(CLI::App* sim, SimArgs* a) {
  auto* setup = "Set-up (devices missing under DIR)";
  sim->add_option("--root-key", a->root_keys, "Root public key to fuse (repeatable)")->group(setup);
  sim->add_option("--stage2", a->stage2, "Signed stage-2 image")->group(setup);
  sim->add_option("--firmware", a->firmware, "Signed first firmware (slot A, confirmed)")->group(setup);
  sim->add_option("--image-root", a->image_root, "Image repository root.json")->group(setup);
  sim->add_option("--director-root", a->director_root, "Director root.json")->group(setup);
  sim->add_option("--device-ca", a->ca_cert, "TEST device CA certificate (PEM)")->group(setup);
  sim->add_option("--device-ca-key", a->ca_key, "TEST device CA key (PEM, 0600)")->group(setup);
  sim->add_option("--anchors", a->anchors, "Trust anchors for the server (PEM)")->group(setup);
  sim->add_option("--slot-size", a->slot_size, "Slot size in bytes (default 64 KiB)")->group(setup);
  sim->add_option("--stage2-size", a->stage2_size, "Stage-2 area in bytes (default 16 KiB)")->group(setup);
  sim->add_option("--attempts", a->attempts, "Trial boot attempts (default 2)")->group(setup);
  sim->add_flag("--register", a->register_devices, "Register every device over the operator API")
      ->group(setup);
  sim->add_option("--operator", a->operator_url, "Operator API URL (or IRONSEAL_FLEET_URL)")->group(setup);
  sim->add_option("--token", a->token, "Operator token (or IRONSEAL_FLEET_TOKEN)")->group(setup);
  sim->add_option("--cacert", a->cacert, "CA for the operator API (or IRONSEAL_FLEET_CACERT)")->group(setup);
}

void add_run_options(CLI::App* sim, SimArgs* a) {
  auto* run = "Run";
  sim->add_option("--parallel", a->parallel, "Devices cycling at once (threads; default 16)")
      ->check(CLI::Range(1u, 1024u))->group(run);
  sim->add_option("--interval", a->interval, "Seconds between a device's check-ins (default 2)")
      ->check(CLI::Range(0.0, 3600.0))->group(run);
  sim->add_option("--max-backoff", a->max_backoff,
                  "Longest wait after failed cycles, seconds (doubling from --interval; default 60)")
      ->check(CLI::Range(0.0, 3600.0))->group(run);
  sim->add_option("--until-target", a->until_target,
                  "Stop when every device has this target confirmed")->group(run);
  sim->add_option("--cycles", a->cycles, "Stop when every device has run N cycles")->group(run);
  sim->add_option("--timeout", a->timeout, "Give up after this many seconds (exit 3; default 600)")
      ->group(run);
  sim->add_option("--unhealthy-version", a->unhealthy_versions,
                  "Firmware version whose health check fails (repeatable)")->group(run);
  sim->add_flag("--setup-only", a->setup_only, "Create and register, then exit")->group(run);
  sim->add_flag("--json", a->json, "Print a JSON summary")->group(run);
  sim->add_flag("-v,--verbose", a->verbose, "Log every step of every device")->group(run);
}

}  // namespace

void register_simulate_commands(CLI::App& app) {
  CLI::App* fleet = app.get_subcommand("fleet");
  auto a = std::make_shared<SimArgs>();
  CLI::App* sim = fleet->add_subcommand(
      "simulate",
      "Drive N simulated devices in this one process against a fleet server (scale tests).");
  sim->footer(
      "Each device is a device directory under DIR (flash, OTP, boot state, identity/) with its\n"
      "own key and certificate, and runs the real agent: check-in over mutual TLS, director,\n"
      "streaming install, trial boot, reports. The power cycle is in-process: the boot core's\n"
      "power-on, then a 'firmware' that runs its health check and confirms a trial; it fails\n"
      "its health check on purpose for --unhealthy-version.\n"
      "Devices missing under DIR are created first (small slots), with keys and certificates\n"
      "from a TEST CA (--device-ca/--device-ca-key); --register registers them over the\n"
      "operator API (IRONSEAL_FLEET_URL/TOKEN/CACERT as for the other fleet commands).\n\n"
      "Example:\n"
      "  ironseal fleet simulate --devices 1000 --dir sim --server https://127.0.0.1:8443 \\\n"
      "    --hardware-id plc-x1 --root-key fw.pub --stage2 s2.img --firmware v1.img \\\n"
      "    --image-root repo/image/metadata/1.root.json \\\n"
      "    --director-root repo/director/metadata/1.root.json \\\n"
      "    --device-ca device-ca.pem --device-ca-key device-ca.key --anchors root.pem \\\n"
      "    --register --group sim --until-target v2.img --interval 2");
  sim->add_option("--devices", a->devices, "Number of devices")->required();
  sim->add_option("--dir", a->dir, "Directory holding one device directory per serial")->required();
  sim->add_option("--server", a->server, "Device API base URL (https://host:port)");
  sim->add_option("--serial-prefix", a->serial_prefix, "Serials are PREFIX00001... (default SIM-)");
  sim->add_option("--hardware-id", a->hardware_id, "Hardware id of the simulated devices");
  sim->add_option("--group", a->group, "Group to register the devices in (default: default)");
  add_setup_options(sim, a.get());
  add_run_options(sim, a.get());
  set_action(sim, [a]() -> Result<void> { return run_simulation(*a); });
}

}  // namespace ironseal::cli
