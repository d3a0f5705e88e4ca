// The transport's defences, against a tiny local HTTP server that misbehaves on purpose:
// endless data (a response that never ends) and slow retrieval (a response that trickles).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "repo/fetcher.h"
#include "repo/tuf_test_repo.h"
#include "repo/updater.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::repo {
namespace {

using Clock = std::chrono::steady_clock;

// Serves every request on its own connection (Connection: close). Requests for
// "timestamp.json" get `mode`'s misbehaviour; everything else 404. Each response is bounded to
// a few seconds so a broken client cannot hang the test.
class EvilServer {
 public:
  enum class Mode { kEndless, kTrickle };
  explicit EvilServer(Mode mode) : mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 8);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~EvilServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/metadata/"; }
  std::uint64_t bytes_sent() const { return sent_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      char buf[2048];
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      const std::string request(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
      if (request.find("timestamp.json") == std::string::npos) {
        send_all(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      } else {
        respond(c);
      }
      ::close(c);
    }
  }
  bool send_all(int c, std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(c, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent_ += static_cast<std::uint64_t>(n);
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void respond(int c) {
    const auto deadline = Clock::now() + std::chrono::seconds(8);
    if (mode_ == Mode::kEndless) {
      // No Content-Length: the body ends when the server closes, i.e. never.
      if (!send_all(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")) return;
      const std::string chunk(4096, '{');
      while (!stop_ && Clock::now() < deadline && send_all(c, chunk)) {
      }
    } else {
      if (!send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n")) {
        return;
      }
      while (!stop_ && Clock::now() < deadline && send_all(c, "{")) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }

  Mode mode_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::thread thread_;
};

class TufTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(init_metadata_dir(dir_.path(), as_bytes(repo_.root_bytes(1))));
  }
  testing::TestRepo repo_;
  testing::TempDir dir_;
};

TEST_F(TufTransport, EndlessTimestampIsCutOffAtItsSizeLimit) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.5");
  EvilServer server(EvilServer::Mode::kEndless);
  auto fetcher = CurlFetcher::create();
  ASSERT_TRUE(fetcher);
  Updater updater(dir_.path(), server.url(), **fetcher, {}, [] { return testing::kNow; });
  const auto start = Clock::now();
  auto r = updater.refresh();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::kTooLarge) << describe(r.error());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  // Refused while downloading: nothing close to "endless" was read, nothing was stored.
  EXPECT_LT(server.bytes_sent(), 16u * 1024 * 1024);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "timestamp.json"));
}

TEST_F(TufTransport, DeclaredOversizeBodyIsRefused) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.5");
  EvilServer server(EvilServer::Mode::kTrickle);  // declares 1000 bytes
  auto fetcher = CurlFetcher::create();
  ASSERT_TRUE(fetcher);
  auto r = (*fetcher)->fetch(server.url() + "timestamp.json", 999);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::kTooLarge);
}

TEST_F(TufTransport, SlowRetrievalIsCutOffByTheLowSpeedTimeout) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.5");
  EvilServer server(EvilServer::Mode::kTrickle);  // 5 bytes/s
  FetchLimits limits;
  limits.low_speed_bytes_per_s = 100;
  limits.low_speed_window_s = 1;
  auto fetcher = CurlFetcher::create(limits);
  ASSERT_TRUE(fetcher);
  Updater updater(dir_.path(), server.url(), **fetcher, {}, [] { return testing::kNow; });
  const auto start = Clock::now();
  auto r = updater.refresh();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::kTimeout) << describe(r.error());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "timestamp.json"));
}

TEST_F(TufTransport, FileUrlsWorkAndMissingFilesAreNotFound) {
  IRONSEAL_REQUIREMENTS("SUM-4");
  auto fetcher = CurlFetcher::create();
  ASSERT_TRUE(fetcher);
  const std::string url = "file://" + (dir_ / "root.json").string();
  auto ok = (*fetcher)->fetch(url, 1 << 20);
  ASSERT_TRUE(ok) << describe(ok.error());
  auto small = (*fetcher)->fetch(url, 10);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().reason, Reason::kTooLarge);
  auto missing = (*fetcher)->fetch("file://" + (dir_ / "nope.json").string(), 100);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().reason, Reason::kNotFound);
}

}  // namespace
}  // namespace ironseal::repo
