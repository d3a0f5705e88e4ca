/* The three libsodium utilities the verify-side files call, for a bare-metal build without
 * libsodium's utils.c (which needs an OS): same contracts as sodium/utils.c. */
#include <stddef.h>

void sodium_memzero(void* const pnt, const size_t len) {
  volatile unsigned char* p = (volatile unsigned char*)pnt;
  for (size_t i = 0; i < len; ++i) p[i] = 0;
}

int sodium_is_zero(const unsigned char* n, const size_t nlen) {
  volatile unsigned char d = 0U;
  for (size_t i = 0U; i < nlen; i++) d |= n[i];
  return 1 & ((d - 1) >> 8);
}
