// The operator's client of the fleet service's HTTPS API (docs/fleet-api.md): login, devices,
// releases and rollouts, over one keep-alive connection, with a bearer token and the server
// authenticated against a CA file (or the system store). `ironseal fleet` and `ironseal fleet
// simulate --register` both speak to the operator API through it and nothing else.
//
// Refusals keep the server's reason and map its status to why it failed: 401/403 kNotTrusted,
// other 4xx kInvalidArgument, 5xx and transport failures kIo, an answer that is not JSON
// kMalformed. The message reads "server refused (STATUS): <the server's message>".
//
// An OperatorClient owns one libcurl handle: use it from one thread at a time. Separate clients
// share nothing and may run in parallel. The token is never logged or put in an error message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace ironseal::net {

struct OperatorEndpoint {
  std::string url;                // https://HOST:PORT; trailing slashes are dropped
  std::string token;              // bearer token; empty: no Authorization header (login)
  std::filesystem::path ca_file;  // trust anchors for the server; empty: the system store
};

// The environment the operator CLI documents: IRONSEAL_FLEET_URL, when set, takes the place of
// `given.url`; IRONSEAL_FLEET_TOKEN and IRONSEAL_FLEET_CACERT fill in a token or CA file that
// `given` leaves empty.
OperatorEndpoint endpoint_with_environment(OperatorEndpoint given);

// 401/403 kNotTrusted, other 4xx kInvalidArgument, everything else kIo.
ErrorCode refusal_code(long http_status);

struct OperatorReply {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  // The value of header `name` (lower case), "" when absent.
  std::string header(std::string_view name) const;
};

// One page of GET /api/v1/audit?format=jsonl: the audit trail's lines as the server stores them.
struct AuditLines {
  struct Piece {
    std::string segment;  // its segment file (not checked yet: see audit_mirror.h)
    std::uint64_t first_line = 0;
    std::uint64_t lines = 0;
    std::uint64_t bytes = 0;
  };
  std::string text;
  std::vector<Piece> pieces;  // in order; their bytes add up to text.size()
  std::uint64_t next_after_seq = 0;
  bool more = false;
};

struct RolloutRequest {
  std::string release;
  std::string group = "default";
  nlohmann::json phases = nlohmann::json::array();  // counts and "N%" strings, ending in "100%"
  double max_failure_rate = 0.2;
  std::int64_t phase_timeout_s = 0;
};

class OperatorClient {
 public:
  // Refuses an endpoint without URL (kInvalidArgument); kIo when libcurl cannot start.
  static Result<OperatorClient> create(OperatorEndpoint endpoint);
  OperatorClient(OperatorClient&&) noexcept;
  OperatorClient& operator=(OperatorClient&&) noexcept;
  ~OperatorClient();

  // One request with an optional JSON body; any HTTP status is an answer. Errors are transport
  // failures only: kIo "METHOD URL: why".
  Result<OperatorReply> send(std::string_view method, std::string_view path,
                             const nlohmann::json& body = nullptr);
  // One request whose answer must be 2xx and JSON (the refusals above otherwise).
  Result<nlohmann::json> call(std::string_view method, std::string_view path,
                              const nlohmann::json& body = nullptr);

  // The API, one function per operation; each returns the server's JSON answer.
  Result<nlohmann::json> login(const std::string& name, const std::string& password);
  Result<nlohmann::json> list_devices(const std::string& group);  // empty: every group
  Result<nlohmann::json> register_device(const std::string& serial, const std::string& hardware_id,
                                         const std::string& group);
  // Registration that may be repeated: true when this call registered the serial, false when the
  // server already knew it (409). Other refusals: "registering SERIAL: server refused (...)".
  Result<bool> ensure_registered(const std::string& serial, const std::string& hardware_id,
                                 const std::string& group);
  Result<nlohmann::json> list_releases();
  Result<nlohmann::json> create_release(const std::string& name, const std::string& target);
  Result<nlohmann::json> create_rollout(const RolloutRequest& request);
  // verb: "pause", "resume" or "abort".
  Result<nlohmann::json> steer_rollout(std::int64_t id, std::string_view verb);
  // id 0: every rollout ({"rollouts": [...]}); otherwise the one rollout with its devices.
  Result<nlohmann::json> rollout_status(std::int64_t id);
  // The audit trail (viewer role): records after `after_seq`, filtered by event prefix and actor
  // ("" for any), with next_after_seq, more and the latest checkpoint.
  Result<nlohmann::json> audit_records(std::uint64_t after_seq, std::size_t limit,
                                       const std::string& event_prefix, const std::string& actor);
  // Its lines as stored, for verification; kMalformed when the page's description does not add up.
  Result<AuditLines> audit_lines(std::uint64_t after_seq, std::size_t limit);
  // checkpoint.json as the server stores it; nullopt when the trail has no checkpoint yet.
  Result<std::optional<std::string>> audit_checkpoint();

  const std::string& url() const { return endpoint_.url; }

 private:
  struct Curl;
  OperatorClient(OperatorEndpoint endpoint, std::unique_ptr<Curl> curl);
  OperatorEndpoint endpoint_;
  std::unique_ptr<Curl> curl_;
};

}  // namespace ironseal::net
