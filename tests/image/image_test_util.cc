#include "image/image_test_util.h"

#include <gtest/gtest.h>

#include "core/endian.h"
#include "crypto/hash.h"

namespace ironseal::image::testing {

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kEd25519: return "ed25519";
    case Mode::kEd25519Pure: return "ed25519_pure";
    case Mode::kEcdsaP256: return "ecdsa_p256";
  }
  return "?";
}

crypto::KeyType key_type(Mode mode) {
  return mode == Mode::kEcdsaP256 ? crypto::KeyType::kEcdsaP256 : crypto::KeyType::kEd25519;
}

Bytes pattern(std::size_t size, std::uint8_t seed) {
  Bytes b(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x = x * 1103515245u + 12345u;
    v = static_cast<std::uint8_t>(x >> 16);
  }
  return b;
}

Status verify_status(const Bytes& image, const std::vector<crypto::PublicKey>& keys,
                     ImageInfo* info, std::size_t scratch) {
  const auto trusted = to_trusted_keys(keys);
  OpenSslBackend backend;
  Bytes work(scratch);
  // A copy with no slack after it, so that ASan sees any read past the end.
  const std::unique_ptr<std::uint8_t[]> exact(new std::uint8_t[image.size() + 1]);
  std::copy(image.begin(), image.end(), exact.get());
  MemorySource source(exact.get(), image.size());
  ImageInfo local;
  return verify_image(
      VerifyRequest{&source, trusted.data(), static_cast<std::uint32_t>(trusted.size()), &backend,
                    work.data(), work.size()},
      info ? info : &local);
}

Bytes tlv(std::uint16_t type, ByteView value) {
  Bytes out(4);
  store_le16(out.data(), type);
  store_le16(out.data() + 2, static_cast<std::uint16_t>(value.size()));
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Bytes cat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes hashed_region(const Bytes& image) {
  MemorySource source(image.data(), image.size());
  Layout layout;
  EXPECT_EQ(parse_layout(source, &layout), Status::kOk);
  return Bytes(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(layout.protected_end));
}

Bytes with_unprotected(const Bytes& image, const Bytes& entries) {
  Bytes out = hashed_region(image);
  Bytes info(4);
  store_le16(info.data(), kTlvInfoMagic);
  store_le16(info.data() + 2, static_cast<std::uint16_t>(4 + entries.size()));
  out.insert(out.end(), info.begin(), info.end());
  out.insert(out.end(), entries.begin(), entries.end());
  return out;
}

Bytes signature_entries(const Bytes& hashed, const crypto::PrivateKey& key, Mode mode,
                        bool with_hash) {
  const bool pure = mode == Mode::kEd25519Pure;
  const auto alg = pure ? crypto::HashAlgorithm::kSha512 : crypto::HashAlgorithm::kSha256;
  const Bytes digest = crypto::digest(alg, hashed);
  Bytes out;
  if (with_hash) out = tlv(pure ? kTlvSha512 : kTlvSha256, digest);
  if (pure) {
    const std::uint8_t one = 1;
    out = cat({out, tlv(kTlvSigPure, ByteView(&one, 1))});
  }
  const Bytes keyhash = crypto::digest(alg, key.public_key().spki_der());
  const Bytes sig = *key.sign(mode == Mode::kEd25519 ? digest : hashed);
  return cat({out, tlv(kTlvKeyHash, keyhash),
              tlv(mode == Mode::kEcdsaP256 ? kTlvEcdsaSig : kTlvEd25519, sig)});
}

}  // namespace ironseal::image::testing
