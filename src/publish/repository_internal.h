// Internals of the TUF repository publisher (repository.h), shared by its files and private to
// src/publish: repository.cc (set-up, root, key rotation, describe), repository_chain.cc (signing
// a chain: targets, snapshot, timestamp) and repository_targets.cc (staging image targets).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/signer.h"
#include "repo/metadata.h"

namespace ironseal::repo::detail {

using Json = nlohmann::json;
namespace fs = std::filesystem;

inline constexpr const char* kStagedName = "staged-targets.json";
inline constexpr std::int64_t kDay = 86400;

Result<std::string> canonical(const Json& value);
Bytes to_bytes(const std::string& text);
// Parses JSON without exceptions; kMalformed with `what` when it does not parse.
Result<Json> parse_json(ByteView bytes, const std::string& what);
Result<Json> read_json(const fs::path& path);
Result<void> write_bytes(const fs::path& path, ByteView bytes, mode_t mode = 0644);
Result<void> make_dir(const fs::path& path);

// {"signed": ..., "signatures": [...]}: every signer signs the canonical form of `signed_part`.
Result<Bytes> sign_envelope(const Json& signed_part,
                            const std::vector<std::unique_ptr<crypto::Signer>>& signers);

// A published metadata document of ours, checked with the client's own parser (so every field
// read below has the type TUF requires) and kept as JSON.
struct Envelope {
  Json doc;
  Bytes raw;
  const Json& signed_part() const { return doc["signed"]; }
  std::uint64_t version() const { return doc["signed"]["version"].get<std::uint64_t>(); }
  std::int64_t expires() const {
    return parse_utc_time(doc["signed"]["expires"].get<std::string>()).value_or(0);
  }
  std::set<std::string> signer_keyids() const {
    std::set<std::string> ids;
    for (const auto& s : doc["signatures"]) ids.insert(s["keyid"].get<std::string>());
    return ids;
  }
};

// The published document at `path` (nullopt when there is none), checked as TUF metadata of `role`.
Result<std::optional<Envelope>> load_envelope(const fs::path& path, const std::string& role);
// A snapshot/timestamp "meta" entry for a document of `version` with these bytes.
Json meta_entry(std::uint64_t version, ByteView bytes);
// The keyids the root names for `role`.
std::set<std::string> role_keyids(const Json& root, const std::string& role);
// The signers of `role`'s keys as repo.json (`config`) lists them.
Result<std::vector<std::unique_ptr<crypto::Signer>>> open_role_signers(const fs::path& dir,
                                                                       const Json& config,
                                                                       const std::string& role);
// _type, spec_version, version and expires of a signed part.
Json common_part(const char* type, std::uint64_t version, std::int64_t expires);

}  // namespace ironseal::repo::detail
