// Parses the fleet server configuration (config.h).
#include "fleet/config.h"

#include <set>
#include <tuple>

#include "core/file.h"
#include "evidence/security_txt.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

Result<void> only_keys(const Json& j, const std::set<std::string>& allowed, const char* where) {
  for (const auto& [k, v] : j.items()) {
    (void)v;
    if (!allowed.contains(k)) {
      return fail(ErrorCode::kInvalidArgument, "config: unknown key '", k, "' in ", where);
    }
  }
  return {};
}

fs::path resolve(const fs::path& base, const std::string& p) {
  return fs::path(p).is_absolute() ? fs::path(p) : base / p;
}

// The server's own certificate and key ("tls"), and the CAs it trusts for devices ("device_ca",
// "enrol_ca", "crl").
Result<void> read_tls_and_trust(const Json& j, const fs::path& base, FleetConfig& c) {
  const Json tls = j.value("tls", Json::object());
  if (auto ok = only_keys(tls, {"certificate_chain", "private_key", "allow_tls12"}, "tls"); !ok) {
    return std::unexpected(ok.error());
  }
  if (!tls.contains("certificate_chain") || !tls.contains("private_key")) {
    return fail(ErrorCode::kInvalidArgument,
                "config: tls.certificate_chain and tls.private_key are required");
  }
  c.server.tls.certificate_chain = resolve(base, tls["certificate_chain"].get<std::string>());
  c.server.tls.private_key = resolve(base, tls["private_key"].get<std::string>());
  c.server.tls.allow_tls12 = tls.value("allow_tls12", false);
  if (auto ok = check_private_file_mode(c.server.tls.private_key); !ok) {
    return std::unexpected(ok.error());
  }
  auto paths = [&](const char* key, std::vector<fs::path>* out) {
    if (!j.contains(key)) return;
    const Json& v = j[key];
    if (v.is_string()) out->push_back(resolve(base, v.get<std::string>()));
    for (const auto& e : v.is_array() ? v : Json::array())
      out->push_back(resolve(base, e.get<std::string>()));
  };
  paths("device_ca", &c.server.trust.device_ca);
  paths("enrol_ca", &c.server.trust.enrol_ca);
  paths("crl", &c.server.trust.crl);
  if (c.server.trust.device_ca.empty()) {
    return fail(ErrorCode::kInvalidArgument, "config: device_ca is required");
  }
  return {};
}

// Per-device budgets ("limits"): a rate per minute and a burst, both positive, and how many
// reports each device keeps.
Result<void> read_device_limits(const Json& limits, FleetConfig& c) {
  auto budget = [&](const char* rate_key, const char* burst_key, RateLimit* out) -> Result<void> {
    const double per_minute = limits.value(rate_key, out->per_second * 60.0);
    const double burst = limits.value(burst_key, out->burst);
    if (!(per_minute > 0) || !(burst >= 1)) {
      return fail(ErrorCode::kInvalidArgument, "config: limits.", rate_key, " must be > 0 and ",
                  "limits.", burst_key, " >= 1");
    }
    *out = RateLimit{per_minute / 60.0, burst};
    return {};
  };
  auto& dl = c.service.device_limits;
  for (auto [rate, burst, out] :
       {std::tuple{"device_checkins_per_minute", "device_checkin_burst", &dl.checkins},
        std::tuple{"device_reports_per_minute", "device_report_burst", &dl.reports},
        std::tuple{"device_report_bytes_per_minute", "device_report_burst_bytes",
                   &dl.report_bytes}}) {
    if (auto ok = budget(rate, burst, out); !ok) return std::unexpected(ok.error());
  }
  const auto keep =
      limits.value("max_reports_per_device", static_cast<std::int64_t>(dl.max_reports_per_device));
  if (keep < 1) {
    return fail(ErrorCode::kInvalidArgument, "config: limits.max_reports_per_device must be >= 1");
  }
  dl.max_reports_per_device = static_cast<std::size_t>(keep);
  return {};
}

// "limits": the server's connection limits, then the per-device budgets.
Result<void> read_limits(const Json& j, FleetConfig& c) {
  const Json limits = j.value("limits", Json::object());
  if (auto ok = only_keys(
          limits,
          {"max_connections", "max_connections_per_client", "max_header_bytes", "max_body_bytes",
           "handshake_timeout_ms", "request_timeout_ms", "write_timeout_ms",
           "max_requests_per_connection", "device_checkins_per_minute", "device_checkin_burst",
           "device_reports_per_minute", "device_report_burst", "device_report_bytes_per_minute",
           "device_report_burst_bytes", "max_reports_per_device"},
          "limits");
      !ok) {
    return std::unexpected(ok.error());
  }
  auto& l = c.server.limits;
  l.max_connections = limits.value("max_connections", l.max_connections);
  l.max_connections_per_client =
      limits.value("max_connections_per_client", l.max_connections_per_client);
  l.max_header_bytes = limits.value("max_header_bytes", l.max_header_bytes);
  l.max_body_bytes = limits.value("max_body_bytes", l.max_body_bytes);
  l.handshake_timeout =
      std::chrono::milliseconds(limits.value("handshake_timeout_ms", l.handshake_timeout.count()));
  l.request_timeout =
      std::chrono::milliseconds(limits.value("request_timeout_ms", l.request_timeout.count()));
  l.write_timeout =
      std::chrono::milliseconds(limits.value("write_timeout_ms", l.write_timeout.count()));
  l.max_requests_per_connection =
      limits.value("max_requests_per_connection", l.max_requests_per_connection);
  return read_device_limits(limits, c);
}

