// Signature verification over OpenSSL 3 EVP (verifier.h). Every scheme goes through one function,
// verify_message(); only EcdsaP256Verifier reaches the pre-hashed path, verify_sha256_digest().
#include "crypto/verifier.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <string>

#include "crypto/ossl.h"

namespace ironseal::crypto {

// A key and the scheme it decided. Immutable once made.
struct VerifyKey {
  enum class Padding { kNone, kRsaPss, kRsaPkcs1 };
  std::shared_ptr<const PublicKey::Handle> handle;
  const EVP_MD* md = nullptr;  // nullptr: Ed25519 hashes internally (PureEdDSA)
  Padding padding = Padding::kNone;
  std::string_view name;  // a literal
};

namespace {

std::shared_ptr<const VerifyKey> make_key(std::shared_ptr<const PublicKey::Handle> handle,
                                          KeyType type) {
  if (type == KeyType::kEd25519) {
    return std::make_shared<const VerifyKey>(
        VerifyKey{std::move(handle), nullptr, VerifyKey::Padding::kNone, "ed25519"});
  }
  return std::make_shared<const VerifyKey>(
      VerifyKey{std::move(handle), EVP_sha256(), VerifyKey::Padding::kNone, "ecdsa-p256-sha256"});
}

std::shared_ptr<const VerifyKey> make_key(ossl::PkeyPtr pkey, const EVP_MD* md,
                                          VerifyKey::Padding padding, std::string_view name) {
  auto handle = std::make_shared<const PublicKey::Handle>(PublicKey::Handle{std::move(pkey)});
  return std::make_shared<const VerifyKey>(VerifyKey{std::move(handle), md, padding, name});
}

Result<void> verify_message(const VerifyKey& key, ByteView message, ByteView signature) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ready =
      ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, key.md, nullptr, key.handle->pkey.get()) == 1;
  if (ready && key.padding == VerifyKey::Padding::kRsaPss) {
    ready = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, key.md) == 1 &&
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1;
  } else if (ready && key.padding == VerifyKey::Padding::kRsaPkcs1) {
    ready = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  if (!ready) return fail(ErrorCode::kCrypto, "verify init failed: ", ossl::drain_errors());
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                                  message.size());
  ossl::drain_errors();  // a failed verification must not leak into later calls
  if (rc != 1) {
    return fail_because(ErrorCode::kNotTrusted, "bad_signature", "the ", key.name,
                        " signature does not verify");
  }
  return {};
}

Result<void> verify_sha256_digest(const VerifyKey& key, Sha256View digest, ByteView signature) {
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key.handle->pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
    return fail(ErrorCode::kCrypto, "verify init failed: ", ossl::drain_errors());
  }
  const int rc =
      EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size());
  ossl::drain_errors();
  if (rc != 1) {
    return fail_because(ErrorCode::kNotTrusted, "bad_signature", "the ", key.name,
                        " signature does not verify for this digest");
  }
  return {};
}

// The verifier of the key a typed verifier was asked for, or key_type_mismatch.
Result<Verifier> typed_verifier(Result<PublicKey> key, KeyType want) {
  if (!key) return std::unexpected(key.error());
  if (key->type() != want) {
    return fail_because(ErrorCode::kUnsupported, "key_type_mismatch", "an ",
                        key_type_name(key->type()), " key where an ", key_type_name(want),
                        " key is required");
  }
  return key->verifier();
}

// TUF's PEM keys: a SubjectPublicKeyInfo of the algorithm (and curve) the scheme names.
Result<ossl::PkeyPtr> tuf_pem_key(std::string_view pem, const char* algorithm, const char* curve) {
  auto bio = ossl::mem_bio(pem);
  ossl::PkeyPtr pkey(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, ossl::no_passphrase, nullptr)
                         : nullptr);
  if (!pkey) {
    ossl::drain_errors();
    return fail_because(ErrorCode::kMalformed, "malformed_key", "not a PEM SubjectPublicKeyInfo");
  }
  if (!EVP_PKEY_is_a(pkey.get(), algorithm)) {
    return fail_because(ErrorCode::kUnsupported, "key_type_mismatch", "a ",
                        EVP_PKEY_get0_type_name(pkey.get()), " key where an ", algorithm,
                        " key is required");
  }
  if (curve != nullptr) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey.get(), group, sizeof group, &len) != 1 ||
        std::string_view(group) != curve) {
      ossl::drain_errors();
      return fail_because(ErrorCode::kUnsupported, "key_type_mismatch", "an EC key on ", group,
                          " where ", curve, " is required");
    }
  }
  return pkey;
}

}  // namespace

// ---- Ed25519Verifier ----------------------------------------------------------------------------

Result<Ed25519Verifier> Ed25519Verifier::from_spki(ByteView der) {
  auto v = typed_verifier(PublicKey::from_der(der), KeyType::kEd25519);
  if (!v) return std::unexpected(v.error());
  return Ed25519Verifier(std::move(v->key_));
}

Result<Ed25519Verifier> Ed25519Verifier::from_pem(std::string_view pem) {
  auto v = typed_verifier(PublicKey::from_pem(pem), KeyType::kEd25519);
  if (!v) return std::unexpected(v.error());
  return Ed25519Verifier(std::move(v->key_));
}

Result<void> Ed25519Verifier::verify(ByteView message, ByteView signature) const {
  return verify_message(*key_, message, signature);
}

// ---- EcdsaP256Verifier --------------------------------------------------------------------------

Result<EcdsaP256Verifier> EcdsaP256Verifier::from_spki(ByteView der) {
  auto v = typed_verifier(PublicKey::from_der(der), KeyType::kEcdsaP256);
  if (!v) return std::unexpected(v.error());
  return EcdsaP256Verifier(std::move(v->key_));
}

