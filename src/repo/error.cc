#include "repo/error.h"

namespace ironseal::repo {

std::string_view reason_name(Reason reason) {
  switch (reason) {
    case Reason::kMalformed: return "malformed";
    case Reason::kWrongType: return "wrong_type";
    case Reason::kUnsupportedSpec: return "unsupported_spec_version";
    case Reason::kThresholdNotMet: return "threshold_not_met";
    case Reason::kExpired: return "expired";
    case Reason::kRollback: return "rollback";
    case Reason::kVersionMismatch: return "version_mismatch";
    case Reason::kMissingMeta: return "missing_meta";
    case Reason::kLengthMismatch: return "length_mismatch";
    case Reason::kHashMismatch: return "hash_mismatch";
    case Reason::kTooLarge: return "too_large";
    case Reason::kTimeout: return "timeout";
    case Reason::kNotFound: return "not_found";
    case Reason::kNetwork: return "network";
    case Reason::kTargetNotFound: return "target_not_found";
    case Reason::kIo: return "io";
    case Reason::kState: return "state";
  }
  return "unknown";
}

std::string describe(const TufError& error) {
  return std::string(reason_name(error.reason)) + ": " + error.message;
}

Error to_error(const TufError& error) {
  ErrorCode code = ErrorCode::kNotTrusted;
  if (error.reason == Reason::kIo || error.reason == Reason::kNetwork ||
      error.reason == Reason::kTimeout || error.reason == Reason::kNotFound) {
    code = ErrorCode::kIo;
  } else if (error.reason == Reason::kMalformed) {
    code = ErrorCode::kMalformed;
  }
  return make_error(code, reason_name(error.reason), error.message);
}

}  // namespace ironseal::repo
