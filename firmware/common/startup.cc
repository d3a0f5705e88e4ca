#include "startup.h"

#include <cstdint>

extern "C" {
extern std::uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

// The freestanding C++ runtime's one hook: a pure virtual call is a bug; stop.
void __cxa_pure_virtual() {
  for (;;) asm volatile("bkpt 0");
}

void fw_reset(void) {
  for (std::uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
  for (std::uint32_t* d = __bss_start; d < __bss_end;) *d++ = 0;
  for (auto** f = __init_array_start; f < __init_array_end; ++f) (*f)();
  fw_main();
}
}
