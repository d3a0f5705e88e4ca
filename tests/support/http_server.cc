#include "support/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace ironseal::testing {
namespace {

bool send_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

HttpServer::HttpServer(std::filesystem::path root, Mode mode, int delay_ms_per_request)
    : root_(std::move(root)), mode_(mode), delay_ms_(delay_ms_per_request) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("test HTTP server: cannot listen on loopback");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

HttpServer::~HttpServer() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (thread_.joinable()) thread_.join();
}

std::string HttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
}

void HttpServer::serve() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    handle(c);
    ::close(c);
  }
}

void HttpServer::handle(int fd) {
  std::string buffer;
  char tmp[4096];
  while (!stop_) {
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) {
        if (stop_) return;
        continue;
      }
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return;
      buffer.append(tmp, static_cast<std::size_t>(n));
    }
    const std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    ++requests_;
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    std::istringstream lines(head);
    std::string method, target, version;
    lines >> method >> target >> version;
    std::string line;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> range;
    while (std::getline(lines, line)) {
      if (line.rfind("Range: bytes=", 0) == 0 || line.rfind("range: bytes=", 0) == 0) {
        const std::string spec = line.substr(13);
        const auto dash = spec.find('-');
        range = std::pair{std::stoull(spec.substr(0, dash)), std::stoull(spec.substr(dash + 1))};
      }
    }
    const std::filesystem::path rel = target.substr(1);
    std::ifstream in(root_ / rel, std::ios::binary);
    if (target.find("..") != std::string::npos || !in) {
      const std::string r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      if (!send_all(fd, r.data(), r.size())) return;
      continue;
    }
    in.seekg(0, std::ios::end);
    const std::uint64_t size = static_cast<std::uint64_t>(in.tellg());
    std::uint64_t from = 0, to = size == 0 ? 0 : size - 1;
    bool partial = false;
    if (range && mode_ != Mode::kIgnoreRange && range->first < size) {
      from = range->first;
      to = std::min<std::uint64_t>(range->second, size - 1);
      partial = true;
    }
    const std::uint64_t n = size == 0 ? 0 : to - from + 1;
    std::vector<char> body(n);
    in.seekg(static_cast<std::streamoff>(from));
    in.read(body.data(), static_cast<std::streamsize>(n));
    std::string header = partial ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n";
    header += "Content-Length: " + std::to_string(n) + "\r\n";
    if (partial) {
      header += "Content-Range: bytes " + std::to_string(from) + "-" + std::to_string(to) + "/" +
                std::to_string(size) + "\r\n";
    }
    header += "\r\n";
    if (mode_ == Mode::kTrickle) {
      if (!send_all(fd, header.data(), header.size())) return;
      for (std::uint64_t i = 0; i < n && !stop_; ++i) {
        if (!send_all(fd, body.data() + i, 1)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      return;
    }
    // Header and body in one send: no small-packet delay (Nagle with delayed ACK).
    header.append(body.data(), n);
    if (!send_all(fd, header.data(), header.size())) return;
    bytes_sent_ += n;
  }
}

}  // namespace ironseal::testing
