#include "device/file_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "crypto/hash.h"

namespace ironseal::boot {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kJournal = "restore.journal";
constexpr const char* kStaging = ".restore";

std::unexpected<Error> power_cut(std::string_view at) {
  return std::unexpected(
      make_error(ErrorCode::kIo, "power_cut", "simulated power cut before " + std::string(at)));
}

// One write the fault injector may cut: true to go on; false when power is gone. `torn` is set
// when the injector asks for a torn write of this operation.
bool allowed(FaultInjector* faults, bool* torn) {
  *torn = false;
  if (!faults) return true;
  switch (faults->next()) {
    case FaultInjector::Verdict::kPerform: return true;
    case FaultInjector::Verdict::kTear: *torn = true; return false;
    case FaultInjector::Verdict::kFail: return false;
  }
  return false;
}

Result<void> sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot open directory ", dir.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return fail(ErrorCode::kIo, "cannot fsync ", dir.string());
  return {};
}

// A torn write: the first half of `content` lands in `path`, unsynced, as a cut would leave it.
void write_torn(const fs::path& path, ByteView content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const std::size_t half = content.size() / 2;
  [[maybe_unused]] auto n = ::write(fd, content.data(), half);
  ::close(fd);
}

Result<void> rename_into_place(const fs::path& dir, const fs::path& from, const std::string& path) {
  const fs::path to = dir / path;
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create ", to.parent_path().string(), ": ", ec.message());
  fs::rename(from, to, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot move ", from.string(), " to ", to.string(), ": ", ec.message());
  return sync_dir(to.parent_path());
}

// Step 3 and 4 for a committed journal; `faults` may cut before each operation.
Result<void> roll_forward(const fs::path& dir, const Json& journal, FaultInjector* faults) {
  bool torn = false;
  for (const Json& op : journal["ops"]) {
    const std::string path = op["path"].get<std::string>();
    if (!allowed(faults, &torn)) return power_cut("changing " + path);
    if (op["op"] == "delete") {
      std::error_code ec;
      fs::remove(dir / path, ec);
      if (ec) return fail(ErrorCode::kIo, "cannot remove ", (dir / path).string(), ": ", ec.message());
      continue;
    }
    const fs::path staged = dir / op["staged"].get<std::string>();
    if (fs::exists(staged)) {
      auto r = rename_into_place(dir, staged, path);
      if (!r) return r;
      continue;
    }
    // Moved by an earlier, interrupted roll-forward: the path must hold what the journal names.
    auto now = read_file(dir / path);
    if (!now || to_hex(crypto::sha256(*now)) != op["sha256"].get<std::string>()) {
      return fail_because(ErrorCode::kNotTrusted, "restore_journal_inconsistent", path,
                          ": neither staged nor holding the content the restore journal names");
    }
  }
  if (!allowed(faults, &torn)) return power_cut("removing the restore journal");
  std::error_code ec;
  fs::remove(dir / kJournal, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot remove the restore journal: ", ec.message());
  if (auto s = sync_dir(dir); !s) return s;
  fs::remove_all(dir / kStaging, ec);
  return {};
}

Result<Json> read_journal(const fs::path& dir) {
  auto bytes = read_file(dir / kJournal, 16 << 20);
  if (!bytes) return std::unexpected(bytes.error());
  Json j = Json::parse(bytes->begin(), bytes->end(), nullptr, false);
  bool ok = j.is_object() && j.contains("ops") && j["ops"].is_array();
  for (const Json& op : ok ? j["ops"] : Json::array()) {
    ok = ok && op.is_object() && op.contains("op") && op.contains("path") &&
         op["path"].is_string() &&
         (op["op"] == "delete" || (op["op"] == "put" && op.contains("staged") &&
                                   op["staged"].is_string() && op.contains("sha256") &&
                                   op["sha256"].is_string()));
  }
  // The journal is written atomically, so a damaged one was damaged after it was committed.
  if (!ok) {
    return fail_because(ErrorCode::kNotTrusted, "restore_journal_inconsistent", (dir / kJournal).string(),
                        " is not a restore journal");
  }
  return j;
}

}  // namespace

Result<bool> recover_file_set(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / kJournal, ec)) {
    auto journal = read_journal(dir);
    if (!journal) return std::unexpected(journal.error());
    if (auto r = roll_forward(dir, *journal, nullptr); !r) return std::unexpected(r.error());
    return true;
  }
  fs::remove(dir / (std::string(kJournal) + ".tmp"), ec);
  if (fs::exists(dir / kStaging, ec)) fs::remove_all(dir / kStaging, ec);  // never committed
  return false;
}

Result<void> apply_file_set(const fs::path& dir, const std::vector<FileChange>& changes,
                            FaultInjector* faults) {
  if (auto r = recover_file_set(dir); !r) return std::unexpected(r.error());
  std::error_code ec;
  fs::create_directories(dir / kStaging, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create ", (dir / kStaging).string(), ": ", ec.message());
  Json ops = Json::array();
  bool torn = false;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const FileChange& c = changes[i];
    if (c.remove) {
      ops.push_back({{"op", "delete"}, {"path", c.path}});
      continue;
    }
    const std::string staged = std::string(kStaging) + "/" + std::to_string(i);
    if (!allowed(faults, &torn)) {
      if (torn) write_torn(dir / staged, c.content);
      return power_cut("staging " + c.path);
    }
    if (auto w = write_file_atomic(dir / staged, c.content, {c.mode, false}); !w) return w;
    ops.push_back({{"op", "put"},
                   {"path", c.path},
                   {"staged", staged},
                   {"sha256", to_hex(crypto::sha256(c.content))}});
  }
  const std::string journal = Json{{"ops", ops}}.dump();
  if (!allowed(faults, &torn)) {
    if (torn) write_torn(dir / (std::string(kJournal) + ".tmp"), as_bytes(journal));
    return power_cut("committing the restore journal");
  }
  if (auto w = write_file_atomic(dir / kJournal, as_bytes(journal), {0600, false}); !w) return w;
  return roll_forward(dir, Json{{"ops", ops}}, faults);
}

}  // namespace ironseal::boot
