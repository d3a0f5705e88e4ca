#include "publish/repository.h"

#include <algorithm>
#include <set>

#include "core/bytes.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/signer.h"
#include "publish/repository_internal.h"
#include "repo/canonical_json.h"
#include "repo/metadata.h"

namespace ironseal::repo {
namespace {

using namespace detail;

constexpr const char* kSpecVersion = "1.0.31";
constexpr const char* kConfigName = "repo.json";

std::int64_t default_expiry_days(const std::string& role) {
  if (role == "root") return 365;
  if (role == "targets") return 90;
  if (role == "snapshot") return 7;
  return 1;
}

bool is_top_level_role(std::string_view role) {
  return role == "root" || role == "targets" || role == "snapshot" || role == "timestamp";
}

Error from_tuf(const TufError& e) {
  return to_error(e);
}

// repo.json must have the shape this code reads, so that no accessor below can throw.
Result<void> check_config(const Json& c, const fs::path& path) {
  auto bad = [&](const char* what) {
    return fail(ErrorCode::kMalformed, path.string(), ": ", what);
  };
  if (!c.is_object() || !c.contains("kind") || !c["kind"].is_string()) return bad("no kind");
  if (!c.contains("key_type") || !c["key_type"].is_string()) return bad("no key_type");
  if (!c.contains("roles") || !c["roles"].is_object()) return bad("no roles");
  for (const char* role : Repository::kRoles) {
    if (!c["roles"].contains(role)) return bad("a role is missing");
    const Json& r = c["roles"][role];
    if (!r.is_object() || !r.contains("keys") || !r["keys"].is_array() || r["keys"].empty() ||
        !r.contains("threshold") || !r["threshold"].is_number_unsigned() ||
        !r.contains("expires_days") || !r["expires_days"].is_number_integer()) {
      return bad("a role needs keys, threshold and expires_days");
    }
    for (const auto& k : r["keys"]) {
      if (!k.is_string()) return bad("key references must be strings");
    }
    if (r["threshold"].get<std::uint64_t>() < 1 ||
        r["threshold"].get<std::uint64_t>() > r["keys"].size()) {
      return bad("a threshold must be between 1 and the number of keys");
    }
  }
  return {};
}

fs::path key_path(const fs::path& dir, const std::string& ref) {
  return dir / "keys" / ref;
}

// Opens the signer a key reference names: a file under keys/, or a PKCS#11 URI.
Result<std::unique_ptr<crypto::Signer>> open_key(const fs::path& dir, const std::string& ref) {
  if (ref.starts_with("pkcs11:")) return crypto::open_signer(ref);
  return crypto::open_signer(key_path(dir, ref).string());
}

// Generates `count` keys for `role` under keys/ and returns their references.
Result<std::vector<std::string>> generate_keys(const fs::path& dir, const std::string& role,
                                               crypto::KeyType type, std::uint64_t count) {
  std::vector<std::string> refs;
  for (std::uint64_t i = 0; i < count; ++i) {
    auto key = crypto::PrivateKey::generate(type);
    if (!key) return std::unexpected(key.error());
    const std::string ref = role + "-" + tuf_keyid(key->public_key()).substr(0, 16) + ".pem";
    if (auto ok = key->save(key_path(dir, ref)); !ok) return std::unexpected(ok.error());
    refs.push_back(ref);
  }
  return refs;
}

}  // namespace

namespace detail {

Result<std::string> canonical(const Json& value) {
  auto c = canonical_json(value);
  if (!c) return std::unexpected(from_tuf(c.error()));
  return *c;
}

Bytes to_bytes(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

// Parses JSON without exceptions; kMalformed with `what` when it does not parse.
Result<Json> parse_json(ByteView bytes, const std::string& what) {
  Json j = Json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::kMalformed, what, " is not valid JSON");
  return j;
}

Result<Json> read_json(const fs::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return std::unexpected(bytes.error());
  return parse_json(*bytes, path.string());
}

Result<void> write_bytes(const fs::path& path, ByteView bytes, mode_t mode) {
  return write_file_atomic(path, bytes, WriteOptions{.mode = mode});
}

Result<void> make_dir(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create ", path.string(), ": ", ec.message());
  return {};
}

// {"signed": ..., "signatures": [...]}: every signer signs the canonical form of `signed_part`.
Result<Bytes> sign_envelope(const Json& signed_part,
                            const std::vector<std::unique_ptr<crypto::Signer>>& signers) {
  auto text = canonical(signed_part);
  if (!text) return std::unexpected(text.error());
  Json sigs = Json::array();
  std::set<std::string> seen;
  for (const auto& signer : signers) {
    const std::string keyid = tuf_keyid(signer->public_key());
    if (!seen.insert(keyid).second) continue;  // the spec wants keyids unique in signatures
    auto sig = signer->sign(as_bytes(*text));
    if (!sig) return std::unexpected(sig.error());
    sigs.push_back({{"keyid", keyid}, {"sig", to_hex(*sig)}});
  }
  return to_bytes(Json{{"signed", signed_part}, {"signatures", sigs}}.dump(1) + "\n");
}

Result<std::optional<Envelope>> load_envelope(const fs::path& path, const std::string& role) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<Envelope>{};
  auto bytes = read_file(path);
  if (!bytes) return std::unexpected(bytes.error());
  TufResult<void> ok;
  if (role == "root") {
    if (auto r = parse_root(*bytes); !r) ok = std::unexpected(r.error());
  } else if (role == "timestamp") {
    if (auto r = parse_timestamp(*bytes); !r) ok = std::unexpected(r.error());
  } else if (role == "snapshot") {
    if (auto r = parse_snapshot(*bytes); !r) ok = std::unexpected(r.error());
  } else {
    if (auto r = parse_targets(*bytes); !r) ok = std::unexpected(r.error());
  }
  if (!ok) return fail(ErrorCode::kMalformed, path.string(), ": ", describe(ok.error()));
  auto doc = parse_json(*bytes, path.string());
  if (!doc) return std::unexpected(doc.error());
  return std::optional<Envelope>(Envelope{std::move(*doc), std::move(*bytes)});
}

Json meta_entry(std::uint64_t version, ByteView bytes) {
  return {{"version", version},
          {"length", bytes.size()},
          {"hashes", {{"sha256", to_hex(crypto::sha256(bytes))}}}};
}

std::set<std::string> role_keyids(const Json& root, const std::string& role) {
  std::set<std::string> ids;
  for (const auto& k : root["roles"][role]["keyids"]) ids.insert(k.get<std::string>());
  return ids;
}

Result<std::vector<std::unique_ptr<crypto::Signer>>> open_role_signers(const fs::path& dir,
                                                                       const Json& config,
                                                                       const std::string& role) {
  std::vector<std::unique_ptr<crypto::Signer>> signers;
  for (const auto& ref : config["roles"][role]["keys"]) {
    auto s = open_key(dir, ref.get<std::string>());
    if (!s) return std::unexpected(s.error());
    signers.push_back(std::move(*s));
  }
  return signers;
}

Json common_part(const char* type, std::uint64_t version, std::int64_t expires) {
  return {{"_type", type},
          {"spec_version", kSpecVersion},
          {"version", version},
          {"expires", format_utc_time(expires)}};
}

}  // namespace detail