Result<EcdsaP256Verifier> EcdsaP256Verifier::from_pem(std::string_view pem) {
  auto v = typed_verifier(PublicKey::from_pem(pem), KeyType::kEcdsaP256);
  if (!v) return std::unexpected(v.error());
  return EcdsaP256Verifier(std::move(v->key_));
}

Result<void> EcdsaP256Verifier::verify(ByteView message, ByteView der_signature) const {
  return verify_message(*key_, message, der_signature);
}

Result<void> EcdsaP256Verifier::verify_digest(Sha256View sha256, ByteView der_signature) const {
  return verify_sha256_digest(*key_, sha256, der_signature);
}

// ---- Verifier -----------------------------------------------------------------------------------

Verifier PublicKey::verifier() const {
  return Verifier(make_key(handle_, type_));
}

Result<Verifier> Verifier::from_spki(ByteView der) {
  auto key = PublicKey::from_der(der);
  if (!key) return std::unexpected(key.error());
  return key->verifier();
}

Result<Verifier> Verifier::from_pem(std::string_view pem) {
  auto key = PublicKey::from_pem(pem);
  if (!key) return std::unexpected(key.error());
  return key->verifier();
}

Result<Verifier> Verifier::from_tuf_key(std::string_view keytype, std::string_view scheme,
                                        std::string_view public_value) {
  if (keytype == "ed25519" && scheme == "ed25519") {
    auto raw = from_hex(public_value);
    if (!raw || raw->size() != 32) {
      return fail_because(ErrorCode::kMalformed, "malformed_key",
                          "an ed25519 TUF key is the hex of its 32 bytes");
    }
    ossl::PkeyPtr pkey(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw->data(), raw->size()));
    if (!pkey) {
      return fail_because(ErrorCode::kMalformed, "malformed_key",
                          "not an Ed25519 public key: ", ossl::drain_errors());
    }
    return Verifier(make_key(std::move(pkey), nullptr, VerifyKey::Padding::kNone, "ed25519"));
  }
  struct EcdsaScheme {
    std::string_view scheme;
    const char* curve;
    const EVP_MD* (*md)();
    std::string_view name;
  };
  static constexpr EcdsaScheme kEcdsa[] = {
      {"ecdsa-sha2-nistp256", "prime256v1", EVP_sha256, "ecdsa-p256-sha256"},
      {"ecdsa-sha2-nistp384", "secp384r1", EVP_sha384, "ecdsa-p384-sha384"}};
  for (const auto& e : kEcdsa) {
    if ((keytype == "ecdsa" || keytype == scheme) && scheme == e.scheme) {
      auto pkey = tuf_pem_key(public_value, "EC", e.curve);
      if (!pkey) return std::unexpected(pkey.error());
      return Verifier(make_key(std::move(*pkey), e.md(), VerifyKey::Padding::kNone, e.name));
    }
  }
  struct RsaScheme {
    std::string_view scheme;
    const EVP_MD* (*md)();
    VerifyKey::Padding padding;
  };
  static constexpr RsaScheme kRsa[] = {
      {"rsassa-pss-sha224", EVP_sha224, VerifyKey::Padding::kRsaPss},
      {"rsassa-pss-sha256", EVP_sha256, VerifyKey::Padding::kRsaPss},
      {"rsassa-pss-sha384", EVP_sha384, VerifyKey::Padding::kRsaPss},
      {"rsassa-pss-sha512", EVP_sha512, VerifyKey::Padding::kRsaPss},
      {"rsa-pkcs1v15-sha224", EVP_sha224, VerifyKey::Padding::kRsaPkcs1},
      {"rsa-pkcs1v15-sha256", EVP_sha256, VerifyKey::Padding::kRsaPkcs1},
      {"rsa-pkcs1v15-sha384", EVP_sha384, VerifyKey::Padding::kRsaPkcs1},
      {"rsa-pkcs1v15-sha512", EVP_sha512, VerifyKey::Padding::kRsaPkcs1}};
  for (const auto& r : kRsa) {
    if (keytype == "rsa" && scheme == r.scheme) {
      auto pkey = tuf_pem_key(public_value, "RSA", nullptr);
      if (!pkey) return std::unexpected(pkey.error());
      return Verifier(make_key(std::move(*pkey), r.md(), r.padding, r.scheme));
    }
  }
  return fail_because(ErrorCode::kUnsupported, "unsupported_scheme", "TUF keytype '", keytype,
                      "' with scheme '", scheme, "'");
}

Result<void> Verifier::verify(ByteView message, ByteView signature) const {
  return verify_message(*key_, message, signature);
}

std::string_view Verifier::scheme_name() const {
  return key_->name;
}

// ---- Encodings ----------------------------------------------------------------------------------

Result<Bytes> ecdsa_der_signature(ByteView r, ByteView s) {
  ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
  ossl::BnPtr br(BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr));
  ossl::BnPtr bs(BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr));
  if (!sig || !br || !bs || ECDSA_SIG_set0(sig.get(), br.get(), bs.get()) != 1) {
    ossl::drain_errors();
    return fail(ErrorCode::kCrypto, "cannot encode an ECDSA signature");
  }
  // ECDSA_SIG_set0 took both integers: from here `sig` alone frees them.
  (void)br.release();
  (void)bs.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  const ossl::OwnedMemory<unsigned char> owned(der);
  if (len <= 0) {
    ossl::drain_errors();
    return fail(ErrorCode::kCrypto, "cannot encode an ECDSA signature");
  }
  return Bytes(der, der + len);
}

}  // namespace ironseal::crypto
