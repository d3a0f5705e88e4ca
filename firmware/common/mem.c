/* memcpy and memset for the bootloader and the applications, in place of newlib-nano's (404
 * bytes, unrolled for speed): a word loop when both pointers are word-aligned, else bytes. The
 * large copies (a slot into the non-secure window, flash pages) are word-aligned.
 * Compiled without LTO and without loop-to-libcall idiom recognition (firmware/CMakeLists.txt), so
 * the compiler neither turns these loops back into calls to themselves nor drops the definitions
 * before it emits its own calls to them. */
#include <stddef.h>
#include <stdint.h>

typedef uint32_t __attribute__((may_alias)) word;

void* memcpy(void* restrict dst, const void* restrict src, size_t n) {
  unsigned char* d = dst;
  const unsigned char* s = src;
  if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
    for (; n >= 4; n -= 4, d += 4, s += 4) *(word*)(void*)d = *(const word*)(const void*)s;
  }
  while (n-- != 0) *d++ = *s++;
  return dst;
}

void* memset(void* dst, int c, size_t n) {
  unsigned char* d = dst;
  if (((uintptr_t)d & 3) == 0) {
    const word w = (unsigned char)c * 0x01010101u;
    for (; n >= 4; n -= 4, d += 4) *(word*)(void*)d = w;
  }
  while (n-- != 0) *d++ = (unsigned char)c;
  return dst;
}