Json tuf_key(const crypto::PublicKey& key) {
  if (key.type() == crypto::KeyType::kEd25519) {
    return {
        {"keytype", "ed25519"}, {"scheme", "ed25519"}, {"keyval", {{"public", to_hex(key.raw())}}}};
  }
  return {{"keytype", "ecdsa"},
          {"scheme", "ecdsa-sha2-nistp256"},
          {"keyval", {{"public", key.to_pem()}}}};
}

std::string tuf_keyid(const crypto::PublicKey& key) {
  // A key JSON has only strings: canonical_json cannot fail on it.
  return to_hex(crypto::sha256(as_bytes(canonical_json(tuf_key(key)).value_or(""))));
}

Result<Repository> Repository::init(const fs::path& dir, const RepositoryOptions& options,
                                    Clock clock) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return fail(ErrorCode::kInvalidArgument, dir.string(),
                " exists and is not empty; refusing to initialise a repository over it");
  }
  for (const auto* map : {&options.keys, &options.thresholds}) {
    for (const auto& [role, n] : *map) {
      if (!is_top_level_role(role))
        return fail(ErrorCode::kInvalidArgument, "unknown role '", role, "'");
      if (n < 1 || n > 16) return fail(ErrorCode::kInvalidArgument, "role ", role, ": 1..16 keys");
    }
  }
  for (const auto& [role, days] : options.expires_days) {
    if (!is_top_level_role(role))
      return fail(ErrorCode::kInvalidArgument, "unknown role '", role, "'");
    if (days < 0 || days > 36500) {
      return fail(ErrorCode::kInvalidArgument, "role ", role, ": expiry 0..36500 days");
    }
  }
  if (auto ok = make_dir(dir / "keys"); !ok) return std::unexpected(ok.error());
  fs::permissions(dir / "keys", fs::perms::owner_all, ec);
  for (const char* sub : {"metadata", "targets"}) {
    if (auto ok = make_dir(dir / sub); !ok) return std::unexpected(ok.error());
  }
  if (options.kind == RepositoryKind::kDirector) {
    if (auto ok = make_dir(dir / "devices"); !ok) return std::unexpected(ok.error());
  }

  Json config = {{"ironseal_repository", 1},
                 {"kind", options.kind == RepositoryKind::kImage ? "image" : "director"},
                 {"key_type", std::string(crypto::key_type_name(options.key_type))},
                 {"consistent_snapshot", true},
                 {"roles", Json::object()}};
  for (const char* role : kRoles) {
    auto get = [&](const auto& map, auto fallback) {
      auto it = map.find(role);
      return it == map.end() ? fallback : it->second;
    };
    const std::uint64_t threshold = get(options.thresholds, std::uint64_t{1});
    const std::uint64_t count = std::max(get(options.keys, std::uint64_t{1}), threshold);
    auto refs = generate_keys(dir, role, options.key_type, count);
    if (!refs) return std::unexpected(refs.error());
    config["roles"][role] = {
        {"keys", *refs},
        {"threshold", threshold},
        {"expires_days", get(options.expires_days, default_expiry_days(role))}};
  }
  Repository repo(dir, options.kind, std::move(config), std::move(clock));
  if (auto ok = repo.save_config(); !ok) return std::unexpected(ok.error());
  auto root = repo.build_root(1);
  if (!root) return std::unexpected(root.error());
  if (auto ok = repo.write_root(*root, {}); !ok) return std::unexpected(ok.error());
  if (options.kind == RepositoryKind::kImage) {
    if (auto ok = repo.publish_chain(repo.metadata_dir(), Json::object()); !ok) {
      return std::unexpected(ok.error());
    }
  }
  return repo;
}

