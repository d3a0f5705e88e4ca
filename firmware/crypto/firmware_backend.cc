#include "crypto/firmware_backend.h"

namespace ironseal::fw {
namespace {

// The raw 32-byte key of an Ed25519 TrustedKey, or nullptr for any other kind or size.
const std::uint8_t* ed25519_raw(const image::TrustedKey& key) {
  if (key.kind != image::KeyKind::kEd25519) return nullptr;
  std::uint32_t size = 0;
  const std::uint8_t* raw = image::raw_public_key(key, &size);
  return size == 32 ? raw : nullptr;
}

}  // namespace

void FirmwareBackend::hash_begin(image::HashKind kind) {
  ironseal_sha2_init(&state_, kind == image::HashKind::kSha256 ? 256 : 512);
}

// The state knows its algorithm: update and final are the same code for both (sha2.c).
void FirmwareBackend::hash_update(const std::uint8_t* data, std::size_t length) {
  ironseal_sha2_update(&state_, data, length);
}

void FirmwareBackend::hash_finish(std::uint8_t* out) {
  ironseal_sha2_final(&state_, out);
}

bool FirmwareBackend::ed25519_verify(const image::TrustedKey& key, const std::uint8_t* message,
                                     std::size_t length, const std::uint8_t (&signature)[64]) {
  const image::MemorySource source(message, length);
  return ed25519_verify_source(key, source, length, signature);
}

// Streams the message through a 256-byte buffer (a slot in flash, or memory). Nothing here is
// secret, so a failed read just ends the verification.
bool FirmwareBackend::ed25519_verify_source(const image::TrustedKey& key,
                                            const image::ImageSource& source, std::uint64_t length,
                                            const std::uint8_t (&signature)[64]) {
  const std::uint8_t* pk = ed25519_raw(key);
  ironseal_ed25519_verifier v;
  if (pk == nullptr || length > source.size() ||
      ironseal_ed25519_verify_begin(&v, signature, pk) != 0) {
    return false;
  }
  std::uint8_t buf[256];
  for (std::uint64_t at = 0; at < length;) {
    const std::size_t n =
        length - at < sizeof buf ? static_cast<std::size_t>(length - at) : sizeof buf;
    if (!source.read(at, buf, n)) return false;
    ironseal_ed25519_verify_update(&v, buf, n);
    at += n;
  }
  return ironseal_ed25519_verify_end(&v) == 0;
}

bool FirmwareBackend::ecdsa_p256_verify_digest(const image::TrustedKey&, const std::uint8_t (&)[32],
                                               const std::uint8_t*, std::size_t) {
  return false;  // not built into the bootloader: never trusted
}

}  // namespace ironseal::fw
