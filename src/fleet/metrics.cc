// The Prometheus text form of the fleet server's counters (metrics.h).
#include "fleet/metrics.h"

namespace ironseal::fleet {

std::string Metrics::render() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  out +=
      "# HELP ironseal_connections_active Open connections.\n"
      "# TYPE ironseal_connections_active gauge\n"
      "ironseal_connections_active " +
      std::to_string(connections_active.load()) + "\n";
  counter("ironseal_connections_accepted_total", "Accepted TCP connections.",
          connections_accepted.load());
  counter("ironseal_connections_rejected_total", "Connections closed at the connection limit.",
          connections_rejected.load());
  counter("ironseal_tls_handshake_failures_total", "Failed TLS handshakes.",
          handshake_failures.load());
  counter("ironseal_client_certificate_refusals_total",
          "Handshakes refused for the client certificate (missing, unknown CA, revoked).",
          client_certificate_refusals.load());
  counter("ironseal_request_timeouts_total", "Connections closed for a too slow request.",
          request_timeouts.load());
  counter("ironseal_requests_too_large_total", "Requests refused for header or body size.",
          requests_too_large.load());
  counter("ironseal_device_checkins_total", "Device check-ins stored.", checkins.load());
  counter("ironseal_device_reports_total", "Device reports stored.", reports.load());
  counter("ironseal_certificates_issued_total", "Certificates issued over EST.",
          certificates_issued.load());
  counter("ironseal_trust_reloads_total", "Device CA/CRL reloads.", trust_reloads.load());
  counter("ironseal_trust_reload_failures_total", "Device CA/CRL reloads that failed.",
          trust_reload_failures.load());
  counter("ironseal_login_failures_total", "Failed operator logins.", login_failures.load());
  counter("ironseal_login_throttled_total",
          "Logins refused before their password check (429: failures or checks in flight).",
          login_throttled.load());
  counter("ironseal_login_busy_total", "Logins refused with every password worker busy (503).",
          login_busy.load());
  counter("ironseal_director_publish_failures_total", "Director re-signing failures.",
          director_publish_failures.load());
  counter("ironseal_device_rate_limited_total",
          "Device check-ins and reports refused with 429 (per-device rate or volume limit).",
          device_rate_limited.load());
  out +=
      "# HELP ironseal_http_responses_total HTTP responses by listener and status class.\n"
      "# TYPE ironseal_http_responses_total counter\n";
  for (std::size_t l = 0; l < 2; ++l) {
    for (std::size_t c = 0; c < 5; ++c) {
      out += std::string("ironseal_http_responses_total{listener=\"") +
             (l == 0 ? "device" : "operator") + "\",code=\"" + std::to_string(c + 1) + "xx\"} " +
             std::to_string(responses[l][c].load()) + "\n";
    }
  }
  return out;
}

}  // namespace ironseal::fleet