Result<Repository> Repository::open(const fs::path& dir, Clock clock) {
  auto config = read_json(dir / kConfigName);
  if (!config) {
    if (config.error().code == ErrorCode::kNotFound || config.error().code == ErrorCode::kIo) {
      return fail(ErrorCode::kNotFound, dir.string(), " is not an ironseal repository (no ",
                  kConfigName, ")");
    }
    return std::unexpected(config.error());
  }
  if (auto ok = check_config(*config, dir / kConfigName); !ok) return std::unexpected(ok.error());
  const std::string kind = (*config)["kind"].get<std::string>();
  if (kind != "image" && kind != "director") {
    return fail(ErrorCode::kMalformed, dir.string(), ": unknown repository kind '", kind, "'");
  }
  return Repository(dir, kind == "image" ? RepositoryKind::kImage : RepositoryKind::kDirector,
                    std::move(*config), std::move(clock));
}

Result<void> Repository::save_config() const {
  return write_bytes(dir_ / kConfigName, to_bytes(config_.dump(2) + "\n"));
}

std::int64_t Repository::expires_days(const std::string& role) const {
  return config_["roles"][role]["expires_days"].get<std::int64_t>();
}

Result<Json> Repository::build_root(std::uint64_t version) const {
  Json root = common_part("root", version, clock_() + expires_days("root") * kDay);
  root["consistent_snapshot"] = true;
  root["keys"] = Json::object();
  root["roles"] = Json::object();
  for (const char* role : kRoles) {
    auto signers = open_role_signers(dir_, config_, role);
    if (!signers) return std::unexpected(signers.error());
    Json keyids = Json::array();
    for (const auto& s : *signers) {
      const std::string id = tuf_keyid(s->public_key());
      root["keys"][id] = tuf_key(s->public_key());
      keyids.push_back(id);
    }
    root["roles"][role] = {{"keyids", keyids}, {"threshold", config_["roles"][role]["threshold"]}};
  }
  return root;
}

