/* Ed25519 (RFC 8032) verification over a message fed in pieces, and SHA-256/SHA-512: ironseal's
 * own verify-only code for the bootloader (ed25519_verify.c, sha2.c), small rather than fast, and
 * tested against OpenSSL and libsodium on the host (tests/firmware/ed25519_diff_test.cc). The
 * checks are as strict as libsodium's crypto_sign_ed25519_verify_detached(): S must be canonical
 * (< L), R and A must be canonical point encodings without small order; then [S]B - [k]A must be
 * the point R, with k = SHA-512(R || A || M) mod L. Streaming lets the bootloader verify MCUboot's
 * "pure" mode over a slot without holding the image in RAM. */
#ifndef IRONSEAL_FIRMWARE_ED25519_STREAM_H
#define IRONSEAL_FIRMWARE_ED25519_STREAM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef union ironseal_ed25519_verifier {
  unsigned long long align_; /* 8-byte alignment */
  unsigned char opaque[512];
} ironseal_ed25519_verifier;

/* One verification is begin, any number of updates, end. A state word in the verifier is set
 * only by a begin that returned 0 and is checked and cleared by end, so a refused begin, or none,
 * can never lead to an accepted signature: update then feeds nothing and end returns -1. (The word
 * guards against misuse of the interface, not against a caller that forges the opaque bytes.) */

/* 0 when the signature and key pass the structural checks (then feed the message); -1 when the
 * signature is refused already (S >= L; R or A not a canonical encoding of a curve point, or of
 * small order): the verifier is then not begun, whatever it held before. */
int ironseal_ed25519_verify_begin(ironseal_ed25519_verifier* v, const unsigned char sig[64],
                                  const unsigned char pk[32]);
/* Feeds message bytes; does nothing unless begin returned 0 and end has not run since. */
void ironseal_ed25519_verify_update(ironseal_ed25519_verifier* v, const unsigned char* m,
                                    size_t length);
/* 0 when the signature verifies; -1 otherwise, and always -1 unless begin returned 0 (and no end
 * has run since). Ends the verification either way. (Nothing is secret here: no wipe.) */
int ironseal_ed25519_verify_end(ironseal_ed25519_verifier* v);

/* SHA-256 and SHA-512 (FIPS 180-4; sha2.c). The state records which one init chose, so update
 * and final are one function each; the named variants are the same calls. */
typedef union ironseal_sha_state {
  unsigned long long align_;
  unsigned char opaque[216];
} ironseal_sha_state;
/* bits: 256 or 512; 0 then. Any other value returns -1 and leaves the state with no algorithm,
 * which update ignores and final refuses. */
int ironseal_sha2_init(ironseal_sha_state* s, unsigned bits);
#define ironseal_sha256_init(s) ironseal_sha2_init((s), 256)
#define ironseal_sha512_init(s) ironseal_sha2_init((s), 512)
/* Does nothing on a state without an algorithm (refused init, or after final). */
void ironseal_sha2_update(ironseal_sha_state* s, const unsigned char* m, size_t length);
/* 0 and the digest: 32 bytes after sha256_init, 64 after sha512_init; the state then has no
 * algorithm until the next init. -1 and nothing written on a state without an algorithm. */
int ironseal_sha2_final(ironseal_sha_state* s, unsigned char* out);
#define ironseal_sha256_update ironseal_sha2_update
#define ironseal_sha512_update ironseal_sha2_update
#define ironseal_sha256_final ironseal_sha2_final
#define ironseal_sha512_final ironseal_sha2_final

#ifdef __cplusplus
}
#endif

#endif
