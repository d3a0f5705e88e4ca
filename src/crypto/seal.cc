#include "crypto/seal.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/ossl.h"
#include "crypto/random.h"

namespace ironseal::crypto {

using ossl::PkeyCtxPtr;
using ossl::PkeyPtr;

struct SealPrivateKey::Handle {
  PkeyPtr pkey;
};

namespace {

using CipherCtxPtr = ossl::Owned<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using KdfPtr = ossl::Owned<EVP_KDF, EVP_KDF_free>;
using KdfCtxPtr = ossl::Owned<EVP_KDF_CTX, EVP_KDF_CTX_free>;

constexpr std::string_view kInfo = "ironseal-backup-seal-v1";

std::unexpected<Error> openssl_fail(std::string_view what) {
  return fail(ErrorCode::kCrypto, what, ": ", ossl::drain_errors());
}

Result<SealKeyType> type_of(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "X25519")) return SealKeyType::kX25519;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) == 1 &&
        std::string_view(group, len) == "prime256v1") {
      return SealKeyType::kP256;
    }
  }
  return fail(ErrorCode::kMalformed,
              "a backup key must be X25519 or ECDSA P-256 (generate one with `ironseal backup "
              "keygen`)");
}

Result<Bytes> spki_of(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) return openssl_fail("encoding a public key");
  ossl::OwnedMemory<unsigned char> owned(der);
  return Bytes(der, der + len);
}

Result<PkeyPtr> pkey_from_spki(ByteView der) {
  const unsigned char* p = der.data();
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey || p != der.data() + der.size()) {
    ossl::drain_errors();
    return fail(ErrorCode::kMalformed, "not a DER SubjectPublicKeyInfo");
  }
  return pkey;
}

SealRecipient recipient_of(SealKeyType type, Bytes spki) {
  const Bytes id = sha256(spki);
  return {type, std::move(spki), to_hex(ByteView(id).first(16))};
}

Result<PkeyPtr> generate_pkey(SealKeyType type) {
  PkeyPtr pkey(type == SealKeyType::kX25519
                   ? EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")
                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!pkey) return openssl_fail("generating a key");
  return pkey;
}

Result<Bytes> derive(EVP_PKEY* own, EVP_PKEY* peer) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
    ossl::drain_errors();
    return fail(ErrorCode::kMalformed, "key agreement failed (keys of different types?)");
  }
  Bytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) return openssl_fail("ECDH");
  secret.resize(len);
  return secret;
}

// HKDF-SHA256(secret, info = kInfo || context || ephemeral || recipient) -> 32 bytes.
Result<Bytes> kek(ByteView secret, const std::string& context, ByteView eph, ByteView to) {
  Bytes info(kInfo.begin(), kInfo.end());
  info.insert(info.end(), context.begin(), context.end());
  info.insert(info.end(), eph.begin(), eph.end());
  info.insert(info.end(), to.begin(), to.end());
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  KdfCtxPtr ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return openssl_fail("HKDF");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(kContentKeySize);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) return openssl_fail("HKDF");
  return out;
}

}  // namespace

std::string_view seal_key_type_name(SealKeyType t) {
  return t == SealKeyType::kX25519 ? "x25519" : "p256";
}

Result<SealKeyType> parse_seal_key_type(std::string_view name) {
  if (name == "x25519") return SealKeyType::kX25519;
  if (name == "p256") return SealKeyType::kP256;
  return fail(ErrorCode::kInvalidArgument, "unknown backup key type '", name,
              "' (x25519 or p256)");
}

Result<SealRecipient> seal_recipient_from_der(ByteView spki_der) {
  auto pkey = pkey_from_spki(spki_der);
  if (!pkey) return std::unexpected(pkey.error());
  auto type = type_of(pkey->get());
  if (!type) return std::unexpected(type.error());
  return recipient_of(*type, Bytes(spki_der.begin(), spki_der.end()));
}

