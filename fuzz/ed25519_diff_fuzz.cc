// Differential fuzzing of the bootloader's Ed25519 verification (firmware/crypto/ed25519_stream.c
// on Debian's libsodium) against OpenSSL's. Input: public key (32) || signature (64) || message.
// Invariants: whatever the bootloader accepts, OpenSSL accepts; where OpenSSL accepts and the
// bootloader does not, the key or R is one libsodium refuses by design (small order or a
// non-canonical encoding). Anything else aborts. The seed corpus (fuzz/corpus/ed25519_diff) holds
// valid signatures, so mutations start from inputs that verify.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/ed25519_stream.h"

extern "C" {
int ge25519_has_small_order(const unsigned char s[32]);
int ge25519_is_canonical(const unsigned char* s);
}

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
  if (ours && !theirs) std::abort();  // more lenient than OpenSSL: never
  if (theirs && !ours) {
    const bool explained = ge25519_has_small_order(pk) != 0 || ge25519_has_small_order(sig) != 0 ||
                           ge25519_is_canonical(pk) == 0;
    if (!explained) std::abort();
  }
  return 0;
}
