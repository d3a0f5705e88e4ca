// Serving pages of an audit log (reader.h).
#include "audit/reader.h"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "audit/log.h"
#include "audit/record.h"
#include "core/file.h"

namespace ironseal::audit {
namespace fs = std::filesystem;
namespace {

// checkpoint.json is one small JSON object; anything larger is not what the log wrote.
constexpr std::uint64_t kMaxCheckpointBytes = 1 << 16;

struct Line {
  const std::string& segment;
  std::uint64_t number;
  std::string_view stored;  // with its '\n' when it has one
  std::string_view body;    // without
  std::optional<std::uint64_t> seq;
};

std::uint64_t first_seq_of(const fs::path& segment) {
  const std::string name = segment.filename().string();  // audit-SSSSSSSSSSSSSSSS.jsonl
  std::uint64_t v = 0;
  if (name.size() >= 22) std::from_chars(name.data() + 6, name.data() + 22, v);
  return v;
}

// The snapshot's prefix of one segment (less when the file was cut since).
Result<std::string> read_extent(const SegmentExtent& s) {
  auto file = ReadOnlyFile::open(s.path);
  if (!file) return std::unexpected(file.error());
  std::string text(std::min(s.size, file->size()), '\0');
  if (!file->read_at(0, {reinterpret_cast<std::uint8_t*>(text.data()), text.size()})) {
    return fail(ErrorCode::kIo, "read ", s.path.string());
  }
  return text;
}

// Calls `each` with every line from `from` on in `text`; false from it stops (returns false).
template <typename Each>
bool lines_of(std::string_view text, std::size_t from, std::uint64_t number, Each each) {
  while (from < text.size()) {
    const auto newline = text.find('\n', from);
    const std::size_t stop = newline == std::string_view::npos ? text.size() : newline + 1;
    std::string_view stored = text.substr(from, stop - from);
    std::string_view body = stored;
    if (body.ends_with('\n')) body.remove_suffix(1);
    from = stop;
    if (!each(++number, stored, body, from)) return false;
  }
  return true;
}

// Hands `take` the lines after `after_seq` (reader.h, "Positioning") until it refuses one. Returns
// whether lines are left (the one refused included).
template <typename Take>
Result<bool> scan(const LogSnapshot& log, std::uint64_t after_seq, Take take) {
  std::size_t first = 0;  // the segment that holds `after_seq` if the names tell the truth
  for (std::size_t i = 0; i < log.segments.size(); ++i) {
    if (first_seq_of(log.segments[i].path) <= after_seq) first = i;
  }
  bool positioned = after_seq == 0;
  for (std::size_t i = first; i < log.segments.size(); ++i) {
    auto text = read_extent(log.segments[i]);
    if (!text) return std::unexpected(text.error());
    const std::string name = log.segments[i].path.filename().string();
    std::size_t from = 0;
    std::uint64_t number = 0;
    if (!positioned) {  // right after the line that names after_seq, when this segment has it
      lines_of(*text, 0, 0,
               [&](std::uint64_t n, std::string_view, std::string_view body, std::size_t next) {
                 if (line_seq(body) != after_seq) return true;
                 positioned = true;
                 from = next;
                 number = n;
                 return false;
               });
    }
    bool refused = false;
    lines_of(*text, from, number,
             [&](std::uint64_t n, std::string_view stored, std::string_view body, std::size_t) {
               const auto seq = line_seq(body);
               if (!positioned) {
                 if (!seq || *seq <= after_seq) return true;
                 positioned = true;
               }
               refused = !take(Line{name, n, stored, body, seq});
               return !refused;
             });
    if (refused) return true;
  }
  return false;
}

}  // namespace

std::optional<std::uint64_t> line_seq(std::string_view line) {
  constexpr std::string_view kKey = "\"seq\":";
  const auto at = line.rfind(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = line.data() + at + kKey.size();
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(begin, line.data() + line.size(), v);
  if (ec != std::errc() || ptr == begin) return std::nullopt;
  return v;
}

Result<LogSnapshot> snapshot(const fs::path& dir) {
  LogSnapshot out;
  for (const auto& path : segment_files(dir)) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) return fail(ErrorCode::kIo, "audit segment ", path.string(), ": ", ec.message());
    out.segments.push_back({path, static_cast<std::uint64_t>(size)});
  }
  if (out.segments.empty()) {
    return fail(ErrorCode::kNotFound, dir.string(), ": no audit-*.jsonl segment");
  }
  std::error_code ec;
  if (fs::exists(dir / kCheckpointFile, ec)) {
    auto bytes = read_file(dir / kCheckpointFile, kMaxCheckpointBytes);
    if (!bytes) return fail_in(bytes.error(), "audit checkpoint: ");
    out.checkpoint.assign(bytes->begin(), bytes->end());
  }
  return out;
}

Result<LinesPage> read_lines(const LogSnapshot& log, std::uint64_t after_seq, std::size_t limit) {
  LinesPage page;
  page.next_after_seq = after_seq;
  auto more = scan(log, after_seq, [&](const Line& l) {
    if (page.lines >= limit) return false;
    page.text.append(l.stored);
    if (page.pieces.empty() || page.pieces.back().segment != l.segment) {
      page.pieces.push_back({l.segment, l.number, 0, 0});
    }
    ++page.pieces.back().lines;
    page.pieces.back().bytes += l.stored.size();
    ++page.lines;
    if (l.seq) page.next_after_seq = *l.seq;
    return true;
  });
  if (!more) return std::unexpected(more.error());
  page.more = *more;
  return page;
}

Result<RecordsPage> read_records(const LogSnapshot& log, const RecordQuery& q) {
  RecordsPage page;
  page.next_after_seq = q.after_seq;
  const std::size_t budget =
      q.scan_lines != 0 ? q.scan_lines : std::max<std::size_t>(q.limit, 10000);
  auto more = scan(log, q.after_seq, [&](const Line& l) {
    if (page.records.size() >= q.limit || page.examined >= budget) return false;
    ++page.examined;
    if (l.seq) page.next_after_seq = *l.seq;
    auto r = decode(l.body);
    if (!r) {
      page.malformed.push_back({l.segment, l.number});
      return true;
    }
    if (!q.event_prefix.empty() && !r->event.starts_with(q.event_prefix)) return true;
    if (!q.actor.empty() && r->actor != q.actor) return true;
    page.records.emplace_back(l.body);
    return true;
  });
  if (!more) return std::unexpected(more.error());
  page.more = *more;
  return page;
}

}  // namespace ironseal::audit
