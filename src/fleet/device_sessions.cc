// Device admission, check-ins and reports (device_sessions.h).
#include "fleet/device_sessions.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "fleet/answers.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxStateBytes = 16 * 1024;

}  // namespace

// A report's fields, checked.
struct DeviceSessions::ReportFields {
  std::string step;
  std::string target;
  std::string reason;
  Json detail;
};

DeviceSessions::DeviceSessions(SharedStore& shared, RolloutEngine& rollouts, Metrics& metrics,
                               std::int64_t poll_interval_s, DeviceLimits limits)
    : shared_(shared),
      rollouts_(rollouts),
      metrics_(metrics),
      poll_interval_s_(poll_interval_s),
      max_reports_per_device_(limits.max_reports_per_device),
      limiter_(limits) {}

std::optional<HttpResponse> DeviceSessions::admit(const HttpRequest& r, const DeviceIdentity& id) {
  auto lock = shared_.lock();
  if (auto ok = shared_.devices().load(shared_.store()); !ok) return from_error(ok.error());
  const CachedDevice* dev = shared_.devices().find(id.serial);
  if (dev == nullptr) {
    (void)shared_.audit("device:" + id.serial, "device.access", "refused",
                        {{"reason", "not registered"}, {"path", r.target}, {"peer", r.peer}});
    return error_response(403, "not_registered",
                          "the certificate's serial " + id.serial + " is not registered");
  }
  if (!id.hardware_id.empty() && id.hardware_id != dev->hardware_id) {
    (void)shared_.audit("device:" + id.serial, "device.access", "refused",
                        {{"reason", "hardware id mismatch"}, {"certificate", id.hardware_id}});
    return error_response(403, "hardware_mismatch",
                          "the certificate's hardware id differs from the registered one");
  }
  return std::nullopt;
}

std::optional<HttpResponse> DeviceSessions::spend(const HttpRequest& r, const DeviceIdentity& id,
                                                  DeviceBudget budget, double cost) {
  auto lock = shared_.lock();
  auto refused = limiter_.take(id.serial, budget, cost, shared_.now());
  if (!refused) return std::nullopt;
  metrics_.device_rate_limited++;
  const std::string_view name = device_budget_name(budget);
  if (refused->audit) {
    // Once per device per window, however many requests it sends: the audit log must not become
    // the next thing a device can flood.
    (void)shared_.audit("device:" + id.serial, "device.rate_limit", "refused",
                        {{"budget", name},
                         {"refused", refused->refused},
                         {"path", r.target},
                         {"peer", r.peer},
                         {"window_s", limiter_.limits().audit_window_s}});
  }
  const char* code = budget == DeviceBudget::kCheckins  ? "too_many_checkins"
                     : budget == DeviceBudget::kReports ? "too_many_reports"
                                                        : "report_volume_exceeded";
  HttpResponse out =
      error_response(429, code,
                     "this device exceeded its " + std::string(name) + " budget; retry after " +
                         std::to_string(refused->retry_after_s) + " s");
  out.headers.emplace_back("Retry-After", std::to_string(refused->retry_after_s));
  return out;
}

HttpResponse DeviceSessions::checkin(const HttpRequest& r, const DeviceIdentity& id) {
  if (auto limited = spend(r, id, DeviceBudget::kCheckins, 1)) return *limited;
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  std::string version;
  if (auto it = body->find("version"); it != body->end()) {
    if (!it->is_string() || it->get<std::string>().size() > 64) {
      return error_response(400, "bad_field", "version must be a string of at most 64 bytes");
    }
    version = it->get<std::string>();
  }
  if (r.body.size() > kMaxStateBytes) {
    return error_response(413, "too_large", "check-in state larger than 16 KiB");
  }
  std::string assigned;
  {
    auto lock = shared_.lock();
    checkins_[id.serial] = PendingCheckin{version, std::move(*body), shared_.now()};
    if (checkins_.size() >= kMaxBufferedCheckins) flush_checkins();
    assigned = shared_.devices().assigned_target(id.serial);
  }
  metrics_.checkins++;
  Json out{{"serial", id.serial},
           {"assigned_target", assigned},
           {"poll_interval_s", poll_interval_s_},
           {"image_metadata", "/image/metadata/"},
           {"image_targets", "/image/targets/"},
           {"director_metadata", "/director/devices/" + id.serial + "/metadata/"}};
  if (id.not_after > 0) {
    // Renew at two thirds of the certificate's lifetime (EST simplereenroll).
    out["renew_after"] = id.not_before + (id.not_after - id.not_before) * 2 / 3;
  }
  return json_response(200, out);
}

