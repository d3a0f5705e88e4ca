// Asymmetric keys over OpenSSL 3: Ed25519 (ironseal's default) and ECDSA P-256.
//
// The algorithm is chosen by the key, never by a flag at the call site (Tink's stance): a caller
// holding a PublicKey can only verify; signing needs a PrivateKey or a Signer (crypto/signer.h).
// Keys are immutable after creation and safe to share between threads.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace ironseal::crypto {

enum class KeyType { kEd25519, kEcdsaP256 };

std::string_view key_type_name(KeyType type);  // "ed25519", "ecdsa-p256"
Result<KeyType> parse_key_type(std::string_view name);

class PublicKey {
 public:
  // SubjectPublicKeyInfo, PEM ("BEGIN PUBLIC KEY") or DER. Other algorithms and curves are refused.
  static Result<PublicKey> from_pem(std::string_view pem);
  static Result<PublicKey> from_der(ByteView spki);
  static Result<PublicKey> load(const std::filesystem::path& path);

  KeyType type() const { return type_; }
  Bytes spki_der() const;
  std::string to_pem() const;
  // Ed25519: the 32-byte key. ECDSA P-256: the 65-byte uncompressed point.
  Bytes raw() const;

  // Ed25519: PureEdDSA (RFC 8032) over `message`. ECDSA P-256: ECDSA over SHA-256(message), with
  // a DER signature. A signature that does not verify is ErrorCode::kNotTrusted.
  Result<void> verify(ByteView message, ByteView signature) const;
  // ECDSA P-256 only: `signature` over an already computed SHA-256 digest.
  Result<void> verify_sha256_digest(ByteView digest, ByteView signature) const;

  struct Handle;  // internal: wraps EVP_PKEY

 private:
  PublicKey(std::shared_ptr<Handle> h, KeyType t) : handle_(std::move(h)), type_(t) {}
  friend class PrivateKey;
  std::shared_ptr<Handle> handle_;
  KeyType type_;
};

class PrivateKey {
 public:
  static Result<PrivateKey> generate(KeyType type);
  // PKCS#8 PEM ("BEGIN PRIVATE KEY"; EC keys also as "BEGIN EC PRIVATE KEY"). Encrypted PEMs are
  // refused rather than prompting for a passphrase.
  static Result<PrivateKey> from_pem(std::string_view pem);
  // Refuses a file that group or others can access (ErrorCode::kPermission) before reading it.
  static Result<PrivateKey> load(const std::filesystem::path& path);

  KeyType type() const { return type_; }
  PublicKey public_key() const;
  // Writes PKCS#8 PEM, created 0600, never replacing an existing file.
  Result<void> save(const std::filesystem::path& path) const;

  // Ed25519: PureEdDSA over `message`. ECDSA P-256: ECDSA over SHA-256(message), DER signature.
  Result<Bytes> sign(ByteView message) const;

 private:
  PrivateKey(std::shared_ptr<PublicKey::Handle> h, KeyType t) : handle_(std::move(h)), type_(t) {}
  std::shared_ptr<PublicKey::Handle> handle_;
  KeyType type_;
};

}  // namespace ironseal::crypto
