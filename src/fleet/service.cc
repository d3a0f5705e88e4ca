// The fleet API: routing, authorisation, device check-in and reports, repository serving with
// Range, operator endpoints, EST, security.txt and metrics (service.h). Rollout rules live in
// rollout.cc.
#include "fleet/service.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "fleet/auth.h"
#include "fleet/request_parse.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

constexpr ErrorCode kConflict = ErrorCode::kUnsupported;  // "not in a state that allows it"
constexpr std::size_t kMaxStateBytes = 16 * 1024;

HttpResponse json_response(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump() + "\n";
  return r;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  return json_response(status, Json{{"error", code}, {"message", message}});
}

int status_of(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kMalformed: return 400;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kNotTrusted:
    case ErrorCode::kPermission: return 403;
    case ErrorCode::kUnsupported: return 409;
    case ErrorCode::kIo:
    case ErrorCode::kCrypto: return 500;
  }
  return 500;
}

HttpResponse from_error(const Error& e) {
  const int status = status_of(e);
  const char* code = status == 400   ? "bad_request"
                     : status == 404 ? "not_found"
                     : status == 403 ? "forbidden"
                     : status == 409 ? "conflict"
                                     : "internal";
  // Internal errors are logged, not shown: they may name server paths.
  if (status == 500) {
    std::fprintf(stderr, "ironseal-server: internal error: %s\n", e.message.c_str());
    return error_response(500, code, "internal error (see the server log)");
  }
  return error_response(status, code, e.message);
}

// 200 {"KEY": [each element of `list` as JSON]}, or the store's error.
template <typename T, typename ToJson>
HttpResponse list_response(const Result<std::vector<T>>& list, const char* key, ToJson to_json) {
  if (!list) return from_error(list.error());
  Json out = Json::array();
  for (const auto& item : *list) out.push_back(to_json(item));
  return json_response(200, Json{{key, std::move(out)}});
}

bool valid_name(const std::string& s, std::size_t max = 128) {
  return !s.empty() && s.size() <= max && s != "." && s != ".." &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
         });
}

// The body as a JSON object, or an error response (415 unless it is declared JSON).
std::optional<Json> parse_object(const HttpRequest& r, HttpResponse* error) {
  if (!is_json_media_type(r.content_type)) {
    *error = error_response(415, "unsupported_media_type",
                            "send the body as Content-Type: application/json");
    return std::nullopt;
  }
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = error_response(400, "malformed_json", "the request body is not a JSON object");
    return std::nullopt;
  }
  return j;
}

std::optional<std::string> string_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

