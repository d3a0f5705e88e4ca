#include "crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>

#include "core/file.h"
#include "crypto/ossl.h"
#include "crypto/pkcs11.h"
#include "crypto/signer.h"
#include "crypto/verifier.h"

namespace ironseal::crypto {

namespace {

using Handle = PublicKey::Handle;
using ossl::classify;
using ossl::bio_text;
using ossl::mem_bio;
using ossl::no_passphrase;

}  // namespace

std::string_view key_type_name(KeyType type) {
  return type == KeyType::kEd25519 ? "ed25519" : "ecdsa-p256";
}

Result<KeyType> parse_key_type(std::string_view name) {
  if (name == "ed25519") return KeyType::kEd25519;
  if (name == "ecdsa-p256") return KeyType::kEcdsaP256;
  return fail(ErrorCode::kInvalidArgument, "unknown key type '", name,
              "' (expected ed25519 or ecdsa-p256)");
}

// ---- PublicKey -------------------------------------------------------------------------------

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  ossl::PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    return fail(ErrorCode::kMalformed,
                "not a PEM public key (SubjectPublicKeyInfo): ", ossl::drain_errors());
  }
  auto type = classify(pkey.get());
  if (!type) return std::unexpected(type.error());
  return PublicKey(std::make_shared<Handle>(Handle{std::move(pkey)}), *type);
}

Result<PublicKey> PublicKey::from_der(ByteView spki) {
  const unsigned char* p = spki.data();
  ossl::PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!pkey || p != spki.data() + spki.size()) {
    ossl::drain_errors();
    return fail(ErrorCode::kMalformed, "not a DER SubjectPublicKeyInfo");
  }
  auto type = classify(pkey.get());
  if (!type) return std::unexpected(type.error());
  return PublicKey(std::make_shared<Handle>(Handle{std::move(pkey)}), *type);
}

namespace {

// A key file is input the user chose: one that is empty or does not hold the expected key is a
// usage error (exit 2), never "not trusted" (exit 1), which would read as a verdict on an image.
constexpr std::uint64_t kMaxKeyFileSize = 64 * 1024;

std::unexpected<Error> bad_key_file(const std::filesystem::path& path, const Bytes& text,
                                    std::string_view expected, const Error& why) {
  const std::string_view body(reinterpret_cast<const char*>(text.data()), text.size());
  std::string hint;
  if (text.empty()) {
    hint = "the file is empty";
  } else if (expected == "public" && body.find("PRIVATE KEY-----") != std::string_view::npos) {
    hint = "it holds a private key; give the public half (ironseal key public)";
  } else if (expected == "private" && body.find("PUBLIC KEY-----") != std::string_view::npos) {
    hint = "it holds a public key; signing needs the private key";
  } else {
    hint = why.message;
  }
  // A well-formed key of an algorithm ironseal does not take stays kUnsupported (also exit 2).
  const ErrorCode code =
      why.code == ErrorCode::kUnsupported ? ErrorCode::kUnsupported : ErrorCode::kInvalidArgument;
  return fail(code, "bad_key_file: ", path.string(), ": not a usable ", expected, " key (", hint,
              ")");
}

}  // namespace

Result<PublicKey> PublicKey::load(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxKeyFileSize);
  if (!text) return std::unexpected(text.error());
  auto key = from_pem(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!key) return bad_key_file(path, *text, "public", key.error());
  return key;
}

Bytes PublicKey::spki_der() const {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(handle_->pkey.get(), &der);
  if (len <= 0) std::abort();
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string PublicKey::to_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), handle_->pkey.get()) != 1) std::abort();
  return bio_text(bio.get());
}

Bytes PublicKey::raw() const {
  EVP_PKEY* pkey = handle_->pkey.get();
  Bytes out(type_ == KeyType::kEd25519 ? 32 : 65);
  size_t len = out.size();
  const int ok = type_ == KeyType::kEd25519
                     ? EVP_PKEY_get_raw_public_key(pkey, out.data(), &len)
                     : EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                       out.data(), out.size(), &len);
  if (ok != 1 || len != out.size()) std::abort();
  return out;
}

Result<void> PublicKey::verify(ByteView message, ByteView signature) const {
  return verifier().verify(message, signature);
}

