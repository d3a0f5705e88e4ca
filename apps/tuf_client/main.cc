// `ironseal-tuf-client`: the TUF update client behind the tuf-conformance suite's client CLI
// (CLIENT-CLI.md in theupdateframework/tuf-conformance): init / refresh / download. A thin shell
// over src/repo: it parses arguments, runs one Updater session, prints what failed and why.
//
// Exit codes (the conformance protocol): 0 success, 1 any failure of the command (not trusted,
// not found, I/O, network); 2 a usage error.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/file.h"
#include "repo/updater.h"

namespace {

using namespace ironseal;

struct Options {
  std::string metadata_dir;
  std::string metadata_url;
  std::vector<std::string> target_names;
  std::string target_dir;
  std::string target_base_url;
  std::string trusted_root;
  int verbose = 0;
};

int report(const repo::TufError& error) {
  std::cerr << "ironseal-tuf-client: " << repo::describe(error) << "\n";
  return 1;
}

int run_init(const Options& o) {
  auto root = read_file(o.trusted_root);
  if (!root) {
    std::cerr << "ironseal-tuf-client: " << root.error().message << "\n";
    return 1;
  }
  if (auto ok = repo::init_metadata_dir(o.metadata_dir, *root); !ok) return report(ok.error());
  if (o.verbose) std::cerr << "initialized " << o.metadata_dir << "\n";
  return 0;
}

int run_refresh(const Options& o, repo::Fetcher& fetcher) {
  repo::Updater updater(o.metadata_dir, o.metadata_url, fetcher);
  if (auto ok = updater.refresh(); !ok) return report(ok.error());
  if (o.verbose) std::cerr << "refreshed metadata in " << o.metadata_dir << "\n";
  return 0;
}

int run_download(const Options& o, repo::Fetcher& fetcher) {
  repo::Updater updater(o.metadata_dir, o.metadata_url, fetcher);
  // Targets in argument order, one session; the first failure ends the command.
  for (const auto& name : o.target_names) {
    auto target = updater.find_target(name);
    if (!target) return report(target.error());
    if (repo::Updater::is_cached(o.target_dir, *target)) {
      if (o.verbose) std::cerr << name << ": already downloaded\n";
      continue;
    }
    auto path = updater.download_target(*target, o.target_base_url, o.target_dir);
    if (!path) return report(path.error());
    if (o.verbose) std::cerr << name << ": stored at " << path->string() << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"ironseal-tuf-client: a TUF (1.0.x) update client.\n\n"
               "Exit codes: 0 ok; 1 the command failed (reason on stderr); 2 usage error.",
               "ironseal-tuf-client"};
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--metadata-dir", o.metadata_dir, "directory of trusted metadata")->required();
  app.add_option("--metadata-url", o.metadata_url, "base URL of the repository's metadata");
  app.add_option("--target-name", o.target_names, "target path to download (repeatable)");
  app.add_option("--target-dir", o.target_dir, "directory for downloaded targets");
  app.add_option("--target-base-url", o.target_base_url, "base URL of the repository's targets");
  app.add_flag("-v,--verbose", o.verbose, "say what happened");
  auto* init = app.add_subcommand("init", "trust the given root.json (no network access)");
  init->add_option("trusted_root", o.trusted_root, "initial root.json")->required();
  auto* refresh = app.add_subcommand("refresh", "update the trusted metadata");
  auto* download = app.add_subcommand("download", "download and verify --target-name targets");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (init->parsed()) return run_init(o);
  if (o.metadata_url.empty()) {
    std::cerr << "ironseal-tuf-client: --metadata-url is required\n";
    return 2;
  }
  auto fetcher = repo::CurlFetcher::create();
  if (!fetcher) return report(fetcher.error());
  if (refresh->parsed()) return run_refresh(o, **fetcher);
  if (download->parsed()) {
    if (o.target_names.empty() || o.target_dir.empty() || o.target_base_url.empty()) {
      std::cerr << "ironseal-tuf-client: download needs --target-name, --target-dir and "
                   "--target-base-url\n";
      return 2;
    }
    return run_download(o, **fetcher);
  }
  return 2;
}
