// Counters of the fleet server, exported at /metrics in the Prometheus text format. Lock-free
// atomics: incremented from any connection, read when scraped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace ironseal::fleet {

struct Metrics {
  std::atomic<std::uint64_t> connections_active{0};
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_rejected{0};  // over the connection limit
  std::atomic<std::uint64_t> handshake_failures{0};
  std::atomic<std::uint64_t> client_certificate_refusals{0};
  std::atomic<std::uint64_t> request_timeouts{0};
  std::atomic<std::uint64_t> requests_too_large{0};  // header or body over the limit
  std::atomic<std::uint64_t> checkins{0};
  std::atomic<std::uint64_t> reports{0};
  std::atomic<std::uint64_t> certificates_issued{0};
  std::atomic<std::uint64_t> trust_reloads{0};
  std::atomic<std::uint64_t> trust_reload_failures{0};
  std::atomic<std::uint64_t> login_failures{0};
  std::atomic<std::uint64_t> login_throttled{0};  // 429 before the password check
  std::atomic<std::uint64_t> login_busy{0};       // 503: the password workers' queue was full
  std::atomic<std::uint64_t> director_publish_failures{0};
  std::atomic<std::uint64_t> device_rate_limited{0};  // check-ins and reports answered 429
  // [listener: 0 device, 1 operator][status class 1xx..5xx -> 0..4]
  std::array<std::array<std::atomic<std::uint64_t>, 5>, 2> responses{};

  void count_response(int listener, int status) {
    if (listener < 0 || listener > 1 || status < 100 || status > 599) return;
    responses[static_cast<std::size_t>(listener)][static_cast<std::size_t>(status / 100 - 1)]++;
  }

  // The counters in the Prometheus text exposition format (version 0.0.4).
  std::string render() const;
};

}  // namespace ironseal::fleet
