/* Ed25519 verification (RFC 8032, section 5.1.7), ironseal's own, written for code size on a
 * 32-bit core. Everything here is public (key, signature, message), so nothing needs to be
 * constant time: loops exit early and branches follow the data.
 *
 * Field elements mod p = 2^255 - 19 are 8 words of 32 bits, "loosely reduced": any value below
 * 2^256 that is congruent to the element. A carry out of bit 256 is folded back in as 38
 * (2^256 = 38 mod p); products are 512-bit schoolbook (32x32->64 multiply-accumulate, a single
 * UMAAL on Armv8-M) folded the same way. Only encoding and comparisons reduce fully.
 *
 * Points are in extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, T = XY/Z; one
 * complete addition formula (Hisil-Wong-Carter-Dawson 2008, a = -1) serves for doubling too.
 * [S]B - [k]A is one interleaved double-and-add over the bits of both scalars (Straus/Shamir).
 *
 * Checks, as strict as libsodium's crypto_sign_verify_detached: S < L; R and A are canonical
 * encodings of curve points (y < p, x = 0 only with sign bit 0) without small order ([8]P is not
 * the identity); [S]B - [k]A, k = SHA-512(R || A || M) mod L, is the point R (compared
 * projectively, X = x_R Z and Y = y_R Z: no inversion). As R was decoded canonically, that is the
 * same as libsodium's comparison of the encoding of [S]B - [k]A with R's bytes. */
#include <stdint.h>
#include <string.h>

#include "ed25519_stream.h"

typedef uint32_t fe[8];
typedef struct {
  fe X, Y, Z, T;
} point;

static const fe kP = {0xffffffed, 0xffffffff, 0xffffffff, 0xffffffff,
                      0xffffffff, 0xffffffff, 0xffffffff, 0x7fffffff};
/* L = 2^252 + 27742317777372353535851937790883648493, the order of the base point. */
static const fe kL = {0x5cf5d3ed, 0x5812631a, 0xa2f79cd6, 0x14def9de, 0, 0, 0, 0x10000000};
/* d = -121665/121666 mod p. */
static const fe kD = {0x135978a3, 0x75eb4dca, 0x4141d8ab, 0x00700a4d,
                      0x7779e898, 0x8cc74079, 0x2b6ffe73, 0x52036cee};
/* sqrt(-1) = 2^((p-1)/4) mod p. */
static const fe kSqrtM1 = {0x4a0ea0b0, 0xc4ee1b27, 0xad2fe478, 0x2f431806,
                           0x3dfbd7a7, 0x2b4d0099, 0x4fc1df0b, 0x2b832480};

typedef struct {
  ironseal_sha_state hash; /* SHA-512(R || A || M) so far */
  point minus_a;           /* -A, decoded and checked */
  point r;                 /* R, decoded and checked */
  uint32_t s[8];           /* S < L */
  uint32_t begun;          /* kBegun only between a successful begin and end */
} verifier;

/* The state word: the fields above mean what they say only while it holds this value. Without it
 * a refused begin (S >= L) left S in place for end, whose ladder reads bits 0..252 only, and a
 * verifier never begun hashed with a garbage SHA-512 state. Not 0 (what a refused begin and end
 * leave), and a Thumb-2 immediate (xyxyxyxy): compared without a literal. */
static const uint32_t kBegun = 0x5a5a5a5a;

_Static_assert(sizeof(verifier) <= sizeof(((ironseal_ed25519_verifier*)0)->opaque),
               "ironseal_ed25519_verifier too small");

/* ---- 256-bit words ------------------------------------------------------------------------ */

/* o = a + sign * b over 8 words; returns the carry out of the top word (-1, 0 or 1). */
static int mp_add(uint32_t o[8], const uint32_t a[8], const uint32_t b[8], int sign) {
  int64_t c = 0;
  for (unsigned i = 0; i < 8; ++i) {
    c += (int64_t)a[i] + (sign < 0 ? -(int64_t)b[i] : (int64_t)b[i]);
    o[i] = (uint32_t)c;
    c >>= 32; /* arithmetic: a borrow stays -1 */
  }
  return (int)c;
}

/* Little-endian bytes to words (the encodings are little-endian, and so are the Cortex-M33 and
 * the hosts that run the tests: a copy). Bit 255 is kept; callers mask it where it is a sign. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian targets only");
static void load_words(uint32_t o[8], const unsigned char* b) {
  memcpy(o, b, 32);
}

/* ---- field arithmetic mod p ---------------------------------------------------------------- */

