// `ironseal fleet simulate`: N simulated devices driven in one process, for scale tests of the
// fleet service on one machine (agent/simulator.h, docs/fleet-simulate.md). Set-up
// (cmd_simulate_setup.cc; skipped for devices that exist) creates device directories with small
// slots, keys and certificates from a TEST CA given on the command line, and registers them over
// the operator API (net/operator_client.h); the run drives every device's real agent until the goal
// is reached.
#include <sys/resource.h>

#include <iostream>

#include "agent/simulator.h"
#include "cli.h"
#include "simulate_cli.h"

namespace ironseal::cli {
namespace {

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

void add_run_options(CLI::App* sim, SimArgs* a) {
  auto* run = "Run";
  sim->add_option("--parallel", a->parallel, "Devices cycling at once (threads; default 16)")
      ->check(CLI::Range(1u, 1024u))
      ->group(run);
  sim->add_option("--interval", a->interval, "Seconds between a device's check-ins (default 2)")
      ->check(CLI::Range(0.0, 3600.0))
      ->group(run);
  sim->add_option(
         "--max-backoff", a->max_backoff,
         "Longest wait after failed cycles, seconds (doubling from --interval; default 60)")
      ->check(CLI::Range(0.0, 3600.0))
      ->group(run);
  sim->add_option("--until-target", a->until_target,
                  "Stop when every device has this target confirmed")
      ->group(run);
  sim->add_option("--cycles", a->cycles, "Stop when every device has run N cycles")->group(run);
  sim->add_option("--timeout", a->timeout, "Give up after this many seconds (exit 3; default 600)")
      ->group(run);
  sim->add_option("--unhealthy-version", a->unhealthy_versions,
                  "Firmware version whose health check fails (repeatable)")
      ->group(run);
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
