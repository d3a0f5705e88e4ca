// Canonical JSON as TUF signs it: the OLPC dialect that securesystemslib and python-tuf produce.
// Object keys sorted by their UTF-8 bytes (= code point order), no insignificant whitespace,
// strings emitted raw (UTF-8) with only '"' and '\' escaped, integers only. A float anywhere in
// the value is refused (kMalformed): it has no canonical form, so it cannot be signed.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "repo/error.h"

namespace ironseal::repo {

TufResult<std::string> canonical_json(const nlohmann::json& value);

}  // namespace ironseal::repo
