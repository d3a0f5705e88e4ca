// `ironseal repo ...`: the publishing side of updates, a thin shell over src/publish/repository.h
// (TUF image repository); `ironseal director ...` is in cmd_director.cc. docs/repository.md
// explains roles, keys, layout and commands.
#include <charconv>
#include <iostream>

#include "cli.h"
#include "publish/repository.h"
#include "repo_cli.h"

namespace ironseal::cli {
namespace {

using Json = nlohmann::json;

// "ROLE=N" pairs, e.g. --threshold root=2.
template <typename Int>
Result<std::map<std::string, Int>> parse_role_values(const std::vector<std::string>& items,
                                                     const char* option) {
  std::map<std::string, Int> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    Int value{};
    const char* begin = item.data() + (eq == std::string::npos ? 0 : eq + 1);
    const char* end = item.data() + item.size();
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (eq == std::string::npos || eq == 0 || ec != std::errc() || ptr != end || begin == end) {
      return fail(ErrorCode::kInvalidArgument, "bad ", option, " '", item,
                  "' (expected ROLE=NUMBER, ROLE one of root, targets, snapshot, timestamp)");
    }
    out[item.substr(0, eq)] = value;
  }
  return out;
}

Result<repo::RepositoryOptions> init_options(const RepoArgs& a) {
  repo::RepositoryOptions o;
  auto type = crypto::parse_key_type(a.key_type);
  if (!type) return std::unexpected(type.error());
  o.key_type = *type;
  auto thresholds = parse_role_values<std::uint64_t>(a.thresholds, "--threshold");
  if (!thresholds) return std::unexpected(thresholds.error());
  auto keys = parse_role_values<std::uint64_t>(a.keys, "--keys");
  if (!keys) return std::unexpected(keys.error());
  auto expires = parse_role_values<std::int64_t>(a.expires, "--expires");
  if (!expires) return std::unexpected(expires.error());
  o.thresholds = *thresholds;
  o.keys = *keys;
  o.expires_days = *expires;
  return o;
}

}  // namespace

void print_chain(const repo::ChainReport& r, bool json) {
  if (json) {
    print_json({{"metadata_dir", r.metadata_dir.string()},
                {"targets_version", r.targets_version},
                {"targets_signed", r.targets_signed},
                {"snapshot_version", r.snapshot_version},
                {"snapshot_signed", r.snapshot_signed},
                {"timestamp_version", r.timestamp_version}});
    return;
  }
  std::cout << r.metadata_dir.string() << ": targets v" << r.targets_version
            << (r.targets_signed ? " (signed)" : " (unchanged)") << ", snapshot v"
            << r.snapshot_version << (r.snapshot_signed ? " (signed)" : " (unchanged)")
            << ", timestamp v" << r.timestamp_version << " (signed)\n";
}

void print_roles(const Json& d) {
  std::cout << d["kind"].get<std::string>() << " repository " << d["directory"].get<std::string>()
            << " (keys " << d["key_type"].get<std::string>() << ")\n";
  for (const char* role : repo::Repository::kRoles) {
    const Json& r = d["roles"][role];
    std::cout << "  " << role;
    if (r.contains("version")) {
      std::cout << " v" << r["version"].get<std::uint64_t>() << ", expires "
                << r["expires"].get<std::string>();
    }
    std::cout << ", threshold " << r["threshold"].get<std::uint64_t>() << " of "
              << r["keyids"].size() << " key(s):";
    for (const auto& k : r["keyids"]) std::cout << " " << k.get<std::string>().substr(0, 16);
    std::cout << "\n";
  }
}

Result<void> do_repo_init(const RepoArgs& a, repo::RepositoryKind kind) {
  auto options = init_options(a);
  if (!options) return std::unexpected(options.error());
  options->kind = kind;
  auto r = repo::Repository::init(a.dir, *options);
  if (!r) return std::unexpected(r.error());
  auto d = r->describe();
  if (!d) return std::unexpected(d.error());
  if (a.json) {
    print_json(*d);
  } else {
    print_roles(*d);
  }
  return {};
}