/* o holds a value plus top * 2^256: fold top back in as 38 * top until nothing carries out. */
static void fe_fold(fe o, int64_t top) {
  while (top != 0) {
    int64_t c = top * 38;
    for (unsigned i = 0; i < 8; ++i) {
      c += o[i];
      o[i] = (uint32_t)c;
      c >>= 32;
    }
    top = c;
  }
}

static void fe_add(fe o, const fe a, const fe b) {
  fe_fold(o, mp_add(o, a, b, 1));
}
static void fe_sub(fe o, const fe a, const fe b) {
  fe_fold(o, mp_add(o, a, b, -1));
}

/* (hi:lo) = a * b + lo + hi, which cannot overflow 64 bits: UMAAL on cores with the DSP
 * extension (the Cortex-M33), plain C elsewhere (the host build of the tests). */
static inline void mul_acc(uint32_t* lo, uint32_t* hi, uint32_t a, uint32_t b) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
  __asm__("umaal %0, %1, %2, %3" : "+r"(*lo), "+r"(*hi) : "r"(a), "r"(b));
#else
  const uint64_t t = (uint64_t)a * b + *lo + *hi;
  *lo = (uint32_t)t;
  *hi = (uint32_t)(t >> 32);
#endif
}

/* The one place where code is spent on speed: the inner loop unrolled (68 bytes) halves the time
 * of a multiplication, and verification is ~5000 of them. */
static void fe_mul(fe o, const fe a, const fe b) {
  uint32_t r[16] = {0};
  for (unsigned i = 0; i < 8; ++i) {
    uint32_t c = 0;
#pragma GCC unroll 8
    for (unsigned j = 0; j < 8; ++j) mul_acc(&r[i + j], &c, a[i], b[j]);
    r[i + 8] = c;
  }
  uint32_t c = 0;
  for (unsigned i = 0; i < 8; ++i) { /* r[0..7] + 38 r[8..15] */
    mul_acc(&r[i], &c, r[i + 8], 38);
    o[i] = r[i];
  }
  fe_fold(o, c);
}

static void fe_sq(fe o, const fe a, unsigned times) {
  if (o != a) memcpy(o, a, sizeof(fe));
  while (times-- != 0) fe_mul(o, o, o);
}

/* The canonical 32-byte encoding (value < p, little-endian). */
static void fe_pack(unsigned char out[32], const fe a) {
  fe t, u;
  memcpy(t, a, sizeof t);
#pragma GCC unroll 1
  for (unsigned k = 0; k < 2; ++k) { /* a < 2^256 < 3p */
    if (mp_add(u, t, kP, -1) == 0) memcpy(t, u, sizeof t);
  }
  memcpy(out, t, 32); /* little-endian, as load_words */
}

static int fe_is_zero(const fe a) {
  unsigned char b[32];
  fe_pack(b, a);
  unsigned char acc = 0;
  for (unsigned i = 0; i < 32; ++i) acc |= b[i];
  return acc == 0;
}

static int fe_is_odd(const fe a) {
  unsigned char b[32];
  fe_pack(b, a);
  return b[0] & 1;
}

/* o = a^(2^252 - 3). a^(2^k - 1) doubles k by squaring k times and multiplying by itself, and
 * adds one by squaring once and multiplying by a: walk the bits of 250 to reach a^(2^250 - 1),
 * then 2^252 - 3 = (2^250 - 1) * 4 + 1. */
static void fe_pow2523(fe o, const fe a) {
  fe x, t;
  memcpy(x, a, sizeof x); /* a^(2^1 - 1) */
  unsigned k = 1;
  for (int bit = 6; bit >= 0; --bit) { /* 250 = 0b11111010 */
    fe_sq(t, x, k);
    fe_mul(x, t, x);
    k *= 2;
    if ((250u >> bit) & 1) {
      fe_sq(x, x, 1);
      fe_mul(x, x, a);
      ++k;
    }
  }
  fe_sq(x, x, 2);
  fe_mul(o, x, a);
}

/* ---- points ------------------------------------------------------------------------------- */

static void point_identity(point* p) {
  memset(p, 0, sizeof *p);
  p->Y[0] = 1;
  p->Z[0] = 1;
}

/* Straight-line field code as data: each step is one operation on a file of field registers,
 * 2 bytes of table instead of ~8 bytes of call. */
enum { kOpAdd, kOpSub, kOpMul };
#define STEP(op, d, x, y) (uint16_t)((op) << 12 | (d) << 8 | (x) << 4 | (y))

static void fe_run(fe* r, const uint16_t* program, unsigned steps) {
  for (unsigned i = 0; i < steps; ++i) {
    const unsigned s = program[i], op = s >> 12;
    uint32_t* d = r[(s >> 8) & 15];
    const uint32_t *x = r[(s >> 4) & 15], *y = r[s & 15];
    if (op == kOpMul) {
      fe_mul(d, x, y);
    } else {
      fe_fold(d, mp_add(d, x, y, op == kOpAdd ? 1 : -1));
    }
  }
}

