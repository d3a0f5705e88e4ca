// Fetcher: how the update client gets bytes from a repository. The client never trusts a server
// to end a response: every fetch carries a byte limit that is enforced while data arrives (the
// transfer is aborted the moment it is exceeded: endless-data attack), and the HTTP fetcher also
// aborts transfers that are too slow or take too long (slow-retrieval attack).
#pragma once

#include <cstdint>
#include <memory>
#include <string>


#include "core/bytes.h"
#include "net/tls_client.h"
#include "repo/error.h"

namespace ironseal::repo {

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  // The body of `url`, at most `max_length` bytes (kTooLarge beyond). 403/404 are kNotFound.
  virtual TufResult<Bytes> fetch(const std::string& url, std::uint64_t max_length) = 0;
};

struct FetchLimits {
  long connect_timeout_s = 10;
  long low_speed_bytes_per_s = 1024;  // abort when slower than this ...
  long low_speed_window_s = 10;       // ... for this long
  long total_timeout_s = 300;         // and any transfer after this long
  net::TlsClient tls;                 // trust anchors and mutual-TLS identity for https
};

// libcurl (http, https, file). One handle, reused across fetches (keep-alive); not thread-safe.
class CurlFetcher final : public Fetcher {
 public:
  static TufResult<std::unique_ptr<CurlFetcher>> create(FetchLimits limits = {});
  ~CurlFetcher() override;
  TufResult<Bytes> fetch(const std::string& url, std::uint64_t max_length) override;

 private:
  struct Handle;
  CurlFetcher(std::unique_ptr<Handle> handle, FetchLimits limits);
  std::unique_ptr<Handle> handle_;
  FetchLimits limits_;
};

}  // namespace ironseal::repo