HttpResponse method_not_allowed(const char* allow) {
  HttpResponse r = error_response(405, "method_not_allowed", std::string("use ") + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

Json device_json(const Device& d) {
  return Json{{"serial", d.serial},
              {"hardware_id", d.hardware_id},
              {"group", d.group},
              {"registered_at", d.registered_at},
              {"version", d.version},
              {"last_seen", d.last_seen},
              {"last_event", d.last_event},
              {"assigned_target", d.assigned_target},
              {"state", d.state}};
}

Json release_json(const Release& r) {
  return Json{{"name", r.name},
              {"target", r.target},
              {"version", r.version},
              {"hardware_id", r.hardware_id},
              {"created_at", r.created_at}};
}

std::int64_t system_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

FleetService::FleetService(ServiceConfig config, std::unique_ptr<Store> store,
                           std::unique_ptr<UpdateRepositories> repositories,
                           CertificateIssuer* issuer, Metrics& metrics, Clock clock)
    : config_(std::move(config)),
      store_(std::move(store)),
      repositories_(std::move(repositories)),
      issuer_(issuer),
      metrics_(metrics),
      clock_(clock ? std::move(clock) : Clock(system_now)),
      device_limiter_(config_.device_limits),
      login_throttle_(config_.login) {
  last_refresh_ = now();  // start-up re-signs what lags (reconcile); the rest can wait
}

Result<void> FleetService::audit(const std::string& actor, const std::string& action,
                                 const std::string& outcome, Json detail) {
  Event e;
  e.time = now();
  e.actor = actor;
  e.action = action;
  e.outcome = outcome;
  e.detail = std::move(detail);
  auto id = store_->add_event(e);
  if (!id) return std::unexpected(id.error());
  return {};
}

HttpResponse FleetService::handle(const HttpRequest& r) {
  auto path = split_path(r.target);
  if (!path) return error_response(400, "bad_path", "malformed request path");
  bool hit = false;
  HttpResponse out = route_common(r, *path, &hit);
  if (hit) return out;
  return r.listener == Listener::kDevice ? route_device(r, *path) : route_operator(r, *path);
}

FleetService::Dispatch FleetService::dispatch(const HttpRequest& r) {
  if (r.listener == Listener::kOperator) {
    auto path = split_path(r.target);
    if (path && *path == std::vector<std::string>{"api", "v1", "login"}) return login(r);
  }
  return {handle(r), {}};
}

HttpResponse FleetService::route_common(const HttpRequest& r, const std::vector<std::string>& p,
                                        bool* hit) {
  *hit = true;
  if (p.size() == 2 && p[0] == ".well-known" && p[1] == "security.txt") {
    if (r.method != "GET") return method_not_allowed("GET");
    HttpResponse out;
    out.content_type = "text/plain; charset=utf-8";
    out.body = config_.security_txt;
    return out;
  }
  if (p.size() == 3 && p[0] == ".well-known" && p[1] == "est" && p[2] == "cacerts") {
    return est(r, "cacerts");
  }
  *hit = false;
  return {};
}

// ---------------------------------------------------------------------------------------------
// Device listener

HttpResponse FleetService::route_device(const HttpRequest& r, const std::vector<std::string>& p) {
  if (!r.device) return error_response(401, "no_identity", "a client certificate is required");
  const DeviceIdentity& id = *r.device;
  {
    std::lock_guard lock(mutex_);
    if (auto ok = load_cache(); !ok) return from_error(ok.error());
    auto dev = devices_.find(id.serial);
    if (dev == devices_.end()) {
      (void)audit("device:" + id.serial, "device.access", "refused",
                  {{"reason", "not registered"}, {"path", r.target}, {"peer", r.peer}});
      return error_response(403, "not_registered",
                            "the certificate's serial " + id.serial + " is not registered");
    }
    if (!id.hardware_id.empty() && id.hardware_id != dev->second.hardware_id) {
      (void)audit("device:" + id.serial, "device.access", "refused",
                  {{"reason", "hardware id mismatch"}, {"certificate", id.hardware_id}});
      return error_response(403, "hardware_mismatch",
                            "the certificate's hardware id differs from the registered one");
    }
  }
  // The certificate must be one the CA issued to this device and still current (when the server
  // has the CA's index: est_ca). Enrolment certificates come from the factory CA, not the index.
  if (issuer_ != nullptr && !id.enrolment_only) {
    if (auto issued = issuer_->check_issued(id); !issued) {
      if (issued.error().code != ErrorCode::kNotTrusted) return from_error(issued.error());
      const bool revoked = issued.error().message.starts_with("revoked");
      std::lock_guard lock(mutex_);
      (void)audit("device:" + id.serial, "device.access", "refused",
                  {{"reason", issued.error().message}, {"path", r.target}, {"peer", r.peer},
                   {"certificate_sha256", id.certificate_sha256}});
      return error_response(403, revoked ? "revoked" : "not_issued", issued.error().message);
    }
  }
  const bool enrol = p.size() == 3 && p[0] == ".well-known" && p[1] == "est" &&
                     (p[2] == "simpleenroll" || p[2] == "simplereenroll");
  if (id.enrolment_only && !(enrol && p[2] == "simpleenroll")) {
    return error_response(403, "enrolment_only",
                          "a factory certificate may only enrol (EST simpleenroll)");
  }
  if (enrol) return est(r, p[2]);
  if (!p.empty() && (p[0] == "image" || p[0] == "director")) {
    if (r.method != "GET") return method_not_allowed("GET");
    // BASE/director/devices/SERIAL/metadata/FILE: only the device's own.
    if (p[0] == "director" && (p.size() < 3 || p[1] != "devices" || p[2] != id.serial)) {
      std::lock_guard lock(mutex_);
      (void)audit("device:" + id.serial, "director.read", "refused",
                  {{"path", r.target}, {"peer", r.peer}});
      return error_response(403, "not_your_metadata",
                            "a device may read only its own director metadata");
    }
    return serve_repository(r, p);
  }
  if (p.size() == 4 && p[0] == "api" && p[1] == "v1" && p[2] == "device") {
    if (r.method != "POST") return method_not_allowed("POST");
    if (p[3] == "checkin") return device_checkin(r, id);
    if (p[3] == "reports") return device_report(r, id);
  }
  return error_response(404, "not_found", "no such endpoint");
}

HttpResponse FleetService::serve_repository(const HttpRequest& r,
                                            const std::vector<std::string>& p) {
  const bool image_ok = p.size() == 3 && p[0] == "image" &&
                        (p[1] == "metadata" || p[1] == "targets");
  const bool director_ok = p.size() == 5 && p[0] == "director" && p[1] == "devices" &&
                           p[3] == "metadata";
  if (!image_ok && !director_ok) return error_response(404, "not_found", "no such file");
  fs::path file = config_.repository;
  for (const auto& seg : p) file /= seg;
  return serve_file(r, file);
}

HttpResponse FleetService::serve_file(const HttpRequest& r, const fs::path& path) {
  std::error_code stat_error;
  if (!fs::is_regular_file(path, stat_error)) {
    return error_response(404, "not_found", "no such file");
  }
  auto file = ReadOnlyFile::open(path);
  if (!file) return error_response(404, "not_found", "no such file");
  const std::uint64_t size = file->size();
  // One range (bytes=A-B, A-, -N); anything else is ignored and the whole file sent (RFC 9110
  // lets a server ignore Range).
  const ByteRange range = parse_range(r.range, size);
  if (range.kind == ByteRange::Kind::kUnsatisfiable) {
    HttpResponse out = error_response(416, "range_not_satisfiable", "range outside the file");
    out.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    return out;
  }
  const bool partial = range.kind == ByteRange::Kind::kPartial;
  const std::uint64_t first = range.first;
  const std::uint64_t last = range.last;
  HttpResponse out;
  out.status = partial ? 206 : 200;
  out.content_type = path.extension() == ".json" ? "application/json" : "application/octet-stream";
  out.headers.emplace_back("Accept-Ranges", "bytes");
  if (partial) {
    out.headers.emplace_back("Content-Range", "bytes " + std::to_string(first) + "-" +
                                                  std::to_string(last) + "/" +
                                                  std::to_string(size));
  }
  FileBody body;
  body.offset = first;
  body.length = size == 0 ? 0 : last - first + 1;
  body.file = std::make_shared<ReadOnlyFile>(std::move(*file));
  out.file = std::move(body);
  return out;
}

std::optional<HttpResponse> FleetService::spend(const HttpRequest& r, const DeviceIdentity& id,
                                                DeviceBudget budget, double cost) {
  std::lock_guard lock(mutex_);
  auto refused = device_limiter_.take(id.serial, budget, cost, now());
  if (!refused) return std::nullopt;
  metrics_.device_rate_limited++;
  const std::string_view name = device_budget_name(budget);
  if (refused->audit) {
    // Once per device per window, however many requests it sends: the audit log must not become
    // the next thing a device can flood.
    (void)audit("device:" + id.serial, "device.rate_limit", "refused",
                {{"budget", name}, {"refused", refused->refused}, {"path", r.target},
                 {"peer", r.peer}, {"window_s", device_limiter_.limits().audit_window_s}});
  }
  const char* code = budget == DeviceBudget::kCheckins  ? "too_many_checkins"
                     : budget == DeviceBudget::kReports ? "too_many_reports"
                                                        : "report_volume_exceeded";
  HttpResponse out = error_response(429, code,
                                    "this device exceeded its " + std::string(name) +
                                        " budget; retry after " +
                                        std::to_string(refused->retry_after_s) + " s");
  out.headers.emplace_back("Retry-After", std::to_string(refused->retry_after_s));
  return out;
}

HttpResponse FleetService::device_checkin(const HttpRequest& r, const DeviceIdentity& id) {
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
    std::lock_guard lock(mutex_);
    checkins_[id.serial] = PendingCheckin{version, std::move(*body), now()};
    if (checkins_.size() >= 4096) flush_checkins();
    assigned = devices_[id.serial].assigned_target;
  }
  metrics_.checkins++;
  Json out{{"serial", id.serial},
           {"assigned_target", assigned},
           {"poll_interval_s", config_.poll_interval_s},
           {"image_metadata", "/image/metadata/"},
           {"image_targets", "/image/targets/"},
           {"director_metadata", "/director/devices/" + id.serial + "/metadata/"}};
  if (id.not_after > 0) {
    // Renew at two thirds of the certificate's lifetime (EST simplereenroll).
    out["renew_after"] = id.not_before + (id.not_after - id.not_before) * 2 / 3;
  }
  return json_response(200, out);
}

HttpResponse FleetService::device_report(const HttpRequest& r, const DeviceIdentity& id) {
  if (auto limited = spend(r, id, DeviceBudget::kReports, 1)) return *limited;
  // What a report costs in volume is what it asks the server to store: its body.
  if (auto limited = spend(r, id, DeviceBudget::kReportBytes, static_cast<double>(r.body.size()))) {
    return *limited;
  }
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  auto step = string_field(*body, "step");
  if (!step || step->empty() || step->size() > 32 ||
      !std::all_of(step->begin(), step->end(),
                   [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '-'; })) {
    return error_response(400, "bad_field", "step must be a word of a-z, '_' or '-' (max 32)");
  }
  std::string target;
  if (body->contains("target")) {
    auto t = string_field(*body, "target");
    if (!t || t->size() > 256) return error_response(400, "bad_field", "target must be a string");
    target = *t;
  }
  std::string reason;
  if (body->contains("reason")) {
    auto t = string_field(*body, "reason");
    if (!t || t->size() > 1024) return error_response(400, "bad_field", "reason must be a string");
    reason = *t;
  }
  Json detail = body->value("detail", Json::object());
  if (!detail.is_object() || detail.dump().size() > kMaxStateBytes) {
    return error_response(400, "bad_field", "detail must be an object of at most 16 KiB");
  }
  const bool final_ok = *step == "confirmed";
  const bool final_bad = *step == "reverted" || *step == "failed";
  std::lock_guard lock(mutex_);
  std::int64_t report_id = 0;
  auto tx = transact([&]() -> Result<void> {
    Report rep;
    rep.serial = id.serial;
    rep.time = now();
    rep.step = *step;
    rep.target = target;
    rep.detail = detail;
    if (!reason.empty()) rep.detail["reason"] = reason;
    // The rollout the report belongs to is the one that assigned the device what the director
    // lists for it now, as the server knows it (never a device's say): taken before an outcome
    // below moves the device on.
    if (auto ok = load_cache(); !ok) return ok;
    const auto dev = devices_.find(id.serial);
    auto rollout = store_->assigning_rollout(
        id.serial, dev == devices_.end() ? std::string() : dev->second.assigned_target);
    if (!rollout) return std::unexpected(rollout.error());
    rep.rollout_id = *rollout;
    auto rid = store_->add_report(rep);
    if (!rid) return std::unexpected(rid.error());
    report_id = *rid;
    if (auto ok = store_->trim_reports(id.serial, config_.device_limits.max_reports_per_device);
        !ok) {
      return ok;
    }
    if (final_ok || final_bad) {
      if (auto ok = audit("device:" + id.serial, "device.install", *step,
                          {{"target", target}, {"reason", reason}, {"report", report_id}});
          !ok) {
        return ok;
      }
      return rollout_outcome(id.serial, target, final_ok, reason);
    }
    return {};
  });
  if (!tx) return from_error(tx.error());
  metrics_.reports++;
  flush_assignments();
  // Acknowledged only now: the report is committed (durable).
  return json_response(201, Json{{"id", report_id}});
}

HttpResponse FleetService::est(const HttpRequest& r, const std::string& op) {
  if (op == "cacerts") {
    if (r.method != "GET") return method_not_allowed("GET");
  } else if (r.method != "POST") {
    return method_not_allowed("POST");
  }
  if (issuer_ == nullptr) {
    return error_response(501, "no_issuer", "this server has no certificate issuer configured");
  }
  HttpResponse out;
  out.content_type = "application/pkcs7-mime";
  out.headers.emplace_back("Content-Transfer-Encoding", "base64");
  if (op == "cacerts") {
    auto cas = issuer_->ca_certificates();
    if (!cas) return from_error(cas.error());
    auto p7 = certs_only_base64(*cas);
    if (!p7) return from_error(p7.error());
    out.body = std::move(*p7);
    return out;
  }
  const DeviceIdentity& id = *r.device;
  if (!r.content_type.starts_with("application/pkcs10")) {
    return error_response(415, "unsupported_media_type", "send application/pkcs10");
  }
  if (op == "simplereenroll" && id.enrolment_only) {
    return error_response(403, "enrolment_only", "renewal needs the current device certificate");
  }
  auto csr = check_csr(r.body);
  if (!csr) {
    std::lock_guard lock(mutex_);
    (void)audit("device:" + id.serial, "est." + op, "refused", {{"reason", csr.error().message}});
    return error_response(400, "bad_csr", csr.error().message);
  }
  if (!csr->serial.empty() && csr->serial != id.serial) {
    std::lock_guard lock(mutex_);
    (void)audit("device:" + id.serial, "est." + op, "refused",
                {{"reason", "CSR names serial " + csr->serial}});
    return error_response(403, "serial_mismatch",
                          "the CSR names serial " + csr->serial + ", the client certificate " +
                              id.serial);
  }
  DeviceIdentity subject = id;
  {
    std::lock_guard lock(mutex_);
    if (auto dev = devices_.find(id.serial); dev != devices_.end()) {
      subject.hardware_id = dev->second.hardware_id;
    }
    // The certificate names the registered hardware id; a CSR asking for another is refused.
    if (!csr->hardware_id.empty() && csr->hardware_id != subject.hardware_id) {
      (void)audit("device:" + id.serial, "est." + op, "refused",
                  {{"reason", "hardware_mismatch: CSR names hardware id " + csr->hardware_id},
                   {"registered_hardware_id", subject.hardware_id}});
      return error_response(403, "hardware_mismatch",
                            "the CSR names hardware id " + csr->hardware_id + ", " + id.serial +
                                " is registered as " + subject.hardware_id);
    }
  }
  auto chain = issuer_->issue(csr->der, subject);
  if (!chain && chain.error().code == ErrorCode::kNotTrusted) {
    // The CA's policy refused (its message starts with a reason token): audited, and the token
    // is the answer's error code.
    const std::string& why = chain.error().message;
    const std::string token = why.substr(0, why.find(':'));
    std::lock_guard lock(mutex_);
    (void)audit("device:" + id.serial, "est." + op, "refused", {{"reason", why}});
    return error_response(403, valid_name(token, 64) ? token : "forbidden", why);
  }
  if (!chain) return from_error(chain.error());
  auto p7 = certs_only_base64(*chain);
  if (!p7) return from_error(p7.error());
  {
    std::lock_guard lock(mutex_);
    if (auto ok = audit("device:" + id.serial, "est." + op, "ok",
                        {{"previous_certificate", id.certificate_serial}});
        !ok) {
      return from_error(ok.error());
    }
  }
  metrics_.certificates_issued++;
  out.content_type = "application/pkcs7-mime; smime-type=certs-only";
  out.body = std::move(*p7);
  return out;
}

Result<void> FleetService::load_cache() {
  if (cache_loaded_) return {};
  auto list = store_->devices(std::nullopt);
  if (!list) return std::unexpected(list.error());
  devices_.clear();
  for (const auto& d : *list) devices_[d.serial] = CachedDevice{d.hardware_id, d.assigned_target};
  cache_loaded_ = true;
  return {};
}

void FleetService::flush_checkins() {
  if (checkins_.empty()) return;
  auto batch = std::move(checkins_);
  checkins_.clear();
  auto tx = store_->transaction([&]() -> Result<void> {
    for (const auto& [serial, c] : batch) {
      if (auto ok = store_->record_checkin(serial, c.version, c.state, c.time); !ok) return ok;
    }
    return {};
  });
  if (!tx) {
    std::fprintf(stderr, "ironseal-server: %zu check-ins not stored: %s\n", batch.size(),
                 tx.error().message.c_str());
  }
}

// A store transaction whose body may queue director re-signing (pending_) and change what the
// device cache holds: if it fails (and was rolled back), the queued work is dropped and the cache
// reloaded from the store. Caller holds mutex_.
Result<void> FleetService::transact(const std::function<Result<void>()>& body) {
  auto tx = store_->transaction(body);
  if (!tx) {
    pending_.clear();
    cache_loaded_ = false;
  }
  return tx;
}

// Steps every active rollout that has a phase timeout (in one transaction). Caller holds mutex_.
Result<void> FleetService::step_timed_rollouts() {
  auto rollouts = store_->rollouts();
  if (!rollouts) return std::unexpected(rollouts.error());
  if (std::none_of(rollouts->begin(), rollouts->end(), [](const Rollout& r) {
        return r.state == RolloutState::kActive && r.phase_timeout_s > 0;
      })) {
    return {};
  }
  return transact([&]() -> Result<void> {
    for (auto& r : *rollouts) {
      if (r.state != RolloutState::kActive || r.phase_timeout_s <= 0) continue;
      if (auto ok = rollout_step(r); !ok) return ok;
    }
    return {};
  });
}

void FleetService::tick() {
  std::lock_guard lock(mutex_);
  flush_checkins();
  if (!repositories_ || !load_cache()) return;
  for (const auto& serial : std::exchange(stale_, {})) {
    pending_.emplace_back(serial, devices_[serial].assigned_target);
  }
  // Devices that went silent in a rollout with a phase timeout: counted failed once it passes.
  if (now() - last_timeout_check_ >= kTimeoutCheckS) {
    last_timeout_check_ = now();
    if (auto ok = step_timed_rollouts(); !ok) {
      std::fprintf(stderr, "ironseal-server: rollout timeout check: %s\n", ok.error().message.c_str());
    }
  }
  if (config_.director_refresh_s > 0 && now() - last_refresh_ >= config_.director_refresh_s) {
    last_refresh_ = now();
    for (const auto& [serial, d] : devices_) {
      if (!d.assigned_target.empty()) pending_.emplace_back(serial, d.assigned_target);
    }
  }
  flush_assignments();
}

// ---------------------------------------------------------------------------------------------
// Operator listener

HttpResponse FleetService::route_operator(const HttpRequest& r,
                                          const std::vector<std::string>& p) {
  if (p.size() == 1 && p[0] == "metrics") {
    if (r.method != "GET") return method_not_allowed("GET");
    if (!config_.metrics_public) {
      auto caller = authenticate(r);
      if (!caller) return error_response(401, "unauthorized", caller.error().message);
    }
    return metrics_text();
  }
  if (p.size() < 3 || p[0] != "api" || p[1] != "v1") {
    return error_response(404, "not_found", "no such endpoint");
  }
  if (p.size() == 3 && p[2] == "login") {
    Dispatch d = login(r);
    return d.work ? d.work() : std::move(d.response);
  }
  auto caller = authenticate(r);
  if (!caller) {
    HttpResponse out = error_response(401, "unauthorized", caller.error().message);
    out.headers.emplace_back("WWW-Authenticate", "Bearer");
    return out;
  }
  const int needed = r.method == "GET" ? 0 : (p[2] == "accounts" ? 2 : 1);
  if (caller->role < needed) {
    std::lock_guard lock(mutex_);
    (void)audit("operator:" + caller->account, "authorization", "refused",
                {{"method", r.method}, {"path", r.target}});
    return error_response(403, "forbidden",
                          std::string("this needs the role ") +
                              std::string(role_name(static_cast<Role>(needed))));
  }
  if (p[2] == "devices") return op_devices(r, *caller, p);
  if (p[2] == "releases" && p.size() == 3) return op_releases(r, *caller);
  if (p[2] == "rollouts") return op_rollouts(r, *caller, p);
  if (p[2] == "accounts" && p.size() == 3) return op_accounts(r, *caller);
  if (p[2] == "events" && p.size() == 3) return op_events(r, *caller);
  return error_response(404, "not_found", "no such endpoint");
}

// The cheap half of a login, on the I/O thread: the body, the throttle and the account row. The
// Argon2id check comes back as work to run elsewhere (finish_login).
FleetService::Dispatch FleetService::login(const HttpRequest& r) {
  if (r.method != "POST") return {method_not_allowed("POST"), {}};
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return {err, {}};
  auto name = string_field(*body, "name");
  auto password = string_field(*body, "password");
  if (!name || !password || name->size() > 128 || password->size() > 1024) {
    return {error_response(400, "bad_field", "send {\"name\": ..., \"password\": ...}"), {}};
  }
  auto decision = login_throttle_.admit(r.peer, *name, now());
  if (!decision.ticket) {
    const std::string_view reason = login_refusal_name(decision.refusal);
    metrics_.login_throttled++;
    if (decision.first_refusal) {  // once per lock: refusals in a flood cost no database write
      std::lock_guard lock(mutex_);
      (void)audit("operator:" + *name, "auth.login", "throttled",
                  {{"peer", r.peer}, {"reason", reason}});
    }
    HttpResponse out = json_response(
        429, Json{{"error", "too_many_attempts"},
                  {"reason", reason},
                  {"message", decision.refusal == LoginRefusal::kPeerBusy
                                  ? "too many logins from this address at once; try again later"
                                  : "too many failed logins from this address; try again later"}});
    out.headers.emplace_back("Retry-After", std::to_string(decision.retry_after_s));
    return {std::move(out), {}};
  }
  std::string hash;
  std::string role;
  {
    std::lock_guard lock(mutex_);
    auto account = store_->account(*name);
    if (!account) return {from_error(account.error()), {}};
    if (*account) {
      hash = (*account)->password_hash;
      role = (*account)->role;
    }
  }
  HttpResponse busy =
      error_response(503, "login_busy", "too many logins are being checked; try again shortly");
  busy.headers.emplace_back("Retry-After", "1");
  return {std::move(busy),
          [this, ticket = std::move(*decision.ticket), name = std::move(*name),
           password = std::move(*password), hash = std::move(hash), role = std::move(role),
           peer = r.peer]() mutable {
            return finish_login(std::move(ticket), name, password, hash, role, peer);
          }};
}

// The expensive half, on a worker thread.
HttpResponse FleetService::finish_login(LoginThrottle::Ticket ticket, const std::string& name,
                                        const std::string& password, const std::string& hash,
                                        const std::string& role, const std::string& peer) {
  // An unknown account costs the same as a wrong password.
  static const std::string kDummy = hash_password("not-a-real-password").value_or("");
  const bool ok = verify_password(hash.empty() ? kDummy : hash, password) && !hash.empty();
  const LoginRefusal locked = login_throttle_.record(std::move(ticket), ok, now());
  std::lock_guard lock(mutex_);
  if (!ok) {
    metrics_.login_failures++;
    Json detail{{"peer", peer}};
    if (locked != LoginRefusal::kNone) detail["locks"] = login_refusal_name(locked);
    (void)audit("operator:" + name, "auth.login", "refused", std::move(detail));
    return error_response(401, "unauthorized", "wrong account name or password");
  }
  auto token = new_token();
  if (!token) return from_error(token.error());
  const std::int64_t expires = now() + config_.token_lifetime_s;
  if (auto stored = store_->add_token({token_digest(*token), name, expires}); !stored) {
    return from_error(stored.error());
  }
  (void)audit("operator:" + name, "auth.login", "ok", {{"peer", peer}});
  return json_response(200, Json{{"token", *token}, {"role", role}, {"expires_at", expires}});
}

Result<FleetService::Caller> FleetService::authenticate(const HttpRequest& r) {
  if (!r.authorization.starts_with("Bearer ")) {
    return fail(ErrorCode::kNotTrusted, "send Authorization: Bearer TOKEN (POST /api/v1/login)");
  }
  const std::string digest = token_digest(std::string_view(r.authorization).substr(7));
  std::lock_guard lock(mutex_);
  auto token = store_->token(digest);
  if (!token) return std::unexpected(token.error());
  if (!*token || (*token)->expires_at <= now()) {
    return fail(ErrorCode::kNotTrusted, "unknown or expired token");
  }
  auto account = store_->account((*token)->account);
  if (!account) return std::unexpected(account.error());
  if (!*account) return fail(ErrorCode::kNotTrusted, "the token's account no longer exists");
  auto role = parse_role((*account)->role);
  if (!role) return fail(ErrorCode::kNotTrusted, "account has an unknown role");
  return Caller{(*account)->name, static_cast<int>(*role)};
}

Result<void> FleetService::add_account(const std::string& name, const std::string& role,
                                       const std::string& password) {
  if (!valid_name(name)) {
    return fail(ErrorCode::kInvalidArgument, "account name: letters, digits and . _ -");
  }
  if (!parse_role(role)) {
    return fail(ErrorCode::kInvalidArgument, "role must be viewer, operator or admin");
  }
  auto hash = hash_password(password);
  if (!hash) return std::unexpected(hash.error());
  std::lock_guard lock(mutex_);
  return store_->transaction([&]() -> Result<void> {
    if (auto ok = store_->add_account({name, role, *hash, now()}); !ok) return ok;
    return audit("server", "account.add", "ok", {{"account", name}, {"role", role}});
  });
}

HttpResponse FleetService::op_accounts(const HttpRequest& r, const Caller& c) {
  if (r.method != "POST") return method_not_allowed("POST");
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  auto name = string_field(*body, "name");
  auto role = string_field(*body, "role");
  auto password = string_field(*body, "password");
  if (!name || !role || !password) {
    return error_response(400, "bad_field", "send {\"name\", \"role\", \"password\"}");
  }
  if (auto ok = add_account(*name, *role, *password); !ok) {
    if (ok.error().message.find("already exists") != std::string::npos) {
      return error_response(409, "conflict", "account exists");
    }
    return from_error(ok.error());
  }
  std::lock_guard lock(mutex_);
  (void)audit("operator:" + c.account, "account.create", "ok", {{"account", *name}, {"role", *role}});
  return json_response(201, Json{{"name", *name}, {"role", *role}});
}

HttpResponse FleetService::op_devices(const HttpRequest& r, const Caller& c,
                                      const std::vector<std::string>& p) {
  std::lock_guard lock(mutex_);
  flush_checkins();  // operators see the latest check-ins
  if (p.size() == 4) {
    if (r.method != "GET") return method_not_allowed("GET");
    auto dev = store_->device(p[3]);
    if (!dev) return from_error(dev.error());
    if (!*dev) return error_response(404, "not_found", "no device " + p[3]);
    auto reports = store_->reports(p[3], 100);
    if (!reports) return from_error(reports.error());
    Json out = device_json(**dev);
    Json list = Json::array();
    for (const auto& rep : *reports) {
      list.push_back({{"id", rep.id}, {"time", rep.time}, {"step", rep.step},
                      {"target", rep.target}, {"rollout", rep.rollout_id}, {"detail", rep.detail}});
    }
    out["reports"] = list;
    return json_response(200, out);
  }
  if (p.size() != 3) return error_response(404, "not_found", "no such endpoint");
  if (r.method == "GET") {
    const std::string group = query_param(r.target, "group");
    return list_response(store_->devices(group.empty() ? std::nullopt : std::optional(group)),
                         "devices", device_json);
  }
  if (r.method != "POST") return method_not_allowed("GET, POST");
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  Device d;
  d.serial = string_field(*body, "serial").value_or("");
  d.hardware_id = string_field(*body, "hardware_id").value_or("");
  d.group = string_field(*body, "group").value_or("default");
  if (!valid_name(d.serial) || !valid_name(d.hardware_id) || !valid_name(d.group)) {
    return error_response(400, "bad_field",
                          "serial, hardware_id and group: letters, digits and . _ - (max 128)");
  }
  d.registered_at = now();
  auto tx = store_->transaction([&]() -> Result<void> {
    if (auto ok = store_->add_device(d); !ok) return ok;
    return audit("operator:" + c.account, "device.register", "ok",
                 {{"serial", d.serial}, {"hardware_id", d.hardware_id}, {"group", d.group}});
  });
  if (!tx) {
    if (tx.error().message.find("already exists") != std::string::npos) {
      return error_response(409, "conflict", "device " + d.serial + " is already registered");
    }
    return from_error(tx.error());
  }
  if (cache_loaded_) devices_[d.serial] = CachedDevice{d.hardware_id, d.assigned_target};
  return json_response(201, device_json(d));
}

HttpResponse FleetService::op_releases(const HttpRequest& r, const Caller& c) {
  std::lock_guard lock(mutex_);
  if (r.method == "GET") {
    return list_response(store_->releases(), "releases", release_json);
  }
  if (r.method != "POST") return method_not_allowed("GET, POST");
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  Release rel;
  rel.name = string_field(*body, "name").value_or("");
  const std::string target = string_field(*body, "target").value_or("");
  if (!valid_name(rel.name) || target.empty() || target.size() > 256) {
    return error_response(400, "bad_field", "send {\"name\": NAME, \"target\": TARGET}");
  }
  if (!repositories_) {
    return error_response(503, "no_repository", "this server has no update repository");
  }
  auto published = repositories_->published_target(target);
  if (!published) return from_error(published.error());
  rel.target = published->name;
  rel.version = published->version;
  rel.hardware_id = published->hardware_id;
  rel.created_at = now();
  auto tx = store_->transaction([&]() -> Result<void> {
    if (auto ok = store_->add_release(rel); !ok) return ok;
    return audit("operator:" + c.account, "release.create", "ok", release_json(rel));
  });
  if (!tx) {
    if (tx.error().message.find("already exists") != std::string::npos) {
      return error_response(409, "conflict", "release " + rel.name + " exists");
    }
    return from_error(tx.error());
  }
  return json_response(201, release_json(rel));
}

HttpResponse FleetService::op_rollouts(const HttpRequest& r, const Caller& c,
                                       const std::vector<std::string>& p) {
  std::lock_guard lock(mutex_);
  if (p.size() == 3) {
    if (r.method == "GET") {
      return list_response(store_->rollouts(), "rollouts",
                           [this](const Rollout& ro) { return rollout_json(ro); });
    }
    if (r.method != "POST") return method_not_allowed("GET, POST");
    HttpResponse err;
    auto body = parse_object(r, &err);
    if (!body) return err;
    const std::string release = string_field(*body, "release").value_or("");
    const std::string group = string_field(*body, "group").value_or("default");
    auto phases = parse_phases(body->value("phases", Json::array({1, "100%"})));
    if (!phases) return from_error(phases.error());
    const Json rate = body->value("max_failure_rate", Json(0.2));
    if (!rate.is_number() || rate.get<double>() < 0.0 || rate.get<double>() > 1.0) {
      return error_response(400, "bad_field", "max_failure_rate must be a number in [0, 1]");
    }
    const Json timeout = body->value("phase_timeout_s", Json(0));
    if (!timeout.is_number_integer() || timeout.get<std::int64_t>() < 0 ||
        timeout.get<std::int64_t>() > 90LL * 24 * 3600) {
      return error_response(400, "bad_field",
                            "phase_timeout_s must be whole seconds in [0, 90 days] (0: none)");
    }
    std::int64_t id = 0;
    auto tx = transact([&]() -> Result<void> {
      auto created = rollout_create(release, group, *phases, rate.get<double>(),
                                    timeout.get<std::int64_t>(), "operator:" + c.account);
      if (!created) return std::unexpected(created.error());
      id = *created;
      return {};
    });
    if (!tx) return from_error(tx.error());
    flush_assignments();
    auto ro = store_->rollout(id);
    if (!ro || !*ro) return error_response(500, "internal", "rollout vanished");
    return json_response(201, rollout_json(**ro));
  }
  std::int64_t id = 0;
  {
    auto [ptr, ec] = std::from_chars(p[3].data(), p[3].data() + p[3].size(), id);
    if (ec != std::errc() || ptr != p[3].data() + p[3].size()) {
      return error_response(404, "not_found", "no rollout " + p[3]);
    }
  }
  if (p.size() == 4) {
    if (r.method != "GET") return method_not_allowed("GET");
    auto ro = store_->rollout(id);
    if (!ro) return from_error(ro.error());
    if (!*ro) return error_response(404, "not_found", "no rollout " + p[3]);
    Json out = rollout_json(**ro);
    auto members = store_->members(id);
    if (!members) return from_error(members.error());
    Json list = Json::array();
    for (const auto& m : *members) {
      list.push_back({{"serial", m.serial}, {"position", m.position},
                      {"state", member_state_name(m.state)}, {"reason", m.reason},
                      {"baseline_target", m.baseline_target}});
    }
    out["devices"] = list;
    return json_response(200, out);
  }
  if (p.size() == 5 && (p[4] == "pause" || p[4] == "resume" || p[4] == "abort")) {
    if (r.method != "POST") return method_not_allowed("POST");
    auto tx =
        transact([&]() -> Result<void> { return rollout_command(id, p[4], "operator:" + c.account); });
    if (!tx) return from_error(tx.error());
    flush_assignments();
    auto ro = store_->rollout(id);
    if (!ro || !*ro) return error_response(500, "internal", "rollout vanished");
    return json_response(200, rollout_json(**ro));
  }
  return error_response(404, "not_found", "no such endpoint");
}

HttpResponse FleetService::op_events(const HttpRequest& r, const Caller&) {
  if (r.method != "GET") return method_not_allowed("GET");
  std::size_t limit = 100;
  const std::string l = query_param(r.target, "limit");
  if (!l.empty()) {
    auto [ptr, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (ec != std::errc() || limit == 0 || limit > 10000) {
      return error_response(400, "bad_field", "limit must be 1..10000");
    }
  }
  std::lock_guard lock(mutex_);
  return list_response(store_->events(limit), "events", [](const auto& e) {
    return Json{{"id", e.id},         {"time", e.time},       {"actor", e.actor},
                {"action", e.action}, {"outcome", e.outcome}, {"detail", e.detail}};
  });
}

HttpResponse FleetService::metrics_text() {
  HttpResponse out;
  out.content_type = "text/plain; version=0.0.4; charset=utf-8";
  out.body = metrics_.render();
  std::lock_guard lock(mutex_);
  if (auto devices = store_->devices(std::nullopt)) {
    out.body += "# HELP ironseal_devices Registered devices.\n# TYPE ironseal_devices gauge\n";
    out.body += "ironseal_devices " + std::to_string(devices->size()) + "\n";
  }
  if (auto rollouts = store_->rollouts()) {
    out.body += "# HELP ironseal_rollouts Rollouts by state.\n# TYPE ironseal_rollouts gauge\n";
    for (auto st : {RolloutState::kActive, RolloutState::kPaused, RolloutState::kAborted,
                    RolloutState::kCompleted}) {
      const auto n = std::count_if(rollouts->begin(), rollouts->end(),
                                   [&](const Rollout& ro) { return ro.state == st; });
      out.body += "ironseal_rollouts{state=\"" + std::string(rollout_state_name(st)) + "\"} " +
                  std::to_string(n) + "\n";
    }
  }
  return out;
}

std::string Metrics::render() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  out += "# HELP ironseal_connections_active Open connections.\n"
         "# TYPE ironseal_connections_active gauge\n"
         "ironseal_connections_active " + std::to_string(connections_active.load()) + "\n";
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
  out += "# HELP ironseal_http_responses_total HTTP responses by listener and status class.\n"
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

Result<std::string> render_security_txt(const Json& config) {
  if (!config.is_object()) return fail(ErrorCode::kInvalidArgument, "security_txt: not an object");
  std::string out;
  auto lines = [&](const char* key, const char* field, bool required) -> Result<void> {
    auto it = config.find(key);
    if (it == config.end()) {
      if (required) return fail(ErrorCode::kInvalidArgument, "security_txt: '", key, "' is required");
      return {};
    }
    std::vector<std::string> values;
    if (it->is_string()) values.push_back(it->get<std::string>());
    else if (it->is_array()) {
      for (const auto& v : *it) {
        if (!v.is_string()) return fail(ErrorCode::kInvalidArgument, "security_txt: ", key);
        values.push_back(v.get<std::string>());
      }
    } else {
      return fail(ErrorCode::kInvalidArgument, "security_txt: ", key, " must be text");
    }
    for (const auto& v : values) {
      if (v.empty() || v.find_first_of("\r\n") != std::string::npos) {
        return fail(ErrorCode::kInvalidArgument, "security_txt: ", key, " has a bad value");
      }
      out += std::string(field) + ": " + v + "\n";
    }
    return {};
  };
  for (auto [key, field, required] :
       {std::tuple{"contact", "Contact", true}, {"expires", "Expires", true},
        {"encryption", "Encryption", false}, {"acknowledgments", "Acknowledgments", false},
        {"preferred_languages", "Preferred-Languages", false}, {"canonical", "Canonical", false},
        {"policy", "Policy", false}, {"hiring", "Hiring", false}}) {
    if (auto ok = lines(key, field, required); !ok) return std::unexpected(ok.error());
  }
  return out;
}

}  // namespace ironseal::fleet
