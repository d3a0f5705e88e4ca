// A CryptoBackend for fuzz targets over OpenSSL's C API. The host backend (src/image/host.h)
// goes through ironseal's crypto layer, which needs C++23 <expected>; clang 14 (the libFuzzer
// compiler on Debian 12) cannot compile libstdc++ 12's <expected>, so fuzz targets use this one.
#pragma once

#include <openssl/evp.h>

#include "image/verify.h"

namespace ironseal::fuzz {

class OpenSslCBackend final : public image::CryptoBackend {
 public:
  OpenSslCBackend();
  ~OpenSslCBackend();
  OpenSslCBackend(const OpenSslCBackend&) = delete;
  OpenSslCBackend& operator=(const OpenSslCBackend&) = delete;

  void hash_begin(image::HashKind kind) override;
  void hash_update(const std::uint8_t* data, std::size_t length) override;
  void hash_finish(std::uint8_t* out) override;
  bool ed25519_verify(const image::TrustedKey& key, const std::uint8_t* message, std::size_t length,
                      const std::uint8_t (&signature)[64]) override;
  bool ed25519_verify_source(const image::TrustedKey& key, const image::ImageSource& source,
                             std::uint64_t length, const std::uint8_t (&signature)[64]) override;
  bool ecdsa_p256_verify_digest(const image::TrustedKey& key, const std::uint8_t (&digest)[32],
                                const std::uint8_t* der, std::size_t der_length) override;

 private:
  EVP_MD_CTX* md_;
};

}  // namespace ironseal::fuzz
