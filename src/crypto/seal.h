// Hybrid public-key encryption for backups (docs/backup.md): a random 256-bit content key
// encrypts the data with AES-256-GCM, and that key is wrapped once per recipient by an ephemeral
// ECDH agreement (X25519 or P-256) whose shared secret HKDF-SHA256 turns into a key-encryption
// key; the wrap is AES-256-GCM again, with the ephemeral and recipient public keys as associated
// data. Everything is OpenSSL's (EVP); this file only composes it.
//
// Recipient keys: "backup keys", X25519 (default) or P-256, PEM files; the private half is read
// only to decrypt and must be 0600. Refusals: kMalformed (a key or wrap of the wrong shape),
// kNotTrusted with reason "decrypt_failed" (a tag that does not verify: wrong key or altered
// bytes), kNotFound "not_a_recipient" (no wrap is for this key).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::crypto {

enum class SealKeyType { kX25519, kP256 };
std::string_view seal_key_type_name(SealKeyType t);  // "x25519", "p256"
Result<SealKeyType> parse_seal_key_type(std::string_view name);

inline constexpr std::size_t kContentKeySize = 32;
inline constexpr std::size_t kGcmNonceSize = 12;
inline constexpr std::size_t kGcmTagSize = 16;

// A recipient's public key (DER SubjectPublicKeyInfo, checked to be X25519 or P-256).
struct SealRecipient {
  SealKeyType type = SealKeyType::kX25519;
  Bytes spki_der;
  // First 16 bytes of SHA-256(spki_der), hex: names the recipient in an archive.
  std::string key_id;
};
Result<SealRecipient> load_seal_recipient(const std::filesystem::path& public_pem);
Result<SealRecipient> seal_recipient_from_der(ByteView spki_der);

// The private half, for decrypting.
class SealPrivateKey {
 public:
  static Result<SealPrivateKey> load(const std::filesystem::path& private_pem);
  // Generates a key pair: private PEM written 0600 (never over an existing file), public PEM 0644.
  static Result<SealRecipient> generate(SealKeyType type, const std::filesystem::path& private_out,
                                        const std::filesystem::path& public_out);
  const SealRecipient& recipient() const { return recipient_; }
  struct Handle;
  ~SealPrivateKey();
  SealPrivateKey(SealPrivateKey&&) noexcept;
  SealPrivateKey& operator=(SealPrivateKey&&) noexcept;

 private:
  friend Result<Bytes> unwrap_content_key(const SealPrivateKey&, ByteView, ByteView,
                                          const std::string&);
  SealPrivateKey(std::unique_ptr<Handle> h, SealRecipient r);
  std::unique_ptr<Handle> handle_;
  SealRecipient recipient_;
};

// One recipient's copy of the content key: the ephemeral public key (DER SPKI) and the wrap
// (nonce || ciphertext || tag).
struct WrappedKey {
  std::string key_id;
  SealKeyType type = SealKeyType::kX25519;
  Bytes ephemeral_spki;
  Bytes wrapped;
};

Result<WrappedKey> wrap_content_key(const SealRecipient& to, ByteView content_key,
                                    const std::string& context);
// `context` must be the one the wrap was made with (it is bound into the HKDF info).
Result<Bytes> unwrap_content_key(const SealPrivateKey& key, ByteView ephemeral_spki,
                                 ByteView wrapped, const std::string& context);

// AES-256-GCM: returns nonce || ciphertext || tag; the nonce is random.
Result<Bytes> gcm_seal(ByteView key, ByteView aad, ByteView plaintext);
Result<Bytes> gcm_open(ByteView key, ByteView aad, ByteView sealed);

}  // namespace ironseal::crypto
