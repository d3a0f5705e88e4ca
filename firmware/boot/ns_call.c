/* The call into the non-secure world, in C: GCC accepts cmse_nonsecure_call on C function types
 * only. The compiler clears every register and flag that could carry secure data before BLXNS. */
#include <arm_cmse.h>
#include <stdint.h>

typedef void __attribute__((cmse_nonsecure_call)) ironseal_ns_entry(void);

void ironseal_call_non_secure(uint32_t entry_address) {
  ironseal_ns_entry* entry = (ironseal_ns_entry*)cmse_nsfptr_create(entry_address);
  entry();
}
