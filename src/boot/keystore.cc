// Portable: see keystore.h.
#include "boot/keystore.h"

#include "boot/otp_map.h"
#include "core/ct.h"
#include "core/endian.h"

namespace ironseal::boot {

bool load_trust_anchors(const Flash& flash, const Geometry& g, const Otp& otp,
                        image::CryptoBackend& crypto, TrustAnchors* out) {
  out->count = 0;
  std::uint8_t head[5];
  if (!flash.read(g.keystore_offset, head, sizeof head)) return false;
  if (load_le32(head) != kKeystoreMagic) return true;  // no store: no anchors
  std::uint32_t at = g.keystore_offset + 5;
  const std::uint32_t end = g.keystore_offset + g.block_size;
  for (std::uint32_t i = 0; i < head[4] && out->count < kMaxAnchors; ++i) {
    std::uint8_t entry[2];
    if (at + 2 > end) break;
    if (!flash.read(at, entry, 2)) return false;
    at += 2;
    if (entry[1] > image::kMaxSpkiSize || at + entry[1] > end || entry[0] > 1) break;
    image::TrustedKey key;
    key.kind = entry[0] == 0 ? image::KeyKind::kEd25519 : image::KeyKind::kEcdsaP256;
    key.spki_size = entry[1];
    if (!flash.read(at, key.spki, key.spki_size)) return false;
    at += entry[1];
    // The raw key must sit in the exact SPKI form the kind prescribes.
    std::uint32_t raw_size = 0;
    const std::uint8_t* raw = image::raw_public_key(key, &raw_size);
    image::TrustedKey canonical;
    if (key.spki_size < 32 || !image::make_trusted_key(key.kind, raw, raw_size, &canonical) ||
        canonical.spki_size != key.spki_size) {
      continue;
    }
    if (!ct_equal(canonical.spki, key.spki, key.spki_size)) continue;
    std::uint8_t digest[32];
    crypto.hash_begin(image::HashKind::kSha256);
    crypto.hash_update(key.spki, key.spki_size);
    crypto.hash_finish(digest);
    for (std::uint32_t slot = 0; slot < kOtpKeySlots; ++slot) {
      std::uint8_t fused[32];
      bool used = false;
      if (!read_key_hash(otp, slot, fused, &used)) return false;
      if (used && ct_equal(fused, digest, 32)) {
        out->keys[out->count++] = key;
        break;
      }
    }
  }
  return true;
}

std::uint32_t encode_keystore(const image::TrustedKey* keys, std::uint32_t count, std::uint8_t* out,
                              std::uint32_t capacity) {
  std::uint32_t need = 5;
  for (std::uint32_t i = 0; i < count; ++i) need += 2 + keys[i].spki_size;
  if (need > capacity || count > 255) return 0;
  store_le32(out, kKeystoreMagic);
  out[4] = static_cast<std::uint8_t>(count);
  std::uint32_t at = 5;
  for (std::uint32_t i = 0; i < count; ++i) {
    out[at++] = keys[i].kind == image::KeyKind::kEd25519 ? 0 : 1;
    out[at++] = static_cast<std::uint8_t>(keys[i].spki_size);
    for (std::uint32_t k = 0; k < keys[i].spki_size; ++k) out[at++] = keys[i].spki[k];
  }
  return need;
}

}  // namespace ironseal::boot
