// Host stand-ins for the bootloader's semihosting and UART, so that firmware/boot/drivers.cc can
// be tested on the host: UART text goes to stderr, exit() ends the process with the code (the
// power-cut test is a death test), and write-through calls are recorded.
#include "tests/firmware/fw_host_stubs.h"

#include <cstdio>
#include <cstdlib>

namespace ironseal::fw {

std::vector<WriteThrough> g_write_through;

namespace semihost {
void exit(std::uint32_t code) {
  // The death tests read what landed before the run ended.
  for (const auto& w : g_write_through) {
    std::fprintf(stderr, "write-through %u %zu\n", w.offset, w.bytes.size());
  }
  std::fflush(stderr);
  std::_Exit(static_cast<int>(code));
}
void write0(const char* text) {
  std::fputs(text, stderr);
}
bool command_line(char* buf, std::size_t size) {
  if (size != 0) buf[0] = '\0';
  return true;
}
int open_rw(const char*) {
  return 7;
}
bool write_at(int fd, std::uint32_t offset, const void* data, std::size_t length) {
  const auto* b = static_cast<const std::uint8_t*>(data);
  g_write_through.push_back({fd, offset, std::vector<std::uint8_t>(b, b + length)});
  return true;
}
}  // namespace semihost

namespace uart {
void init(std::uint32_t) {}
void use(std::uint32_t) {}
void put(const char* text) {
  std::fputs(text, stderr);
}
void put_hex(const std::uint8_t* data, std::uint32_t length) {
  for (std::uint32_t i = 0; i < length; ++i) std::fprintf(stderr, "%02x", data[i]);
}
void put_u32(std::uint32_t value) {
  std::fprintf(stderr, "%u", value);
}
void put_hex32(std::uint32_t value) {
  std::fprintf(stderr, "0x%08x", value);
}
}  // namespace uart

}  // namespace ironseal::fw
