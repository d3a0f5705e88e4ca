// Differential fuzzing of the bootloader's Ed25519 verification (firmware/crypto/ed25519_verify.c,
// ironseal's own) against OpenSSL's and libsodium's. Input: public key (32) || signature (64) ||
// message. Invariants: whatever the bootloader accepts, OpenSSL accepts; the bootloader's verdict
// is libsodium's (the same strictness rules, written independently); where OpenSSL accepts and
// the bootloader does not, the key or R is not a valid prime-order-subgroup point for libsodium
// (small order or a non-canonical encoding: the documented stricter cases). Anything else aborts.
// The seed corpus (fuzz/corpus/ed25519_diff) holds valid signatures, so mutations start from
// inputs that verify.
#include <openssl/evp.h>
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/ed25519_stream.h"

namespace {

bool openssl_verify(const std::uint8_t* pk, const std::uint8_t* sig, const std::uint8_t* m,
                    std::size_t n) {
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pk, 32);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr &&
                  EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, sig, 64, m, n) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

bool bootloader_verify(const std::uint8_t* pk, const std::uint8_t* sig, const std::uint8_t* m,
                       std::size_t n) {
  ironseal_ed25519_verifier v;
  if (ironseal_ed25519_verify_begin(&v, sig, pk) != 0) return false;
  // Feed in two pieces: streaming must not change the verdict.
  ironseal_ed25519_verify_update(&v, m, n / 2);
  ironseal_ed25519_verify_update(&v, m + n / 2, n - n / 2);
  return ironseal_ed25519_verify_end(&v) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 96) return 0;
  const std::uint8_t* pk = data;
  const std::uint8_t* sig = data + 32;
  const std::uint8_t* msg = data + 96;
  const std::size_t n = size - 96;
  const bool ours = bootloader_verify(pk, sig, msg, n);
  const bool theirs = openssl_verify(pk, sig, msg, n);
  const bool sodium = crypto_sign_ed25519_verify_detached(sig, msg, n, pk) == 0;
  if (ours && !theirs) std::abort();  // more lenient than OpenSSL: never
  if (ours != sodium) std::abort();   // a different rule than libsodium's: never
  if (theirs && !ours) {
    const bool explained = crypto_core_ed25519_is_valid_point(pk) == 0 ||
                           crypto_core_ed25519_is_valid_point(sig) == 0;
    if (!explained) std::abort();
  }
  return 0;
}
