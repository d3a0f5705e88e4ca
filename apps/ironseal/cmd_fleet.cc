// `ironseal fleet ...`: the operator's side of the fleet service, over its HTTPS API
// (docs/fleet-api.md). Server, token and CA come from options or the environment
// (IRONSEAL_FLEET_URL, IRONSEAL_FLEET_TOKEN, IRONSEAL_FLEET_CACERT) so scripts need not repeat them.
#include <curl/curl.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <sstream>

#include "cli.h"

namespace ironseal::cli {
namespace {

using Json = nlohmann::json;

struct FleetArgs {
  std::string server;
  std::string token;
  std::string cacert;
  bool json = false;
};

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One API call. Maps HTTP refusals to exit codes: 401/403 -> 1 (not trusted), other 4xx -> 2
// (usage), transport and 5xx -> 3 (environment).
Result<Json> call(const FleetArgs& a, const std::string& method, const std::string& path,
                  const Json& body = nullptr) {
  const std::string server = env_or("IRONSEAL_FLEET_URL", a.server);
  if (server.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "no server: pass --server https://HOST:PORT or set IRONSEAL_FLEET_URL");
  }
  const std::string token = a.token.empty() ? env_or("IRONSEAL_FLEET_TOKEN", "") : a.token;
  const std::string cacert = a.cacert.empty() ? env_or("IRONSEAL_FLEET_CACERT", "") : a.cacert;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return fail(ErrorCode::kIo, "libcurl failed to initialise");
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> owner(curl, curl_easy_cleanup);
  std::string url = server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += path;
  std::string response;
  std::string payload = body.is_null() ? std::string() : body.dump();
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  const std::string auth = "Authorization: Bearer " + token;
  if (!token.empty()) headers = curl_slist_append(headers, auth.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> hold(headers, curl_slist_free_all);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  if (!cacert.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, cacert.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    return fail(ErrorCode::kIo, method, " ", url, ": ", curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  Json j = Json::parse(response, nullptr, false);
  if (status >= 400) {
    const std::string msg = j.is_object() ? j.value("message", response) : response;
    const ErrorCode code = (status == 401 || status == 403) ? ErrorCode::kNotTrusted
                           : status < 500                  ? ErrorCode::kInvalidArgument
                                                           : ErrorCode::kIo;
    return fail(code, "server refused (", std::to_string(status), "): ", msg);
  }
  if (j.is_discarded()) return fail(ErrorCode::kMalformed, "server answered with no JSON");
  return j;
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

  auto* login = fleet->add_subcommand("login", "Print a bearer token (password on standard input).");
  auto name = std::make_shared<std::string>();
  add_common(login, a.get());
  login->add_option("--name", *name, "Account name")->required();
  set_action(login, [a, name]() -> Result<void> {
    std::string password;
    if (!std::getline(std::cin, password)) {
      return fail(ErrorCode::kInvalidArgument, "no password on standard input");
    }
    auto r = call(*a, "POST", "/api/v1/login", Json{{"name", *name}, {"password", password}});
    if (!r) return std::unexpected(r.error());
    if (a->json) print_json(*r);
    else std::cout << (*r)["token"].get<std::string>() << "\n";
    return {};
  });

  auto* devices = fleet->add_subcommand("devices", "List devices (or register one).");
  auto group = std::make_shared<std::string>();
  add_common(devices, a.get());
  devices->add_option("--group", *group, "Only this group");
  set_action(devices, [a, group]() -> Result<void> {
    auto r = call(*a, "GET", "/api/v1/devices" + (group->empty() ? "" : "?group=" + *group));
    if (!r) return std::unexpected(r.error());
    if (a->json) {
      print_json(*r);
      return {};
    }
    std::printf("%-16s %-10s %-10s %-14s %-12s %s\n", "DEVICE", "GROUP", "VERSION", "ASSIGNED",
                "LAST EVENT", "LAST SEEN (UTC)");
    for (const auto& d : (*r)["devices"]) {
      std::printf("%-16s %-10s %-10s %-14s %-12s %s\n", d["serial"].get<std::string>().c_str(),
                  d["group"].get<std::string>().c_str(),
                  or_dash(d["version"].get<std::string>()).c_str(),
                  or_dash(d["assigned_target"].get<std::string>()).c_str(),
                  or_dash(d["last_event"].get<std::string>()).c_str(),
                  when(d["last_seen"].get<std::int64_t>()).c_str());
    }
    return {};
  });
  auto* reg = devices->add_subcommand("register", "Register a device serial (before it ships).");
  auto serial = std::make_shared<std::string>();
  auto hw = std::make_shared<std::string>();
  add_common(reg, a.get());
  reg->add_option("--serial", *serial, "Device serial (as in its certificate)")->required();
  reg->add_option("--hardware-id", *hw, "Hardware id")->required();
  reg->add_option("--group", *group, "Group (default: default)");
  set_action(reg, [a, serial, hw, group]() -> Result<void> {
    auto r = call(*a, "POST", "/api/v1/devices",
                  Json{{"serial", *serial}, {"hardware_id", *hw},
                       {"group", group->empty() ? "default" : *group}});
    if (!r) return std::unexpected(r.error());
    if (a->json) print_json(*r);
    else std::printf("registered %s (%s) in group %s\n", serial->c_str(), hw->c_str(),
                     (*r)["group"].get<std::string>().c_str());
    return {};
  });

  auto* releases = fleet->add_subcommand("releases", "List releases (or create one).");
  add_common(releases, a.get());
  set_action(releases, [a]() -> Result<void> {
    auto r = call(*a, "GET", "/api/v1/releases");
    if (!r) return std::unexpected(r.error());
    if (a->json) {
      print_json(*r);
      return {};
    }
    std::printf("%-16s %-24s %-10s %s\n", "RELEASE", "TARGET", "VERSION", "HARDWARE");
    for (const auto& x : (*r)["releases"]) {
      std::printf("%-16s %-24s %-10s %s\n", x["name"].get<std::string>().c_str(),
                  x["target"].get<std::string>().c_str(),
                  or_dash(x["version"].get<std::string>()).c_str(),
                  x["hardware_id"].get<std::string>().c_str());
    }
    return {};
  });
  auto* rcreate = releases->add_subcommand("create", "Name a published image target as a release.");
  auto rel = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  add_common(rcreate, a.get());
  rcreate->add_option("--name", *rel, "Release name")->required();
  rcreate->add_option("--target", *target, "Target in the image repository")->required();
  set_action(rcreate, [a, rel, target]() -> Result<void> {
    auto r = call(*a, "POST", "/api/v1/releases", Json{{"name", *rel}, {"target", *target}});
    if (!r) return std::unexpected(r.error());
    if (a->json) print_json(*r);
    else std::printf("release %s = %s (version %s)\n", rel->c_str(), target->c_str(),
                     (*r)["version"].get<std::string>().c_str());
    return {};
  });

  auto* rollout = fleet->add_subcommand("rollout", "Create, inspect and steer staged rollouts.");
  rollout->require_subcommand(1);
  auto* create = rollout->add_subcommand("create", "Roll a release out to a group in phases.");
  auto phases = std::make_shared<std::string>("1,100%");
  auto rate = std::make_shared<double>(0.2);
  auto timeout = std::make_shared<std::int64_t>(0);
  add_common(create, a.get());
  create->add_option("--release", *rel, "Release name")->required();
  create->add_option("--group", *group, "Device group (default: default)");
  create->add_option("--phases", *phases,
                     "Comma-separated cumulative phases: device counts or percentages, ending "
                     "with 100% (default 1,100%)");
  create->add_option("--max-failure-rate", *rate,
                     "Pause by itself when this share of reached devices failed (default 0.2)")
      ->check(CLI::Range(0.0, 1.0));
  create->add_option("--phase-timeout", *timeout,
                     "Seconds a device may stay assigned without an outcome before it counts as "
                     "failed (a silent device cannot hold its phase forever; default 0: wait)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{90} * 24 * 3600));
  set_action(create, [a, rel, group, phases, rate, timeout]() -> Result<void> {
    Json list = Json::array();
    std::stringstream ss(*phases);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty() && item.back() == '%') list.push_back(item);
      else {
        char* end = nullptr;
        const unsigned long v = std::strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0') {
          return fail(ErrorCode::kInvalidArgument, "--phases: '", item, "' is not a count or N%");
        }
        list.push_back(v);
      }
    }
    auto r = call(*a, "POST", "/api/v1/rollouts",
                  Json{{"release", *rel}, {"group", group->empty() ? "default" : *group},
                       {"phases", list}, {"max_failure_rate", *rate},
                       {"phase_timeout_s", *timeout}});
    if (!r) return std::unexpected(r.error());
    if (a->json) print_json(*r);
    else print_rollout(*r);
    return {};
  });
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
      auto r = call(*a, "POST", "/api/v1/rollouts/" + std::to_string(*id) + "/" + v);
      if (!r) return std::unexpected(r.error());
      if (a->json) print_json(*r);
      else print_rollout(*r);
      return {};
    });
  }
  auto* status = rollout->add_subcommand("status", "Show one rollout (with its devices) or all.");
  auto sid = std::make_shared<long long>(0);
  add_common(status, a.get());
  status->add_option("ID", *sid, "Rollout id (default: all)");
  set_action(status, [a, sid]() -> Result<void> {
    auto r = call(*a, "GET", *sid == 0 ? std::string("/api/v1/rollouts")
                                       : "/api/v1/rollouts/" + std::to_string(*sid));
    if (!r) return std::unexpected(r.error());
    if (a->json) {
      print_json(*r);
      return {};
    }
    if (r->contains("rollouts")) {
      for (const auto& x : (*r)["rollouts"]) print_rollout(x);
    } else {
      print_rollout(*r);
    }
    return {};
  });
}

}  // namespace ironseal::cli
