// Errors as values for host code: Result<T> is std::expected<T, Error>. The one error type of the
// toolkit (docs/exit-codes.md): a broad ErrorCode (which decides the exit code and the HTTP status
// class), a machine-readable reason (which check failed: "bad_signature", "hash_mismatch",
// "expired", "threshold_not_met", "rollback", "revoked", "index_mismatch", ...; snake_case, stable,
// listed in docs/exit-codes.md) and a human message. The domain detail types (repo::TufError, the
// portable image::Status, pki::CertificateFailure) convert into it without losing their reason.
// Library code never throws; apps print the message, put code and reason into --json output and
// HTTP answers, and exit with exit_code().
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
  kConflict,         // well-formed, but clashes with the current state (exists already, changed)
};

std::string_view error_code_name(ErrorCode code);

struct Error {
  Error(ErrorCode c, std::string m, std::string r = {})
      : code(c), message(std::move(m)), reason(std::move(r)) {}

  ErrorCode code;
  std::string message;  // for people; names the reason ("<reason>: ...") when one is set
  std::string reason;   // machine-readable, snake_case; empty: only the code is known

  // The reason, or the code's name (e.g. "io", "malformed") when no finer reason was given.
  std::string_view reason_or_code() const {
    return reason.empty() ? error_code_name(code) : std::string_view(reason);
  }
};

// An Error with a reason; the message reads "<reason>: <detail>".
Error make_error(ErrorCode code, std::string_view reason, std::string detail);

template <typename T>
using Result = std::expected<T, Error>;

// Makes an unexpected Error in one expression: `return fail(ErrorCode::kIo, "open ", path);`
template <typename... Parts>
std::unexpected<Error> fail(ErrorCode code, Parts&&... parts) {
  std::string message;
  (message.append(std::string_view(std::forward<Parts>(parts))), ...);
  return std::unexpected(Error{code, std::move(message)});
}

// The same with a reason (a snake_case token: which check failed), in one expression:
// `return fail_because(ErrorCode::kNotTrusted, "index_mismatch", "the index's SHA-256 ...");`
// The message reads "index_mismatch: the index's SHA-256 ...".
template <typename... Parts>
std::unexpected<Error> fail_because(ErrorCode code, std::string_view reason, Parts&&... parts) {
  std::string detail;
  (detail.append(std::string_view(std::forward<Parts>(parts))), ...);
  return std::unexpected(make_error(code, reason, std::move(detail)));
}

// `cause` with context in front of its message ("PIN file: ", path, ": "), keeping its code and
// reason: what failed stays machine-readable however many layers add where it happened.
template <typename... Parts>
std::unexpected<Error> fail_in(const Error& cause, Parts&&... context) {
  std::string message;
  (message.append(std::string_view(std::forward<Parts>(context))), ...);
  message.append(cause.message);
  return std::unexpected(Error{cause.code, std::move(message), cause.reason});
}

// Exit codes documented in STYLE.md: 0 ok, 1 not trusted / check failed, 2 usage, 3 environment.
int exit_code(ErrorCode code);

}  // namespace ironseal
