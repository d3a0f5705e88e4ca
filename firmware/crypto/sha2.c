/* SHA-256 and SHA-512 (FIPS 180-4), written for code size on a 32-bit core: one message buffer,
 * one padding routine and one constant table for both. SHA-256's round constants and initial
 * values are the high 32 bits of SHA-512's (both are the fractional parts of the cube and square
 * roots of the same primes), so only SHA-512's are stored; the table below was generated from
 * that definition (integer cube/square roots of the first 80/8 primes). */
#include <stdint.h>
#include <string.h>

#include "ed25519_stream.h"

typedef struct {
  uint64_t h[8];  /* chaining value (SHA-256: low 32 bits of each) */
  uint64_t count; /* bytes hashed so far */
  unsigned block; /* 64 (SHA-256) or 128 (SHA-512); 0: no algorithm (refused init, or final) */
  unsigned char buf[128];
} sha2_ctx;

/* Whether init chose an algorithm. Any other block size would index past buf (or, at 0, never
 * fill a block and loop forever), so update and final check this first. */
static int sha2_ready(const sha2_ctx* c) {
  return c->block == 64 || c->block == 128;
}

_Static_assert(sizeof(sha2_ctx) <= sizeof(((ironseal_sha_state*)0)->opaque),
               "ironseal_sha_state too small");

static const uint64_t kH[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint64_t kK[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

static uint64_t load_be(const unsigned char* p, unsigned n) {
  uint64_t v = 0;
  for (unsigned i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

static void store_be(unsigned char* p, uint64_t v, unsigned n) {
  while (n-- != 0) {
    p[n] = (unsigned char)v;
    v >>= 8;
  }
}

static uint32_t ror32(uint32_t x, unsigned n) {
  return (x >> n) | (x << (32 - n));
}
static uint64_t ror64(uint64_t x, unsigned n) {
  return (x >> n) | (x << (64 - n));
}

/* The message schedule is a 16-word ring: w[i & 15] holds W[i], W[i-16] before the update.
 * SHA-256 keeps a..h in registers and shifts them each round. */

static void sha256_block(sha2_ctx* c) {
  uint32_t w[16];
  uint32_t a = (uint32_t)c->h[0], b = (uint32_t)c->h[1], cc = (uint32_t)c->h[2];
  uint32_t d = (uint32_t)c->h[3], e = (uint32_t)c->h[4], f = (uint32_t)c->h[5];
  uint32_t g = (uint32_t)c->h[6], h = (uint32_t)c->h[7];
  for (unsigned i = 0; i < 64; ++i) {
    if (i < 16) {
      w[i] = (uint32_t)load_be(c->buf + 4 * i, 4);
    } else {
      const uint32_t x = w[(i + 1) & 15], y = w[(i + 14) & 15];
      w[i & 15] += (ror32(x, 7) ^ ror32(x, 18) ^ (x >> 3)) + w[(i + 9) & 15] +
                   (ror32(y, 17) ^ ror32(y, 19) ^ (y >> 10));
    }
    const uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                        (uint32_t)(kK[i] >> 32) + w[i & 15];
    const uint32_t t2 =
        (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = cc;
    cc = b;
    b = a;
    a = t1 + t2;
  }
  const uint32_t add[8] = {a, b, cc, d, e, f, g, h};
  for (unsigned i = 0; i < 8; ++i) c->h[i] = (uint32_t)(c->h[i] + add[i]);
}

/* SHA-512's eight 64-bit variables do not fit the registers of a 32-bit core: they stay in an
 * array, shifted down each round (a loop: smaller than addressing them in place, slower by about
 * a fifth; SHA-512 hashes whole images only in MCUboot's pure mode). */
static void sha512_block(sha2_ctx* c) {
  uint64_t w[16], v[8];
  for (unsigned i = 0; i < 8; ++i) v[i] = c->h[i];
  for (unsigned i = 0; i < 80; ++i) {
    if (i < 16) {
      w[i] = load_be(c->buf + 8 * i, 8);
    } else {
      const uint64_t x = w[(i + 1) & 15], y = w[(i + 14) & 15];
      w[i & 15] += (ror64(x, 1) ^ ror64(x, 8) ^ (x >> 7)) + w[(i + 9) & 15] +
                   (ror64(y, 19) ^ ror64(y, 61) ^ (y >> 6));
    }
    const uint64_t a = v[0], e = v[4];
    const uint64_t t1 = v[7] + (ror64(e, 14) ^ ror64(e, 18) ^ ror64(e, 41)) +
                        ((e & v[5]) ^ (~e & v[6])) + kK[i] + w[i & 15];
    const uint64_t t2 =
        (ror64(a, 28) ^ ror64(a, 34) ^ ror64(a, 39)) + ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));
    for (unsigned j = 7; j != 0; --j) v[j] = v[j - 1];
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (unsigned i = 0; i < 8; ++i) c->h[i] += v[i];
}

__attribute__((noinline)) int ironseal_sha2_init(ironseal_sha_state* s, unsigned bits) {
  sha2_ctx* c = (sha2_ctx*)(void*)s->opaque;
  c->block = bits == 256 || bits == 512 ? bits / 4 : 0; /* 64 or 128 bytes; 0: refused */
  for (unsigned i = 0; i < 8; ++i) c->h[i] = bits == 256 ? kH[i] >> 32 : kH[i];
  c->count = 0;
  return c->block != 0 ? 0 : -1;
}

void ironseal_sha2_update(ironseal_sha_state* s, const unsigned char* m, size_t length) {
  sha2_ctx* c = (sha2_ctx*)(void*)s->opaque;
  if (!sha2_ready(c)) return;
  while (length != 0) {
    const unsigned used = (unsigned)c->count & (c->block - 1);
    const size_t n = length < c->block - used ? length : c->block - used;
    memcpy(c->buf + used, m, n);
    c->count += n;
    m += n;
    length -= n;
    if (used + n == c->block) {
      if (c->block == 64) {
        sha256_block(c);
      } else {
        sha512_block(c);
      }
    }
  }
}

/* Padding: 0x80, zeros up to the length field at the block's end, then the bit length
 * big-endian in 8 (SHA-256) or 16 (SHA-512) bytes. Output: the chaining value, 4 or 8 bytes per
 * word, big-endian. */
int ironseal_sha2_final(ironseal_sha_state* s, unsigned char* out) {
  sha2_ctx* c = (sha2_ctx*)(void*)s->opaque;
  if (!sha2_ready(c)) return -1;
  const unsigned field = c->block / 8;
  unsigned char length[16];
  store_be(length, c->count << 3, field);
  const unsigned char one = 0x80, zero = 0;
  ironseal_sha2_update(s, &one, 1);
  while (((unsigned)c->count & (c->block - 1)) != c->block - field) {
    ironseal_sha2_update(s, &zero, 1);
  }
  ironseal_sha2_update(s, length, field);
  const unsigned word = c->block / 16;
  for (unsigned i = 0; i < 8; ++i) store_be(out + word * i, c->h[i], word);
  c->block = 0; /* a second final would pad the padding: refused instead */
  return 0;
}
