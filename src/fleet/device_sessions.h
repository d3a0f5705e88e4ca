// DeviceSessions: what a device does once its certificate got it through the TLS handshake: its
// admission (a registered serial, the registered hardware id), its check-ins (buffered telemetry,
// written in one transaction per tick so a check-in costs no fsync) and its install reports
// (stored before they are acknowledged, feeding rollout outcomes), each paid for from the device's
// rate budgets (rate_limit.h).
//
// Thread contract: no mutex of its own. Its state (the check-in buffer, the rate limiter) is under
// the SharedStore's lock: admit(), checkin() and report() take it; flush_checkins() requires it
// held.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

#include "fleet/http_message.h"
#include "fleet/metrics.h"
#include "fleet/rate_limit.h"
#include "fleet/rollout_engine.h"
#include "fleet/shared_store.h"

namespace ironseal::fleet {

class DeviceSessions {
 public:
  // `poll_interval_s` is suggested to devices in the check-in answer.
  DeviceSessions(SharedStore& shared, RolloutEngine& rollouts, Metrics& metrics,
                 std::int64_t poll_interval_s, DeviceLimits limits);

  // nullopt when `id` may use the device API: its serial is registered with the hardware id the
  // certificate names (if any). Otherwise the refusal (403, audited).
  std::optional<HttpResponse> admit(const HttpRequest& r, const DeviceIdentity& id);
  // POST /api/v1/device/checkin and /api/v1/device/reports.
  HttpResponse checkin(const HttpRequest& r, const DeviceIdentity& id);
  HttpResponse report(const HttpRequest& r, const DeviceIdentity& id);

  // Writes buffered check-ins in one transaction. Caller holds the SharedStore's lock.
  void flush_checkins();

  static constexpr std::size_t kMaxBufferedCheckins = 4096;

 private:
  struct ReportFields;
  // 429 with Retry-After when the device's budget cannot pay `cost` (audited at most once per
  // device per window); nullopt when it could.
  std::optional<HttpResponse> spend(const HttpRequest& r, const DeviceIdentity& id,
                                    DeviceBudget budget, double cost);
  Result<std::int64_t> store_report(const DeviceIdentity& id, const ReportFields& report);

  SharedStore& shared_;
  RolloutEngine& rollouts_;
  Metrics& metrics_;
  const std::int64_t poll_interval_s_;
  const std::size_t max_reports_per_device_;
  struct PendingCheckin {
    std::string version;
    nlohmann::json state;
    std::int64_t time = 0;
  };
  // Process-local state, docs/architecture.md: check-ins not yet written.
  std::unordered_map<std::string, PendingCheckin> checkins_;
  // Process-local state, docs/architecture.md: per-device rate budgets.
  DeviceRateLimiter limiter_;
};

}  // namespace ironseal::fleet
