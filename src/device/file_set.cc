#include "device/file_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

#include "core/file.h"
#include "crypto/hash.h"

namespace ironseal::boot {
namespace {

namespace fs = std::filesystem;

constexpr const char* kJournal = "restore.journal";
constexpr const char* kStaging = ".restore";
constexpr std::string_view kJournalMagic = "ironseal-restore-journal-1";

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

// One change of a committed journal. Text, one per line (tab-separated, the path last):
//   put <sha256 hex> <staged name> <path>      delete <path>
struct Op {
  bool remove = false;
  std::string sha256, staged, path;
};

std::string journal_text(const std::vector<Op>& ops) {
  std::string out = std::string(kJournalMagic) + "\n";
  for (const Op& op : ops) {
    out += op.remove ? "delete\t" + op.path : "put\t" + op.sha256 + "\t" + op.staged + "\t" + op.path;
    out += "\n";
  }
  return out;
}

// Step 3 and 4 for a committed journal; `faults` may cut before each operation.
Result<void> roll_forward(const fs::path& dir, const std::vector<Op>& ops, FaultInjector* faults) {
  bool torn = false;
  for (const Op& op : ops) {
    if (!allowed(faults, &torn)) return power_cut("changing " + op.path);
    if (op.remove) {
      std::error_code ec;
      fs::remove(dir / op.path, ec);
      if (ec) return fail(ErrorCode::kIo, "cannot remove ", (dir / op.path).string(), ": ", ec.message());
      continue;
    }
    const fs::path staged = dir / op.staged;
    if (fs::exists(staged)) {
      auto r = rename_into_place(dir, staged, op.path);
      if (!r) return r;
      continue;
    }
    // Moved by an earlier, interrupted roll-forward: the path must hold what the journal names.
    auto now = read_file(dir / op.path);
    if (!now || to_hex(crypto::sha256(*now)) != op.sha256) {
      return fail_because(ErrorCode::kNotTrusted, "restore_journal_inconsistent", op.path,
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

Result<std::vector<Op>> read_journal(const fs::path& dir) {
  auto bytes = read_file(dir / kJournal, 16 << 20);
  if (!bytes) return std::unexpected(bytes.error());
  const std::string text(bytes->begin(), bytes->end());
  std::vector<Op> ops;
  bool ok = text.starts_with(std::string(kJournalMagic) + "\n") && text.ends_with("\n");
  std::size_t pos = ok ? std::string_view(kJournalMagic).size() + 1 : text.size();
  while (ok && pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    std::vector<std::string> f;
    for (std::size_t at = pos; at <= end;) {
      const std::size_t tab = std::min(text.find('\t', at), end);
      f.push_back(text.substr(at, tab - at));
      at = tab + 1;
    }
    if (f.size() == 2 && f[0] == "delete" && !f[1].empty()) {
      ops.push_back({true, "", "", f[1]});
    } else if (f.size() == 4 && f[0] == "put" && f[1].size() == 64 && !f[3].empty()) {
      ops.push_back({false, f[1], f[2], f[3]});
    } else {
      ok = false;
    }
    pos = end + 1;
  }
  // The journal is written atomically, so a damaged one was damaged after it was committed.
  if (!ok) {
    return fail_because(ErrorCode::kNotTrusted, "restore_journal_inconsistent",
                        (dir / kJournal).string(), " is not a restore journal");
  }
  return ops;
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
  std::vector<Op> ops;
  bool torn = false;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const FileChange& c = changes[i];
    if (c.path.empty() || c.path.find_first_of("\t\n") != std::string::npos) {
      return fail(ErrorCode::kInvalidArgument, "a restored path may not be empty or hold a tab or newline");
    }
    if (c.remove) {
      ops.push_back({true, "", "", c.path});
      continue;
    }
    const std::string staged = std::string(kStaging) + "/" + std::to_string(i);
    if (!allowed(faults, &torn)) {
      if (torn) write_torn(dir / staged, c.content);
      return power_cut("staging " + c.path);
    }
    if (auto w = write_file_atomic(dir / staged, c.content, {c.mode, false}); !w) return w;
    ops.push_back({false, to_hex(crypto::sha256(c.content)), staged, c.path});
  }
  const std::string journal = journal_text(ops);
  if (!allowed(faults, &torn)) {
    if (torn) write_torn(dir / (std::string(kJournal) + ".tmp"), as_bytes(journal));
    return power_cut("committing the restore journal");
  }
  if (auto w = write_file_atomic(dir / kJournal, as_bytes(journal), {0600, false}); !w) return w;
  return roll_forward(dir, ops, faults);
}

}  // namespace ironseal::boot
