#include "semihost.h"

namespace ironseal::fw::semihost {
namespace {

enum : std::uint32_t {
  kSysOpen = 0x01,
  kSysWrite0 = 0x04,
  kSysWrite = 0x05,
  kSysSeek = 0x0a,
  kSysGetCmdline = 0x15,
  kSysExitExtended = 0x20,
};

std::uint32_t call(std::uint32_t op, const void* arg) {
  register std::uint32_t r0 asm("r0") = op;
  register const void* r1 asm("r1") = arg;
  asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

std::size_t length(const char* s) {
  std::size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

}  // namespace

void exit(std::uint32_t code) {
  const std::uint32_t block[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, code};
  call(kSysExitExtended, block);
  for (;;) asm volatile("wfi");
}

void write0(const char* text) {
  call(kSysWrite0, text);
}

bool command_line(char* buf, std::size_t size) {
  std::uint32_t block[2] = {reinterpret_cast<std::uint32_t>(buf), static_cast<std::uint32_t>(size)};
  if (call(kSysGetCmdline, block) != 0) return false;
  buf[size - 1] = '\0';
  return true;
}

int open_rw(const char* path) {
  const std::uint32_t block[3] = {reinterpret_cast<std::uint32_t>(path), 3 /* "r+b" */,
                                  static_cast<std::uint32_t>(length(path))};
  return static_cast<int>(call(kSysOpen, block));
}

bool write_at(int fd, std::uint32_t offset, const void* data, std::size_t n) {
  const std::uint32_t seek[2] = {static_cast<std::uint32_t>(fd), offset};
  if (call(kSysSeek, seek) != 0) return false;
  const std::uint32_t block[3] = {static_cast<std::uint32_t>(fd),
                                  reinterpret_cast<std::uint32_t>(data),
                                  static_cast<std::uint32_t>(n)};
  return call(kSysWrite, block) == 0;  // returns the number of bytes NOT written
}

}  // namespace ironseal::fw::semihost
