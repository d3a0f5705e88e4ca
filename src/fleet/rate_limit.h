// Rate limits of the fleet server that do not belong to one connection: per-device token buckets
// for check-ins and reports (DeviceRateLimiter), and a cap on log lines per interval for events an
// attacker can repeat at will (LogThrottle). Both are pure bookkeeping: the caller passes the time,
// so they are tested with made-up clocks, and neither does I/O.
//
// Memory is bounded: the limiter tracks at most `max_tracked_devices` devices and forgets first
// those whose buckets are full again (forgetting them loses nothing); the log throttle keeps three
// counters.
//
// Thread contract: DeviceRateLimiter is not thread-safe (the service calls it under its mutex);
// LogThrottle is (connections on several threads log through one).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ironseal::fleet {

// A token bucket: `burst` tokens at most, refilled at `per_second`.
struct RateLimit {
  double per_second = 1.0;
  double burst = 1.0;
};

// What a device spends: requests per endpoint, and the bytes its reports ask the server to store.
enum class DeviceBudget { kCheckins = 0, kReports = 1, kReportBytes = 2 };
std::string_view device_budget_name(DeviceBudget b);

struct DeviceLimits {
  RateLimit checkins{2.0, 30};         // the agent checks in once per poll (60 s by default)
  RateLimit reports{1.0, 30};          // a handful per install
  RateLimit report_bytes{4096, 1 << 20};  // request body bytes of reports
  std::size_t max_reports_per_device = 1000;  // the store keeps a device's newest N reports
  std::int64_t audit_window_s = 60;    // at most one rate-limit audit event per device per window
  std::size_t max_tracked_devices = 200000;
};

class DeviceRateLimiter {
 public:
  explicit DeviceRateLimiter(DeviceLimits limits) : limits_(limits) {}

  struct Refusal {
    std::int64_t retry_after_s = 1;  // when the budget has `cost` again (at least 1 s)
    // The first refusal of the device in its audit window: the caller writes one audit event
    // with `refused` (the refusals since the previous event, this one included).
    bool audit = false;
    std::uint64_t refused = 0;
  };

  // Takes `cost` from `device`'s `budget` at `now` (seconds); a refusal takes nothing. A cost
  // larger than the burst is counted as the burst (it could never be paid otherwise).
  std::optional<Refusal> take(const std::string& device, DeviceBudget budget, double cost,
                              std::int64_t now);

  std::size_t tracked() const { return devices_.size(); }
  const DeviceLimits& limits() const { return limits_; }

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t updated = 0;
  };
  struct Entry {
    Bucket buckets[3];
    bool audited = false;         // a refusal of this device was audited, at last_audit
    std::int64_t last_audit = 0;
    std::uint64_t unaudited = 0;  // refusals since the last audit event
  };
  const RateLimit& limit(DeviceBudget b) const;
  bool idle(const Entry& e, std::int64_t now) const;
  void make_room(std::int64_t now);

  DeviceLimits limits_;
  std::unordered_map<std::string, Entry> devices_;
};

// At most `max_lines` lines per `interval_ms`; the rest are counted, and once the interval is
// over one summary line says how many were suppressed. Time in milliseconds, from any monotonic
// clock.
class LogThrottle {
 public:
  LogThrottle(std::string what, std::size_t max_lines, std::int64_t interval_ms)
      : what_(std::move(what)), max_lines_(max_lines), interval_ms_(interval_ms) {}

  struct Decision {
    bool write = false;   // write the line
    std::string summary;  // write this first when not empty (the previous interval's count)
  };
  Decision admit(std::int64_t now_ms);
  // For a periodic timer: the summary of an interval that is over, or "" (nothing suppressed,
  // or the interval still running). Without it a burst's count would wait for the next line.
  std::string flush(std::int64_t now_ms);

 private:
  std::string roll(std::int64_t now_ms);  // caller holds mutex_

  const std::string what_;
  const std::size_t max_lines_;
  const std::int64_t interval_ms_;
  std::mutex mutex_;
  std::int64_t window_start_ = 0;
  bool started_ = false;
  std::size_t written_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace ironseal::fleet
