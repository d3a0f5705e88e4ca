// Request routing, caller authentication and authorisation, and repository files (router.h).
#include "fleet/router.h"

#include <system_error>
#include <utility>

#include "core/file.h"
#include "fleet/answers.h"
#include "fleet/request_parse.h"

namespace ironseal::fleet {
namespace {

namespace fs = std::filesystem;

HttpResponse serve_file(const HttpRequest& r, const fs::path& path) {
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
    out.headers.emplace_back(
        "Content-Range",
        "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
  }
  FileBody body;
  body.offset = first;
  body.length = size == 0 ? 0 : last - first + 1;
  body.file = std::make_shared<ReadOnlyFile>(std::move(*file));
  out.file = std::move(body);
  return out;
}

}  // namespace

Role required_role(std::string_view method, std::string_view resource) {
  if (method == "GET") return Role::kViewer;
  return resource == "accounts" ? Role::kAdmin : Role::kOperator;
}

Router::Router(RouterConfig config, Parts parts) : config_(std::move(config)), parts_(parts) {}

HttpResponse Router::handle(const HttpRequest& r) {
  auto path = split_path(r.target);
  if (!path) return error_response(400, "bad_path", "malformed request path");
  bool hit = false;
  HttpResponse out = route_common(r, *path, &hit);
  if (hit) return out;
  return r.listener == Listener::kDevice ? route_device(r, *path) : route_operator(r, *path);
}

Dispatch Router::dispatch(const HttpRequest& r) {
  if (r.listener == Listener::kOperator) {
    auto path = split_path(r.target);
    if (path && *path == std::vector<std::string>{"api", "v1", "login"}) {
      return parts_.accounts.login(r);
    }
    // Reading the audit trail's pages is work for a worker too (OperatorApi::audit).
    if (path && path->size() >= 3 && (*path)[0] == "api" && (*path)[1] == "v1" &&
        (*path)[2] == "audit") {
      Caller caller;
      if (auto refused = admit_operator(r, *path, &caller)) return {std::move(*refused), {}};
      return parts_.operator_api.audit(r, *path);
    }
  }
  return {handle(r), {}};
}

std::optional<HttpResponse> Router::admit_operator(const HttpRequest& r,
                                                   const std::vector<std::string>& p,
                                                   Caller* caller) {
  auto who = parts_.accounts.authenticate(r);
  if (!who) {
    HttpResponse out = error_response(401, "unauthorized", who.error().message);
    out.headers.emplace_back("WWW-Authenticate", "Bearer");
    return out;
  }
  const Role needed = required_role(r.method, p[2]);
  if (!at_least(who->role, needed)) {
    auto lock = parts_.shared.lock();
    (void)parts_.shared.audit("operator:" + who->account, "authorization", "refused",
                              {{"method", r.method}, {"path", r.target}});
    return error_response(403, "forbidden",
                          std::string("this needs the role ") + std::string(role_name(needed)));
  }
  *caller = std::move(*who);
  return std::nullopt;
}

HttpResponse Router::route_common(const HttpRequest& r, const std::vector<std::string>& p,
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
    return parts_.est.handle(r, "cacerts");
  }
  *hit = false;
  return {};
}

HttpResponse Router::route_device(const HttpRequest& r, const std::vector<std::string>& p) {
  if (!r.device) return error_response(401, "no_identity", "a client certificate is required");
  const DeviceIdentity& id = *r.device;
  if (auto refused = parts_.sessions.admit(r, id)) return *refused;
  // The certificate must be one the CA issued to this device and still current (when the server
  // has the CA's index: est_ca).
  if (auto refused = parts_.est.refuse_unissued(r, id)) return *refused;
  const bool enrol = p.size() == 3 && p[0] == ".well-known" && p[1] == "est" &&
                     (p[2] == "simpleenroll" || p[2] == "simplereenroll");
  if (id.enrolment_only && !(enrol && p[2] == "simpleenroll")) {
    return error_response(403, "enrolment_only",
                          "a factory certificate may only enrol (EST simpleenroll)");
  }
  if (enrol) return parts_.est.handle(r, p[2]);
  if (!p.empty() && (p[0] == "image" || p[0] == "director")) {
    if (r.method != "GET") return method_not_allowed("GET");
    // BASE/director/devices/SERIAL/metadata/FILE: only the device's own.
    if (p[0] == "director" && (p.size() < 3 || p[1] != "devices" || p[2] != id.serial)) {
      auto lock = parts_.shared.lock();
      (void)parts_.shared.audit("device:" + id.serial, "director.read", "refused",
                                {{"path", r.target}, {"peer", r.peer}});
      return error_response(403, "not_your_metadata",
                            "a device may read only its own director metadata");
    }
    return serve_repository(r, p);
  }
  if (p.size() == 4 && p[0] == "api" && p[1] == "v1" && p[2] == "device") {
    if (r.method != "POST") return method_not_allowed("POST");
    if (p[3] == "checkin") return parts_.sessions.checkin(r, id);
    if (p[3] == "reports") return parts_.sessions.report(r, id);
  }
  return error_response(404, "not_found", "no such endpoint");
}

HttpResponse Router::serve_repository(const HttpRequest& r, const std::vector<std::string>& p) {
  const bool image_ok =
      p.size() == 3 && p[0] == "image" && (p[1] == "metadata" || p[1] == "targets");
  const bool director_ok =
      p.size() == 5 && p[0] == "director" && p[1] == "devices" && p[3] == "metadata";
  if (!image_ok && !director_ok) return error_response(404, "not_found", "no such file");
  fs::path file = config_.repository;
  for (const auto& seg : p) file /= seg;
  return serve_file(r, file);
}

HttpResponse Router::route_operator(const HttpRequest& r, const std::vector<std::string>& p) {
  if (p.size() == 1 && p[0] == "metrics") {
    if (r.method != "GET") return method_not_allowed("GET");
    if (!config_.metrics_public) {
      auto caller = parts_.accounts.authenticate(r);
      if (!caller) return error_response(401, "unauthorized", caller.error().message);
    }
    return parts_.operator_api.metrics_text();
  }
  if (p.size() < 3 || p[0] != "api" || p[1] != "v1") {
    return error_response(404, "not_found", "no such endpoint");
  }
  if (p.size() == 3 && p[2] == "login") {
    Dispatch d = parts_.accounts.login(r);
    return d.work ? d.work() : std::move(d.response);
  }
  Caller caller;
  if (auto refused = admit_operator(r, p, &caller)) return std::move(*refused);
  OperatorApi& api = parts_.operator_api;
  if (p[2] == "devices") return api.devices(r, caller, p);
  if (p[2] == "releases" && p.size() == 3) return api.releases(r, caller);
  if (p[2] == "rollouts") return api.rollouts(r, caller, p);
  if (p[2] == "accounts" && p.size() == 3) return parts_.accounts.create(r, caller);
  if (p[2] == "events" && p.size() == 3) return api.events(r);
  if (p[2] == "audit") {
    Dispatch d = api.audit(r, p);
    return d.work ? d.work() : std::move(d.response);
  }
  return error_response(404, "not_found", "no such endpoint");
}

}  // namespace ironseal::fleet
