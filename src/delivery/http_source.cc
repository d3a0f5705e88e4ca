#include "delivery/http_source.h"

#include "net/curl_body.h"

#include <curl/curl.h>

#include <cstring>

namespace ironseal::delivery {

struct HttpChunkSource::Handle {
  net::TlsClient tls;  // referenced by the handle's TLS callback
  CURL* curl = nullptr;
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

namespace {

struct Sink {
  std::span<std::uint8_t> out;
  std::size_t got = 0;
  bool overflow = false;
};

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (n > sink->out.size() - sink->got) {  // more than the range asked for: not this server's call
    sink->overflow = true;
    return 0;
  }
  std::memcpy(sink->out.data() + sink->got, data, n);
  sink->got += n;
  return n;
}

}  // namespace

Result<std::unique_ptr<HttpChunkSource>> HttpChunkSource::create(std::string url, HttpLimits limits) {
  if (!net::curl_global()) return fail(ErrorCode::kIo, "libcurl initialisation failed");
  auto h = std::make_unique<Handle>();
  h->curl = curl_easy_init();
  if (h->curl == nullptr) return fail(ErrorCode::kIo, "libcurl handle creation failed");
  CURL* c = h->curl;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, limits.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, limits.low_speed_bytes_per_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, limits.low_speed_window_s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, limits.request_timeout_s);
  h->tls = std::move(limits.tls);
  net::apply(c, h->tls);
  return std::unique_ptr<HttpChunkSource>(new HttpChunkSource(std::move(h), std::move(url)));
}

HttpChunkSource::HttpChunkSource(std::unique_ptr<Handle> h, std::string url)
    : handle_(std::move(h)), url_(std::move(url)) {}

HttpChunkSource::~HttpChunkSource() = default;

Result<void> HttpChunkSource::fetch(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (out.empty()) return {};
  CURL* c = handle_->curl;
  Sink sink{out};
  const std::string range = std::to_string(offset) + "-" + std::to_string(offset + out.size() - 1);
  curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  ++requests_;
  const CURLcode rc = curl_easy_perform(c);
  if (sink.overflow) {
    return fail(ErrorCode::kIo, url_, ": the server sent more than the range ", range,
                " (it may not support Range requests)");
  }
  if (rc != CURLE_OK) {
    return fail(ErrorCode::kIo, url_, " (range ", range, "): ", curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const bool http = url_.rfind("http", 0) == 0;
  if (http && status != 206) {
    return fail(ErrorCode::kIo, url_, ": HTTP ", std::to_string(status), " for range ", range);
  }
  if (sink.got != out.size()) {
    return fail(ErrorCode::kIo, url_, ": short response for range ", range, " (",
                std::to_string(sink.got), " of ", std::to_string(out.size()), " bytes)");
  }
  return {};
}

}  // namespace ironseal::delivery
