// A small static-file HTTP/1.1 server on 127.0.0.1 for tests: GET with Range, keep-alive, one
// connection at a time. Modes misbehave on purpose (ignore Range, trickle bytes) to test that
// clients refuse or cut off. Test infrastructure only; never part of the product.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

namespace ironseal::testing {

class HttpServer {
 public:
  enum class Mode { kNormal, kIgnoreRange, kTrickle };
  explicit HttpServer(std::filesystem::path root, Mode mode = Mode::kNormal,
                      int delay_ms_per_request = 0);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "") const;  // http://127.0.0.1:PORT/path
  std::uint64_t requests() const { return requests_; }
  std::uint64_t bytes_sent() const { return bytes_sent_; }

 private:
  void serve();
  void handle(int fd);

  std::filesystem::path root_;
  Mode mode_;
  int delay_ms_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> bytes_sent_{0};
  std::thread thread_;
};

}  // namespace ironseal::testing