Result<SealRecipient> load_seal_recipient(const std::filesystem::path& public_pem) {
  auto text = read_file(public_pem, 64 * 1024);
  if (!text) return std::unexpected(text.error());
  auto bio = ossl::mem_bio(std::string_view(reinterpret_cast<const char*>(text->data()),
                                            text->size()));
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, ossl::no_passphrase, nullptr));
  if (!pkey) {
    ossl::drain_errors();
    return fail(ErrorCode::kMalformed, public_pem.string(), ": not a PEM public key");
  }
  auto type = type_of(pkey.get());
  if (!type) return fail_in(type.error(), public_pem.string(), ": ");
  auto spki = spki_of(pkey.get());
  if (!spki) return std::unexpected(spki.error());
  return recipient_of(*type, std::move(*spki));
}

SealPrivateKey::SealPrivateKey(std::unique_ptr<Handle> h, SealRecipient r)
    : handle_(std::move(h)), recipient_(std::move(r)) {}
SealPrivateKey::~SealPrivateKey() = default;
SealPrivateKey::SealPrivateKey(SealPrivateKey&&) noexcept = default;
SealPrivateKey& SealPrivateKey::operator=(SealPrivateKey&&) noexcept = default;

Result<SealPrivateKey> SealPrivateKey::load(const std::filesystem::path& private_pem) {
  if (auto mode = check_private_file_mode(private_pem); !mode) {
    return std::unexpected(mode.error());
  }
  auto text = read_file(private_pem, 64 * 1024);
  if (!text) return std::unexpected(text.error());
  auto bio = ossl::mem_bio(std::string_view(reinterpret_cast<const char*>(text->data()),
                                            text->size()));
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, ossl::no_passphrase, nullptr));
  OPENSSL_cleanse(text->data(), text->size());
  if (!pkey) {
    ossl::drain_errors();
    return fail(ErrorCode::kMalformed, private_pem.string(), ": not an unencrypted PEM private key");
  }
  auto type = type_of(pkey.get());
  if (!type) return fail_in(type.error(), private_pem.string(), ": ");
  auto spki = spki_of(pkey.get());
  if (!spki) return std::unexpected(spki.error());
  auto h = std::make_unique<Handle>();
  h->pkey = std::move(pkey);
  return SealPrivateKey(std::move(h), recipient_of(*type, std::move(*spki)));
}

Result<SealRecipient> SealPrivateKey::generate(SealKeyType type,
                                               const std::filesystem::path& private_out,
                                               const std::filesystem::path& public_out) {
  auto pkey = generate_pkey(type);
  if (!pkey) return std::unexpected(pkey.error());
  ossl::BioPtr priv(BIO_new(BIO_s_mem()));
  ossl::BioPtr pub(BIO_new(BIO_s_mem()));
  if (!priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), pkey->get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_PUBKEY(pub.get(), pkey->get()) != 1) {
    return openssl_fail("encoding the new key");
  }
  std::string priv_text = ossl::bio_text(priv.get());
  auto written = write_file_atomic(private_out, as_bytes(priv_text), {0600, true});
  OPENSSL_cleanse(priv_text.data(), priv_text.size());
  if (!written) return std::unexpected(written.error());
  const std::string pub_text = ossl::bio_text(pub.get());
  if (auto w = write_file_atomic(public_out, as_bytes(pub_text), {0644, true}); !w) {
    return std::unexpected(w.error());
  }
  auto spki = spki_of(pkey->get());
  if (!spki) return std::unexpected(spki.error());
  return recipient_of(type, std::move(*spki));
}

Result<WrappedKey> wrap_content_key(const SealRecipient& to, ByteView content_key,
                                    const std::string& context) {
  auto peer = pkey_from_spki(to.spki_der);
  if (!peer) return std::unexpected(peer.error());
  auto eph = generate_pkey(to.type);
  if (!eph) return std::unexpected(eph.error());
  auto eph_spki = spki_of(eph->get());
  if (!eph_spki) return std::unexpected(eph_spki.error());
  auto secret = derive(eph->get(), peer->get());
  if (!secret) return std::unexpected(secret.error());
  auto k = kek(*secret, context, *eph_spki, to.spki_der);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!k) return std::unexpected(k.error());
  auto wrapped = gcm_seal(*k, as_bytes(context), content_key);
  OPENSSL_cleanse(k->data(), k->size());
  if (!wrapped) return std::unexpected(wrapped.error());
  return WrappedKey{to.key_id, to.type, std::move(*eph_spki), std::move(*wrapped)};
}

