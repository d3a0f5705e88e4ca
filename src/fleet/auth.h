// Operator authentication: roles, Argon2id password hashes (libsodium crypto_pwhash_str) and
// bearer tokens. A token is 32 random bytes shown once to the operator; the store keeps only its
// SHA-256, so a copy of the database does not let anyone log in.
//
// Thread-safety: the functions here are stateless and may be called from any thread; password
// hashing is expensive (Argon2id) and never belongs on an event-loop thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ironseal::fleet {

// Each role may do what the roles before it may: viewer (read), operator (change devices,
// releases, rollouts), admin (also accounts).
enum class Role { kViewer = 0, kOperator = 1, kAdmin = 2 };
std::optional<Role> parse_role(std::string_view name);
std::string_view role_name(Role role);
// Whether a caller with `have` may do what needs `need` (the enumerators are in rank order).
constexpr bool at_least(Role have, Role need) {
  return have >= need;
}

// Argon2id with libsodium's "interactive" cost (64 MiB, 2 passes).
Result<std::string> hash_password(std::string_view password);
// Constant-time check; false for a wrong password or a malformed hash.
bool verify_password(const std::string& hash, std::string_view password);

// A new random bearer token ("isk_" + 64 hex characters).
Result<std::string> new_token();
// What the store keeps of a token: SHA-256 hex.
std::string token_digest(std::string_view token);

}  // namespace ironseal::fleet
