// Audit records (IEC 62443-4-2 CR 2.8 auditable events, CR 3.9 protection of audit information,
// CR 6.1 audit log accessibility): one JSON object per line, each carrying the SHA-256 of the
// record before it, so that changing, deleting, inserting or reordering any record breaks the
// chain at that point. Checkpoint records sign the chain's head (docs/audit.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ironseal::audit {

inline constexpr std::string_view kCheckpointEvent = "audit.checkpoint";
inline constexpr std::string_view kGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct Record {
  std::uint64_t seq = 0;  // 1, 2, 3, ... across files
  std::string time;       // RFC 3339 UTC with milliseconds
  std::string actor;      // who: "operator:ops", "device:SN-1", "system"
  std::string event;      // what: "auth.login", "boot.revert", "backup.restore", ...
  std::string outcome;    // "ok", "refused", "failed" or "info"
  nlohmann::json details = nlohmann::json::object();  // strings, integers, booleans, lists, objects
  std::string prev;       // hash of the record before (kGenesis for seq 1)
  std::string hash;       // SHA-256 (hex) of this record without its "hash" field

  bool is_checkpoint() const { return event == kCheckpointEvent; }
};

// The hash a record must carry: SHA-256 over the canonical JSON (sorted keys, no blanks) of every
// field but "hash".
std::string record_hash(const Record& r);

// One line (without '\n'): canonical JSON including "hash".
std::string encode(const Record& r);

// Strict: every field present with its type, nothing else, details without floating-point numbers
// (their text form is not canonical). Reason "malformed_record". Does not check the hash.
Result<Record> decode(std::string_view line);

// What a checkpoint's signature covers: the domain, the checkpoint's sequence number and the hash
// of the record it follows (the head it vouches for).
std::string checkpoint_message(std::uint64_t seq, std::string_view head);

// Refuses details that contain floating-point numbers (kInvalidArgument).
Result<void> check_details(const nlohmann::json& details);

}  // namespace ironseal::audit