Result<Bytes> unwrap_content_key(const SealPrivateKey& key, ByteView ephemeral_spki,
                                 ByteView wrapped, const std::string& context) {
  auto eph = pkey_from_spki(ephemeral_spki);
  if (!eph) return fail_in(eph.error(), "ephemeral key: ");
  auto eph_type = type_of(eph->get());
  if (!eph_type || *eph_type != key.recipient().type) {
    return fail(ErrorCode::kMalformed, "the ephemeral key is not of the recipient key's type");
  }
  auto secret = derive(key.handle_->pkey.get(), eph->get());
  if (!secret) return std::unexpected(secret.error());
  auto k = kek(*secret, context, ephemeral_spki, key.recipient().spki_der);
  OPENSSL_cleanse(secret->data(), secret->size());
  if (!k) return std::unexpected(k.error());
  auto cek = gcm_open(*k, as_bytes(context), wrapped);
  OPENSSL_cleanse(k->data(), k->size());
  if (!cek) return std::unexpected(cek.error());
  if (cek->size() != kContentKeySize) {
    return fail(ErrorCode::kMalformed, "the wrapped content key is not 32 bytes");
  }
  return cek;
}

Result<Bytes> gcm_seal(ByteView key, ByteView aad, ByteView plaintext) {
  if (key.size() != kContentKeySize) return fail(ErrorCode::kInvalidArgument, "AES-256 key size");
  auto nonce = random_bytes(kGcmNonceSize);
  if (!nonce) return std::unexpected(nonce.error());
  Bytes out = *nonce;
  out.resize(kGcmNonceSize + plaintext.size() + kGcmTagSize);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce->data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) !=
           1)) {
    return openssl_fail("AES-256-GCM");
  }
  std::size_t done = 0;
  // EVP lengths are int: feed large inputs in pieces.
  while (done < plaintext.size()) {
    const int n = static_cast<int>(std::min<std::size_t>(plaintext.size() - done, 1 << 30));
    if (EVP_EncryptUpdate(ctx.get(), out.data() + kGcmNonceSize + done, &len,
                          plaintext.data() + done, n) != 1) {
      return openssl_fail("AES-256-GCM");
    }
    done += static_cast<std::size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + kGcmNonceSize + done, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                          out.data() + kGcmNonceSize + plaintext.size()) != 1) {
    return openssl_fail("AES-256-GCM");
  }
  return out;
}

Result<Bytes> gcm_open(ByteView key, ByteView aad, ByteView sealed) {
  if (key.size() != kContentKeySize) return fail(ErrorCode::kInvalidArgument, "AES-256 key size");
  if (sealed.size() < kGcmNonceSize + kGcmTagSize) {
    return fail_because(ErrorCode::kNotTrusted, "decrypt_failed",
                        "the sealed data is shorter than its nonce and tag (truncated)");
  }
  const std::size_t n = sealed.size() - kGcmNonceSize - kGcmTagSize;
  Bytes out(n);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  Bytes tag(sealed.end() - kGcmTagSize, sealed.end());
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), sealed.data()) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) !=
           1)) {
    return openssl_fail("AES-256-GCM");
  }
  std::size_t done = 0;
  while (done < n) {
    const int step = static_cast<int>(std::min<std::size_t>(n - done, 1 << 30));
    if (EVP_DecryptUpdate(ctx.get(), out.data() + done, &len,
                          sealed.data() + kGcmNonceSize + done, step) != 1) {
      return openssl_fail("AES-256-GCM");
    }
    done += static_cast<std::size_t>(len);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + done, &len) != 1) {
    ossl::drain_errors();
    OPENSSL_cleanse(out.data(), out.size());
    return fail_because(ErrorCode::kNotTrusted, "decrypt_failed",
                        "the authentication tag does not verify: wrong key, or the bytes were "
                        "altered");
  }
  return out;
}

}  // namespace ironseal::crypto