// Signs with the configured root keys plus `extra_key_refs` (the outgoing root keys during a
// root rotation), then writes N.root.json and root.json.
Result<void> Repository::write_root(const Json& signed_root,
                                    const std::vector<std::string>& extra_key_refs) const {
  std::vector<std::unique_ptr<crypto::Signer>> signers;
  for (const auto& ref : extra_key_refs) {
    auto s = open_key(dir_, ref);
    if (!s) return std::unexpected(s.error());
    signers.push_back(std::move(*s));
  }
  auto own = open_role_signers(dir_, config_, "root");
  if (!own) return std::unexpected(own.error());
  for (auto& s : *own) signers.push_back(std::move(s));
  auto bytes = sign_envelope(signed_root, signers);
  if (!bytes) return std::unexpected(bytes.error());
  const std::uint64_t version = signed_root["version"].get<std::uint64_t>();
  if (auto ok = write_bytes(metadata_dir() / (std::to_string(version) + ".root.json"), *bytes);
      !ok) {
    return ok;
  }
  return write_bytes(metadata_dir() / "root.json", *bytes);
}

Result<Json> Repository::root() const {
  auto root = load_envelope(metadata_dir() / "root.json", "root");
  if (!root) return std::unexpected(root.error());
  if (!*root) return fail(ErrorCode::kNotFound, dir_.string(), ": no metadata/root.json");
  return (*root)->signed_part();
}

Result<std::vector<ChainReport>> Repository::rotate(const std::string& role,
                                                    std::uint64_t key_count,
                                                    std::uint64_t threshold,
                                                    const std::vector<std::string>& hsm_keys) {
  if (!is_top_level_role(role))
    return fail(ErrorCode::kInvalidArgument, "unknown role '", role, "'");
  for (const auto& ref : hsm_keys) {
    if (!ref.starts_with("pkcs11:")) {
      return fail(ErrorCode::kInvalidArgument, "--key takes a PKCS#11 URI (pkcs11:...), not '", ref,
                  "'");
    }
    if (auto s = open_key(dir_, ref); !s) return std::unexpected(s.error());  // fail early
  }
  if (!hsm_keys.empty()) {
    if (threshold > hsm_keys.size()) {
      return fail(ErrorCode::kInvalidArgument, "threshold ", std::to_string(threshold),
                  " is more than the ", std::to_string(hsm_keys.size()), " --key given");
    }
    key_count = hsm_keys.size();
  }
  if (key_count == 0) key_count = config_["roles"][role]["keys"].size();
  if (threshold == 0)
    threshold = std::min<std::uint64_t>(config_["roles"][role]["threshold"].get<std::uint64_t>(),
                                        key_count);
  key_count = std::max(key_count, threshold);
  if (key_count > 16) return fail(ErrorCode::kInvalidArgument, "at most 16 keys per role");
  auto type = crypto::parse_key_type(config_["key_type"].get<std::string>());
  if (!type) return std::unexpected(type.error());
  auto old_root = root();
  if (!old_root) return std::unexpected(old_root.error());

  std::vector<std::string> old_refs;
  for (const auto& r : config_["roles"][role]["keys"]) old_refs.push_back(r.get<std::string>());
  auto new_refs = hsm_keys.empty() ? generate_keys(dir_, role, *type, key_count)
                                   : Result<std::vector<std::string>>(hsm_keys);
  if (!new_refs) return std::unexpected(new_refs.error());
  config_["roles"][role]["keys"] = *new_refs;
  config_["roles"][role]["threshold"] = threshold;

  auto new_root = build_root((*old_root)["version"].get<std::uint64_t>() + 1);
  if (!new_root) return std::unexpected(new_root.error());
  // Root: the outgoing keys sign too (the client checks N+1 against root N's keys and threshold);
  // every outgoing key signs, which meets any threshold they had.
  const std::vector<std::string> extra = role == "root" ? old_refs : std::vector<std::string>{};
  if (auto ok = write_root(*new_root, extra); !ok) return std::unexpected(ok.error());
  if (auto ok = save_config(); !ok) return std::unexpected(ok.error());

  // Old key files are kept, out of the way, in keys/retired/ (0700).
  if (auto ok = make_dir(dir_ / "keys" / "retired"); !ok) return std::unexpected(ok.error());
  std::error_code ec;
  fs::permissions(dir_ / "keys" / "retired", fs::perms::owner_all, ec);
  for (const auto& ref : old_refs) {
    if (ref.starts_with("pkcs11:")) continue;
    fs::rename(key_path(dir_, ref), dir_ / "keys" / "retired" / fs::path(ref).filename(), ec);
    if (ec) return fail(ErrorCode::kIo, "cannot retire key ", ref, ": ", ec.message());
  }

  // Re-sign every chain: the rotated role no longer matches its signatures, and the roles below
  // it follow because what they point at changed. Each chain keeps its published targets.
  std::vector<ChainReport> reports;
  for (const auto& mdir : chain_dirs()) {
    auto targets = chain_role(mdir, "targets");
    if (!targets) return std::unexpected(targets.error());
    auto report = publish_chain(mdir, targets->is_null() ? Json::object() : (*targets)["targets"]);
    if (!report) return std::unexpected(report.error());
    reports.push_back(*report);
  }
  return reports;
}

