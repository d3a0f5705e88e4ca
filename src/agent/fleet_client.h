// The device's side of the fleet API (docs/fleet-api.md) over mutual TLS: check in with the
// device's state, report each step of an install. The device's identity is its certificate; the
// server takes the serial from it, never from these bodies.
//
// Thread-safety: not thread-safe; one FleetClient owns one libcurl handle and sends one request
// at a time.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "net/tls_client.h"

namespace ironseal::agent {

struct FleetLimits {
  long connect_timeout_s = 10;
  long total_timeout_s = 30;
  std::size_t max_response_bytes = 1 << 20;
};

// An HTTP status other than 2xx, with the server's error code ("not_registered") when it sent one.
struct FleetError {
  long status = 0;
  std::string code;
};

class FleetClient {
 public:
  // `server`: https://host:port (no trailing slash). `tls` carries the trust anchors for the
  // server and the device's identity.
  static Result<std::unique_ptr<FleetClient>> create(std::string server, net::TlsClient tls,
                                                     FleetLimits limits = {});
  ~FleetClient();

  // POST /api/v1/device/checkin; returns the server's answer (assigned target, poll interval,
  // renewal time, repository paths).
  Result<nlohmann::json> checkin(const nlohmann::json& state);
  // POST /api/v1/device/reports; returns the report id once the server has stored it durably.
  Result<std::int64_t> report(const std::string& step, const std::string& target,
                              const std::string& reason, const nlohmann::json& detail);
  // A raw request, for EST and tests: returns status and body (any status; errors are transport).
  struct Response {
    long status = 0;
    std::string body;
    std::string content_type;
  };
  Result<Response> request(const std::string& method, const std::string& path,
                           const std::string& content_type, const std::string& body);

  const std::string& server() const { return server_; }
  const net::TlsClient& tls() const { return tls_; }
  // A new identity (after a certificate renewal): later requests use new connections with it.
  void set_tls(net::TlsClient tls);

 private:
  FleetClient(std::string server, net::TlsClient tls, FleetLimits limits, void* curl);
  Result<nlohmann::json> post_json(const std::string& path, const nlohmann::json& body);
  std::string server_;
  net::TlsClient tls_;
  FleetLimits limits_;
  void* curl_;
};

}  // namespace ironseal::agent
