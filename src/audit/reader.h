// Reading an audit log to serve it (the fleet server's GET /api/v1/audit, docs/fleet-api.md):
// the records after a sequence number, a bounded page at a time, either as the lines stored (byte
// for byte, so that whoever receives them verifies the chain with audit/verify.h) or decoded and
// filtered. It judges nothing: a page of a tampered log is served as it is, and verification is
// the receiver's job.
//
// A page is read from a LogSnapshot: the segments and their sizes taken while no append runs (the
// writer's lock), so the reading itself needs no lock and never sees half a line that is being
// written. Segments only grow by appends, so the snapshot's prefix of each stays what it was.
//
// Positioning by sequence number, also in a damaged log: a page after N starts right after the
// first line whose "seq" is N, or (no such line) at the first line whose "seq" is above N, and then
// takes the following lines in file order whatever they hold. Paging through a whole log therefore
// hands over every line once, in order, as long as each page's last line names its "seq".
//
// Stateless functions; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ironseal::audit {

struct SegmentExtent {
  std::filesystem::path path;
  std::uint64_t size = 0;  // bytes of it that belong to the snapshot
};

struct LogSnapshot {
  std::vector<SegmentExtent> segments;  // oldest first
  std::string checkpoint;               // checkpoint.json as stored ("" when there is none)
};

// The log in `dir` as it is now. Take it while nothing appends (the writer's lock, after a flush
// so that what is served is durable). kNotFound when `dir` holds no segment.
Result<LogSnapshot> snapshot(const std::filesystem::path& dir);

// The sequence number a stored line names (its top-level "seq"), without decoding the rest; none
// when it names none. In canonical form only "time" follows "seq", so the last "seq": is it.
std::optional<std::uint64_t> line_seq(std::string_view line);

// Which lines of which segment a page holds.
struct PagePiece {
  std::string segment;           // file name, e.g. audit-0000000000000001.jsonl
  std::uint64_t first_line = 0;  // 1-based line number in that segment
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;  // of the page's text, the last line's '\n' included when it has one
};

struct LinesPage {
  std::string text;  // the lines as stored, each with its '\n' when it has one
  std::vector<PagePiece> pieces;
  std::uint64_t lines = 0;
  std::uint64_t next_after_seq = 0;  // the "seq" of the last line that names one (else after_seq)
  bool more = false;                 // lines follow in the snapshot
};

// Up to `limit` lines after `after_seq`, unfiltered. kIo when a segment cannot be read.
Result<LinesPage> read_lines(const LogSnapshot& log, std::uint64_t after_seq, std::size_t limit);

struct RecordQuery {
  std::uint64_t after_seq = 0;
  std::size_t limit = 100;     // records returned at most
  std::string event_prefix;    // only events starting with this ("" every event)
  std::string actor;           // only this actor ("" every actor)
  std::size_t scan_lines = 0;  // lines examined at most (0: max(limit, 10000)); bounds the work of
                               // a filter that matches little
};

struct MalformedLine {
  std::string segment;
  std::uint64_t line = 0;
};

struct RecordsPage {
  std::vector<std::string> records;      // the matching lines as stored (without '\n')
  std::vector<MalformedLine> malformed;  // lines examined that do not decode (they match nothing)
  std::uint64_t examined = 0;
  std::uint64_t next_after_seq = 0;  // continue after this: the last examined line's "seq"
  bool more = false;
};

// The records after `after_seq` that decode and match the query, in log order.
Result<RecordsPage> read_records(const LogSnapshot& log, const RecordQuery& query);

}  // namespace ironseal::audit
