// Asymmetric keys over OpenSSL 3: Ed25519 (ironseal's default) and ECDSA P-256.
//
// The algorithm is chosen by the key, never by a flag at the call site (Tink's stance): a caller
// holding a PublicKey can only verify (through its Verifier, crypto/verifier.h); signing needs a
// PrivateKey or a Signer (crypto/signer.h).
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

class Verifier;  // crypto/verifier.h

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

  // The inverse of raw(): Ed25519's 32 bytes, or P-256's 65-byte uncompressed point (checked to
  // be on the curve). Anything else is kMalformed.
  static Result<PublicKey> from_raw(KeyType type, ByteView raw);

  // This key's verifier (crypto/verifier.h): the only way to check a signature with it.
  Verifier verifier() const;
  // Shorthand for verifier().verify(): Ed25519 is PureEdDSA (RFC 8032) over `message`; ECDSA
  // P-256 is ECDSA over SHA-256(message), with a DER signature. A signature that does not verify
  // is ErrorCode::kNotTrusted. (A digest is verified by an EcdsaP256Verifier, never by a key.)
  Result<void> verify(ByteView message, ByteView signature) const;

  struct Handle;  // internal (crypto/ossl.h): wraps EVP_PKEY

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
