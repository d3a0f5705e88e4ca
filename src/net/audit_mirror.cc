// Copying a server's audit trail page by page (audit_mirror.h).
#include "net/audit_mirror.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "core/bytes.h"
#include "core/file.h"

namespace ironseal::net {
namespace fs = std::filesystem;
namespace {

bool segment_name_ok(const std::string& name) {
  if (name.size() != 28 || !name.starts_with("audit-") || !name.ends_with(".jsonl")) return false;
  for (std::size_t i = 6; i < 22; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

Result<void> append_to(const fs::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "open ", path.string(), ": ", std::strerror(errno));
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return fail(ErrorCode::kIo, "write ", path.string(), ": ", std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
  return {};
}

// The lines of `piece` (its '\n's kept) that `have` lines of its segment do not hold yet.
Result<std::string_view> new_lines(const AuditLines::Piece& piece, std::string_view text,
                                   std::uint64_t have) {
  if (piece.first_line == 0 || piece.first_line > have + 1) {
    return fail(ErrorCode::kMalformed, "the server's audit pages do not join: ", piece.segment,
                " continues at line ", std::to_string(piece.first_line), " after line ",
                std::to_string(have));
  }
  std::uint64_t skip = have + 1 - piece.first_line;  // lines sent again (a page after a line
  while (skip > 0 && !text.empty()) {                // that names no "seq" overlaps the one before)
    const auto newline = text.find('\n');
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    --skip;
  }
  return text;
}

}  // namespace

Result<AuditMirrorReport> mirror_audit_trail(OperatorClient& client, const fs::path& dir,
                                             std::size_t page_lines) {
  AuditMirrorReport report;
  auto checkpoint = client.audit_checkpoint();
  if (!checkpoint) return std::unexpected(checkpoint.error());
  if (*checkpoint) {
    report.checkpoint = true;
    if (auto ok =
            write_file_atomic(dir / "checkpoint.json", as_bytes(**checkpoint), {.mode = 0600});
        !ok) {
      return std::unexpected(ok.error());
    }
  }
  std::map<std::string, std::uint64_t> lines_of;  // segment -> lines copied
  std::uint64_t after = 0;
  for (;;) {
    auto page = client.audit_lines(after, page_lines);
    if (!page) return std::unexpected(page.error());
    ++report.pages;
    std::string_view text = page->text;
    for (const auto& piece : page->pieces) {
      if (!segment_name_ok(piece.segment)) {
        return fail(ErrorCode::kMalformed, "the server named an audit segment '", piece.segment,
                    "' (expected audit-<16 digits>.jsonl)");
      }
      std::uint64_t& have = lines_of[piece.segment];
      auto fresh = new_lines(piece, text.substr(0, piece.bytes), have);
      if (!fresh) return std::unexpected(fresh.error());
      if (auto ok = append_to(dir / piece.segment, *fresh); !ok) return std::unexpected(ok.error());
      const std::uint64_t now = std::max(have, piece.first_line + piece.lines - 1);
      report.lines += now - have;
      have = now;
      text.remove_prefix(piece.bytes);
    }
    if (!page->more) break;
    if (page->next_after_seq <= after) {
      // A line without a sequence number ends what paging by sequence number can reach; it is
      // malformed, so verification stops there whatever follows.
      report.complete = false;
      break;
    }
    after = page->next_after_seq;
  }
  return report;
}

}  // namespace ironseal::net
