// CMSDK APB UART0 of the mps2-an505, polled; plus the few formatters the firmware prints with.
#pragma once

#include <cstdint>

namespace ironseal::fw::uart {

// `base`: the secure alias while the bootloader owns the UART, the non-secure alias after it
// has given the UART to the application.
void init(std::uint32_t base);
void use(std::uint32_t base);  // switch alias without re-initialising
void put(const char* text);
void put_hex(const std::uint8_t* data, std::uint32_t length);
void put_u32(std::uint32_t value);
void put_hex32(std::uint32_t value);

}  // namespace ironseal::fw::uart
