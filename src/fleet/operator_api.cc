// The operator endpoints: devices, releases, rollouts, events and metrics (operator_api.h).
#include "fleet/operator_api.h"

#include <algorithm>
#include <charconv>

#include "fleet/answers.h"
#include "fleet/request_parse.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

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

}  // namespace

OperatorApi::OperatorApi(SharedStore& shared, RolloutEngine& rollouts, DeviceSessions& sessions,
                         Metrics& metrics)
    : shared_(shared), rollouts_(rollouts), sessions_(sessions), metrics_(metrics) {}

HttpResponse OperatorApi::devices(const HttpRequest& r, const Caller& c,
                                  const std::vector<std::string>& p) {
  auto lock = shared_.lock();
  sessions_.flush_checkins();  // operators see the latest check-ins
  if (p.size() == 4) {
    if (r.method != "GET") return method_not_allowed("GET");
    return device(p[3]);
  }
  if (p.size() == 5 && p[4] == "replacement") {
    if (r.method != "POST") return method_not_allowed("POST");
    return replace_device(r, c, p[3]);
  }
  if (p.size() != 3) return error_response(404, "not_found", "no such endpoint");
  if (r.method == "GET") {
    const std::string group = query_param(r.target, "group");
    return list_response(
        shared_.store().devices(group.empty() ? std::nullopt : std::optional(group)), "devices",
        device_json);
  }
  if (r.method != "POST") return method_not_allowed("GET, POST");
  return register_device(r, c);
}

// GET /api/v1/devices/SERIAL. Caller holds the lock.
HttpResponse OperatorApi::device(const std::string& serial) {
  auto dev = shared_.store().device(serial);
  if (!dev) return from_error(dev.error());
  if (!*dev) return error_response(404, "not_found", "no device " + serial);
  auto reports = shared_.store().reports(serial, 100);
  if (!reports) return from_error(reports.error());
  Json out = device_json(**dev);
  Json list = Json::array();
  for (const auto& rep : *reports) {
    list.push_back({{"id", rep.id},
                    {"time", rep.time},
                    {"step", rep.step},
                    {"target", rep.target},
                    {"rollout", rep.rollout_id},
                    {"detail", rep.detail}});
  }
  out["reports"] = list;
  auto links = shared_.store().replacements(serial);
  if (!links) return from_error(links.error());
  for (const auto& l : *links) {
    const bool old = l.old_serial == serial;
    out[old ? "replaced_by" : "replaces"] = {{"serial", old ? l.new_serial : l.old_serial},
                                             {"archive_sha256", l.archive_sha256},
                                             {"at", l.replaced_at}};
  }
  return json_response(200, out);
}

// POST /api/v1/devices/OLD/replacement {"serial": NEW, "archive_sha256"?}: NEW (registered, same
// hardware) took OLD's place, restored from its backup. Caller holds the lock.
HttpResponse OperatorApi::replace_device(const HttpRequest& r, const Caller& c,
                                         const std::string& old) {
  HttpResponse err;
  auto body = parse_object(r, &err);
  if (!body) return err;
  Replacement rep{old, string_field(*body, "serial").value_or(""),
                  string_field(*body, "archive_sha256").value_or(""), shared_.now()};
  if (!valid_name(rep.new_serial) || rep.new_serial == old || rep.archive_sha256.size() > 64) {
    return error_response(400, "bad_field",
                          "send {\"serial\": NEW, \"archive_sha256\": HEX}, NEW another device");
  }
  Store& store = shared_.store();
  auto from = store.device(old);
  auto to = store.device(rep.new_serial);
  if (!from) return from_error(from.error());
  if (!to) return from_error(to.error());
  if (!*from || !*to) {
    return error_response(404, "not_found", "no device " + (*from ? rep.new_serial : old));
  }
  if ((*from)->hardware_id != (*to)->hardware_id) {
    return error_response(409, "hardware_mismatch",
                          "a replacement must be the same hardware (" + (*from)->hardware_id +
                              ", not " + (*to)->hardware_id + ")");
  }
  auto tx = store.transaction([&]() -> Result<void> {
    if (auto ok = store.add_replacement(rep); !ok) return ok;
    return shared_.audit("operator:" + c.account, "device.replace", "ok",
                         {{"old", old}, {"new", rep.new_serial},
                          {"archive_sha256", rep.archive_sha256}});
  });
  if (!tx) {
    if (tx.error().message.find("already exists") != std::string::npos) {
      return error_response(409, "conflict", "device " + old + " was replaced already");
    }
    return from_error(tx.error());
  }
  return json_response(201, {{"old", old}, {"new", rep.new_serial},
                             {"archive_sha256", rep.archive_sha256}, {"at", rep.replaced_at}});
}

// POST /api/v1/devices. Caller holds the lock.
HttpResponse OperatorApi::register_device(const HttpRequest& r, const Caller& c) {
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
  d.registered_at = shared_.now();
  Store& store = shared_.store();
  auto tx = store.transaction([&]() -> Result<void> {
    if (auto ok = store.add_device(d); !ok) return ok;
    return shared_.audit(
        "operator:" + c.account, "device.register", "ok",
        {{"serial", d.serial}, {"hardware_id", d.hardware_id}, {"group", d.group}});
  });
  if (!tx) {
    if (tx.error().message.find("already exists") != std::string::npos) {
      return error_response(409, "conflict", "device " + d.serial + " is already registered");
    }
    return from_error(tx.error());
  }
  shared_.devices().put(d.serial, CachedDevice{d.hardware_id, d.assigned_target});
  return json_response(201, device_json(d));
}

