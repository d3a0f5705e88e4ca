#include "fleet/server_backup.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "fleet/config.h"
#include "pki/certificate.h"
#include "sql/sqlite.h"

namespace ironseal::fleet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kSqliteMagic[] = "SQLite format 3";

// The files and directories the configuration names, as written in it.
std::vector<std::string> named_paths(const Json& j) {
  std::vector<std::string> out;
  auto add = [&](const Json& v) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  };
  auto add_all = [&](const char* key) {
    if (j.contains(key) && j[key].is_array()) {
      for (const Json& v : j[key]) add(v);
    }
  };
  if (j.contains("tls") && j["tls"].is_object()) {
    for (const char* k : {"certificate_chain", "private_key"}) {
      if (j["tls"].contains(k)) add(j["tls"][k]);
    }
  }
  add_all("device_ca");
  add_all("enrol_ca");
  add_all("crl");
  for (const char* k : {"database", "repository", "est_ca"}) {
    if (j.contains(k)) add(j[k]);
  }
  if (j.contains("audit") && j["audit"].is_object()) {
    if (j["audit"].contains("dir")) add(j["audit"]["dir"]);
    if (j["audit"].contains("key") && j["audit"]["key"].is_string() &&
        !j["audit"]["key"].get<std::string>().starts_with("pkcs11:")) {
      add(j["audit"]["key"]);
    }
  }
  if (!j.contains("database")) out.push_back("fleet.db");  // the default
  return out;
}

bool is_sqlite(const fs::path& p) {
  auto file = ReadOnlyFile::open(p);
  if (!file) return false;
  std::uint8_t magic[16] = {};
  return file->size() >= sizeof magic && file->read_at(0, magic) &&
         std::memcmp(magic, kSqliteMagic, sizeof kSqliteMagic) == 0;
}

// The bytes of one file; an SQLite database through the online backup API.
Result<Bytes> take(const fs::path& p, bool* database) {
  *database = is_sqlite(p);
  if (!*database) return read_file(p);
  char pattern[] = "/tmp/ironseal-backup-XXXXXX";
  if (!::mkdtemp(pattern)) return fail(ErrorCode::kIo, "cannot create a temporary directory");
  const fs::path tmp = fs::path(pattern) / "snapshot.sqlite";
  auto snapshot = [&]() -> Result<Bytes> {
    auto db = sql::Database::open(p, false);
    if (!db) return std::unexpected(db.error());
    if (auto s = db->snapshot_to(tmp); !s) return std::unexpected(s.error());
    return read_file(tmp);
  };
  auto out = snapshot();
  std::error_code ec;
  fs::remove_all(pattern, ec);  // the snapshot holds the whole store: never left behind
  return out;
}

Result<std::string> relative_entry(const fs::path& base, const fs::path& p) {
  const fs::path rel = fs::weakly_canonical(p).lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") {
    return fail_because(ErrorCode::kInvalidArgument, "path_outside_config_dir", p.string(),
                        " is not under the configuration's directory ", base.string(),
                        " (a server backup keeps the documented layout; move it there)");
  }
  if (auto ok = backup::check_entry_path(rel.string()); !ok) return std::unexpected(ok.error());
  return rel.string();
}

// SQLite's side files (the snapshot replaces them), temporary files, and a CA directory's offline
// root key, which belongs on offline storage and never in an online backup.
bool skipped(const fs::path& base, const fs::path& p) {
  for (const auto& part : fs::weakly_canonical(p).lexically_relative(base)) {
    if (part == "offline") return true;
  }
  const std::string name = p.filename().string();
  return name.ends_with("-wal") || name.ends_with("-shm") || name.ends_with("-journal") ||
         name.find(".tmp") != std::string::npos;
}

}  // namespace

