// The TUF metadata model (specification 1.0.x): the four top-level roles root, timestamp,
// snapshot and targets, delegations, and the signed envelope around each. Parsing is strict in
// what TUF defines (types, required fields, positive versions, unique keyids, spec_version major
// 1, RFC 3339 "Z" expiry) and keeps everything else: the signature covers the canonical form of
// the whole "signed" object as received, including fields this client does not know.
//
// Values are plain data; no I/O, no clock. Trust decisions live in trusted_metadata.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "repo/error.h"

namespace ironseal::repo {

// A public key as TUF writes it. keytype/scheme select the algorithm (see signature.h); a key of
// a type this client does not support parses, but its signatures never count.
struct Key {
  std::string keytype;
  std::string scheme;
  std::string public_value;  // keyval.public: hex (ed25519) or PEM SubjectPublicKeyInfo
};
using KeyMap = std::map<std::string, Key>;  // keyid -> key

// Who may sign a role: the authorized keyids and how many of them must sign.
struct RoleKeys {
  std::vector<std::string> keyids;  // unique (duplicates are refused at parse time)
  std::uint64_t threshold = 1;
};

struct DelegatedRole {
  std::string name;
  RoleKeys keys;
  bool terminating = false;
  std::optional<std::vector<std::string>> paths;              // glob patterns
  std::optional<std::vector<std::string>> path_hash_prefixes;  // hex prefixes of SHA-256(path)

  // True if this delegation covers `target_path` (see path_matches()).
  bool covers(std::string_view target_path) const;
};

struct Delegations {
  KeyMap keys;
  std::vector<DelegatedRole> roles;  // in the order the delegator lists them (= search order)
};

// What a referring role says about a metadata file: its version, and maybe length and hashes.
struct MetaFile {
  std::uint64_t version = 0;
  std::optional<std::uint64_t> length;
  std::map<std::string, std::string> hashes;  // algorithm -> lowercase hex; may be empty
};

struct TargetFile {
  std::string path;
  std::uint64_t length = 0;
  std::map<std::string, std::string> hashes;  // never empty
  // The target's "custom" object as JSON text (empty when absent). Covered by the role's
  // signature like every other field; ironseal puts hardware_id and the chunk index there.
  std::string custom;
  // The hash used for consistent-snapshot file names: sha256 when present, else the first.
  const std::string& naming_hash() const;
};

// Fields every role carries.
struct Common {
  std::string type;  // "_type"
  std::string spec_version;
  std::uint64_t version = 0;
  std::int64_t expires = 0;  // seconds since the Unix epoch, UTC
  // Expired when `now` is at or past the expiry (as python-tuf decides it).
  bool expired_at(std::int64_t now) const { return now >= expires; }
};

struct Root : Common {
  KeyMap keys;
  std::map<std::string, RoleKeys> roles;  // exactly root, timestamp, snapshot, targets
  bool consistent_snapshot = false;
  const RoleKeys& role(std::string_view name) const { return roles.find(std::string(name))->second; }
};

struct Timestamp : Common {
  MetaFile snapshot_meta;  // meta["snapshot.json"]
};

struct Snapshot : Common {
  std::map<std::string, MetaFile> meta;  // "targets.json", "ROLE.json" -> MetaFile
};

struct Targets : Common {
  std::map<std::string, TargetFile> targets;
  std::optional<Delegations> delegations;
};

struct Signature {
  std::string keyid;
  std::string sig;  // hex, as written; not decoded until verification
};

// One metadata document: the parsed role, the canonical bytes its signatures cover, the
// signatures (keyids unique), and the raw bytes as received (what the client persists).
template <typename Role>
struct Metadata {
  Role role;
  std::string canonical_signed;
  std::vector<Signature> signatures;
  Bytes raw;
};

TufResult<Metadata<Root>> parse_root(ByteView bytes);
TufResult<Metadata<Timestamp>> parse_timestamp(ByteView bytes);
TufResult<Metadata<Snapshot>> parse_snapshot(ByteView bytes);
TufResult<Metadata<Targets>> parse_targets(ByteView bytes);

// "YYYY-MM-DDTHH:MM:SSZ" <-> Unix seconds. Other forms (offsets, fractions) are refused.
std::optional<std::int64_t> parse_utc_time(std::string_view text);
std::string format_utc_time(std::int64_t seconds);

// fnmatch-style match of one target path against one delegation pattern, as python-tuf does:
// both split on '/', the same number of segments, and each segment matches with '*' (any run),
// '?' (one character) and '[...]' / '[!...]' classes. So '*' never crosses a '/'. Case-sensitive.
bool path_matches(std::string_view target_path, std::string_view pattern);

// Percent-encodes everything except ASCII letters, digits and "_.-~" (Python's
// urllib.parse.quote(s, safe="")): how role names become URL segments and file names.
std::string quote_name(std::string_view name);

}  // namespace ironseal::repo
