// OperatorApi: the operator endpoints behind authentication and the role check (router.h):
// devices, releases, rollouts, the audit events and the audit trail, and /metrics. It turns
// requests into calls on the store and the rollout engine and their results into answers
// (docs/fleet-api.md).
//
// Thread contract: no mutex of its own; each endpoint takes the SharedStore's lock for its whole
// run (call without it held), except audit(), which takes it only to take the trail's extent.
#pragma once

#include <string>
#include <vector>

#include "fleet/device_sessions.h"
#include "fleet/http_message.h"
#include "fleet/metrics.h"
#include "fleet/operator_accounts.h"
#include "fleet/rollout_engine.h"
#include "fleet/shared_store.h"

namespace ironseal::fleet {

class OperatorApi {
 public:
  OperatorApi(SharedStore& shared, RolloutEngine& rollouts, DeviceSessions& sessions,
              Metrics& metrics);

  // `path` is the split request path ({"api", "v1", RESOURCE, ...}).
  HttpResponse devices(const HttpRequest& r, const Caller& c, const std::vector<std::string>& path);
  HttpResponse releases(const HttpRequest& r, const Caller& c);
  HttpResponse rollouts(const HttpRequest& r, const Caller& c,
                        const std::vector<std::string>& path);
  HttpResponse events(const HttpRequest& r);
  // GET /api/v1/audit and /api/v1/audit/checkpoint: the hash-chained audit trail, paged and
  // filtered, or its lines as stored; 404 audit_not_configured without one (operator_audit.cc).
  // Takes the lock only to flush the trail and take its extent; a page comes back as work for a
  // worker, which reads it without the lock (503 audit_busy when it cannot be run).
  Dispatch audit(const HttpRequest& r, const std::vector<std::string>& path);
  // GET /metrics: the counters plus device and rollout gauges from the store.
  HttpResponse metrics_text();

 private:
  HttpResponse device(const std::string& serial);
  HttpResponse register_device(const HttpRequest& r, const Caller& c);
  HttpResponse replace_device(const HttpRequest& r, const Caller& c, const std::string& old);
  HttpResponse create_rollout(const HttpRequest& r, const Caller& c);
  HttpResponse rollout(std::int64_t id, const std::string& name);

  SharedStore& shared_;
  RolloutEngine& rollouts_;
  DeviceSessions& sessions_;
  Metrics& metrics_;
};

}  // namespace ironseal::fleet