namespace {

Result<void> do_add_target(const RepoArgs& a) {
  auto r = repo::Repository::open(a.dir);
  if (!r) return std::unexpected(r.error());
  repo::ImageTargetOptions o;
  o.name = a.name;
  o.hardware_id = a.hardware_id;
  o.chunk_size = a.chunk_size;
  o.sbom = a.sbom;
  if (!a.custom.empty()) {
    o.custom = Json::parse(a.custom, nullptr, false);
    if (o.custom.is_discarded() || !o.custom.is_object()) {
      return fail(ErrorCode::kInvalidArgument, "--custom must be a JSON object");
    }
  }
  auto name = r->add_image_target(a.image, o);
  if (!name) return std::unexpected(name.error());
  auto staged = r->staged_targets();
  if (!staged) return std::unexpected(staged.error());
  if (a.json) {
    print_json(
        {{"staged", *name}, {"chunk_index", *name + ".chunks"}, {"entry", (*staged)[*name]}});
  } else {
    const Json& e = (*staged)[*name];
    std::cout << "staged " << *name << " (" << e["length"].get<std::uint64_t>()
              << " bytes, version " << e["custom"]["ironseal"]["version"].get<std::string>()
              << ", security counter "
              << e["custom"]["ironseal"]["security_counter"].get<std::uint64_t>()
              << ", hardware id " << a.hardware_id << ") and " << *name
              << ".chunks; run `ironseal repo publish " << a.dir << "` to make them visible\n";
  }
  return {};
}

Result<void> do_publish(const RepoArgs& a) {
  auto r = repo::Repository::open(a.dir);
  if (!r) return std::unexpected(r.error());
  auto report = r->publish();
  if (!report) return std::unexpected(report.error());
  print_chain(*report, a.json);
  return {};
}

Result<void> do_rotate(const RepoArgs& a, repo::RepositoryKind kind) {
  auto r = repo::Repository::open(a.dir);
  if (!r) return std::unexpected(r.error());
  if (r->kind() != kind) {
    return fail(ErrorCode::kInvalidArgument, a.dir, " is not ",
                kind == repo::RepositoryKind::kImage ? "an image repository" : "a director");
  }
  auto reports = r->rotate(a.role, a.key_count, a.threshold, a.hsm_keys);
  if (!reports) return std::unexpected(reports.error());
  auto root = r->root();
  if (!root) return std::unexpected(root.error());
  if (a.json) {
    Json chains = Json::array();
    for (const auto& c : *reports) {
      chains.push_back({{"metadata_dir", c.metadata_dir.string()},
                        {"targets_version", c.targets_version},
                        {"snapshot_version", c.snapshot_version},
                        {"timestamp_version", c.timestamp_version}});
    }
    print_json({{"role", a.role},
                {"root_version", (*root)["version"]},
                {"keyids", (*root)["roles"][a.role]["keyids"]},
                {"threshold", (*root)["roles"][a.role]["threshold"]},
                {"chains", chains}});
  } else {
    std::cout << "rotated " << a.role << " keys: root v" << (*root)["version"].get<std::uint64_t>()
              << " lists " << (*root)["roles"][a.role]["keyids"].size() << " new key(s), threshold "
              << (*root)["roles"][a.role]["threshold"].get<std::uint64_t>()
              << "; old key files in keys/retired/\n";
    for (const auto& c : *reports) print_chain(c, false);
  }
  return {};
}

Result<void> do_repo_inspect(const RepoArgs& a) {
  auto r = repo::Repository::open(a.dir);
  if (!r) return std::unexpected(r.error());
  if (r->kind() != repo::RepositoryKind::kImage) {
    return fail(ErrorCode::kInvalidArgument, a.dir,
                " is a director: use `ironseal director inspect`");
  }
  auto d = r->describe();
  if (!d) return std::unexpected(d.error());
  if (a.json) {
    print_json(*d);
    return {};
  }
  print_roles(*d);
  std::cout << "  targets:\n";
  for (const auto& t : (*d)["targets"]) {
    std::cout << "    " << t["name"].get<std::string>() << "  " << t["length"] << " bytes  sha256 "
              << t["sha256"].get<std::string>().substr(0, 16);
    if (t.contains("hardware_id"))
      std::cout << "  hardware " << t["hardware_id"].get<std::string>();
    if (t.contains("version")) std::cout << "  version " << t["version"].get<std::string>();
    if (t.contains("security_counter")) std::cout << "  counter " << t["security_counter"];
    if (t.contains("chunk_index_of")) {
      std::cout << "  (chunk index of " << t["chunk_index_of"].get<std::string>() << ")";
    } else if (t.contains("sbom_of")) {
      std::cout << "  (SBOM of " << t["sbom_of"].get<std::string>() << ")";
    }
    std::cout << "\n";
  }
  if (!(*d)["staged_changes"].empty()) {
    std::cout << "  staged, not yet published:";
    for (const auto& n : (*d)["staged_changes"]) std::cout << " " << n.get<std::string>();
    std::cout << "\n";
  }
  return {};
}

}  // namespace

