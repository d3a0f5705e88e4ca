// Per-device token buckets and the log-line throttle (rate_limit.h).
#include "fleet/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace ironseal::fleet {

std::string_view device_budget_name(DeviceBudget b) {
  switch (b) {
    case DeviceBudget::kCheckins: return "checkins";
    case DeviceBudget::kReports: return "reports";
    case DeviceBudget::kReportBytes: return "report_bytes";
  }
  return "checkins";
}

const RateLimit& DeviceRateLimiter::limit(DeviceBudget b) const {
  switch (b) {
    case DeviceBudget::kCheckins: return limits_.checkins;
    case DeviceBudget::kReports: return limits_.reports;
    case DeviceBudget::kReportBytes: return limits_.report_bytes;
  }
  return limits_.checkins;
}

// Forgetting an idle device loses nothing: a new entry starts with full buckets, and its audit
// window is over.
bool DeviceRateLimiter::idle(const Entry& e, std::int64_t now) const {
  if (e.unaudited > 0 || (e.audited && now - e.last_audit < limits_.audit_window_s)) return false;
  for (auto b : {DeviceBudget::kCheckins, DeviceBudget::kReports, DeviceBudget::kReportBytes}) {
    const Bucket& bucket = e.buckets[static_cast<int>(b)];
    const double elapsed = static_cast<double>(std::max<std::int64_t>(0, now - bucket.updated));
    if (bucket.tokens + elapsed * limit(b).per_second < limit(b).burst) return false;
  }
  return true;
}

void DeviceRateLimiter::make_room(std::int64_t now) {
  std::erase_if(devices_, [&](const auto& kv) { return idle(kv.second, now); });
  if (devices_.size() < limits_.max_tracked_devices) return;
  // More devices are spending than the table holds: forget some (a sixteenth, so this O(n) pass
  // is not paid for every new device). A forgotten device starts again with full buckets.
  const std::size_t target =
      limits_.max_tracked_devices - std::max<std::size_t>(1, limits_.max_tracked_devices / 16);
  while (devices_.size() > target) devices_.erase(devices_.begin());
}

std::optional<DeviceRateLimiter::Refusal> DeviceRateLimiter::take(const std::string& device,
                                                                  DeviceBudget budget, double cost,
                                                                  std::int64_t now) {
  auto it = devices_.find(device);
  if (it == devices_.end()) {
    if (devices_.size() >= limits_.max_tracked_devices) make_room(now);
    Entry fresh;
    for (auto b : {DeviceBudget::kCheckins, DeviceBudget::kReports, DeviceBudget::kReportBytes}) {
      fresh.buckets[static_cast<int>(b)] = Bucket{limit(b).burst, now};
    }
    it = devices_.emplace(device, fresh).first;
  }
  Entry& e = it->second;
  const RateLimit& l = limit(budget);
  Bucket& b = e.buckets[static_cast<int>(budget)];
  if (now > b.updated) {  // a clock that steps back refills nothing
    b.tokens = std::min(l.burst, b.tokens + static_cast<double>(now - b.updated) * l.per_second);
    b.updated = now;
  }
  cost = std::min(cost, l.burst);
  if (b.tokens >= cost) {
    b.tokens -= cost;
    return std::nullopt;
  }
  Refusal r;
  r.retry_after_s = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil((cost - b.tokens) / l.per_second)));
  ++e.unaudited;
  if (!e.audited || now - e.last_audit >= limits_.audit_window_s) {
    r.audit = true;
    r.refused = std::exchange(e.unaudited, 0);
    e.audited = true;
    e.last_audit = now;
  }
  return r;
}

std::string LogThrottle::roll(std::int64_t now_ms) {
  std::string summary;
  if (suppressed_ > 0) {
    summary = "suppressed " + std::to_string(suppressed_) + " similar lines in the last " +
              std::to_string((now_ms - window_start_ + 999) / 1000) + " s: " + what_;
  }
  window_start_ = now_ms;
  written_ = 0;
  suppressed_ = 0;
  return summary;
}

LogThrottle::Decision LogThrottle::admit(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Decision d;
  if (!started_) {
    started_ = true;
    window_start_ = now_ms;
  } else if (now_ms - window_start_ >= interval_ms_) {
    d.summary = roll(now_ms);
  }
  if (written_ < max_lines_) {
    ++written_;
    d.write = true;
  } else {
    ++suppressed_;
  }
  return d;
}

std::string LogThrottle::flush(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (!started_ || suppressed_ == 0 || now_ms - window_start_ < interval_ms_) return {};
  return roll(now_ms);
}

}  // namespace ironseal::fleet
