// A ChunkSource over HTTP(S) (and file://) with libcurl: each fetch is one Range request on a
// kept-alive connection. The server is not trusted: every byte is checked against the chunk index
// by the installer; this class only refuses responses that are not exactly the range asked for,
// and transfers that stall (slow retrieval) or run too long. TLS peers are verified (libcurl's
// default CA store); nothing here can turn that off.
#pragma once

#include <memory>
#include <string>

#include "delivery/installer.h"

namespace ironseal::delivery {

struct HttpLimits {
  long connect_timeout_s = 10;
  long low_speed_bytes_per_s = 1024;  // abort below this rate ...
  long low_speed_window_s = 10;       // ... sustained this long
  long request_timeout_s = 120;       // any single range request
};

class HttpChunkSource final : public ChunkSource {
 public:
  static Result<std::unique_ptr<HttpChunkSource>> create(std::string url, HttpLimits limits = {});
  ~HttpChunkSource() override;
  Result<void> fetch(std::uint64_t offset, std::span<std::uint8_t> out) override;
  std::uint64_t requests() const { return requests_; }

 private:
  struct Handle;
  HttpChunkSource(std::unique_ptr<Handle> h, std::string url);
  std::unique_ptr<Handle> handle_;
  std::string url_;
  std::uint64_t requests_ = 0;
};

}  // namespace ironseal::delivery