/* o = p + q (complete: p == q and either being the identity are fine; o may alias p or q).
 * Hisil-Wong-Carter-Dawson add-2008-hwcd-3 for a = -1 over 13 registers: 0-3 = X1 Y1 Z1 T1,
 * 4-7 = X2 Y2 Z2 T2, 8 = d, 9-12 temporaries; the result is left in 9-12 as X3 Y3 Z3 T3. */
/* clang-format off */
static const uint16_t kPointAdd[] = {
    STEP(kOpSub, 9, 1, 0), STEP(kOpSub, 10, 5, 4), STEP(kOpMul, 9, 9, 10),    /* A=(Y1-X1)(Y2-X2) */
    STEP(kOpAdd, 10, 1, 0), STEP(kOpAdd, 11, 5, 4), STEP(kOpMul, 10, 10, 11), /* B=(Y1+X1)(Y2+X2) */
    STEP(kOpMul, 11, 3, 7), STEP(kOpMul, 11, 11, 8), STEP(kOpAdd, 11, 11, 11), /* C = 2d T1 T2 */
    STEP(kOpMul, 12, 2, 6), STEP(kOpAdd, 12, 12, 12),                          /* D = 2 Z1 Z2 */
    STEP(kOpSub, 0, 10, 9), STEP(kOpAdd, 1, 10, 9),   /* E = B - A, H = B + A */
    STEP(kOpSub, 2, 12, 11), STEP(kOpAdd, 3, 12, 11), /* F = D - C, G = D + C */
    STEP(kOpMul, 9, 0, 2), STEP(kOpMul, 10, 3, 1),    /* X3 = E F, Y3 = G H */
    STEP(kOpMul, 11, 2, 3), STEP(kOpMul, 12, 0, 1),   /* Z3 = F G, T3 = E H */
};
/* clang-format on */

static void point_add(point* o, const point* p, const point* q) {
  fe r[13];
  memcpy(r[0], p, sizeof *p);
  memcpy(r[4], q, sizeof *q);
  memcpy(r[8], kD, sizeof(fe));
  fe_run(r, kPointAdd, sizeof kPointAdd / sizeof kPointAdd[0]);
  memcpy(o, r[9], sizeof *o);
}

/* Whether [8]p is the identity, i.e. X = 0 after three doublings (no point of this curve has order
 * 16, so X = 0 cannot be the point of order 2). */
static int point_small_order(const point* p) {
  point q = *p;
  for (unsigned i = 0; i < 3; ++i) point_add(&q, &q, &q);
  return fe_is_zero(q.X);
}

/* RFC 8032 5.1.3: x = u v^3 (u v^7)^((p-5)/8) with u = y^2 - 1, v = d y^2 + 1; registers 0-3 =
 * X Y Z T (Z = 1), 4 = u, 5 = v, 6 = t, 7 = v x^2, 8 = d. */
/* clang-format off */
static const uint16_t kDecode1[] = {
    STEP(kOpMul, 4, 1, 1), STEP(kOpMul, 5, 4, 8),                        /* y^2, d y^2 */
    STEP(kOpSub, 4, 4, 2), STEP(kOpAdd, 5, 5, 2),                        /* u, v */
    STEP(kOpMul, 6, 5, 5), STEP(kOpMul, 6, 6, 5),                        /* t = v^3 */
    STEP(kOpMul, 0, 4, 6),                                               /* X = u v^3 */
    STEP(kOpMul, 6, 6, 6), STEP(kOpMul, 6, 6, 5), STEP(kOpMul, 6, 6, 4), /* t = u v^7 */
};
static const uint16_t kDecode2[] = {
    STEP(kOpMul, 0, 0, 6),                        /* X = u v^3 (u v^7)^((p-5)/8) */
    STEP(kOpMul, 7, 0, 0), STEP(kOpMul, 7, 7, 5), /* v x^2 */
    STEP(kOpSub, 6, 7, 4),                        /* v x^2 - u */
};
/* clang-format on */
#undef STEP

/* 0 on success; -1 when y >= p, when no x exists, or for x = 0 with sign 1. With negate, the
 * result is minus the point: (-x, y). */
