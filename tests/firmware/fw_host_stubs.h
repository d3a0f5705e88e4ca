// See fw_host_stubs.cc.
#pragma once

#include <cstdint>
#include <vector>

#include "semihost.h"
#include "uart.h"

namespace ironseal::fw {

struct WriteThrough {
  int fd;
  std::uint32_t offset;
  std::vector<std::uint8_t> bytes;
};
extern std::vector<WriteThrough> g_write_through;

}  // namespace ironseal::fw
