// Errors as values for host code: Result<T> is std::expected<T, Error>, where Error carries a
// machine-readable code (why something failed or is not trusted) and a human message. Library
// code never throws; apps map ErrorCode to messages and exit codes (see exit_code()).
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace ironseal {

enum class ErrorCode {
  kInvalidArgument,  // the caller (user) asked for something malformed: usage error
  kNotFound,         // a file or object that should exist does not
  kIo,               // the environment failed: read/write/fsync/rename
  kPermission,       // a file's permissions are unsafe (e.g. private key readable by others)
  kCrypto,           // the crypto library failed for a reason other than verification
  kMalformed,        // input bytes do not parse
  kNotTrusted,       // parsed, but a verification failed: signature, hash, key, policy
  kUnsupported,      // a valid construct this build does not handle
};

std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

// Makes an unexpected Error in one expression: `return fail(ErrorCode::kIo, "open ", path);`
template <typename... Parts>
std::unexpected<Error> fail(ErrorCode code, Parts&&... parts) {
  std::string message;
  (message.append(std::string_view(std::forward<Parts>(parts))), ...);
  return std::unexpected(Error{code, std::move(message)});
}

// Exit codes documented in STYLE.md: 0 ok, 1 not trusted / check failed, 2 usage, 3 environment.
int exit_code(ErrorCode code);

}  // namespace ironseal