static int point_decode(point* p, const unsigned char in[32], int negate) {
  fe r[9];
  memset(r, 0, sizeof r);
  r[2][0] = 1;
  load_words(r[1], in);
  r[1][7] &= 0x7fffffff;
  if (mp_add(r[6], r[1], kP, -1) == 0) return -1; /* y >= p: not canonical */
  memcpy(r[8], kD, sizeof(fe));
  fe_run(r, kDecode1, sizeof kDecode1 / sizeof kDecode1[0]);
  fe_pow2523(r[6], r[6]);
  fe_run(r, kDecode2, sizeof kDecode2 / sizeof kDecode2[0]);
  if (!fe_is_zero(r[6])) {
    fe_add(r[6], r[7], r[4]);
    if (!fe_is_zero(r[6])) return -1; /* u/v is not a square: not a point */
    fe_mul(r[0], r[0], kSqrtM1);
  }
  const int sign = in[31] >> 7;
  if (fe_is_zero(r[0]) && sign) return -1;
  if ((fe_is_odd(r[0]) != sign) != negate) fe_sub(r[0], kP, r[0]); /* p = 0 mod p: -x */
  fe_mul(r[3], r[0], r[1]);
  memcpy(p, r, sizeof *p);
  return 0;
}

/* ---- scalars ------------------------------------------------------------------------------- */

/* o = the 512-bit little-endian h mod L, one bit at a time from the top (r < L stays true:
 * 2r + 1 < 2L, so one conditional subtraction per bit). Slow per bit, tiny, and only 512 bits. */
static void sc_reduce(uint32_t o[8], const unsigned char h[64]) {
  uint32_t t[8];
  memset(o, 0, 32);
  for (int i = 511; i >= 0; --i) {
    mp_add(o, o, o, 1);
    o[0] |= (h[i >> 3] >> (i & 7)) & 1u;
    if (mp_add(t, o, kL, -1) == 0) memcpy(o, t, sizeof t);
  }
}

static unsigned bit_of(const uint32_t w[8], unsigned i) {
  return (w[i >> 5] >> (i & 31)) & 1u;
}

/* ---- verification -------------------------------------------------------------------------- */

int ironseal_ed25519_verify_begin(ironseal_ed25519_verifier* out, const unsigned char sig[64],
                                  const unsigned char pk[32]) {
  verifier* v = (verifier*)(void*)out->opaque;
  uint32_t t[8];
  v->begun = 0; /* refused on every early return below */
  load_words(v->s, sig + 32);
  if (mp_add(t, v->s, kL, -1) == 0) return -1; /* S >= L */
  if (point_decode(&v->r, sig, 0) != 0 || point_small_order(&v->r) ||
      point_decode(&v->minus_a, pk, 1) != 0 || point_small_order(&v->minus_a)) {
    return -1;
  }
  ironseal_sha512_init(&v->hash);
  ironseal_sha512_update(&v->hash, sig, 32);
  ironseal_sha512_update(&v->hash, pk, 32);
  v->begun = kBegun;
  return 0;
}

void ironseal_ed25519_verify_update(ironseal_ed25519_verifier* in, const unsigned char* m,
                                    size_t length) {
  verifier* v = (verifier*)(void*)in->opaque;
  if (v->begun == kBegun) ironseal_sha512_update(&v->hash, m, length);
}

/* [S]B - [k]A must be the point R: compared projectively (X = x_R Z, Y = y_R Z), no inversion. */
int ironseal_ed25519_verify_end(ironseal_ed25519_verifier* in) {
  verifier* v = (verifier*)(void*)in->opaque;
  unsigned char h[64];
  uint32_t k[8];
  point table[3], acc;

  if (v->begun != kBegun) return -1; /* no successful begin: S, R, A and the hash mean nothing */
  v->begun = 0;                      /* one end per begin */
  if (ironseal_sha512_final(&v->hash, h) != 0) return -1;
  sc_reduce(k, h);
  /* table[(bit of k | bit of S << 1) - 1]: -A, B, B - A. B's encoding: 0x58, then 31 x 0x66. */
  table[0] = v->minus_a;
  memset(h, 0x66, 32);
  h[0] = 0x58;
  if (point_decode(&table[1], h, 0) != 0) return -1;
  point_add(&table[2], &table[1], &table[0]);
  point_identity(&acc);
  for (int i = 252; i >= 0; --i) { /* S, k < L < 2^253 */
    point_add(&acc, &acc, &acc);
    const unsigned which = bit_of(k, (unsigned)i) | bit_of(v->s, (unsigned)i) << 1;
    if (which != 0) point_add(&acc, &acc, &table[which - 1]);
  }
  fe t;
  fe_mul(t, v->r.X, acc.Z);
  fe_sub(t, t, acc.X);
  if (!fe_is_zero(t)) return -1;
  fe_mul(t, v->r.Y, acc.Z);
  fe_sub(t, t, acc.Y);
  return fe_is_zero(t) ? 0 : -1;
}
