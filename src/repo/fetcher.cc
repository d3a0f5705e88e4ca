#include "repo/fetcher.h"

#include "net/curl_body.h"

#include <curl/curl.h>

namespace ironseal::repo {
namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlFree>;

}  // namespace

struct CurlFetcher::Handle {
  CurlPtr curl;
};

CurlFetcher::CurlFetcher(std::unique_ptr<Handle> handle, FetchLimits limits)
    : handle_(std::move(handle)), limits_(limits) {}
CurlFetcher::~CurlFetcher() = default;

TufResult<std::unique_ptr<CurlFetcher>> CurlFetcher::create(FetchLimits limits) {
  if (!net::curl_global()) return refuse(Reason::kNetwork, "libcurl initialisation failed");
  CurlPtr curl(curl_easy_init());
  if (!curl) return refuse(Reason::kNetwork, "curl_easy_init failed");
  auto handle = std::make_unique<Handle>();
  handle->curl = std::move(curl);
  return std::unique_ptr<CurlFetcher>(new CurlFetcher(std::move(handle), limits));
}

TufResult<Bytes> CurlFetcher::fetch(const std::string& url, std::uint64_t max_length) {
  CURL* c = handle_->curl.get();
  curl_easy_reset(c);
  Bytes body;
  net::BoundedBody<Bytes> sink{&body, max_length};
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &net::BoundedBody<Bytes>::write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, limits_.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, limits_.low_speed_bytes_per_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, limits_.low_speed_window_s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, limits_.total_timeout_s);
  net::apply(c, limits_.tls);
  // A declared Content-Length above the limit is refused before any body byte is read.
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_length));
  const CURLcode rc = curl_easy_perform(c);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return refuse(Reason::kTooLarge, url, ": more than ", std::to_string(max_length), " bytes");
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return refuse(Reason::kTimeout, url, ": ", error_text[0] ? error_text : curl_easy_strerror(rc));
  }
  if (rc == CURLE_FILE_COULDNT_READ_FILE) return refuse(Reason::kNotFound, url, ": no such file");
  if (rc != CURLE_OK) {
    return refuse(Reason::kNetwork, url, ": ", error_text[0] ? error_text : curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status == 403 || status == 404) {
    return refuse(Reason::kNotFound, url, ": HTTP ", std::to_string(status));
  }
  // file:// reports 0; any other non-2xx is a failed transfer.
  if (status != 0 && (status < 200 || status > 299)) {
    return refuse(Reason::kNetwork, url, ": HTTP ", std::to_string(status));
  }
  return body;
}

}  // namespace ironseal::repo
