// `ironseal fleet ...`: the operator's side of the fleet service, over its HTTPS API
// (docs/fleet-api.md). Server, token and CA come from options or the environment
// (IRONSEAL_FLEET_URL, IRONSEAL_FLEET_TOKEN, IRONSEAL_FLEET_CACERT) so scripts need not repeat
// them.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "net/operator_client.h"

namespace ironseal::cli {
namespace {

using Json = nlohmann::json;

struct FleetArgs {
  std::string server;
  std::string token;
  std::string cacert;
  bool json = false;
};

// The operator API client for the options and the environment (net/operator_client.h). HTTP
// refusals become exit codes through their error codes: 401/403 -> 1 (not trusted), other 4xx -> 2
// (usage), transport and 5xx -> 3 (environment).
Result<net::OperatorClient> client(const FleetArgs& a) {
  auto endpoint = net::endpoint_with_environment({a.server, a.token, a.cacert});
  if (endpoint.url.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "no server: pass --server https://HOST:PORT or set IRONSEAL_FLEET_URL");
  }
  return net::OperatorClient::create(std::move(endpoint));
}

// Runs one operation on a fresh client and prints its answer: as JSON with --json, else `print`.
template <typename Op, typename Print>
Result<void> run(const FleetArgs& a, Op op, Print print) {
  auto c = client(a);
  if (!c) return std::unexpected(c.error());
  auto r = op(*c);
  if (!r) return std::unexpected(r.error());
  if (a.json) {
    print_json(*r);
  } else {
    print(*r);
  }
  return {};
}

std::string when(std::int64_t t) {
  if (t == 0) return "-";
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

void print_rollout(const Json& r) {
  std::string phases;
  for (const auto& p : r["phases"]) phases += (phases.empty() ? "" : ",") + (p.is_string() ? p.get<std::string>() : p.dump());
  std::printf("rollout %lld: release %s to group %s, phases %s (now %u), max failure rate %.2f\n",
              static_cast<long long>(r["id"].get<std::int64_t>()),
              r["release"].get<std::string>().c_str(), r["group"].get<std::string>().c_str(),
              phases.c_str(), r["phase"].get<unsigned>(), r["max_failure_rate"].get<double>());
  if (r.value("phase_timeout_s", 0) > 0) {
    std::printf("  phase timeout %lld s\n", static_cast<long long>(r["phase_timeout_s"].get<std::int64_t>()));
  }
  std::printf("  state %s: %s\n", r["state"].get<std::string>().c_str(),
              r["reason"].get<std::string>().c_str());
  if (r.contains("devices_by_state")) {
    std::printf("  devices:");
    for (const auto& [k, v] : r["devices_by_state"].items()) std::printf(" %s %d", k.c_str(), v.get<int>());
    std::printf("\n");
  }
  if (r.contains("devices")) {
    for (const auto& d : r["devices"]) {
      std::printf("    %-20s %-10s %s\n", d["serial"].get<std::string>().c_str(),
                  d["state"].get<std::string>().c_str(), d["reason"].get<std::string>().c_str());
    }
  }
}

void add_common(CLI::App* cmd, FleetArgs* a) {
  cmd->add_option("--server", a->server, "Operator API base URL, e.g. https://fleet:8444 (or IRONSEAL_FLEET_URL)");
  cmd->add_option("--token", a->token, "Bearer token from `fleet login` (or IRONSEAL_FLEET_TOKEN)");
  cmd->add_option("--cacert", a->cacert, "CA certificate(s) to trust for the server (or IRONSEAL_FLEET_CACERT)");
  cmd->add_flag("--json", a->json, "Print the server's JSON answer");
}

void print_devices(const Json& r) {
  std::printf("%-16s %-10s %-10s %-14s %-12s %s\n", "DEVICE", "GROUP", "VERSION", "ASSIGNED",
              "LAST EVENT", "LAST SEEN (UTC)");
  for (const auto& d : r["devices"]) {
    std::printf("%-16s %-10s %-10s %-14s %-12s %s\n", d["serial"].get<std::string>().c_str(),
                d["group"].get<std::string>().c_str(),
                or_dash(d["version"].get<std::string>()).c_str(),
                or_dash(d["assigned_target"].get<std::string>()).c_str(),
                or_dash(d["last_event"].get<std::string>()).c_str(),
                when(d["last_seen"].get<std::int64_t>()).c_str());
  }
}

void print_releases(const Json& r) {
  std::printf("%-16s %-24s %-10s %s\n", "RELEASE", "TARGET", "VERSION", "HARDWARE");
  for (const auto& x : r["releases"]) {
    std::printf("%-16s %-24s %-10s %s\n", x["name"].get<std::string>().c_str(),
                x["target"].get<std::string>().c_str(),
                or_dash(x["version"].get<std::string>()).c_str(),
                x["hardware_id"].get<std::string>().c_str());
  }
}

// --phases "1,10%,100%": counts and percentages, as the API takes them.
Result<Json> parse_phases(const std::string& phases) {
  Json list = Json::array();
  std::stringstream ss(phases);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty() && item.back() == '%') {
      list.push_back(item);
      continue;
    }
    char* end = nullptr;
    const unsigned long v = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0') {
      return fail(ErrorCode::kInvalidArgument, "--phases: '", item, "' is not a count or N%");
    }
    list.push_back(v);
  }
  return list;
}