Result<ServerBackup> create_server_backup(const fs::path& config,
                                          const std::vector<crypto::SealRecipient>& recipients,
                                          const std::string& created) {
  auto parsed = load_config(config);
  if (!parsed) return fail_in(parsed.error(), "the server's configuration: ");
  auto text = read_file(config, 1 << 20);
  if (!text) return std::unexpected(text.error());
  const Json j = Json::parse(text->begin(), text->end(), nullptr, false);
  const fs::path base = fs::weakly_canonical(fs::absolute(config)).parent_path();
  auto config_entry = relative_entry(base, fs::absolute(config));
  if (!config_entry) return std::unexpected(config_entry.error());

  backup::Contents contents;
  ServerBackup out;
  Json databases = Json::array();
  std::vector<std::string> seen;
  auto add_file = [&](const fs::path& p) -> Result<void> {
    auto rel = relative_entry(base, p);
    if (!rel) return std::unexpected(rel.error());
    if (std::find(seen.begin(), seen.end(), *rel) != seen.end()) return {};
    seen.push_back(*rel);
    bool database = false;
    auto bytes = take(p, &database);
    if (!bytes) return fail_in(bytes.error(), p.string(), ": ");
    if (database) databases.push_back(*rel);
    out.plain_bytes += bytes->size();
    contents.entries.push_back({*rel, std::move(*bytes), std::nullopt});
    return {};
  };
  if (auto r = add_file(fs::absolute(config)); !r) return std::unexpected(r.error());
  std::error_code ec;
  for (const std::string& named : named_paths(j)) {
    const fs::path p = fs::path(named).is_absolute() ? fs::path(named) : base / named;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        if (it->is_regular_file() && !skipped(base, it->path())) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        if (auto r = add_file(f); !r) return std::unexpected(r.error());
      }
    } else if (fs::is_regular_file(p, ec)) {
      if (auto r = add_file(p); !r) return std::unexpected(r.error());
    }
  }
  const fs::path tls_key = base / j["tls"]["private_key"].get<std::string>();
  const fs::path tls_chain = base / j["tls"]["certificate_chain"].get<std::string>();
  auto key = pki::KeyPair::load(tls_key);
  if (!key) return fail_in(key.error(), "the server's TLS key (it signs the backup): ");
  auto chain = pki::Certificate::load_all(tls_chain);
  if (!chain) return std::unexpected(chain.error());
  const pki::Certificate leaf = chain->front();
  chain->erase(chain->begin());

  backup::Header h;
  h.kind = "server";
  h.created = created;
  h.subject = {{"certificate_subject", leaf.subject()}, {"dns", leaf.dns_names()}};
  contents.manifest = {{"server", h.subject}, {"config", *config_entry}, {"databases", databases}};
  out.files = contents.entries.size();
  out.databases = databases.size();
  auto archive = backup::seal_archive(h, contents, recipients, *key, leaf, *chain);
  for (auto& e : contents.entries) std::fill(e.content.begin(), e.content.end(), 0);
  if (!archive) return std::unexpected(archive.error());
  out.archive = std::move(*archive);
  return out;
}

Result<ServerRestoreOutcome> restore_server_backup(const backup::Archive& archive,
                                                   const crypto::SealPrivateKey& key,
                                                   const fs::path& into,
                                                   const ServerRestoreOptions& options) {
  std::error_code ec;
  if (fs::exists(into, ec) && !fs::is_empty(into, ec)) {
    return fail_because(ErrorCode::kConflict, "not_empty", into.string(),
                        " is not empty: a server restore goes onto a fresh directory only");
  }
  auto signer = backup::verify_signer_of(archive, "server", options.trust, options.now);
  if (!signer) return std::unexpected(signer.error());
  auto contents = backup::open_archive(archive, key);
  if (!contents) return std::unexpected(contents.error());
  const Json& m = contents->manifest;
  if (!m.contains("config") || !m["config"].is_string() || !m.contains("server") ||
      m["server"] != archive.header.subject) {
    return fail_because(ErrorCode::kNotTrusted, "manifest_mismatch",
                        "the encrypted manifest does not match the signed header");
  }
  fs::create_directories(into, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create ", into.string(), ": ", ec.message());
  fs::permissions(into, fs::perms::owner_all, ec);
  for (const auto& e : contents->entries) {
    const fs::path p = into / e.path;
    fs::create_directories(p.parent_path(), ec);
    for (fs::path d = p.parent_path(); d != into && !d.empty(); d = d.parent_path()) {
      fs::permissions(d, fs::perms::owner_all, ec);
    }
    if (auto w = write_file_atomic(p, e.content, {0600, true}); !w) return std::unexpected(w.error());
  }
  return ServerRestoreOutcome{into / m["config"].get<std::string>(), contents->entries.size(),
                              signer->subject};
}

}  // namespace ironseal::fleet
