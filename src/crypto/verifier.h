// Signature verification: the one place ironseal checks a signature (images, TUF metadata,
// certificates' keys, TPM quotes). A verifier is made from a public key, and the key decides the
// scheme; a verifier holds no private material and can do nothing but verify (Tink's
// PublicKeyVerify stance).
//
//   Verifier           whatever scheme its key carries. From a SubjectPublicKeyInfo (DER or PEM):
//                      Ed25519 or ECDSA P-256 over SHA-256, the key types of crypto/key.h. From a
//                      TUF key value: also ECDSA P-384 and RSA (PSS or PKCS#1 v1.5), see
//                      from_tuf_key.
//   Ed25519Verifier    Ed25519 keys only: PureEdDSA (RFC 8032) over the message.
//   EcdsaP256Verifier  ECDSA P-256 keys only, DER signatures. The only type with verify_digest(),
//                      for a signature over a SHA-256 digest computed elsewhere (MCUboot images,
//                      TPM quotes). Asking an Ed25519 key to verify a digest does not compile.
//
// A typed verifier converts to a Verifier. Errors are kNotTrusted "bad_signature: ..." when a
// signature does not verify; from the factories, kMalformed "malformed_key: ..." (or PublicKey's
// parse error) for a key that does not parse, kUnsupported "unsupported_scheme: ..." for a TUF
// keytype/scheme this build does not verify and "key_type_mismatch: ..." for a key of another
// algorithm or curve than the one asked for. Verifiers are immutable; one may be shared and used
// by several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/key.h"

namespace ironseal::crypto {

// A SHA-256 digest: exactly 32 bytes, checked by the compiler (a std::array<std::uint8_t, 32> or
// a std::uint8_t[32] converts; a Bytes needs an explicit span of extent 32).
using Sha256View = std::span<const std::uint8_t, 32>;

struct VerifyKey;  // internal (verifier.cc): the EVP_PKEY and its scheme

class Verifier;

class Ed25519Verifier {
 public:
  static Result<Ed25519Verifier> from_spki(ByteView der);
  static Result<Ed25519Verifier> from_pem(std::string_view pem);

  Result<void> verify(ByteView message, ByteView signature) const;

 private:
  explicit Ed25519Verifier(std::shared_ptr<const VerifyKey> key) : key_(std::move(key)) {}
  friend class Verifier;
  std::shared_ptr<const VerifyKey> key_;
};

class EcdsaP256Verifier {
 public:
  static Result<EcdsaP256Verifier> from_spki(ByteView der);
  static Result<EcdsaP256Verifier> from_pem(std::string_view pem);

  // ECDSA over SHA-256(message).
  Result<void> verify(ByteView message, ByteView der_signature) const;
  // ECDSA over an already computed SHA-256 digest.
  Result<void> verify_digest(Sha256View sha256, ByteView der_signature) const;

 private:
  explicit EcdsaP256Verifier(std::shared_ptr<const VerifyKey> key) : key_(std::move(key)) {}
  friend class Verifier;
  std::shared_ptr<const VerifyKey> key_;
};

class Verifier {
 public:
  // SubjectPublicKeyInfo, DER or PEM: Ed25519 or ECDSA P-256 (as PublicKey::from_der/from_pem).
  static Result<Verifier> from_spki(ByteView der);
  static Result<Verifier> from_pem(std::string_view pem);
  // A key as TUF metadata writes it (securesystemslib's encodings), byte-compatible with the
  // tuf-conformance suite: keytype "ed25519" / scheme "ed25519" with the hex of the raw 32-byte
  // key; keytype "ecdsa" (or the scheme's own name) / scheme "ecdsa-sha2-nistp256" or
  // "ecdsa-sha2-nistp384" with a PEM SubjectPublicKeyInfo on that curve (DER signature over
  // SHA-256 / SHA-384); keytype "rsa" / scheme "rsassa-pss-sha{224,256,384,512}" (MGF1 with the
  // same hash, any salt length) or "rsa-pkcs1v15-sha{224,256,384,512}" with a PEM RSA key.
  static Result<Verifier> from_tuf_key(std::string_view keytype, std::string_view scheme,
                                       std::string_view public_value);

  Verifier(const Ed25519Verifier& v) : key_(v.key_) {}    // NOLINT(google-explicit-constructor)
  Verifier(const EcdsaP256Verifier& v) : key_(v.key_) {}  // NOLINT(google-explicit-constructor)

  Result<void> verify(ByteView message, ByteView signature) const;
  // The scheme the key decided, for logs: "ed25519", "ecdsa-p256-sha256", "rsassa-pss-sha256", ...
  std::string_view scheme_name() const;

 private:
  explicit Verifier(std::shared_ptr<const VerifyKey> key) : key_(std::move(key)) {}
  friend class PublicKey;  // PublicKey::verifier()
  friend class Ed25519Verifier;
  friend class EcdsaP256Verifier;
  std::shared_ptr<const VerifyKey> key_;
};

// An ECDSA signature given as its two integers (big-endian, as PKCS#11 tokens and TPMs return
// them) in the DER form the verifiers take (ECDSA-Sig-Value, RFC 3279).
Result<Bytes> ecdsa_der_signature(ByteView r, ByteView s);

}  // namespace ironseal::crypto