void register_login(CLI::App* fleet, const std::shared_ptr<FleetArgs>& a) {
  auto* login = fleet->add_subcommand("login", "Print a bearer token (password on standard input).");
  auto name = std::make_shared<std::string>();
  add_common(login, a.get());
  login->add_option("--name", *name, "Account name")->required();
  set_action(login, [a, name]() -> Result<void> {
    std::string password;
    if (!std::getline(std::cin, password)) {
      return fail(ErrorCode::kInvalidArgument, "no password on standard input");
    }
    return run(
        *a, [&](net::OperatorClient& c) { return c.login(*name, password); },
        [](const Json& r) { std::cout << r["token"].get<std::string>() << "\n"; });
  });
}

void register_devices(CLI::App* fleet, const std::shared_ptr<FleetArgs>& a) {
  auto* devices = fleet->add_subcommand("devices", "List devices (or register one).");
  auto group = std::make_shared<std::string>();
  add_common(devices, a.get());
  devices->add_option("--group", *group, "Only this group");
  set_action(devices, [a, group]() -> Result<void> {
    return run(*a, [&](net::OperatorClient& c) { return c.list_devices(*group); }, print_devices);
  });
  auto* reg = devices->add_subcommand("register", "Register a device serial (before it ships).");
  auto serial = std::make_shared<std::string>();
  auto hw = std::make_shared<std::string>();
  add_common(reg, a.get());
  reg->add_option("--serial", *serial, "Device serial (as in its certificate)")->required();
  reg->add_option("--hardware-id", *hw, "Hardware id")->required();
  reg->add_option("--group", *group, "Group (default: default)");
  set_action(reg, [a, serial, hw, group]() -> Result<void> {
    return run(
        *a,
        [&](net::OperatorClient& c) {
          return c.register_device(*serial, *hw, group->empty() ? "default" : *group);
        },
        [&](const Json& r) {
          std::printf("registered %s (%s) in group %s\n", serial->c_str(), hw->c_str(),
                      r["group"].get<std::string>().c_str());
        });
  });
  auto* rep = devices->add_subcommand("replace", "Record that a unit restored from OLD's backup "
                                                 "replaced it (docs/backup.md).");
  auto sha = std::make_shared<std::string>();
  add_common(rep, a.get());
  rep->add_option("OLD", *serial, "The replaced device")->required();
  rep->add_option("--by", *hw, "The device that replaced it (registered, same hardware)")->required();
  rep->add_option("--archive-sha256", *sha, "SHA-256 of the backup it was restored from");
  set_action(rep, [a, serial, hw, sha]() -> Result<void> {
    const Json body = {{"serial", *hw}, {"archive_sha256", *sha}};
    return run(*a, [&](net::OperatorClient& c) {
      return c.call("POST", "/api/v1/devices/" + *serial + "/replacement", body);
    }, [&](const Json&) { std::printf("%s replaced by %s\n", serial->c_str(), hw->c_str()); });
  });
}

