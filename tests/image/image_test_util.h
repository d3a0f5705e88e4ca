// Helpers for image tests: sign small images, rebuild TLV areas, run the portable verifier.
#pragma once

#include <vector>

#include "core/bytes.h"
#include "crypto/key.h"
#include "crypto/signer.h"
#include "image/host.h"
#include "image/sign.h"
#include "image/verify.h"

namespace ironseal::image::testing {

enum class Mode { kEd25519, kEd25519Pure, kEcdsaP256 };
const char* mode_name(Mode mode);
crypto::KeyType key_type(Mode mode);

Bytes pattern(std::size_t size, std::uint8_t seed = 1);

// Verifies in memory with the portable verifier and OpenSSL; returns the Status.
Status verify_status(const Bytes& image, const std::vector<crypto::PublicKey>& keys,
                     ImageInfo* info = nullptr, std::size_t scratch = 4096);

Bytes tlv(std::uint16_t type, ByteView value);
Bytes cat(std::initializer_list<ByteView> parts);

// The image cut at the start of its unprotected TLV area (header + body + protected TLVs).
Bytes hashed_region(const Bytes& image);
// The image with its unprotected area replaced by `entries` (the info header is recomputed).
Bytes with_unprotected(const Bytes& image, const Bytes& entries);
// Unprotected entries as `sign_image` makes them for `hashed` and `key` in `mode`.
Bytes signature_entries(const Bytes& hashed, const crypto::PrivateKey& key, Mode mode,
                        bool with_hash = true);

}  // namespace ironseal::image::testing
