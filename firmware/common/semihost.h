// Arm semihosting (BKPT 0xAB): the debugger channel QEMU offers a guest. The firmware uses it for
// three things only, all of them harness services rather than device features: ending a run with
// an exit code (power off), the run's command line (power-cut point), and writing flash/OTP
// operations through to the harness's backing files.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ironseal::fw::semihost {

[[noreturn]] void exit(std::uint32_t code);
void write0(const char* text);
// Fills `buf` with the command line (NUL-terminated); false when there is none.
bool command_line(char* buf, std::size_t size);
// Opens an existing file for reading and writing without truncating it; -1 on failure.
int open_rw(const char* path);
bool write_at(int fd, std::uint32_t offset, const void* data, std::size_t length);

}  // namespace ironseal::fw::semihost
