// Verification of an audit log (docs/audit.md): `ironseal audit verify`. Walks every segment in
// order and finds, naming the first bad record (file, line, sequence number):
//   malformed_record   a line that does not decode
//   modified           a record whose content no longer matches its hash
//   broken_chain       a record whose "prev" is not the hash of the record before it (one was
//                      deleted, inserted or moved)
//   sequence_gap       a sequence number that does not follow the one before
//   bad_checkpoint     a checkpoint whose signature does not verify with the given key
//   truncated          the log ends before the latest signed checkpoint (checkpoint.json) or holds
//                      a different record there: its tail was cut or rewritten
// Records after the last checkpoint are reported as the unsigned tail: cutting them is
// detectable only up to the last checkpoint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/record.h"
#include "core/result.h"
#include "crypto/key.h"

namespace ironseal::audit {

struct Finding {
  std::string reason;
  std::string file;
  std::uint64_t line = 0;
  std::uint64_t seq = 0;
  std::string detail;
};

struct VerifyReport {
  std::vector<std::string> files;
  std::uint64_t records = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t last_seq = 0;
  std::string head;
  std::uint64_t signed_through = 0;  // seq of the last verified checkpoint
  bool signatures_checked = false;   // a key was given
  std::optional<Finding> problem;    // the first one found; none: the log is intact
};

// `path`: a log directory or one segment file. `key`: the checkpoint key (null: the chain is
// checked, checkpoint signatures are not). `each`: called with every record that verified, in order
// (for `audit show`). Errors (kIo, kNotFound) only when the log cannot be read at all.
Result<VerifyReport> verify_log(const std::filesystem::path& path, const crypto::PublicKey* key,
                                const std::function<void(const Record&)>& each = {});

}  // namespace ironseal::audit
