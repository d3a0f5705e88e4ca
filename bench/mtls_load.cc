// mtls_load: an HTTP/1.1 load generator over mutual TLS (wrk cannot present client
// certificates). One thread, epoll, non-blocking OpenSSL connections, one request in flight per
// connection. Two modes:
//   keepalive  N connections, each sends request after request on one TLS session: requests/s;
//   handshake  each request on a new connection with a full handshake (no session resumption,
//              no tickets used): new mutual-TLS handshakes/s.
// Only 2xx answers count; anything else is an error (so a refused client certificate cannot
// pass as throughput). With --server-pid (repeatable: nginx's workers) it reads the server's CPU
// time (utime+stime, all threads) from /proc/PID/stat over the measured window and reports
// requests per server CPU-second, which stays meaningful on a shared, noisy machine.
//
// Usage: mtls_load --connect 127.0.0.1:8443 --cert dev.pem --key dev.key --ca root.pem
//                  [--method POST --path /api/v1/device/checkin --body-file state.json]
//                  [--connections 64] [--duration 10] [--warmup 2] [--mode keepalive|handshake]
//                  [--server-pid PID]... [--label NAME]
// Prints one JSON object.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string cert, key, ca;
  std::string method = "GET";
  std::string path = "/";
  std::string body;
  int connections = 64;
  double duration = 10;
  double warmup = 2;
  bool handshake_mode = false;
  std::vector<int> server_pids;
  std::string label;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "mtls_load: %s\n", msg.c_str());
  ERR_print_errors_fp(stderr);
  std::exit(2);
}

// utime + stime of a process (all its threads), in seconds.
double cpu_seconds(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) die("cannot read /proc/" + std::to_string(pid) + "/stat");
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double total_cpu(const std::vector<int>& pids) {
  double s = 0;
  for (int p : pids) s += cpu_seconds(p);
  return s;
}

enum class State { kConnecting, kHandshake, kWriting, kReading };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  State state = State::kConnecting;
  std::string out;
  std::size_t sent = 0;
  std::string in;
};

