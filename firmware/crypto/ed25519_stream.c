/* See ed25519_stream.h. The sequence of checks follows libsodium's
 * crypto_sign/ed25519/ref10/open.c (non-ED25519_COMPAT build), split into begin/update/end. */
#include "ed25519_stream.h"

#include <string.h>

#include "crypto_hash_sha256.h"
#include "crypto_hash_sha512.h"
#include "crypto_verify_32.h"
#include "private/ed25519_ref10.h"

typedef struct {
  crypto_hash_sha512_state hash;
  ge25519_p3 negated_a;
  unsigned char sig[64];
} verifier;

_Static_assert(sizeof(verifier) <= sizeof(((ironseal_ed25519_verifier*)0)->opaque),
               "ironseal_ed25519_verifier too small");
_Static_assert(sizeof(crypto_hash_sha512_state) <= sizeof(((ironseal_sha_state*)0)->opaque),
               "ironseal_sha_state too small for SHA-512");
_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((ironseal_sha_state*)0)->opaque),
               "ironseal_sha_state too small for SHA-256");

static void wipe(void* p, size_t n) {
  volatile unsigned char* b = (volatile unsigned char*)p;
  while (n-- != 0) *b++ = 0;
}

int ironseal_ed25519_verify_begin(ironseal_ed25519_verifier* out, const unsigned char sig[64],
                                  const unsigned char pk[32]) {
  verifier* v = (verifier*)(void*)out->opaque;
  memset(v, 0, sizeof *v);
  if (sc25519_is_canonical(sig + 32) == 0 || ge25519_has_small_order(sig) != 0) return -1;
  if (ge25519_is_canonical(pk) == 0 || ge25519_has_small_order(pk) != 0) return -1;
  if (ge25519_frombytes_negate_vartime(&v->negated_a, pk) != 0) return -1;
  memcpy(v->sig, sig, 64);
  crypto_hash_sha512_init(&v->hash);
  crypto_hash_sha512_update(&v->hash, sig, 32);
  crypto_hash_sha512_update(&v->hash, pk, 32);
  return 0;
}

void ironseal_ed25519_verify_update(ironseal_ed25519_verifier* in, const unsigned char* m,
                                    size_t length) {
  verifier* v = (verifier*)(void*)in->opaque;
  crypto_hash_sha512_update(&v->hash, m, length);
}

int ironseal_ed25519_verify_end(ironseal_ed25519_verifier* in) {
  verifier* v = (verifier*)(void*)in->opaque;
  unsigned char h[64];
  unsigned char rcheck[32];
  ge25519_p2 r;
  crypto_hash_sha512_final(&v->hash, h);
  sc25519_reduce(h);
  ge25519_double_scalarmult_vartime(&r, h, &v->negated_a, v->sig + 32);
  ge25519_tobytes(rcheck, &r);
  const int ok = crypto_verify_32(rcheck, v->sig);
  wipe(v, sizeof *v);
  return ok == 0 ? 0 : -1;
}

void ironseal_sha256_init(ironseal_sha_state* s) {
  crypto_hash_sha256_init((crypto_hash_sha256_state*)(void*)s->opaque);
}
void ironseal_sha256_update(ironseal_sha_state* s, const unsigned char* m, size_t length) {
  crypto_hash_sha256_update((crypto_hash_sha256_state*)(void*)s->opaque, m, length);
}
void ironseal_sha256_final(ironseal_sha_state* s, unsigned char out[32]) {
  crypto_hash_sha256_final((crypto_hash_sha256_state*)(void*)s->opaque, out);
}
void ironseal_sha512_init(ironseal_sha_state* s) {
  crypto_hash_sha512_init((crypto_hash_sha512_state*)(void*)s->opaque);
}
void ironseal_sha512_update(ironseal_sha_state* s, const unsigned char* m, size_t length) {
  crypto_hash_sha512_update((crypto_hash_sha512_state*)(void*)s->opaque, m, length);
}
void ironseal_sha512_final(ironseal_sha_state* s, unsigned char out[64]) {
  crypto_hash_sha512_final((crypto_hash_sha512_state*)(void*)s->opaque, out);
}
