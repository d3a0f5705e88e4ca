#include "crypto/base64.h"

#include <openssl/evp.h>

#include <algorithm>

namespace ironseal::crypto {

Result<Bytes> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return fail(ErrorCode::kMalformed, "base64: unexpected character");
    clean.push_back(c);
  }
  if (clean.empty() || clean.size() % 4 != 0) {
    return fail(ErrorCode::kMalformed, "base64: length is not a multiple of 4");
  }
  Bytes out(clean.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return fail(ErrorCode::kMalformed, "base64: does not decode");
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock keeps the bytes the padding stands for; drop them.
  if (clean.ends_with("==")) size -= 2;
  else if (clean.ends_with("=")) size -= 1;
  out.resize(size);
  return out;
}

std::string base64_encode(ByteView bytes) {
  std::string out;
  for (std::size_t off = 0; off < bytes.size(); off += 48) {
    const std::size_t n = std::min<std::size_t>(48, bytes.size() - off);
    unsigned char line[65];
    const int len = EVP_EncodeBlock(line, bytes.data() + off, static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(line), static_cast<std::size_t>(len));
    out.push_back('\n');
  }
  return out;
}

}  // namespace ironseal::crypto
