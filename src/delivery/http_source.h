// A ChunkSource over HTTP(S) (and file://) with libcurl: each fetch is one Range request on a
// kept-alive connection. The server is not trusted: every byte is checked against the chunk index
// by the installer; this class only refuses responses that are not exactly the range asked for,
// and transfers that stall (slow retrieval) or run too long. TLS peers are verified (the system CA store
// or HttpLimits::tls.ca_file), with a client certificate for mutual TLS if one is configured;
// nothing here can turn verification off.
//
// Thread-safety: not thread-safe; one HttpChunkSource holds one libcurl handle and serves one
// fetch at a time (the installer's producer thread is its only user).
#pragma once

#include <memory>
#include <string>

#include "delivery/installer.h"
#include "net/tls_client.h"

namespace ironseal::delivery {

struct HttpLimits {
  long connect_timeout_s = 10;
  long low_speed_bytes_per_s = 1024;  // abort below this rate ...
  long low_speed_window_s = 10;       // ... sustained this long
  long request_timeout_s = 120;       // any single range request
  net::TlsClient tls;                 // trust anchors and mutual-TLS identity for https
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
  std::unique_ptr<Handle> handle_;  // holds the limits (TLS settings outlive the handle's use)
  std::string url_;
  std::uint64_t requests_ = 0;
};

}  // namespace ironseal::delivery
