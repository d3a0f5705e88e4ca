// ironseal-agent: the update agent of one (simulated) device. It checks in with the fleet server
// over mutual TLS, follows the director, installs with the streaming installer, reboots into the
// trial, and reports every step until the firmware confirms itself or the bootloader reverts.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <random>
#include <thread>

#include "agent/agent.h"
#include "agent/identity.h"

namespace {

using namespace ironseal;

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop = true;
}

// Sleeps up to `seconds`, waking early on SIGTERM/SIGINT.
void nap(double seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!g_stop && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string self_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  return std::filesystem::path(std::string(buf, static_cast<std::size_t>(n))).parent_path();
}

// One power cycle: `ironseal device boot DIR` in a child process (the bootloader verifies, then
// the firmware runs its health check and confirms itself, or does not).
Result<int> power_cycle(const std::string& ironseal, const std::string& dir, bool quiet) {
  const pid_t pid = ::fork();
  if (pid < 0) return fail(ErrorCode::kIo, "fork failed");
  if (pid == 0) {
    if (quiet) {
      if (FILE* f = std::freopen("/dev/null", "w", stdout); f == nullptr) ::_exit(126);
    }
    ::execl(ironseal.c_str(), ironseal.c_str(), "device", "boot", dir.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail(ErrorCode::kIo, "waitpid failed");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return fail(ErrorCode::kNotFound, "cannot run ", ironseal, " (set --ironseal)");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&t));
  return buf;
}

// The command line.
struct AgentArgs {
  std::string dir;
  std::string server;
  std::string ca;
  std::string ironseal_path = self_dir() + "/ironseal";
  std::uint32_t cycles = 0;
  double interval = 0;
  double max_backoff = 300;
  bool once = false;
  bool json = false;
  bool verbose = false;
  bool renew = false;
};

void add_options(CLI::App& app, AgentArgs& a) {
  app.add_option("dir", a.dir, "The device directory (device.json, flash, identity/)")->required();
  app.add_option("--server", a.server, "Fleet server base URL (https://host:port)")->required();
  app.add_option("--ca", a.ca,
                 "Trust anchors for the server's certificate (default: DIR/identity/anchors.pem, "
                 "installed by the factory)");
  app.add_option("--ironseal", a.ironseal_path,
                 "The ironseal CLI used for power cycles (default: next to this program)");
  app.add_flag("--once", a.once, "Run one cycle and exit (exit status says whether it worked)");
  app.add_option("--cycles", a.cycles, "Stop after this many successful cycles (0: run forever)");
  app.add_option("--interval", a.interval,
                 "Seconds between check-ins (default: what the server says, else 60)");
  app.add_option("--max-backoff", a.max_backoff, "Longest wait after repeated errors, seconds");
  app.add_flag("--json", a.json, "One JSON object per cycle on stdout");
  app.add_flag("--renew", a.renew,
               "Renew the device certificate (EST simplereenroll) in the first cycle, before the "
               "server's renew_after (which the agent otherwise follows by itself)");
  app.add_flag("-v,--verbose", a.verbose, "Log each step and the firmware's output");
}

int die(const Error& e) {
  std::cerr << "ironseal-agent: " << e.message << "\n";
  return exit_code(e.code);
}

void print_cycle(const AgentArgs& a, const agent::CycleResult& r) {
  if (a.json) {
    nlohmann::json j{{"outcome", r.outcome}, {"target", r.target}, {"reason", r.reason}};
    if (!r.renewed_serial.empty()) j["renewed_certificate"] = r.renewed_serial;
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << now_text() << " " << a.dir << ": " << r.outcome
              << (r.target.empty() ? "" : " " + r.target)
              << (r.reason.empty() ? "" : " (" + r.reason + ")") << std::endl;
  }
}

// Cycles until stopped (SIGTERM/SIGINT), --once or --cycles: backs off exponentially after
// errors, waits the poll interval with jitter after successes.
int run_cycles(agent::Agent& agent, const AgentArgs& a) {
  std::mt19937 rng(std::random_device{}());
  double backoff = 1;
  std::uint32_t done = 0;
  while (!g_stop) {
    auto r = agent.cycle();
    if (!r) {
      if (a.once) return die(r.error());
      std::cerr << now_text() << " " << a.dir << ": cycle failed: " << r.error().message
                << "; retrying in " << backoff << " s\n";
      nap(std::uniform_real_distribution<double>(0.5, 1.0)(rng) * backoff);
      backoff = std::min(backoff * 2, a.max_backoff);
      continue;
    }
    backoff = 1;
    print_cycle(a, *r);
    if (a.once || (a.cycles != 0 && ++done >= a.cycles)) return 0;
    const double wait = a.interval > 0           ? a.interval
                        : r->poll_interval_s > 0 ? r->poll_interval_s
                                                 : 60;
    nap(std::uniform_real_distribution<double>(0.8, 1.2)(rng) * wait);  // jitter spreads the fleet
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ironseal-agent: keeps one device up to date, unattended.\n\n"
      "Each cycle checks in with the fleet server over mutual TLS (the device's certificate is "
      "its identity), follows the director's assignment for this device (accepted only when the "
      "image repository signed the same image), installs it into the inactive slot with the "
      "streaming installer, reboots into the trial and follows it until the firmware confirms "
      "itself or the bootloader reverts, reporting each step. Between cycles it waits the "
      "server's poll interval with jitter; on errors it backs off exponentially. Killed at any "
      "point, it carries on where it was on the next start.\n\n"
      "Example: ironseal-agent dev1 --server https://127.0.0.1:8443"};
  AgentArgs a;
  add_options(app, a);
  CLI11_PARSE(app, argc, argv);

  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  auto tls = agent::device_tls(a.dir, a.ca);
  if (!tls) return die(tls.error());
  auto client = agent::FleetClient::create(a.server, *tls);
  if (!client) return die(client.error());

  agent::AgentOptions opt;
  opt.device_dir = a.dir;
  opt.ca_override = a.ca;
  opt.renew_now = a.renew;
  opt.reboot = [&] { return power_cycle(a.ironseal_path, a.dir, !a.verbose); };
  if (a.verbose)
    opt.log = [&](const std::string& line) {
      std::cerr << now_text() << " " << a.dir << ": " << line << "\n";
    };
  auto agent = agent::Agent::create(std::move(opt), std::move(*client));
  if (!agent) return die(agent.error());

  return run_cycles(**agent, a);
}