class Load {
 public:
  explicit Load(const Options& o) : o_(o) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);  // every handshake is a full one
    if (SSL_CTX_use_certificate_chain_file(ctx_, o.cert.c_str()) != 1) die("client certificate");
    if (SSL_CTX_use_PrivateKey_file(ctx_, o.key.c_str(), SSL_FILETYPE_PEM) != 1) die("client key");
    if (SSL_CTX_load_verify_locations(ctx_, o.ca.c_str(), nullptr) != 1) die("CA file");
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    std::ostringstream req;
    req << o.method << " " << o.path << " HTTP/1.1\r\nHost: " << o.host << ":" << o.port
        << "\r\nUser-Agent: mtls_load\r\nAccept: */*\r\n";
    if (!o.body.empty() || o.method == "POST") {
      req << "Content-Type: application/json\r\nContent-Length: " << o.body.size() << "\r\n";
    }
    if (o.handshake_mode) req << "Connection: close\r\n";
    req << "\r\n" << o.body;
    request_ = req.str();
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<std::uint16_t>(o.port));
    if (inet_pton(AF_INET, o.host.c_str(), &addr_.sin_addr) != 1) die("--connect: IPv4 address");
    ep_ = epoll_create1(0);
    conns_.resize(static_cast<std::size_t>(o.connections));
  }

  void run() {
    for (std::size_t i = 0; i < conns_.size(); ++i) open(i);
    const auto start = Clock::now();
    const auto measure_from = start + seconds(o_.warmup);
    const auto end = measure_from + seconds(o_.duration);
    bool measuring = false;
    std::vector<epoll_event> events(conns_.size() + 1);
    while (true) {
      const auto now = Clock::now();
      if (!measuring && now >= measure_from) {
        measuring = true;
        counted_ = 0;
        errors_ = 0;
        cpu0_ = total_cpu(o_.server_pids);
        t0_ = now;
      }
      if (now >= end) break;
      const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 50);
      for (int k = 0; k < n; ++k) step(events[static_cast<std::size_t>(k)].data.u64);
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0_).count();
    const double cpu = total_cpu(o_.server_pids) - cpu0_;
    std::printf(
        "{\"label\": \"%s\", \"mode\": \"%s\", \"connections\": %d, \"seconds\": %.3f, "
        "\"completed\": %llu, \"errors\": %llu, \"per_second\": %.1f, \"server_cpu_s\": %.3f, "
        "\"per_server_cpu_second\": %.1f, \"last_error\": \"%s\"}\n",
        o_.label.c_str(), o_.handshake_mode ? "handshake" : "keepalive", o_.connections, elapsed,
        counted_, errors_, static_cast<double>(counted_) / elapsed, cpu,
        cpu > 0 ? static_cast<double>(counted_) / cpu : 0.0, last_error_.c_str());
  }

 private:
  static Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  void open(std::size_t i) {
    Conn& c = conns_[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die("socket");
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (rc != 0 && errno != EINPROGRESS) die(std::string("connect: ") + std::strerror(errno));
    c.ssl = SSL_new(ctx_);
    SSL_set_fd(c.ssl, c.fd);
    SSL_set_connect_state(c.ssl);
    SSL_set_tlsext_host_name(c.ssl, "localhost");
    SSL_set1_host(c.ssl, o_.host.c_str());
    c.state = State::kConnecting;
    c.in.clear();
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
  }

  void close_conn(std::size_t i) {
    Conn& c = conns_[i];
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    SSL_free(c.ssl);
    ::close(c.fd);
    c.ssl = nullptr;
    c.fd = -1;
  }

  void reopen(std::size_t i) {
    close_conn(i);
    open(i);
  }

  void error(std::size_t i, const std::string& why) {
    ++errors_;
    last_error_ = why;
    reopen(i);
  }

  void want(std::size_t i, int ssl_rc, Conn& c) {
    const int e = SSL_get_error(c.ssl, ssl_rc);
    epoll_event ev{};
    ev.data.u64 = i;
    if (e == SSL_ERROR_WANT_READ) ev.events = EPOLLIN;
    else if (e == SSL_ERROR_WANT_WRITE) ev.events = EPOLLOUT;
    else {
      unsigned long err = ERR_get_error();
      char buf[256] = "connection closed";
      if (err != 0) ERR_error_string_n(err, buf, sizeof buf);
      ERR_clear_error();
      error(i, buf);
      return;
    }
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
  }

  void start_request(Conn& c) {
    c.state = State::kWriting;
    c.out = request_;
    c.sent = 0;
    c.in.clear();
  }

  void step(std::size_t i) {
    Conn& c = conns_[i];
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return error(i, std::string("connect: ") + std::strerror(err));
      c.state = State::kHandshake;
    }
    if (c.state == State::kHandshake) {
      const int rc = SSL_do_handshake(c.ssl);
      if (rc != 1) return want(i, rc, c);
      start_request(c);
    }
    while (c.state == State::kWriting) {
      const int rc = SSL_write(c.ssl, c.out.data() + c.sent, static_cast<int>(c.out.size() - c.sent));
      if (rc <= 0) return want(i, rc, c);
      c.sent += static_cast<std::size_t>(rc);
      if (c.sent == c.out.size()) c.state = State::kReading;
    }
    char buf[16384];
    while (c.state == State::kReading) {
      const int rc = SSL_read(c.ssl, buf, sizeof buf);
      if (rc <= 0) return want(i, rc, c);
      c.in.append(buf, static_cast<std::size_t>(rc));
      const auto head_end = c.in.find("\r\n\r\n");
      if (head_end == std::string::npos) continue;
      // Status and Content-Length (the servers measured here always send one).
      const int status = c.in.size() > 12 ? std::atoi(c.in.c_str() + 9) : 0;
      std::size_t length = 0;
      bool close_after = o_.handshake_mode;
      std::istringstream head(c.in.substr(0, head_end));
      std::string line;
      while (std::getline(head, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        const std::string value = line.substr(colon + 1);
        if (name == "content-length") length = std::strtoull(value.c_str(), nullptr, 10);
        if (name == "connection" && value.find("close") != std::string::npos) close_after = true;
      }
      if (c.in.size() < head_end + 4 + length) continue;
      if (status >= 200 && status < 300) {
        ++counted_;
      } else {
        ++errors_;
        last_error_ = "HTTP " + std::to_string(status);
      }
      if (close_after) {
        SSL_shutdown(c.ssl);  // close_notify, best effort
        reopen(i);
        return;
      }
      start_request(c);
      step(i);
      return;
    }
  }

  Options o_;
  SSL_CTX* ctx_ = nullptr;
  std::string request_;
  sockaddr_in addr_{};
  int ep_ = -1;
  std::vector<Conn> conns_;
  unsigned long long counted_ = 0;
  unsigned long long errors_ = 0;
  std::string last_error_;
  double cpu0_ = 0;
  Clock::time_point t0_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--connect") {
      const std::string v = value();
      const auto colon = v.rfind(':');
      if (colon == std::string::npos) die("--connect HOST:PORT");
      o.host = v.substr(0, colon);
      o.port = std::atoi(v.c_str() + colon + 1);
    } else if (a == "--cert") o.cert = value();
    else if (a == "--key") o.key = value();
    else if (a == "--ca") o.ca = value();
    else if (a == "--method") o.method = value();
    else if (a == "--path") o.path = value();
    else if (a == "--body-file") {
      std::ifstream f(value(), std::ios::binary);
      if (!f) die("cannot read the body file");
      o.body.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    } else if (a == "--connections") o.connections = std::atoi(value().c_str());
    else if (a == "--duration") o.duration = std::atof(value().c_str());
    else if (a == "--warmup") o.warmup = std::atof(value().c_str());
    else if (a == "--mode") {
      const std::string m = value();
      if (m != "keepalive" && m != "handshake") die("--mode keepalive|handshake");
      o.handshake_mode = m == "handshake";
    } else if (a == "--server-pid") o.server_pids.push_back(std::atoi(value().c_str()));
    else if (a == "--label") o.label = value();
    else die("unknown option " + a + " (see the comment at the top of bench/mtls_load.cc)");
  }
  if (o.port <= 0 || o.cert.empty() || o.key.empty() || o.ca.empty() || o.connections <= 0) {
    die("usage: mtls_load --connect HOST:PORT --cert CHAIN --key KEY --ca CA [options]");
  }
  Load load(o);
  load.run();
  return 0;
}
