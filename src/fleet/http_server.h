// FleetServer: the HTTPS transport of the fleet service (Boost.Beast/Asio on OpenSSL), the only
// code that sees sockets. Two listeners in one process:
//   device   mutual TLS: a client certificate chaining to the device (or enrolment) CA and not
//            revoked is required in the handshake; its identity is passed to the service;
//   operator server-authenticated TLS; the service checks bearer tokens.
// Limits against resource exhaustion: connection count, header and body sizes, a deadline for the
// handshake, for each whole request (slow clients are cut off) and for each write. Slow work the
// service hands back (FleetService::dispatch: password checks) runs on a bounded worker pool.
//
// Boost stays behind this header (pimpl), so only http_server.cc pays its compile time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "fleet/service.h"
#include "fleet/tls.h"

namespace ironseal::fleet {

struct ServerLimits {
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_client = 256;  // per remote address (a plant may sit behind NAT)
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};  // from waiting for a request to its last byte
  std::chrono::milliseconds write_timeout{30000};    // per write of up to 64 KiB
  std::size_t max_requests_per_connection = 100000;
  // Operator logins: Argon2id checks run on these threads, never on the I/O threads; at most
  // max_queued_logins wait for one, and a login beyond that is answered 503 at once. One thread
  // at a lower CPU priority (login_worker_nice) leaves the devices the rest: under contention the
  // I/O threads come first. Argon2id "interactive" is some 50-100 ms of one core per check.
  int login_workers = 1;
  std::size_t max_queued_logins = 8;
  int login_worker_nice = 10;
};

struct ServerConfig {
  std::string bind_address = "127.0.0.1";
  std::uint16_t device_port = 8443;    // 0 = any free port
  std::uint16_t operator_port = 8444;  // 0 = any free port
  TlsConfig tls;
  TrustConfig trust;
  ServerLimits limits;
  int threads = 1;
  std::chrono::milliseconds trust_poll{1000};  // how often CA/CRL files are checked for changes
};

class FleetServer {
 public:
  // Binds both listeners (so ports are known before run()).
  static Result<std::unique_ptr<FleetServer>> create(const ServerConfig& config,
                                                     FleetService& service, Metrics& metrics);
  ~FleetServer();
  FleetServer(const FleetServer&) = delete;
  FleetServer& operator=(const FleetServer&) = delete;

  std::uint16_t device_port() const;
  std::uint16_t operator_port() const;

  // Serves until stop() or SIGINT/SIGTERM (when `handle_signals`).
  // `on_ready` runs once the listeners are up and, with handle_signals, SIGINT/SIGTERM are already
  // handled: a supervisor that stops the server right after it announced itself gets a clean
  // shutdown, never the default action of the signal.
  void run(bool handle_signals, const std::function<void()>& on_ready = {});
  void stop();

  struct Impl;

 private:
  explicit FleetServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironseal::fleet
