#include "publish/director.h"

#include <algorithm>

#include "core/file.h"

namespace ironseal::repo {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

Error with_context(const TufError& e, const fs::path& where) {
  Error out = to_error(e);
  out.message = where.string() + ": " + describe(e);
  return out;
}

Result<void> check_serial(const std::string& serial) {
  const bool ok = !serial.empty() && serial.size() <= 128 && serial != "." && serial != ".." &&
                  std::all_of(serial.begin(), serial.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                  });
  if (!ok) {
    return fail(ErrorCode::kInvalidArgument, "bad serial '", serial,
                "' (letters, digits and . _ -)");
  }
  return {};
}

}  // namespace

Result<Json> verified_published_targets(const fs::path& image_repo, Clock clock) {
  const fs::path mdir = image_repo / "metadata";
  auto root = read_file(mdir / "root.json");
  if (!root) return std::unexpected(root.error());
  auto trusted = TrustedMetadata::from_root(*root, std::move(clock));
  if (!trusted) return std::unexpected(with_context(trusted.error(), mdir / "root.json"));
  auto timestamp = read_file(mdir / "timestamp.json");
  if (!timestamp) return std::unexpected(timestamp.error());
  if (auto ok = trusted->update_timestamp(*timestamp); !ok) {
    return std::unexpected(with_context(ok.error(), mdir / "timestamp.json"));
  }
  const fs::path snapshot_path =
      mdir / (std::to_string(trusted->timestamp()->snapshot_meta.version) + ".snapshot.json");
  auto snapshot = read_file(snapshot_path);
  if (!snapshot) return std::unexpected(snapshot.error());
  if (auto ok = trusted->update_snapshot(*snapshot, false); !ok) {
    return std::unexpected(with_context(ok.error(), snapshot_path));
  }
  auto meta = trusted->snapshot()->meta.find("targets.json");
  if (meta == trusted->snapshot()->meta.end()) {
    return fail(ErrorCode::kNotTrusted, snapshot_path.string(), ": lists no targets.json");
  }
  const fs::path targets_path = mdir / (std::to_string(meta->second.version) + ".targets.json");
  auto targets = read_file(targets_path);
  if (!targets) return std::unexpected(targets.error());
  if (auto ok = trusted->update_targets("targets", "root", *targets); !ok) {
    return std::unexpected(with_context(ok.error(), targets_path));
  }
  // The bytes just verified, now as JSON (custom fields included, which the model drops).
  Json doc = Json::parse(targets->begin(), targets->end(), nullptr, false);
  if (doc.is_discarded()) return fail(ErrorCode::kMalformed, targets_path.string(), ": not JSON");
  return doc["signed"]["targets"];
}

Result<Director> Director::init(const fs::path& dir, RepositoryOptions options, Clock clock) {
  options.kind = RepositoryKind::kDirector;
  auto repo = Repository::init(dir, options, std::move(clock));
  if (!repo) return std::unexpected(repo.error());
  return Director(std::move(*repo));
}

Result<Director> Director::open(const fs::path& dir, Clock clock) {
  auto repo = Repository::open(dir, std::move(clock));
  if (!repo) return std::unexpected(repo.error());
  if (repo->kind() != RepositoryKind::kDirector) {
    return fail(ErrorCode::kInvalidArgument, dir.string(),
                " is an image repository, not a director");
  }
  return Director(std::move(*repo));
}

fs::path Director::device_metadata_dir(const std::string& serial) const {
  return repo_.dir() / "devices" / serial / "metadata";
}

Result<Assignment> Director::assign(const std::string& serial, const fs::path& image_repo,
                                    const std::vector<std::string>& target_names) {
  if (auto ok = check_serial(serial); !ok) return std::unexpected(ok.error());
  if (target_names.empty()) return fail(ErrorCode::kInvalidArgument, "no target to assign");
  // Only what the image repository has published and signed can be assigned.
  auto published = verified_published_targets(image_repo, repo_.clock());
  if (!published) return std::unexpected(published.error());
  Json chosen = Json::object();
  Assignment out{serial, {}, {}};
  for (const auto& name : target_names) {
    if (!published->contains(name)) {
      return fail(ErrorCode::kNotTrusted, "the image repository ", image_repo.string(),
                  " publishes no target '", name, "'");
    }
    chosen[name] = (*published)[name];
    out.targets.push_back(name);
    const std::string index = name + ".chunks";
    if (published->contains(index)) {
      chosen[index] = (*published)[index];
      out.targets.push_back(index);
    }
  }
  auto chain = repo_.publish_chain(device_metadata_dir(serial), chosen);
  if (!chain) return std::unexpected(chain.error());
  out.chain = *chain;
  return out;
}

Result<Json> Director::describe(const std::optional<std::string>& serial) const {
  auto out = repo_.describe();
  if (!out) return out;
  Json devices = Json::object();
  std::vector<fs::path> dirs;
  if (serial) {
    if (auto ok = check_serial(*serial); !ok) return std::unexpected(ok.error());
    std::error_code ec;
    if (!fs::exists(device_metadata_dir(*serial) / "timestamp.json", ec)) {
      return fail(ErrorCode::kNotFound, "no device '", *serial, "' in ", repo_.dir().string());
    }
    dirs.push_back(device_metadata_dir(*serial));
  } else {
    dirs = repo_.chain_dirs();
  }
  for (const auto& mdir : dirs) {
    Json d = Json::object();
    for (const char* role : {"targets", "snapshot", "timestamp"}) {
      auto part = Repository::chain_role(mdir, role);
      if (!part) return std::unexpected(part.error());
      if (part->is_null()) continue;
      d[role] = {{"version", (*part)["version"]}, {"expires", (*part)["expires"]}};
      if (std::string(role) == "targets") {
        Json list = Json::array();
        for (const auto& [name, entry] : (*part)["targets"].items()) {
          Json t = {{"name", name}, {"length", entry["length"]}, {"hashes", entry["hashes"]}};
          if (entry.contains("custom") && entry["custom"].contains("hardware_id")) {
            t["hardware_id"] = entry["custom"]["hardware_id"];
          }
          list.push_back(t);
        }
        d["assigned"] = list;
      }
    }
    devices[mdir.parent_path().filename().string()] = d;
  }
  (*out)["devices"] = devices;
  return out;
}

}  // namespace ironseal::repo
