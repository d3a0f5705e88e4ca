// Start-up shared by the secure bootloader and the non-secure applications: the reset handler
// copies .data, clears .bss, runs constructors and calls fw_main(). Each image supplies its own
// vector table (section .vectors) and fw_main.
#pragma once

extern "C" {
[[noreturn]] void fw_reset(void);
[[noreturn]] void fw_main(void);
extern char __stack_top[];
}