Result<PublicKey> PublicKey::from_raw(KeyType type, ByteView raw) {
  ossl::PkeyPtr pkey;
  if (type == KeyType::kEd25519) {
    if (raw.size() != 32) {
      return fail(ErrorCode::kMalformed, "an Ed25519 public key is 32 bytes, not ",
                  std::to_string(raw.size()));
    }
    pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  } else {
    if (raw.size() != 65 || raw[0] != 0x04) {
      return fail(ErrorCode::kMalformed,
                  "an ECDSA P-256 public key is the 65-byte uncompressed point (04 || x || y)");
    }
    Bytes point(raw.begin(), raw.end());
    char group[] = "P-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
        OSSL_PARAM_END};
    ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* made = nullptr;
    if (ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
        EVP_PKEY_fromdata(ctx.get(), &made, EVP_PKEY_PUBLIC_KEY, params) == 1) {
      pkey.reset(made);
    }
  }
  if (!pkey) {
    return fail(ErrorCode::kMalformed, "not a valid ", key_type_name(type),
                " public key: ", ossl::drain_errors());
  }
  return PublicKey(std::make_shared<Handle>(Handle{std::move(pkey)}), type);
}

// ---- PrivateKey ------------------------------------------------------------------------------

Result<PrivateKey> PrivateKey::generate(KeyType type) {
  ossl::PkeyPtr pkey(type == KeyType::kEd25519
                         ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                         : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) return fail(ErrorCode::kCrypto, "key generation failed: ", ossl::drain_errors());
  return PrivateKey(std::make_shared<Handle>(Handle{std::move(pkey)}), type);
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  ossl::PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    ossl::drain_errors();
    return fail(ErrorCode::kMalformed,
                "not an unencrypted PEM private key (PKCS#8 'BEGIN PRIVATE KEY' expected)");
  }
  auto type = classify(pkey.get());
  if (!type) return std::unexpected(type.error());
  return PrivateKey(std::make_shared<Handle>(Handle{std::move(pkey)}), *type);
}

Result<PrivateKey> PrivateKey::load(const std::filesystem::path& path) {
  if (auto mode = check_private_file_mode(path); !mode) return std::unexpected(mode.error());
  auto text = read_file(path, kMaxKeyFileSize);
  if (!text) return std::unexpected(text.error());
  auto key = from_pem(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!key) {
    auto refused = bad_key_file(path, *text, "private", key.error());
    OPENSSL_cleanse(text->data(), text->size());
    return refused;
  }
  OPENSSL_cleanse(text->data(), text->size());
  return key;
}

PublicKey PrivateKey::public_key() const {
  // The EVP_PKEY holds both halves; export only the public part so a PublicKey never carries
  // private material.
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(handle_->pkey.get(), &der);
  if (len <= 0) std::abort();
  const unsigned char* p = der;
  ossl::PkeyPtr pub(d2i_PUBKEY(nullptr, &p, len));
  OPENSSL_free(der);
  if (!pub) std::abort();
  return PublicKey(std::make_shared<Handle>(Handle{std::move(pub)}), type_);
}

Result<void> PrivateKey::save(const std::filesystem::path& path) const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), handle_->pkey.get(), nullptr, nullptr, 0,
                                            nullptr, nullptr) != 1) {
    return fail(ErrorCode::kCrypto, "cannot encode private key: ", ossl::drain_errors());
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  auto result = write_file_atomic(
      path, ByteView(reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len)),
      WriteOptions{.mode = 0600, .exclusive = true});
  OPENSSL_cleanse(data, static_cast<std::size_t>(len));
  return result;
}

Result<Bytes> PrivateKey::sign(ByteView message) const {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = type_ == KeyType::kEd25519 ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, handle_->pkey.get()) != 1) {
    return fail(ErrorCode::kCrypto, "sign init failed: ", ossl::drain_errors());
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return fail(ErrorCode::kCrypto, "sign failed: ", ossl::drain_errors());
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return fail(ErrorCode::kCrypto, "sign failed: ", ossl::drain_errors());
  }
  sig.resize(len);
  return sig;
}

// ---- Signer factory --------------------------------------------------------------------------

Result<std::unique_ptr<Signer>> open_signer(std::string_view key_ref) {
  if (key_ref.starts_with("pkcs11:")) return pkcs11::open_signer(key_ref);
  auto key = PrivateKey::load(std::filesystem::path(key_ref));
  if (!key) return std::unexpected(key.error());
  return std::make_unique<KeyFileSigner>(std::move(*key));
}

}  // namespace ironseal::crypto
