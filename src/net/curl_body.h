// What every libcurl transfer of the device shares: one-time global initialisation, and a
// response body collected in memory up to a limit (endless-data protection: past the limit the
// write callback returns short, which makes libcurl abort with CURLE_WRITE_ERROR).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ironseal::net {

// curl_global_init once per process; false if it failed.
bool curl_global();

// Pass &BoundedBody<B>::write as CURLOPT_WRITEFUNCTION and the object as CURLOPT_WRITEDATA.
template <class Buffer>
struct BoundedBody {
  Buffer* out;
  std::uint64_t max;
  bool too_large = false;

  static std::size_t write(char* data, std::size_t size, std::size_t count, void* user) {
    auto* self = static_cast<BoundedBody*>(user);
    const std::size_t n = size * count;
    if (self->out->size() + n > self->max) {
      self->too_large = true;
      return 0;
    }
    self->out->insert(self->out->end(), data, data + n);
    return n;
  }
};

}  // namespace ironseal::net
