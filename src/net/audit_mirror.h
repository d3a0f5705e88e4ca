// A fleet server's audit trail copied into a directory, in the layout audit/verify.h reads: the
// segments under the server's names, line for line and byte for byte, and checkpoint.json
// (`ironseal audit verify https://...`, docs/audit.md). The copy is not judged here; verifying it
// is what makes it worth anything, and a tampered trail is copied as it is so that verification
// names the same record and reason as it would on the server's disk.
//
// checkpoint.json is fetched before the lines: the lines then reach at least the checkpoint it
// names, and a copy that does not is a trail cut on the server (reason "truncated"), not a race.
// Segment names the server sends are accepted only in the form audit-<16 digits>.jsonl, so a
// hostile server cannot write outside the directory.
//
// Not thread-safe (it drives one OperatorClient).
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/result.h"
#include "net/operator_client.h"

namespace ironseal::net {

struct AuditMirrorReport {
  std::uint64_t lines = 0;
  std::uint64_t pages = 0;
  bool checkpoint = false;  // the server has a checkpoint.json
  bool complete = true;     // false: paging stopped at a line that names no sequence number
};

// Copies the trail into `dir`, which must exist and be empty. `page_lines`: 1..10000.
Result<AuditMirrorReport> mirror_audit_trail(OperatorClient& client,
                                             const std::filesystem::path& dir,
                                             std::size_t page_lines = 10000);

}  // namespace ironseal::net
