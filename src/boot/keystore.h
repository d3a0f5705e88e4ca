// The key store: public keys in a flash block, trusted only when their SHA-256 is fused in OTP.
//
//   u32 magic "ISKS" | u8 count | count x { u8 kind (0 Ed25519, 1 ECDSA P-256) | u8 length |
//   DER SubjectPublicKeyInfo }
//
// Portable: no heap, no exceptions, no OS calls.
#pragma once

#include <cstdint>

#include "boot/hal.h"
#include "boot/layout.h"
#include "image/verify.h"

namespace ironseal::boot {

inline constexpr std::uint32_t kKeystoreMagic = 0x534b5349;  // "ISKS"
inline constexpr std::uint32_t kMaxAnchors = 4;

struct TrustAnchors {
  image::TrustedKey keys[kMaxAnchors];
  std::uint32_t count = 0;
};

// Keys from the store whose SHA-256 matches an OTP key slot. Malformed entries are skipped
// (never trusted). Returns false only when flash or OTP cannot be read.
bool load_trust_anchors(const Flash& flash, const Geometry& g, const Otp& otp,
                        image::CryptoBackend& crypto, TrustAnchors* out);

// Serialises keys for the key store block; returns the byte count, 0 if `capacity` is too small.
std::uint32_t encode_keystore(const image::TrustedKey* keys, std::uint32_t count, std::uint8_t* out,
                              std::uint32_t capacity);

}  // namespace ironseal::boot