void add_init_options(CLI::App* init, RepoArgs* a) {
  init->add_option("--threshold", a->thresholds, "ROLE=N: signatures a role needs (repeatable)");
  init->add_option("--keys", a->keys, "ROLE=N: keys generated for a role (repeatable)");
  init->add_option("--expires", a->expires,
                   "ROLE=DAYS: signature lifetime (defaults root 365, targets 90, snapshot 7, "
                   "timestamp 1; repeatable)");
  init->add_option("--key-type", a->key_type, "ed25519 (default) or ecdsa-p256");
  init->add_flag("--json", a->json, "Print as JSON");
}

void add_rotate(CLI::App* parent, const std::shared_ptr<RepoArgs>& a, repo::RepositoryKind kind) {
  CLI::App* rotate = parent->add_subcommand(
      "rotate",
      "Replace a role's keys. Root: the new root version is signed by the old and the new root\n"
      "keys, so clients follow it. Other roles: a new root version lists the new keys and the\n"
      "role and those below it are re-signed. Old key files move to keys/retired/.");
  rotate->add_option("DIR", a->dir, "Repository directory")->required();
  rotate->add_option("--role", a->role, "root, targets, snapshot or timestamp")->required();
  rotate->add_option("--keys", a->key_count, "Number of new keys (default: as many as now)");
  rotate->add_option("--threshold", a->threshold, "New threshold (default: as now)");
  rotate->add_option("--key", a->hsm_keys,
                     "Use this key already in an HSM (PKCS#11 URI, repeatable) instead of "
                     "generating key files");
  rotate->add_flag("--json", a->json, "Print as JSON");
  set_action(rotate, [a, kind] { return do_rotate(*a, kind); });
}

void register_repo_commands(CLI::App& app) {
  auto a = std::make_shared<RepoArgs>();
  CLI::App* repo_cmd = app.add_subcommand(
      "repo",
      "Publish firmware in a TUF image repository (docs/repository.md).\n\n"
      "The repository signs which images exist: root names the keys of every role, targets\n"
      "lists the images (length, SHA-256, hardware id, version, chunk index), snapshot and\n"
      "timestamp pin the current versions. Serve DIR/metadata and DIR/targets over HTTP.");
  repo_cmd->require_subcommand(1);

  CLI::App* init = repo_cmd->add_subcommand(
      "init",
      "Create a repository: keys for every role, root v1, empty targets, snapshot, timestamp.");
  init->add_option("DIR", a->dir, "Repository directory (must not exist or be empty)")->required();
  add_init_options(init, a.get());
  set_action(init, [a] { return do_repo_init(*a, repo::RepositoryKind::kImage); });

  CLI::App* add = repo_cmd->add_subcommand(
      "add-target",
      "Stage a boot image (and its chunk index) as targets. The image must be structurally valid;\n"
      "its signature is for the device to check. Nothing is visible until `repo publish`.");
  add->add_option("DIR", a->dir, "Repository directory")->required();
  add->add_option("IMAGE", a->image, "Signed boot image")->required()->check(CLI::ExistingFile);
  add->add_option("--hardware-id", a->hardware_id, "Hardware the image is for")->required();
  add->add_option("--name", a->name, "Target name (default: the image's file name)");
  add->add_option("--custom", a->custom, "JSON object merged into the target's custom field");
  add->add_option("--sbom", a->sbom, "CycloneDX SBOM of the firmware: published as NAME.cdx.json, "
                  "its SHA-256 signed into the image's custom metadata")->check(CLI::ExistingFile);
  add->add_option("--chunk-size", a->chunk_size,
                  "Chunk size of the chunk index, a power of two, 4 KiB..16 MiB (default 64 KiB)");
  add->add_flag("--json", a->json, "Print as JSON");
  set_action(add, [a] { return do_add_target(*a); });

  CLI::App* publish = repo_cmd->add_subcommand(
      "publish",
      "Sign what changed: targets (if its list changed), snapshot, and always a new timestamp\n"
      "(run it at least daily so the timestamp does not expire).");
  publish->add_option("DIR", a->dir, "Repository directory")->required();
  publish->add_flag("--json", a->json, "Print as JSON");
  set_action(publish, [a] { return do_publish(*a); });

  add_rotate(repo_cmd, a, repo::RepositoryKind::kImage);

  CLI::App* inspect = repo_cmd->add_subcommand(
      "inspect", "Show roles, versions, expiries, keys, thresholds, targets and staged changes.");
  inspect->add_option("DIR", a->dir, "Repository directory")->required();
  inspect->add_flag("--json", a->json, "Print as JSON");
  set_action(inspect, [a] { return do_repo_inspect(*a); });

  add_director_commands(app, a);
}

}  // namespace ironseal::cli
