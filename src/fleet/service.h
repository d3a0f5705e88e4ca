// FleetService: the fleet server's API, independent of the HTTP/TLS transport (http_server.h
// feeds it parsed requests and writes its responses). It owns the routes, who may call them, and
// the rules: device identity comes from the verified certificate the transport hands over, a
// device sees only its own director metadata, operators act within their role, every state change
// is stored (durably) before it is acknowledged, and every security-relevant action is an audit
// event. docs/fleet-api.md documents the endpoints.
//
// It is a composition of parts that each own one job (and are tested alone):
//   Router            routing, caller authentication/authorisation, repository files (router.h)
//   DeviceSessions    device admission, buffered check-ins, reports, device rate limits
//   RolloutEngine     rollouts and the director re-signing they cause (rollout_engine.h)
//   EstEndpoint       EST enrolment and the issued-certificate check (est.h)
//   OperatorAccounts  login and its throttle, bearer tokens, accounts
//   OperatorApi       the operator endpoints for devices, releases, rollouts, events, metrics
//   SharedStore       the store, its lock, the device cache and audit (shared_store.h)
//
// Thread-safe: handle() may be called from any thread. Locks, in the order they may be taken
// (never take an earlier one while holding a later one):
//   1. LoginThrottle's own mutex (operator_accounts.h): held only inside its calls, which are
//      never made under 2, and it takes no other lock.
//   2. SharedStore's lock: the store, the device cache, audit, and the state of RolloutEngine
//      and DeviceSessions (neither has a mutex of its own). Router, EstEndpoint, OperatorAccounts
//      and OperatorApi have no state under it beyond what they reach through SharedStore.
//   3. The CertificateIssuer's own lock (PkiIssuer): called without 2 held.
// Metrics are atomics. docs/architecture.md, "Process-local state", lists what in here lives only
// in this process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "fleet/device_sessions.h"
#include "fleet/est.h"
#include "fleet/http_message.h"
#include "fleet/login_throttle.h"
#include "fleet/metrics.h"
#include "fleet/operator_accounts.h"
#include "fleet/operator_api.h"
#include "fleet/rate_limit.h"
#include "fleet/repositories.h"
#include "fleet/rollout_engine.h"
#include "fleet/router.h"
#include "fleet/shared_store.h"
#include "fleet/store.h"

namespace ironseal::fleet {

struct ServiceConfig {
  std::string security_txt;  // rendered RFC 9116 file (evidence::render_security_txt)
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
  // The hash-chained audit trail (docs/audit.md): every event also goes there, with a checkpoint
  // signed by `audit_key` (a key file or pkcs11: URI) every `audit_checkpoint_every` events.
  // Empty dir: the events table only.
  std::filesystem::path audit_dir;
  std::string audit_key;
  std::uint64_t audit_checkpoint_every = 256;
};

class FleetService {
 public:
  // `repositories` may be null (then releases and rollouts are refused); `issuer` may be null
  // (then EST enrolment answers 501).
  FleetService(ServiceConfig config, std::unique_ptr<Store> store,
               std::unique_ptr<UpdateRepositories> repositories, CertificateIssuer* issuer,
               Metrics& metrics, Clock clock = {});

  HttpResponse handle(const HttpRequest& request);

  // Opens the audit trail of the configuration (nothing when audit_dir is empty) and records
  // `opened_event` (server.start, or the offline tool that opened it). Call once, before use.
  Result<void> open_audit(const std::string& opened_event);

  // The slow part of a request (an operator login's Argon2id check), to be run off the I/O
  // threads, and the answer to give when it cannot be run (http_message.h).
  using DeferredWork = fleet::DeferredWork;
  using Dispatch = fleet::Dispatch;
  // What the transport calls: cheap requests are answered at once, an operator login comes back
  // as work for a worker thread. handle() is dispatch() running any such work on the caller.
  Dispatch dispatch(const HttpRequest& request);

  // Startup: re-publishes any device whose director metadata lags the store (a crash between
  // commit and publish), then lets active rollouts take their next step.
  Result<void> reconcile();

  // Periodic work (the transport calls it about once a second, and once at shutdown): writes
  // buffered check-ins, retries director re-signing that failed, renews director timestamps,
  // and every kTimeoutCheckS seconds fails rollout devices whose phase timeout passed, and makes
  // the audit records appended since the last tick durable (one fsync).
  void tick();
  static constexpr std::int64_t kTimeoutCheckS = RolloutEngine::kTimeoutCheckS;

  // Bootstrap (ironseal-server account add): creates an account.
  Result<void> add_account(const std::string& name, const std::string& role,
                           const std::string& password);

 private:
  SharedStore shared_;
  RolloutEngine rollouts_;
  DeviceSessions sessions_;
  EstEndpoint est_;
  OperatorAccounts accounts_;
  OperatorApi operator_api_;
  Router router_;
  std::filesystem::path audit_dir_;
  std::string audit_key_;
  std::uint64_t audit_every_ = 256;
};


}  // namespace ironseal::fleet