void register_releases(CLI::App* fleet, const std::shared_ptr<FleetArgs>& a) {
  auto* releases = fleet->add_subcommand("releases", "List releases (or create one).");
  add_common(releases, a.get());
  set_action(releases, [a]() -> Result<void> {
    return run(
        *a, [](net::OperatorClient& c) { return c.list_releases(); }, print_releases);
  });
  auto* rcreate = releases->add_subcommand("create", "Name a published image target as a release.");
  auto rel = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  add_common(rcreate, a.get());
  rcreate->add_option("--name", *rel, "Release name")->required();
  rcreate->add_option("--target", *target, "Target in the image repository")->required();
  set_action(rcreate, [a, rel, target]() -> Result<void> {
    return run(
        *a, [&](net::OperatorClient& c) { return c.create_release(*rel, *target); },
        [&](const Json& r) {
          std::printf("release %s = %s (version %s)\n", rel->c_str(), target->c_str(),
                      r["version"].get<std::string>().c_str());
        });
  });
}

void register_rollout_create(CLI::App* rollout, const std::shared_ptr<FleetArgs>& a) {
  auto* create = rollout->add_subcommand("create", "Roll a release out to a group in phases.");
  auto req = std::make_shared<net::RolloutRequest>();
  auto phases = std::make_shared<std::string>("1,100%");
  add_common(create, a.get());
  create->add_option("--release", req->release, "Release name")->required();
  create->add_option("--group", req->group, "Device group (default: default)");
  create->add_option("--phases", *phases,
                     "Comma-separated cumulative phases: device counts or percentages, ending "
                     "with 100% (default 1,100%)");
  create
      ->add_option("--max-failure-rate", req->max_failure_rate,
                   "Pause by itself when this share of reached devices failed (default 0.2)")
      ->check(CLI::Range(0.0, 1.0));
  create
      ->add_option("--phase-timeout", req->phase_timeout_s,
                   "Seconds a device may stay assigned without an outcome before it counts as "
                   "failed (a silent device cannot hold its phase forever; default 0: wait)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{90} * 24 * 3600));
  set_action(create, [a, req, phases]() -> Result<void> {
    auto list = parse_phases(*phases);
    if (!list) return std::unexpected(list.error());
    net::RolloutRequest r = *req;
    r.phases = std::move(*list);
    if (r.group.empty()) r.group = "default";
    return run(
        *a, [&](net::OperatorClient& c) { return c.create_rollout(r); }, print_rollout);
  });
}

void register_rollout(CLI::App* fleet, const std::shared_ptr<FleetArgs>& a) {
  auto* rollout = fleet->add_subcommand("rollout", "Create, inspect and steer staged rollouts.");
  rollout->require_subcommand(1);
  register_rollout_create(rollout, a);
  for (const char* verb : {"pause", "resume", "abort"}) {
    auto* cmd = rollout->add_subcommand(
        verb, std::string(verb == std::string("pause")    ? "Stop reaching new devices."
                          : verb == std::string("resume") ? "Continue (failures so far are acknowledged)."
                                                          : "Stop for good; unfinished devices go back."));
    auto id = std::make_shared<long long>(0);
    add_common(cmd, a.get());
    cmd->add_option("ID", *id, "Rollout id")->required();
    const std::string v = verb;
    set_action(cmd, [a, id, v]() -> Result<void> {
      return run(
          *a, [&](net::OperatorClient& c) { return c.steer_rollout(*id, v); }, print_rollout);
    });
  }
  auto* status = rollout->add_subcommand("status", "Show one rollout (with its devices) or all.");
  auto sid = std::make_shared<long long>(0);
  add_common(status, a.get());
  status->add_option("ID", *sid, "Rollout id (default: all)");
  set_action(status, [a, sid]() -> Result<void> {
    return run(
        *a, [&](net::OperatorClient& c) { return c.rollout_status(*sid); },
        [](const Json& r) {
          if (!r.contains("rollouts")) return print_rollout(r);
          for (const auto& x : r["rollouts"]) print_rollout(x);
        });
  });
}

}  // namespace

void register_fleet_commands(CLI::App& app) {
  auto a = std::make_shared<FleetArgs>();
  auto* fleet = app.add_subcommand(
      "fleet",
      "Operate the fleet service: devices, releases and staged rollouts.\n"
      "A release is a target the image repository publishes; a rollout takes it to a group of\n"
      "devices in phases (e.g. 1 canary, 10%, 100%) and pauses by itself when more than the\n"
      "allowed share of devices fails. Log in once: export IRONSEAL_FLEET_TOKEN=$(ironseal fleet\n"
      "login --server URL --name NAME < password-file).");
  fleet->require_subcommand(1);
  register_login(fleet, a);
  register_devices(fleet, a);
  register_releases(fleet, a);
  register_rollout(fleet, a);
}

}  // namespace ironseal::cli
