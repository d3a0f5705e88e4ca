// Base64 (RFC 4648, standard alphabet, padded) as EST (RFC 7030) and PEM bodies use it. Here, in
// src/crypto, because it is OpenSSL's EVP codec: one decoder for every base64 ironseal reads.
#pragma once

#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::crypto {

// Decodes base64; whitespace and line breaks are allowed, anything else is kMalformed.
Result<Bytes> base64_decode(std::string_view text);
// Encodes with a line break every 64 characters.
std::string base64_encode(ByteView bytes);

}  // namespace ironseal::crypto
