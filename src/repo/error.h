// Why a TUF operation failed. Every refusal of the update client carries a Reason that says
// which check failed (expired, threshold, rollback, hash, ...) so that tests, logs and callers
// can tell a freeze attack from a forged signature without parsing message text. TufError maps
// onto the toolkit-wide ironseal::Error (core/result.h) for the apps' exit codes.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace ironseal::repo {

enum class Reason {
  kMalformed,         // bytes are not metadata of the expected shape (JSON, fields, types)
  kWrongType,         // "_type" is not the role we asked for
  kUnsupportedSpec,   // spec_version major differs from 1
  kThresholdNotMet,   // fewer distinct authorized keys signed than the role's threshold
  kExpired,           // the metadata's expiry is in the past (freeze attack or stale repository)
  kRollback,          // a version went down (rollback attack)
  kVersionMismatch,   // version differs from the one the referring metadata or URL promised
  kMissingMeta,       // snapshot does not list a role, or drops one it listed before
  kLengthMismatch,    // downloaded length differs from the trusted length
  kHashMismatch,      // a trusted hash does not match (or no hash algorithm is supported)
  kTooLarge,          // a download exceeded its size limit (endless data attack)
  kTimeout,           // a download was too slow or took too long (slow retrieval attack)
  kNotFound,          // the repository answered 403/404
  kNetwork,           // any other transport failure
  kTargetNotFound,    // no trusted targets metadata lists the requested target path
  kIo,                // the local metadata or target directory could not be read or written
  kState,             // the client workflow was called out of order (programming error)
};

std::string_view reason_name(Reason reason);

struct TufError {
  Reason reason;
  std::string message;
};

template <typename T>
using TufResult = std::expected<T, TufError>;

template <typename... Parts>
std::unexpected<TufError> refuse(Reason reason, Parts&&... parts) {
  std::string message;
  (message.append(std::string_view(std::forward<Parts>(parts))), ...);
  return std::unexpected(TufError{reason, std::move(message)});
}

// "reason_name: message", as apps print it.
std::string describe(const TufError& error);
// The toolkit error: I/O and network are environment errors, everything else is "not trusted".
Error to_error(const TufError& error);

}  // namespace ironseal::repo
