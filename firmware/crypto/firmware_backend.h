// The bootloader's image::CryptoBackend: SHA-256/SHA-512 and Ed25519 verification, ironseal's own
// verify-only code (ed25519_stream.h: ed25519_verify.c, sha2.c). ECDSA P-256 is not built into
// the bootloader: such signatures never verify here (the image is then refused as bad_signature,
// fail closed).
// The host plugs OpenSSL into the same interface (src/image/host.h).
#pragma once

#include "crypto/ed25519_stream.h"
#include "image/verify.h"

namespace ironseal::fw {

class FirmwareBackend final : public image::CryptoBackend {
 public:
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
  ironseal_sha_state state_;
};

}  // namespace ironseal::fw