// The service's files and settings: database, repository, EST CA, security.txt, intervals.
Result<void> read_service(const Json& j, const fs::path& base, FleetConfig& c) {
  c.database = resolve(base, j.value("database", std::string("fleet.db")));
  if (j.contains("repository")) {
    c.service.repository = resolve(base, j["repository"].get<std::string>());
    c.has_repository = true;
  }
  if (j.contains("est_ca")) c.est_ca = resolve(base, j["est_ca"].get<std::string>());
  if (!j.contains("security_txt")) {
    return fail(ErrorCode::kInvalidArgument,
                "config: security_txt (contact, expires) is required (RFC 9116)");
  }
  // Checked at start: a server never serves a security.txt whose Expires is already past.
  auto fields = evidence::security_txt_from_json(j["security_txt"]);
  if (!fields) return fail_in(fields.error(), "config: ");
  auto txt = evidence::render_security_txt(*fields, std::time(nullptr));
  if (!txt) return fail_in(txt.error(), "config: security_txt: ");
  c.service.security_txt = *txt;
  if (j.contains("audit")) {
    const auto& a = j["audit"];
    if (a.is_object()) {
      if (auto ok = only_keys(a, {"dir", "key", "checkpoint_every"}, "audit"); !ok) return ok;
    }
    if (!a.is_object() || !a.contains("dir") || !a["dir"].is_string() || !a.contains("key") ||
        !a["key"].is_string()) {
      return fail(ErrorCode::kInvalidArgument,
                  "config: audit needs dir and key (the checkpoint signing key: a key file or a "
                  "pkcs11: URI), docs/audit.md");
    }
    c.service.audit_dir = resolve(base, a["dir"].get<std::string>());
    const auto key = a["key"].get<std::string>();
    c.service.audit_key = key.starts_with("pkcs11:") ? key : resolve(base, key).string();
    if (a.contains("checkpoint_every")) {
      if (!a["checkpoint_every"].is_number_unsigned() || a["checkpoint_every"].get<std::uint64_t>() == 0) {
        return fail(ErrorCode::kInvalidArgument, "config: audit.checkpoint_every must be >= 1");
      }
      c.service.audit_checkpoint_every = a["checkpoint_every"].get<std::uint64_t>();
    }
  }
  c.service.poll_interval_s = j.value("poll_interval_s", c.service.poll_interval_s);
  c.service.token_lifetime_s = j.value("token_lifetime_s", c.service.token_lifetime_s);
  c.service.metrics_public = j.value("metrics_public", false);
  c.service.director_refresh_s = j.value("director_refresh_s", c.service.director_refresh_s);
  return {};
}

}  // namespace

Result<FleetConfig> load_config(const fs::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return std::unexpected(bytes.error());
  const Json j = Json::parse(bytes->begin(), bytes->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(ErrorCode::kMalformed, "config: ", path.string(), " is not a JSON object");
  }
  if (auto ok = only_keys(
          j,
          {"listen", "device_port", "operator_port", "tls", "device_ca", "enrol_ca", "crl",
           "database", "repository", "security_txt", "audit", "limits", "threads", "poll_interval_s",
           "token_lifetime_s", "metrics_public", "trust_poll_ms", "director_refresh_s", "est_ca"},
          "the top level");
      !ok) {
    return std::unexpected(ok.error());
  }
  const fs::path base = path.parent_path();
  FleetConfig c;
  try {
    c.server.bind_address = j.value("listen", "127.0.0.1");
    c.server.device_port = j.value("device_port", std::uint16_t{8443});
    c.server.operator_port = j.value("operator_port", std::uint16_t{8444});
    c.server.threads = j.value("threads", 1);
    c.server.trust_poll = std::chrono::milliseconds(j.value("trust_poll_ms", 1000));
    if (c.server.threads < 1 || c.server.threads > 64) {
      return fail(ErrorCode::kInvalidArgument, "config: threads must be 1..64");
    }
    if (auto ok = read_tls_and_trust(j, base, c); !ok) return std::unexpected(ok.error());
    if (auto ok = read_limits(j, c); !ok) return std::unexpected(ok.error());
    if (auto ok = read_service(j, base, c); !ok) return std::unexpected(ok.error());
  } catch (const Json::exception& e) {
    return fail(ErrorCode::kInvalidArgument, "config: ", path.string(), ": ", e.what());
  }
  return c;
}

}  // namespace ironseal::fleet
