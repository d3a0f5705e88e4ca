// Random bytes from OpenSSL's CSPRNG (nonces, challenges, identifiers). Thread-safe.
#pragma once

#include <cstddef>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::crypto {

// `count` bytes from the CSPRNG; kCrypto when it cannot deliver them (never fewer bytes).
Result<Bytes> random_bytes(std::size_t count);

}  // namespace ironseal::crypto
