// `ironseal update ...`: the device side of an over-the-air update on a simulated device.
// check: what the director assigns this device, cross-checked against the image repository.
// install: stream it into the inactive slot (verified chunk by chunk, resumable, delta-aware),
// pending a trial boot (`ironseal device run`).
#include <iostream>

#include "agent/update.h"
#include "cli.h"
#include "device_cli.h"
#include "progress.h"
#include "repo/fetcher.h"

namespace ironseal::cli {
namespace {

struct UpdateArgs {
  std::string dir;
  std::string repo;
  std::string target;
  std::int64_t power_cut_after = -1;
  bool torn = false;
  bool json = false;
};

nlohmann::json plan_json(const agent::UpdatePlan& p) {
  return {{"target", p.target},
          {"version", p.version},
          {"security_counter", p.security_counter},
          {"length", p.length},
          {"sha256", p.sha256},
          {"installed_version", p.installed_version},
          {"up_to_date", p.up_to_date},
          {"already_pending", p.already_pending},
          {"chunks", p.index->index().hashes.size()},
          {"chunk_size", p.index->index().chunk_size}};
}

Result<agent::UpdatePlan> plan(const UpdateArgs& a, boot::HostDevice& hd) {
  auto fetcher = repo::CurlFetcher::create();
  if (!fetcher) return std::unexpected(repo::to_error(fetcher.error()));
  const std::optional<std::string> target =
      a.target.empty() ? std::nullopt : std::optional<std::string>(a.target);
  return agent::plan_update(hd, a.dir, a.repo, **fetcher, target);
}

Result<void> do_check(const UpdateArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  auto p = plan(a, **hd);
  if (!p) return std::unexpected(p.error());
  if (a.json) {
    print_json(plan_json(*p));
  } else if (p->up_to_date) {
    std::cout << "up to date: " << p->target << " (" << p->version << ") is the confirmed image\n";
  } else if (p->already_pending) {
    std::cout << p->target << " (" << p->version << ") is installed and pending a trial boot\n";
  } else {
    std::cout << "update available: " << p->target << " version " << p->version
              << ", security counter " << p->security_counter << ", " << p->length << " bytes in "
              << p->index->index().hashes.size() << " chunks (installed: "
              << (p->installed_version.empty() ? "none" : p->installed_version) << ")\n";
  }
  return {};
}

Result<void> do_install(const UpdateArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  auto p = plan(a, **hd);
  if (!p) return std::unexpected(p.error());
  if (p->up_to_date || p->already_pending) {
    if (a.json) {
      auto j = plan_json(*p);
      j["result"] = p->up_to_date ? "up_to_date" : "already_pending";
      print_json(j);
    } else {
      std::cout << (p->up_to_date ? "up to date: nothing to install\n"
                                  : "already installed, pending a trial boot (device run)\n");
    }
    return {};
  }
  if (a.power_cut_after >= 0) {
    (*hd)->faults().cut_after(static_cast<std::uint64_t>(a.power_cut_after), a.torn);
  }
  delivery::ChunkedInstallOptions opt;
  opt.progress = InstallProgressLine();
  auto r = agent::apply_update(**hd, a.dir, *p, opt);
  if (auto saved = boot::save_device(a.dir, **hd); !saved) return saved;
  if (!r) return std::unexpected(r.error());
  const auto& t = r->totals;
  if (a.json) {
    auto j = plan_json(*p);
    j["result"] = "installed";
    j["slot"] = std::string(1, boot::slot_name(r->slot));
    j["downloaded"] = t.downloaded;
    j["copied_from_active_slot"] = t.local;
    j["resumed"] = t.resumed;
    print_json(j);
  } else {
    std::cout << "installed " << p->target << " (" << p->version << ") into slot "
              << boot::slot_name(r->slot) << ": downloaded " << t.downloaded << " of "
              << t.image_size << " bytes (" << t.local << " copied from the active slot, "
              << t.resumed << " already in place); pending a trial boot\n";
  }
  return {};
}

}  // namespace

void register_update_commands(CLI::App& app) {
  auto a = std::make_shared<UpdateArgs>();
  CLI::App* up = app.add_subcommand(
      "update",
      "Over-the-air updates for a device, from a TUF image repository and an Uptane-style\n"
      "director. The device installs only what the director assigns to its serial AND the\n"
      "image repository signed, for its hardware id: a stolen key of either alone is not enough.");
  up->require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("DIR", a->dir,
                  "Device directory (device init --serial --hardware-id "
                  "--image-root --director-root)")
        ->required();
    c->add_option("--repo", a->repo,
                  "Repository base URL: BASE/image/{metadata,targets}/ and "
                  "BASE/director/devices/SERIAL/metadata/ (http, https or file)")
        ->required();
    c->add_option("--target", a->target, "Target to install when the director assigns several");
    c->add_flag("--json", a->json, "Print the result as JSON");
  };
  CLI::App* check = up->add_subcommand("check", "What would be installed, and is it new?");
  common(check);
  set_action(check, [a] { return do_check(*a); });
  CLI::App* install = up->add_subcommand(
      "install",
      "Download and install into the inactive slot: every chunk proven before it is written,\n"
      "resumes after an interruption, copies chunks the device already has. Then power-cycle\n"
      "(device run) to boot it on trial.");
  common(install);
  install->add_option("--power-cut-after", a->power_cut_after,
                      "Simulation only: cut power after N flash/OTP operations");
  install->add_flag("--torn", a->torn, "Simulation only: the cut operation lands half-way");
  set_action(install, [a] {
    return audited_install(a->dir, "update.install", {{"repo", a->repo}, {"target", a->target}},
                           do_install(*a));
  });
}

}  // namespace ironseal::cli
