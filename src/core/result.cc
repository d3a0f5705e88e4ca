#include "core/result.h"

namespace ironseal {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kPermission: return "permission";
    case ErrorCode::kCrypto: return "crypto";
    case ErrorCode::kMalformed: return "malformed";
    case ErrorCode::kNotTrusted: return "not_trusted";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kConflict: return "conflict";
  }
  return "unknown";
}

Error make_error(ErrorCode code, std::string_view reason, std::string detail) {
  std::string message(reason);
  message.append(": ").append(detail);
  return Error{code, std::move(message), std::string(reason)};
}

int exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformed:
    case ErrorCode::kNotTrusted: return 1;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnsupported:
    case ErrorCode::kConflict: return 2;
    case ErrorCode::kNotFound:
    case ErrorCode::kIo:
    case ErrorCode::kPermission:
    case ErrorCode::kCrypto: return 3;
  }
  return 3;
}

}  // namespace ironseal
