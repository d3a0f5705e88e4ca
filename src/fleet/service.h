// FleetService: the fleet server's API, independent of the HTTP/TLS transport (http_server.h
// feeds it parsed requests and writes its responses). It owns the routes, who may call them, and
// the rules: device identity comes from the verified certificate the transport hands over, a
// device sees only its own director metadata, operators act within their role, every state change
// is stored (durably) before it is acknowledged, and every security-relevant action is an audit
// event. docs/fleet-api.md documents the endpoints.
//
// Thread-safe: handle() may be called from any thread; state changes are serialised internally.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/file.h"
#include "core/result.h"
#include "fleet/est.h"
#include "fleet/login_throttle.h"
#include "fleet/metrics.h"
#include "fleet/rate_limit.h"
#include "fleet/repositories.h"
#include "fleet/store.h"
#include "fleet/tls.h"

namespace ironseal::fleet {

enum class Listener { kDevice = 0, kOperator = 1 };

struct HttpRequest {
  Listener listener = Listener::kOperator;
  std::string method;
  std::string target;  // path and query, as sent
  std::string authorization;
  std::string content_type;
  std::string range;
  std::string body;
  std::optional<DeviceIdentity> device;  // device listener: from the verified client certificate
  std::string peer;                      // remote address, for logs and audit
};

// A file (or part of one) to send as the body, streamed by the transport.
struct FileBody {
  std::shared_ptr<ReadOnlyFile> file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<FileBody> file;
};

struct ServiceConfig {
  std::string security_txt;          // rendered RFC 9116 file (see render_security_txt)
  std::int64_t token_lifetime_s = 12 * 3600;
  std::int64_t poll_interval_s = 60;  // suggested to devices in the check-in answer
  bool metrics_public = false;        // /metrics without a token
  std::filesystem::path repository;   // BASE: BASE/image, BASE/director
  // How often every assigned device's director metadata is re-signed, so its timestamp (1 day
  // by default) never expires while the server runs. 0 = never.
  std::int64_t director_refresh_s = 3600;
  // Per device (by its certificate's serial): check-in and report rates, report volume, and how
  // many reports the store keeps (docs/fleet-server.md, "Limits").
  DeviceLimits device_limits;
  LoginPolicy login;  // failed-login throttling (CR 1.11, docs/fleet-server.md)
};

using Clock = std::function<std::int64_t()>;  // unix seconds

class FleetService {
 public:
  // `repositories` may be null (then releases and rollouts are refused); `issuer` may be null
  // (then EST enrolment answers 501).
  FleetService(ServiceConfig config, std::unique_ptr<Store> store,
               std::unique_ptr<UpdateRepositories> repositories, CertificateIssuer* issuer,
               Metrics& metrics, Clock clock = {});

  HttpResponse handle(const HttpRequest& request);

  // The slow part of a request (an operator login's Argon2id check), to be run off the I/O
  // threads; it returns the answer.
  using DeferredWork = std::move_only_function<HttpResponse()>;
  struct Dispatch {
    // The answer; when `work` is set, the answer to give instead of running it when it cannot be
    // run now (every worker busy: 503 with Retry-After).
    HttpResponse response;
    DeferredWork work;
  };
  // What the transport calls: cheap requests are answered at once, an operator login comes back
  // as work for a worker thread. handle() is dispatch() running any such work on the caller.
  Dispatch dispatch(const HttpRequest& request);

  // Startup: re-publishes any device whose director metadata lags the store (a crash between
  // commit and publish), then lets active rollouts take their next step.
  Result<void> reconcile();

  // Periodic work (the transport calls it about once a second, and once at shutdown): writes
  // buffered check-ins, retries director re-signing that failed, renews director timestamps,
  // and every kTimeoutCheckS seconds fails rollout devices whose phase timeout passed.
  void tick();
  static constexpr std::int64_t kTimeoutCheckS = 5;

  // Bootstrap (ironseal-server account add): creates an account.
  Result<void> add_account(const std::string& name, const std::string& role,
                           const std::string& password);

 private:
  struct Caller {
    std::string account;
    int role = 0;
  };

