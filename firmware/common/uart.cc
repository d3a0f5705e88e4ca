#include "uart.h"

namespace ironseal::fw::uart {
namespace {

std::uint32_t g_base = 0;

volatile std::uint32_t& reg(std::uint32_t offset) {
  return *reinterpret_cast<volatile std::uint32_t*>(g_base + offset);
}

constexpr std::uint32_t kData = 0x00, kState = 0x04, kCtrl = 0x08, kBaudDiv = 0x10;

void put_char(char c) {
  while ((reg(kState) & 1u) != 0) {
  }
  reg(kData) = static_cast<std::uint8_t>(c);
}

}  // namespace

void init(std::uint32_t base) {
  g_base = base;
  reg(kBaudDiv) = 16;
  reg(kCtrl) = 1;  // TX enable
}

void use(std::uint32_t base) {
  g_base = base;
}

void put(const char* text) {
  for (; *text != '\0'; ++text) {
    if (*text == '\n') put_char('\r');
    put_char(*text);
  }
}

void put_hex(const std::uint8_t* data, std::uint32_t length) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::uint32_t i = 0; i < length; ++i) {
    put_char(kDigits[data[i] >> 4]);
    put_char(kDigits[data[i] & 15]);
  }
}

void put_u32(std::uint32_t v) {
  char buf[11];
  int i = 10;
  buf[i] = '\0';
  do {
    buf[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(buf + i);
}

void put_hex32(std::uint32_t v) {
  put("0x");
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  put_hex(b, 4);
}

}  // namespace ironseal::fw::uart