HttpResponse OperatorApi::releases(const HttpRequest& r, const Caller& c) {
  auto lock = shared_.lock();
  Store& store = shared_.store();
  if (r.method == "GET") return list_response(store.releases(), "releases", release_json);
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
  if (!rollouts_.has_repositories()) {
    return error_response(503, "no_repository", "this server has no update repository");
  }
  auto published = rollouts_.published_target(target);
  if (!published) return from_error(published.error());
  rel.target = published->name;
  rel.version = published->version;
  rel.hardware_id = published->hardware_id;
  rel.created_at = shared_.now();
  auto tx = store.transaction([&]() -> Result<void> {
    if (auto ok = store.add_release(rel); !ok) return ok;
    return shared_.audit("operator:" + c.account, "release.create", "ok", release_json(rel));
  });
  if (!tx) {
    if (tx.error().message.find("already exists") != std::string::npos) {
      return error_response(409, "conflict", "release " + rel.name + " exists");
    }
    return from_error(tx.error());
  }
  return json_response(201, release_json(rel));
}

// POST /api/v1/rollouts. Caller holds the lock.
HttpResponse OperatorApi::create_rollout(const HttpRequest& r, const Caller& c) {
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
  auto tx = rollouts_.transact([&]() -> Result<void> {
    auto created = rollouts_.create(release, group, *phases, rate.get<double>(),
                                    timeout.get<std::int64_t>(), "operator:" + c.account);
    if (!created) return std::unexpected(created.error());
    id = *created;
    return {};
  });
  if (!tx) return from_error(tx.error());
  rollouts_.flush_assignments();
  auto ro = shared_.store().rollout(id);
  if (!ro || !*ro) return error_response(500, "internal", "rollout vanished");
  return json_response(201, rollouts_.to_json(**ro));
}

// GET /api/v1/rollouts/ID: the rollout and its devices. Caller holds the lock.
HttpResponse OperatorApi::rollout(std::int64_t id, const std::string& name) {
  auto ro = shared_.store().rollout(id);
  if (!ro) return from_error(ro.error());
  if (!*ro) return error_response(404, "not_found", "no rollout " + name);
  Json out = rollouts_.to_json(**ro);
  auto members = shared_.store().members(id);
  if (!members) return from_error(members.error());
  Json list = Json::array();
  for (const auto& m : *members) {
    list.push_back({{"serial", m.serial},
                    {"position", m.position},
                    {"state", member_state_name(m.state)},
                    {"reason", m.reason},
                    {"baseline_target", m.baseline_target}});
  }
  out["devices"] = list;
  return json_response(200, out);
}

HttpResponse OperatorApi::rollouts(const HttpRequest& r, const Caller& c,
                                   const std::vector<std::string>& p) {
  auto lock = shared_.lock();
  if (p.size() == 3) {
    if (r.method == "GET") {
      return list_response(shared_.store().rollouts(), "rollouts",
                           [this](const Rollout& ro) { return rollouts_.to_json(ro); });
    }
    if (r.method != "POST") return method_not_allowed("GET, POST");
    return create_rollout(r, c);
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
    return rollout(id, p[3]);
  }
  if (p.size() == 5 && (p[4] == "pause" || p[4] == "resume" || p[4] == "abort")) {
    if (r.method != "POST") return method_not_allowed("POST");
    auto tx = rollouts_.transact(
        [&]() -> Result<void> { return rollouts_.command(id, p[4], "operator:" + c.account); });
    if (!tx) return from_error(tx.error());
    rollouts_.flush_assignments();
    auto ro = shared_.store().rollout(id);
    if (!ro || !*ro) return error_response(500, "internal", "rollout vanished");
    return json_response(200, rollouts_.to_json(**ro));
  }
  return error_response(404, "not_found", "no such endpoint");
}

HttpResponse OperatorApi::events(const HttpRequest& r) {
  if (r.method != "GET") return method_not_allowed("GET");
  std::size_t limit = 100;
  const std::string l = query_param(r.target, "limit");
  if (!l.empty()) {
    auto [ptr, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (ec != std::errc() || limit == 0 || limit > 10000) {
      return error_response(400, "bad_field", "limit must be 1..10000");
    }
  }
  auto lock = shared_.lock();
  return list_response(shared_.store().events(limit), "events", [](const auto& e) {
    return Json{{"id", e.id},         {"time", e.time},       {"actor", e.actor},
                {"action", e.action}, {"outcome", e.outcome}, {"detail", e.detail}};
  });
}

HttpResponse OperatorApi::metrics_text() {
  HttpResponse out;
  out.content_type = "text/plain; version=0.0.4; charset=utf-8";
  out.body = metrics_.render();
  auto lock = shared_.lock();
  if (auto devices = shared_.store().devices(std::nullopt)) {
    out.body += "# HELP ironseal_devices Registered devices.\n# TYPE ironseal_devices gauge\n";
    out.body += "ironseal_devices " + std::to_string(devices->size()) + "\n";
  }
  if (auto rollouts = shared_.store().rollouts()) {
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

}  // namespace ironseal::fleet
