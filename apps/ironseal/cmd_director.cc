// `ironseal director ...`: per device, what it should install (Uptane director), a thin shell over
// src/publish/director.h; docs/repository.md explains roles, keys, layout and commands.
#include <iostream>

#include "cli.h"
#include "publish/director.h"
#include "repo_cli.h"

namespace ironseal::cli {
namespace {

Result<void> do_assign(const RepoArgs& a) {
  auto d = repo::Director::open(a.dir);
  if (!d) return std::unexpected(d.error());
  auto assignment = d->assign(a.serial, a.image_repo, a.targets);
  if (!assignment) return std::unexpected(assignment.error());
  if (a.json) {
    print_json({{"serial", assignment->serial},
                {"targets", assignment->targets},
                {"metadata_dir", assignment->chain.metadata_dir.string()},
                {"targets_version", assignment->chain.targets_version},
                {"snapshot_version", assignment->chain.snapshot_version},
                {"timestamp_version", assignment->chain.timestamp_version}});
  } else {
    std::cout << "assigned to " << a.serial << ":";
    for (const auto& t : assignment->targets) std::cout << " " << t;
    std::cout << "\n";
    print_chain(assignment->chain, false);
  }
  return {};
}

Result<void> do_director_inspect(const RepoArgs& a) {
  auto d = repo::Director::open(a.dir);
  if (!d) return std::unexpected(d.error());
  auto out = d->describe(a.serial.empty() ? std::nullopt : std::optional<std::string>(a.serial));
  if (!out) return std::unexpected(out.error());
  if (a.json) {
    print_json(*out);
    return {};
  }
  print_roles(*out);
  std::cout << "  devices:\n";
  for (const auto& [serial, dev] : (*out)["devices"].items()) {
    std::cout << "    " << serial;
    if (dev.contains("targets")) std::cout << "  targets v" << dev["targets"]["version"];
    if (dev.contains("timestamp")) {
      std::cout << "  timestamp v" << dev["timestamp"]["version"] << " expires "
                << dev["timestamp"]["expires"].get<std::string>();
    }
    std::cout << "\n";
    if (dev.contains("assigned")) {
      for (const auto& t : dev["assigned"]) {
        std::cout << "      " << t["name"].get<std::string>() << "  " << t["length"] << " bytes";
        if (t.contains("hardware_id"))
          std::cout << "  hardware " << t["hardware_id"].get<std::string>();
        std::cout << "\n";
      }
    }
  }
  return {};
}

}  // namespace

void add_director_commands(CLI::App& app, const std::shared_ptr<RepoArgs>& a) {
  CLI::App* dir_cmd = app.add_subcommand(
      "director",
      "Say per device what it should install (Uptane director; docs/repository.md).\n\n"
      "The director is a TUF repository with its own keys whose targets metadata exists once per\n"
      "device (DIR/devices/SERIAL/metadata), copied from the image repository's signed entries.\n"
      "A device installs only what both repositories agree on.");
  dir_cmd->require_subcommand(1);

  CLI::App* dinit = dir_cmd->add_subcommand("init", "Create a director: its keys and root v1.");
  dinit->add_option("DIR", a->dir, "Director directory (must not exist or be empty)")->required();
  add_init_options(dinit, a.get());
  set_action(dinit, [a] { return do_repo_init(*a, repo::RepositoryKind::kDirector); });

  CLI::App* assign = dir_cmd->add_subcommand(
      "assign",
      "Sign, for one device, the targets it should install: the image repository's published\n"
      "entries (verified first) and their chunk indexes. Re-assigning bumps the versions.");
  assign->add_option("DIR", a->dir, "Director directory")->required();
  assign->add_option("--serial", a->serial, "Device serial number")->required();
  assign->add_option("--image-repo", a->image_repo, "Image repository directory")->required();
  assign->add_option("--target", a->targets, "Target name in the image repository (repeatable)")
      ->required();
  assign->add_flag("--json", a->json, "Print as JSON");
  set_action(assign, [a] { return do_assign(*a); });

  add_rotate(dir_cmd, a, repo::RepositoryKind::kDirector);

  CLI::App* dinspect = dir_cmd->add_subcommand(
      "inspect", "Show the director's roles and each device's assigned targets.");
  dinspect->add_option("DIR", a->dir, "Director directory")->required();
  dinspect->add_option("--serial", a->serial, "Only this device");
  dinspect->add_flag("--json", a->json, "Print as JSON");
  set_action(dinspect, [a] { return do_director_inspect(*a); });
}

}  // namespace ironseal::cli
