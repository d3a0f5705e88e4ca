// Streaming SHA-2 (SHA-256 / SHA-512; SHA-224 / SHA-384 for TUF metadata hashes) over OpenSSL 3 EVP. One Hasher is one digest computation; it is
// movable, not copyable, and not thread-safe (use one per thread).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::crypto {

enum class HashAlgorithm { kSha256, kSha512, kSha224, kSha384 };

constexpr std::size_t digest_size(HashAlgorithm alg) {
  switch (alg) {
    case HashAlgorithm::kSha224: return 28;
    case HashAlgorithm::kSha256: return 32;
    case HashAlgorithm::kSha384: return 48;
    case HashAlgorithm::kSha512: return 64;
  }
  return 64;
}

// "sha224", "sha256", "sha384", "sha512" (the names TUF metadata uses); nullopt for any other.
std::optional<HashAlgorithm> hash_algorithm_from_name(std::string_view name);

class Hasher {
 public:
  static Result<Hasher> create(HashAlgorithm alg);

  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  ~Hasher();

  HashAlgorithm algorithm() const { return alg_; }
  void update(ByteView data);
  // Returns the digest and resets the Hasher for a new computation with the same algorithm.
  Bytes finish();

 private:
  struct Ctx;
  Hasher(HashAlgorithm alg, std::unique_ptr<Ctx> ctx);
  HashAlgorithm alg_;
  std::unique_ptr<Ctx> ctx_;
};

Bytes sha256(ByteView data);
Bytes sha512(ByteView data);
Bytes digest(HashAlgorithm alg, ByteView data);
// SHA-1, for name-based UUIDs (RFC 4122 version 5) only; never for integrity or signatures.
Bytes sha1_for_uuid(ByteView data);

}  // namespace ironseal::crypto
