// Roles, Argon2id password hashes and bearer tokens (auth.h).
#include "fleet/auth.h"

#include <sodium.h>

#include "core/bytes.h"

namespace ironseal::fleet {
namespace {

Result<void> sodium_ready() {
  static const int rc = sodium_init();
  if (rc < 0) return fail(ErrorCode::kCrypto, "libsodium failed to initialise");
  return {};
}

}  // namespace

std::optional<Role> parse_role(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kOperator: return "operator";
    case Role::kAdmin: return "admin";
  }
  return "viewer";
}

Result<std::string> hash_password(std::string_view password) {
  if (auto ok = sodium_ready(); !ok) return std::unexpected(ok.error());
  if (password.size() < 8) {
    return fail(ErrorCode::kInvalidArgument, "password too short (at least 8 characters)");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return fail(ErrorCode::kCrypto, "Argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

bool verify_password(const std::string& hash, std::string_view password) {
  if (!sodium_ready()) return false;
  // Only Argon2id hashes are accepted, whatever else libsodium could verify.
  if (!hash.starts_with("$argon2id$")) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Result<std::string> new_token() {
  if (auto ok = sodium_ready(); !ok) return std::unexpected(ok.error());
  Bytes raw(32);
  randombytes_buf(raw.data(), raw.size());
  return "isk_" + to_hex(raw);
}

std::string token_digest(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return to_hex(ByteView(digest, sizeof digest));
}

}  // namespace ironseal::fleet
