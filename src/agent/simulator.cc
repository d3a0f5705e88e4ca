#include "agent/simulator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <thread>

#include "agent/agent.h"
#include "agent/update.h"
#include "boot/boot.h"
#include "core/file.h"
#include "crypto/key.h"
#include "device/identity.h"
#include "device/provisioning.h"
#include "image/sign.h"
#include "net/tls_client.h"
#include "pki/device_issuer.h"

namespace ironseal::agent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs `work(i)` for i in [0, n) on `threads` threads; returns the first error.
Result<void> parallel_for(std::uint32_t n, std::uint32_t threads,
                          const std::function<Result<void>(std::uint32_t)>& work) {
  std::atomic<std::uint32_t> next{0};
  std::mutex m;
  std::optional<Error> first;
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < std::max<std::uint32_t>(1, std::min(threads, n)); ++t) {
    pool.emplace_back([&] {
      for (std::uint32_t i = next++; i < n; i = next++) {
        auto r = work(i);
        if (!r) {
          std::lock_guard lock(m);
          if (!first) first = r.error();
          next = n;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  if (first) return std::unexpected(*first);
  return {};
}

}  // namespace

std::string simulated_serial(std::string_view prefix, std::uint32_t index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05u", index);
  return std::string(prefix) + buf;
}

// ---- Set-up
// ---------------------------------------------------------------------------------------

Result<SimDeviceTemplate> load_sim_template(const SimDeviceSources& s,
                                            const boot::DeviceConfig& config) {
  SimDeviceTemplate t;
  t.config = config;
  for (const auto& k : s.root_keys) {
    auto key = crypto::PublicKey::load(k);
    if (!key) return std::unexpected(key.error());
    t.provisioning.root_keys.push_back(*key);
  }
  auto stage2 = read_file(s.stage2);
  if (!stage2) return std::unexpected(stage2.error());
  auto firmware = read_file(s.firmware);
  if (!firmware) return std::unexpected(firmware.error());
  t.provisioning.stage2_image = std::move(*stage2);
  t.provisioning.firmware_image = std::move(*firmware);
  auto anchors = read_file(s.anchors);
  if (!anchors) return std::unexpected(anchors.error());
  t.anchors_pem.assign(anchors->begin(), anchors->end());
  auto issuer = pki::DeviceIssuer::load(s.ca_certificate, s.ca_key);
  if (!issuer) return std::unexpected(issuer.error());
  t.issuer = std::make_shared<const pki::DeviceIssuer>(std::move(*issuer));
  t.image_root = s.image_root;
  t.director_root = s.director_root;
  return t;
}

Result<void> make_simulated_device(const SimDeviceTemplate& t, const fs::path& device_dir,
                                   const std::string& serial) {
  std::error_code ec;
  if (fs::exists(device_dir, ec)) {
    return fail(ErrorCode::kInvalidArgument, device_dir.string(),
                " exists but holds no device (device.json); refusing to touch it");
  }
  boot::DeviceConfig config = t.config;
  config.serial = serial;
  // Provisioning writes device.json before the identity exists; build in a scratch name so that
  // a crash never leaves a device.json without flash and identity under the real one.
  const fs::path tmp = device_dir.string() + ".partial";
  fs::remove_all(tmp, ec);
  if (auto hd = boot::provision_device_dir(tmp, config, t.provisioning); !hd) {
    return std::unexpected(hd.error());
  }
  if (auto r = install_update_roots(tmp, t.image_root, t.director_root); !r) return r;
  const pki::DeviceName name{serial, config.hardware_id};
  auto cert = pki::issue_device_identity(*t.issuer, tmp, name, t.anchors_pem,
                                         static_cast<pki::UnixTime>(std::time(nullptr)));
  if (!cert) return std::unexpected(cert.error());
  fs::rename(tmp, device_dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot rename ", tmp.string(), ": ", ec.message());
  return {};
}

Result<void> make_simulated_devices(const SimDeviceTemplate& t, const fs::path& dir,
                                    const std::vector<std::string>& serials,
                                    std::uint32_t threads) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  return parallel_for(static_cast<std::uint32_t>(serials.size()), threads,
                      [&](std::uint32_t k) -> Result<void> {
                        return make_simulated_device(t, dir / serials[k], serials[k]);
                      });
}

// ---- The in-process power cycle ---------------------------------------------------------------

Result<int> simulated_power_cycle(const fs::path& dir,
                                  const std::vector<std::string>& unhealthy_versions) {
  auto hd = boot::load_device(dir);
  if (!hd) return std::unexpected(hd.error());
  boot::RamLoader loader;
  boot::BootReport report;
  boot::power_on((*hd)->device(), &loader, &report);
  if (auto saved = boot::save_device(dir, **hd); !saved) return std::unexpected(saved.error());
  if (report.outcome == boot::BootOutcome::kRecovery) {
    return fail(ErrorCode::kNotTrusted, dir.string(),
                ": device is in recovery: ", boot::check_name(report.reason));
  }
  if (report.outcome == boot::BootOutcome::kPowerLost) return 128;
  const std::string version = image::format_version(report.info.header.version);
  const std::string bare = version.substr(0, version.find('+'));
  if (std::any_of(unhealthy_versions.begin(), unhealthy_versions.end(),
                  [&](const std::string& v) { return v == version || v == bare; })) {
    return 1;
  }
  if (report.outcome != boot::BootOutcome::kTrial) return 0;
  const auto r = boot::confirm((*hd)->device(), report.slot);
  if (auto saved = boot::save_device(dir, **hd); !saved) return std::unexpected(saved.error());
  return r == boot::ConfirmResult::kConfirmed || r == boot::ConfirmResult::kAlreadyConfirmed ? 0
                                                                                             : 1;
}

// ---- Running the fleet
// ----------------------------------------------------------------------------

namespace {

struct SimDevice {
  std::string serial;
  fs::path dir;
  std::unique_ptr<Agent> agent;
  std::string outcome;  // of the last successful cycle
  std::string target;
  std::string error;  // of the last failed cycle
  std::uint32_t cycles = 0;
  std::uint32_t errors = 0;
  bool done = false;
};

// Serialises the callers' log callback across worker threads.
struct Log {
  std::function<void(const std::string&, const std::string&)> sink;
  std::mutex m;
  void operator()(const std::string& serial, const std::string& line) {
    if (!sink) return;
    std::lock_guard lock(m);
    sink(serial, line);
  }
};

// The real agent of one device: its identity for mutual TLS, its fleet client, the in-process
// power cycle as its reboot.
Result<std::unique_ptr<Agent>> device_agent(const SimDevice& d, const SimRunOptions& o, Log& log) {
  const auto paths = pki::identity_paths(d.dir);
  auto key = pki::load_device_tls_key(paths);
  if (!key) return std::unexpected(key.error());
  auto identity = net::ClientIdentity::create(paths.certificate, *key, paths.chain);
  if (!identity) return std::unexpected(identity.error());
  net::TlsClient tls;
  tls.ca_file = paths.anchors;
  tls.identity = std::make_shared<const net::ClientIdentity>(std::move(*identity));
  auto client = FleetClient::create(o.server, tls);
  if (!client) return std::unexpected(client.error());
  AgentOptions opt;
  opt.device_dir = d.dir;
  opt.reboot = [dir = d.dir, unhealthy = o.unhealthy_versions] {
    return simulated_power_cycle(dir, unhealthy);
  };
  if (o.log) {
    opt.log = [&log, serial = d.serial](const std::string& line) { log(serial, line); };
  }
  return Agent::create(std::move(opt), std::move(*client));
}

// Each device is due at a time; workers take the earliest due device, run one cycle, and put it
// back `interval` (jittered 0.8..1.2) later, or with exponential backoff after an error. The
// first check-ins spread over one interval, as a fleet powered on at different times.
class Scheduler {
 public:
  Scheduler(std::vector<SimDevice>& fleet, const SimRunOptions& o, Log& log)
      : fleet_(fleet),
        o_(o),
        log_(log),
        rng_(std::random_device{}()),
        start_(Clock::now()),
        deadline_(start_ + seconds(o.timeout_s)),
        remaining_(static_cast<std::uint32_t>(fleet.size())) {
    for (std::uint32_t i = 0; i < fleet_.size(); ++i) {
      queue_.emplace(
          start_ + seconds(std::uniform_real_distribution<double>(0, o.interval_s)(rng_)), i);
    }
  }

  // One worker thread's loop.
  void work() {
    std::unique_lock lock(m_);
    std::uint32_t i = 0;
    while (next_due(lock, &i)) {
      SimDevice& d = fleet_[i];
      lock.unlock();
      auto r = d.agent->cycle();
      lock.lock();
      const double wait = record(d, r);
      if (!d.done && reached(d)) {
        d.done = true;
        if (--remaining_ == 0) {
          all_reached_s_ = seconds_since(start_);
          stop_all();
          return;
        }
      }
      queue_.emplace(Clock::now() + seconds(wait), i);
      cv_.notify_one();
    }
  }

  SimRunSummary summary() const {
    SimRunSummary s;
    s.devices = static_cast<std::uint32_t>(fleet_.size());
    s.reached = s.devices - remaining_;
    s.all_reached_s = all_reached_s_;
    s.elapsed_s = seconds_since(start_);
    s.cycles = cycles_;
    s.cycle_errors = cycle_errors_;
    for (const auto& d : fleet_) {
      ++s.outcomes[d.outcome.empty() ? "none"
                                     : d.outcome + (d.target.empty() ? "" : " " + d.target)];
      if (!d.done && d.errors > 0) ++s.errors[d.error];
    }
    return s;
  }

 private:
  // Waits until a device is due (true, its index in *i) or it is time to stop (false).
  bool next_due(std::unique_lock<std::mutex>& lock, std::uint32_t* i) {
    while (!stop_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const auto due = queue_.top().first;
      if (Clock::now() >= deadline_) {
        stop_all();
        return false;
      }
      if (due > Clock::now()) {
        cv_.wait_until(lock, std::min(due, deadline_));
        continue;
      }
      *i = queue_.top().second;
      queue_.pop();
      return true;
    }
    return false;
  }

  // Takes in one cycle's result; returns how long the device waits until its next one.
  double record(SimDevice& d, const Result<CycleResult>& r) {
    if (r) {
      ++d.cycles;
      ++cycles_;
      d.outcome = r->outcome;
      d.target = r->target;
      d.errors = 0;
      log_(d.serial, r->outcome + " " + r->target + " " + r->reason);
      return o_.interval_s * std::uniform_real_distribution<double>(0.8, 1.2)(rng_);
    }
    ++cycle_errors_;
    ++d.errors;
    d.error = r.error().message;
    log_(d.serial, "cycle failed: " + d.error);
    return std::min(o_.max_backoff_s,
                    o_.interval_s * std::pow(2.0, std::min<std::uint32_t>(d.errors, 16)));
  }

  bool reached(const SimDevice& d) const {
    if (!o_.until_target.empty()) {
      return d.target == o_.until_target && (d.outcome == "confirmed" || d.outcome == "up_to_date");
    }
    return o_.cycles != 0 && d.cycles >= o_.cycles;
  }

  void stop_all() {
    stop_ = true;
    cv_.notify_all();
  }

  using Due = std::pair<Clock::time_point, std::uint32_t>;
  std::vector<SimDevice>& fleet_;
  const SimRunOptions& o_;
  Log& log_;
  std::mutex m_;
  std::condition_variable cv_;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> queue_;
  std::mt19937 rng_;
  const Clock::time_point start_;
  const Clock::time_point deadline_;
  std::uint32_t remaining_;
  std::uint64_t cycles_ = 0;
  std::uint64_t cycle_errors_ = 0;
  double all_reached_s_ = -1;
  bool stop_ = false;
};

}  // namespace

Result<SimRunSummary> run_simulated_fleet(const fs::path& dir,
                                          const std::vector<std::string>& serials,
                                          const SimRunOptions& o) {
  Log log;
  log.sink = o.log;
  std::vector<SimDevice> fleet(serials.size());
  for (std::size_t i = 0; i < serials.size(); ++i) {
    fleet[i].serial = serials[i];
    fleet[i].dir = dir / serials[i];
    auto agent = device_agent(fleet[i], o, log);
    if (!agent) return std::unexpected(agent.error());
    fleet[i].agent = std::move(*agent);
  }
  Scheduler scheduler(fleet, o, log);
  std::vector<std::thread> pool;
  const auto n = static_cast<std::uint32_t>(fleet.size());
  for (std::uint32_t t = 0; t < std::max<std::uint32_t>(1, std::min(o.parallel, n)); ++t) {
    pool.emplace_back([&scheduler] { scheduler.work(); });
  }
  for (auto& t : pool) t.join();
  return scheduler.summary();
}

}  // namespace ironseal::agent