  HttpResponse route_device(const HttpRequest& r, const std::vector<std::string>& path);
  HttpResponse route_operator(const HttpRequest& r, const std::vector<std::string>& path);
  HttpResponse route_common(const HttpRequest& r, const std::vector<std::string>& path, bool* hit);
  HttpResponse serve_file(const HttpRequest& r, const std::filesystem::path& file);
  HttpResponse serve_repository(const HttpRequest& r, const std::vector<std::string>& path);

  HttpResponse device_checkin(const HttpRequest& r, const DeviceIdentity& id);
  HttpResponse device_report(const HttpRequest& r, const DeviceIdentity& id);
  // 429 with Retry-After when the device's budget cannot pay `cost` (audited at most once per
  // device per window); nullopt when it could.
  std::optional<HttpResponse> spend(const HttpRequest& r, const DeviceIdentity& id,
                                    DeviceBudget budget, double cost);
  HttpResponse est(const HttpRequest& r, const std::string& op);

  Dispatch login(const HttpRequest& r);
  HttpResponse finish_login(LoginThrottle::Ticket ticket, const std::string& name,
                            const std::string& password, const std::string& hash,
                            const std::string& role, const std::string& peer);
  Result<Caller> authenticate(const HttpRequest& r);
  HttpResponse op_devices(const HttpRequest& r, const Caller& c,
                          const std::vector<std::string>& path);
  HttpResponse op_releases(const HttpRequest& r, const Caller& c);
  HttpResponse op_rollouts(const HttpRequest& r, const Caller& c,
                           const std::vector<std::string>& path);
  HttpResponse op_accounts(const HttpRequest& r, const Caller& c);
  HttpResponse op_events(const HttpRequest& r, const Caller& c);
  HttpResponse metrics_text();

  // Rollouts (rollout.cc). All run inside a store transaction; director re-signing they ask for
  // is queued in pending_ and done by flush_assignments() after the commit.
  Result<std::int64_t> rollout_create(const std::string& release, const std::string& group,
                                      const std::vector<Phase>& phases, double max_failure_rate,
                                      std::int64_t phase_timeout_s, const std::string& actor);
  Result<void> rollout_command(std::int64_t id, const std::string& command,
                               const std::string& actor);
  Result<void> rollout_outcome(const std::string& serial, const std::string& target, bool success,
                               const std::string& reason);
  Result<void> rollout_step(Rollout& rollout);
  Result<void> step_timed_rollouts();
  Result<void> transact(const std::function<Result<void>()>& body);
  Result<void> assign(const std::string& serial, const std::string& target);
  void flush_assignments();
  nlohmann::json rollout_json(const Rollout& r);

  // What every device request needs, kept in memory (the store stays the truth; the cache is
  // reloaded after any failed transaction). Caller holds mutex_.
  struct CachedDevice {
    std::string hardware_id;
    std::string assigned_target;
  };
  Result<void> load_cache();
  void flush_checkins();

  Result<void> audit(const std::string& actor, const std::string& action,
                     const std::string& outcome, nlohmann::json detail);
  std::int64_t now() const { return clock_(); }

  ServiceConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<UpdateRepositories> repositories_;
  CertificateIssuer* issuer_;
  Metrics& metrics_;
  Clock clock_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> pending_;  // serial -> target to publish
  std::set<std::string> stale_;  // devices whose director re-signing failed: retried by tick()
  std::int64_t last_refresh_ = 0;
  std::int64_t last_timeout_check_ = 0;  // when tick() last looked for timed-out devices
  bool cache_loaded_ = false;
  std::unordered_map<std::string, CachedDevice> devices_;
  // Check-ins are telemetry ("last seen", reported state): buffered and written in one
  // transaction per tick, so a check-in costs no fsync. Reports are written before their 201.
  struct PendingCheckin {
    std::string version;
    nlohmann::json state;
    std::int64_t time = 0;
  };
  std::unordered_map<std::string, PendingCheckin> checkins_;
  DeviceRateLimiter device_limiter_;  // under mutex_
  LoginThrottle login_throttle_;  // its own lock: no mutex_ needed
};

// RFC 9116 security.txt from configuration: contact (one or more URIs), expires (RFC 3339), and
// optional policy, encryption, acknowledgments, preferred_languages, canonical, hiring.
Result<std::string> render_security_txt(const nlohmann::json& config);

// "1", "10%", "100%" -> Phase; phases must grow and end at 100 %.
Result<std::vector<Phase>> parse_phases(const nlohmann::json& phases);

}  // namespace ironseal::fleet