Result<Json> Repository::describe() const {
  auto root = this->root();
  if (!root) return std::unexpected(root.error());
  Json out = {{"directory", dir_.string()},
              {"kind", config_["kind"]},
              {"key_type", config_["key_type"]},
              {"consistent_snapshot", (*root)["consistent_snapshot"]},
              {"roles", Json::object()}};
  for (const char* role : kRoles) {
    Json r = {{"keyids", (*root)["roles"][role]["keyids"]},
              {"threshold", (*root)["roles"][role]["threshold"]},
              {"key_files", config_["roles"][role]["keys"]},
              {"expires_days", config_["roles"][role]["expires_days"]}};
    if (std::string(role) == "root") {
      r["version"] = (*root)["version"];
      r["expires"] = (*root)["expires"];
    }
    out["roles"][role] = r;
  }
  if (kind_ == RepositoryKind::kImage) {
    for (const char* role : {"targets", "snapshot", "timestamp"}) {
      auto part = chain_role(metadata_dir(), role);
      if (!part) return std::unexpected(part.error());
      if (part->is_null()) continue;
      out["roles"][role]["version"] = (*part)["version"];
      out["roles"][role]["expires"] = (*part)["expires"];
    }
    auto published = chain_role(metadata_dir(), "targets");
    if (!published) return std::unexpected(published.error());
    Json list = Json::array();
    if (!published->is_null()) {
      for (const auto& [name, entry] : (*published)["targets"].items()) {
        Json t = {
            {"name", name}, {"length", entry["length"]}, {"sha256", entry["hashes"]["sha256"]}};
        if (entry.contains("custom") && entry["custom"].is_object()) {
          const Json& c = entry["custom"];
          if (c.contains("hardware_id")) t["hardware_id"] = c["hardware_id"];
          if (c.contains("ironseal") && c["ironseal"].is_object()) {
            const Json& i = c["ironseal"];
            if (i.contains("version")) t["version"] = i["version"];
            if (i.contains("security_counter")) t["security_counter"] = i["security_counter"];
            if (i.contains("chunk_index_of")) t["chunk_index_of"] = i["chunk_index_of"];
            if (i.contains("sbom_of")) t["sbom_of"] = i["sbom_of"];
            if (i.contains("sbom")) t["sbom"] = i["sbom"]["target"];
          }
        }
        list.push_back(t);
      }
    }
    out["targets"] = list;
    auto staged = staged_targets();
    if (!staged) return std::unexpected(staged.error());
    Json pending = Json::array();
    const Json empty = Json::object();
    const Json& current = published->is_null() ? empty : (*published)["targets"];
    for (const auto& [name, entry] : staged->items()) {
      if (!current.contains(name) || current[name] != entry) pending.push_back(name);
    }
    for (const auto& [name, entry] : current.items()) {
      if (!staged->contains(name)) pending.push_back(name);
    }
    out["staged_changes"] = pending;
  }
  return out;
}

}  // namespace ironseal::repo
