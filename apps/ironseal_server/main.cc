// `ironseal-server`: the fleet service (docs/fleet-server.md). Thin: loads the configuration,
// opens the store and the update repositories, and runs the HTTPS listeners.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "backup_cmd.h"
#include "fleet/config.h"
#include "fleet/http_server.h"
#include "fleet/pki_issuer.h"
#include "fleet/service.h"

namespace {

using namespace ironseal;
using namespace ironseal::fleet;

int report(const Error& e) {
  std::cerr << "ironseal-server: " << e.message << "\n";
  return exit_code(e.code);
}

struct Opened {
  FleetConfig config;
  std::unique_ptr<CertificateIssuer> issuer;
  std::unique_ptr<FleetService> service;
};

// `opened_event` goes into the audit trail: server.start, or the offline tool that opened it.
Result<Opened> open_service(const std::string& config_path, Metrics& metrics,
                            const std::string& opened_event) {
  auto config = load_config(config_path);
  if (!config) return std::unexpected(config.error());
  auto store = open_sqlite_store(config->database);
  if (!store) return std::unexpected(store.error());
  std::unique_ptr<UpdateRepositories> repos;
  if (config->has_repository) {
    auto r = open_repositories(config->service.repository);
    if (!r) return std::unexpected(r.error());
    repos = std::move(*r);
  }
  Opened out{std::move(*config), nullptr, nullptr};
  if (!out.config.est_ca.empty()) {
    auto issuer = open_pki_issuer(out.config.est_ca);
    if (!issuer) return std::unexpected(issuer.error());
    out.issuer = std::move(*issuer);
  }
  // Without est_ca, EST enrolment answers 501 (no issuer).
  out.service = std::make_unique<FleetService>(out.config.service, std::move(*store),
                                               std::move(repos), out.issuer.get(), metrics);
  if (auto ok = out.service->open_audit(opened_event); !ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ironseal-server: the fleet service. Devices connect with mutual TLS (their certificate is "
      "their identity) to check in, report installs, read their director metadata and the image "
      "repository, and renew certificates over EST; operators use a separate HTTPS listener with "
      "accounts, roles and bearer tokens.\n\n"
      "Exit codes: 0 ok; 1 a backup refused as not trusted; 2 usage error; 3 environment or I/O "
      "error.",
      "ironseal-server"};
  app.require_subcommand(1);
  std::string config_path;
  auto* run = app.add_subcommand("run", "Serve until SIGINT/SIGTERM.");
  run->add_option("--config", config_path, "Configuration file (JSON)")->required();
  auto* account = app.add_subcommand("account", "Manage operator accounts offline.");
  account->require_subcommand(1);
  auto* add = account->add_subcommand(
      "add", "Create an account; the password is read from the first line of standard input.");
  std::string name;
  std::string role;
  add->add_option("--config", config_path, "Configuration file (JSON)")->required();
  add->add_option("--name", name, "Account name")->required();
  add->add_option("--role", role, "viewer, operator or admin")->required();
  server_cli::BackupCommand backup;
  server_cli::add_backup_commands(app, backup);
  CLI11_PARSE(app, argc, argv);
  if (backup.backup->parsed() || backup.restore->parsed()) {
    // Beside a running server: reads its files and snapshots its databases; never opens the
    // audit trail, whose one writer is the server.
    auto ok = server_cli::run_backup_commands(backup);
    return ok ? 0 : report(ok.error());
  }

  Metrics metrics;
  auto opened = open_service(config_path, metrics,
                             add->parsed() ? "server.offline_account_tool" : "server.start");
  if (!opened) return report(opened.error());

  if (add->parsed()) {
    std::string password;
    if (!std::getline(std::cin, password)) {
      std::cerr << "ironseal-server: no password on standard input\n";
      return 2;
    }
    if (auto ok = opened->service->add_account(name, role, password); !ok) {
      return report(ok.error());
    }
    std::cout << "account " << name << " (" << role << ") created\n";
    return 0;
  }

  if (auto ok = opened->service->reconcile(); !ok) return report(ok.error());
  auto server = FleetServer::create(opened->config.server, *opened->service, metrics);
  if (!server) return report(server.error());
  // One line a script can read to find the ports (useful with port 0), printed once SIGTERM is
  // handled, so stopping the server right after reading it shuts it down cleanly.
  (*server)->run(true, [&] {
    std::printf("listening device_port=%u operator_port=%u\n", (*server)->device_port(),
                (*server)->operator_port());
    std::fflush(stdout);
  });
  opened->service->tick();  // buffered check-ins
  return 0;
}