HttpResponse DeviceSessions::report(const HttpRequest& r, const DeviceIdentity& id) {
  if (auto limited = spend(r, id, DeviceBudget::kReports, 1)) return *limited;
  // What a report costs in volume is what it asks the server to store: its body.
  if (auto limited = spend(r, id, DeviceBudget::kReportBytes, static_cast<double>(r.body.size()))) {
    return *limited;
  }
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  ReportFields rep;
  auto step = string_field(*body, "step");
  if (!step || step->empty() || step->size() > 32 ||
      !std::all_of(step->begin(), step->end(),
                   [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '-'; })) {
    return error_response(400, "bad_field", "step must be a word of a-z, '_' or '-' (max 32)");
  }
  rep.step = *step;
  if (body->contains("target")) {
    auto t = string_field(*body, "target");
    if (!t || t->size() > 256) return error_response(400, "bad_field", "target must be a string");
    rep.target = *t;
  }
  if (body->contains("reason")) {
    auto t = string_field(*body, "reason");
    if (!t || t->size() > 1024) return error_response(400, "bad_field", "reason must be a string");
    rep.reason = *t;
  }
  rep.detail = body->value("detail", Json::object());
  if (!rep.detail.is_object() || rep.detail.dump().size() > kMaxStateBytes) {
    return error_response(400, "bad_field", "detail must be an object of at most 16 KiB");
  }
  auto lock = shared_.lock();
  auto report_id = store_report(id, rep);
  if (!report_id) return from_error(report_id.error());
  metrics_.reports++;
  rollouts_.flush_assignments();
  // Acknowledged only now: the report is committed (durable).
  return json_response(201, Json{{"id", *report_id}});
}

// Stores the report, trims the device's old ones, and passes a final outcome to the rollout, in
// one transaction. Caller holds the lock.
Result<std::int64_t> DeviceSessions::store_report(const DeviceIdentity& id,
                                                  const ReportFields& in) {
  const bool final_ok = in.step == "confirmed";
  const bool final_bad = in.step == "reverted" || in.step == "failed";
  Store& store = shared_.store();
  std::int64_t report_id = 0;
  auto tx = rollouts_.transact([&]() -> Result<void> {
    Report rep;
    rep.serial = id.serial;
    rep.time = shared_.now();
    rep.step = in.step;
    rep.target = in.target;
    rep.detail = in.detail;
    if (!in.reason.empty()) rep.detail["reason"] = in.reason;
    // The rollout the report belongs to is the one that assigned the device what the director
    // lists for it now, as the server knows it (never a device's say): taken before an outcome
    // below moves the device on.
    if (auto ok = shared_.devices().load(store); !ok) return ok;
    auto rollout = store.assigning_rollout(id.serial, shared_.devices().assigned_target(id.serial));
    if (!rollout) return std::unexpected(rollout.error());
    rep.rollout_id = *rollout;
    auto rid = store.add_report(rep);
    if (!rid) return std::unexpected(rid.error());
    report_id = *rid;
    if (auto ok = store.trim_reports(id.serial, max_reports_per_device_); !ok) return ok;
    if (!final_ok && !final_bad) return {};
    if (auto ok =
            shared_.audit("device:" + id.serial, "device.install", in.step,
                          {{"target", in.target}, {"reason", in.reason}, {"report", report_id}});
        !ok) {
      return ok;
    }
    return rollouts_.outcome(id.serial, in.target, final_ok, in.reason);
  });
  if (!tx) return std::unexpected(tx.error());
  return report_id;
}

void DeviceSessions::flush_checkins() {
  if (checkins_.empty()) return;
  auto batch = std::move(checkins_);
  checkins_.clear();
  Store& store = shared_.store();
  auto tx = store.transaction([&]() -> Result<void> {
    for (const auto& [serial, c] : batch) {
      if (auto ok = store.record_checkin(serial, c.version, c.state, c.time); !ok) return ok;
    }
    return {};
  });
  if (!tx) {
    std::fprintf(stderr, "ironseal-server: %zu check-ins not stored: %s\n", batch.size(),
                 tx.error().message.c_str());
  }
}

}  // namespace ironseal::fleet
