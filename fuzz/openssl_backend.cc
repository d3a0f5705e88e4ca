#include "openssl_backend.h"

#include <openssl/x509.h>

#include <cstdlib>
#include <vector>

namespace ironseal::fuzz {
namespace {
EVP_PKEY* parse_key(const image::TrustedKey& key) {
  const unsigned char* p = key.spki;
  return d2i_PUBKEY(nullptr, &p, static_cast<long>(key.spki_size));
}
}  // namespace

OpenSslCBackend::OpenSslCBackend() : md_(EVP_MD_CTX_new()) {
  if (md_ == nullptr) std::abort();
}
OpenSslCBackend::~OpenSslCBackend() {
  EVP_MD_CTX_free(md_);
}

void OpenSslCBackend::hash_begin(image::HashKind kind) {
  if (EVP_DigestInit_ex(md_, kind == image::HashKind::kSha256 ? EVP_sha256() : EVP_sha512(),
                        nullptr) != 1) {
    std::abort();
  }
}
void OpenSslCBackend::hash_update(const std::uint8_t* data, std::size_t length) {
  if (EVP_DigestUpdate(md_, data, length) != 1) std::abort();
}
void OpenSslCBackend::hash_finish(std::uint8_t* out) {
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(md_, out, &len) != 1) std::abort();
}

bool OpenSslCBackend::ed25519_verify(const image::TrustedKey& key, const std::uint8_t* message,
                                     std::size_t length, const std::uint8_t (&signature)[64]) {
  EVP_PKEY* pkey = parse_key(key);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = pkey != nullptr && ctx != nullptr &&
                  EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
                  EVP_DigestVerify(ctx, signature, 64, message, length) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

bool OpenSslCBackend::ed25519_verify_source(const image::TrustedKey& key,
                                            const image::ImageSource& source, std::uint64_t length,
                                            const std::uint8_t (&signature)[64]) {
  std::vector<std::uint8_t> copy(length);
  if (!source.read(0, copy.data(), copy.size())) return false;
  return ed25519_verify(key, copy.data(), copy.size(), signature);
}

bool OpenSslCBackend::ecdsa_p256_verify_digest(const image::TrustedKey& key,
                                               const std::uint8_t (&digest)[32],
                                               const std::uint8_t* der, std::size_t der_length) {
  EVP_PKEY* pkey = parse_key(key);
  EVP_PKEY_CTX* ctx = pkey ? EVP_PKEY_CTX_new(pkey, nullptr) : nullptr;
  const bool ok = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
                  EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
                  EVP_PKEY_verify(ctx, der, der_length, digest, 32) == 1;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

}  // namespace ironseal::fuzz
