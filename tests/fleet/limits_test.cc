// Limits a single device (or anyone able to open connections) must not be able to get past: the
// per-device rate and volume budgets for check-ins and reports, the bound on stored reports, the
// audit of refusals (once per window, not once per request), the log-line throttle, and the
// Content-Type the JSON endpoints insist on. Service-level, with a made-up clock.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <ctime>
#include <fstream>
#include <tuple>

#include "fleet/config.h"
#include "fleet/rate_limit.h"
#include "fleet/request_parse.h"
#include "fleet/service.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

// RFC 3339 time `days` from now: the server refuses a security.txt whose Expires is past.
std::string expires_in_days(int days) {
  std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

using Json = nlohmann::json;
using ironseal::testing::TempDir;

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

class DeviceBudgets : public ::testing::Test {
 protected:
  void start(DeviceLimits limits) {
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    for (const char* serial : {"SN-1", "SN-2"}) {
      Device d;
      d.serial = serial;
      d.hardware_id = "plc-x1";
      d.group = "line";
      ASSERT_TRUE((*store)->add_device(d));
    }
    ServiceConfig config;
    config.device_limits = limits;
    service_ = std::make_unique<FleetService>(config, std::move(*store), nullptr, nullptr,
                                              metrics_, [this] { return t_; });
    ASSERT_TRUE(service_->add_account("ops", "admin", "ops-password-1"));
    HttpRequest login;
    login.method = "POST";
    login.target = "/api/v1/login";
    login.content_type = "application/json";
    login.body = R"({"name":"ops","password":"ops-password-1"})";
    const HttpResponse out = service_->handle(login);
    ASSERT_EQ(out.status, 200) << out.body;
    token_ = Json::parse(out.body)["token"];
  }

  HttpResponse device(const std::string& serial, const std::string& endpoint, const Json& body,
                      const std::string& content_type = "application/json") {
    HttpRequest r;
    r.listener = Listener::kDevice;
    r.method = "POST";
    r.target = "/api/v1/device/" + endpoint;
    r.content_type = content_type;
    r.body = body.dump();
    r.device = DeviceIdentity{serial, "plc-x1", "01", 0, 0, false, ""};
    r.peer = "127.0.0.1";
    return service_->handle(r);
  }

  HttpResponse op(const std::string& method, const std::string& target, const std::string& body,
                  const std::string& content_type = "application/json") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.authorization = "Bearer " + token_;
    r.content_type = content_type;
    r.body = body;
    return service_->handle(r);
  }

  std::vector<Json> events(const std::string& action) {
    const Json all = Json::parse(op("GET", "/api/v1/events?limit=10000", "").body);
    std::vector<Json> found;
    for (const auto& e : all["events"]) {
      if (e["action"] == action) found.push_back(e);
    }
    return found;
  }

  TempDir dir_;
  Metrics metrics_;
  std::int64_t t_ = 1'800'000'000;
  std::unique_ptr<FleetService> service_;
  std::string token_;
};

// One device hammering check-ins gets 429 with Retry-After once its burst is spent, while another
// device is served as before; the refusals are one audit event per window, not one per request.
TEST_F(DeviceBudgets, ADeviceHammeringCheckInsIsLimitedAndAnotherIsNot) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 7.2; CR 2.8");
  DeviceLimits limits;
  limits.checkins = RateLimit{1.0 / 60, 3};  // one a minute, three at once
  limits.audit_window_s = 60;
  start(limits);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(device("SN-1", "checkin", {{"version", "1"}}).status, 200);
  for (int i = 0; i < 50; ++i) {
    const HttpResponse out = device("SN-1", "checkin", {{"version", "1"}});
    ASSERT_EQ(out.status, 429) << i;
    EXPECT_EQ(Json::parse(out.body)["error"], "too_many_checkins");
    EXPECT_EQ(header(out, "Retry-After"), "60");  // one token, refilled at one a minute
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(device("SN-2", "checkin", {{"version", "1"}}).status, 200);
  EXPECT_EQ(metrics_.device_rate_limited.load(), 50u);
  auto audited = events("device.rate_limit");
  ASSERT_EQ(audited.size(), 1u);  // 50 refusals, one event
  EXPECT_EQ(audited[0]["actor"], "device:SN-1");
  EXPECT_EQ(audited[0]["outcome"], "refused");
  EXPECT_EQ(audited[0]["detail"]["budget"], "checkins");
  EXPECT_EQ(audited[0]["detail"]["refused"], 1);
  // A minute later the device has one check-in again; its next refusal opens a new window, and
  // that event counts the refusals the first one did not.
  t_ += 60;
  EXPECT_EQ(device("SN-1", "checkin", {{"version", "1"}}).status, 200);
  EXPECT_EQ(device("SN-1", "checkin", {{"version", "1"}}).status, 429);
  audited = events("device.rate_limit");
  ASSERT_EQ(audited.size(), 2u);
  EXPECT_EQ(audited[0]["detail"]["refused"], 50);  // newest first: 49 unaudited + this one
}

TEST_F(DeviceBudgets, ReportsAreLimitedInCountAndInVolume) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 7.2; CR 2.8");
  DeviceLimits limits;
  limits.reports = RateLimit{1.0 / 60, 2};
  limits.report_bytes = RateLimit{10.0, 3000};
  start(limits);
  const Json small{{"step", "downloading"}};
  EXPECT_EQ(device("SN-1", "reports", small).status, 201);
  EXPECT_EQ(device("SN-1", "reports", small).status, 201);
  HttpResponse out = device("SN-1", "reports", small);
  EXPECT_EQ(out.status, 429);
  EXPECT_EQ(Json::parse(out.body)["error"], "too_many_reports");
  // Volume: SN-2's first report of ~2 KB fits, the second does not (the count would).
  const Json big{{"step", "downloading"}, {"detail", {{"log", std::string(2000, 'x')}}}};
  EXPECT_EQ(device("SN-2", "reports", big).status, 201);
  out = device("SN-2", "reports", big);
  EXPECT_EQ(out.status, 429);
  EXPECT_EQ(Json::parse(out.body)["error"], "report_volume_exceeded");
  EXPECT_GE(std::stoi(header(out, "Retry-After")), 1);
  const auto audited = events("device.rate_limit");
  ASSERT_EQ(audited.size(), 2u);  // one per device
  EXPECT_EQ(audited[0]["detail"]["budget"], "report_bytes");
  EXPECT_EQ(audited[1]["detail"]["budget"], "reports");
}

// Whatever the rate, the store keeps a device's newest max_reports_per_device reports, so the
// volume one device can leave on disk is bounded.
TEST_F(DeviceBudgets, TheStoreKeepsOnlyTheNewestReportsOfADevice) {
  IRONSEAL_REQUIREMENTS("CR 7.2");
  DeviceLimits limits;
  limits.max_reports_per_device = 5;
  start(limits);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(device("SN-1", "reports", {{"step", "downloading"}, {"detail", {{"n", i}}}}).status,
              201);
  }
  ASSERT_EQ(device("SN-2", "reports", {{"step", "installed"}}).status, 201);
  const Json sn1 = Json::parse(op("GET", "/api/v1/devices/SN-1", "").body);
  ASSERT_EQ(sn1["reports"].size(), 5u);
  EXPECT_EQ(sn1["reports"][0]["detail"]["n"], 7);  // newest first
  EXPECT_EQ(sn1["reports"][4]["detail"]["n"], 3);
  EXPECT_EQ(Json::parse(op("GET", "/api/v1/devices/SN-2", "").body)["reports"].size(), 1u);
}

// The JSON endpoints of both listeners take only a body declared JSON (docs/fleet-api.md).
TEST_F(DeviceBudgets, JsonEndpointsAnswer415ToAnotherContentType) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  start(DeviceLimits{});
  struct Endpoint {
    bool device;
    std::string target;
    Json body;
  };
  const std::vector<Endpoint> endpoints{
      {true, "checkin", {{"version", "1"}}},
      {true, "reports", {{"step", "installed"}}},
      {false, "/api/v1/login", {{"name", "ops"}, {"password", "ops-password-1"}}},
      {false, "/api/v1/accounts", {{"name", "vera"}, {"role", "viewer"}, {"password", "pw-vera-1"}}},
      {false, "/api/v1/devices", {{"serial", "SN-9"}, {"hardware_id", "plc-x1"}}},
      {false, "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}}},
      {false, "/api/v1/rollouts", {{"release", "r2"}, {"group", "line"}}}};
  for (const auto& e : endpoints) {
    for (const std::string type : {"", "text/plain", "application/x-www-form-urlencoded",
                                   "application/jsonx", "text/json", "multipart/form-data"}) {
      const HttpResponse out = e.device ? device("SN-1", e.target, e.body, type)
                                        : op("POST", e.target, e.body.dump(), type);
      EXPECT_EQ(out.status, 415) << e.target << " " << type;
      EXPECT_EQ(Json::parse(out.body)["error"], "unsupported_media_type") << e.target;
    }
    const HttpResponse out = e.device
                                 ? device("SN-1", e.target, e.body, "Application/JSON; charset=utf-8")
                                 : op("POST", e.target, e.body.dump(), "application/json ;charset=UTF-8");
    EXPECT_NE(out.status, 415) << e.target << " " << out.body;
  }
  // Nothing refused as 415 was stored: SN-9 is registered once, by the accepted request.
  EXPECT_EQ(Json::parse(op("GET", "/api/v1/devices/SN-9", "").body)["serial"], "SN-9");
  EXPECT_EQ(events("device.register").size(), 1u);
}

TEST(DeviceRateLimiter, RefillsAtItsRateAndNeverAboveTheBurst) {
  IRONSEAL_REQUIREMENTS("CR 7.1");
  DeviceLimits limits;
  limits.checkins = RateLimit{0.5, 2};
  DeviceRateLimiter limiter(limits);
  std::int64_t t = 100;
  EXPECT_FALSE(limiter.take("a", DeviceBudget::kCheckins, 1, t));
  EXPECT_FALSE(limiter.take("a", DeviceBudget::kCheckins, 1, t));
  auto refused = limiter.take("a", DeviceBudget::kCheckins, 1, t);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 2);
  EXPECT_TRUE(refused->audit);
  t += 1;  // half a token
  refused = limiter.take("a", DeviceBudget::kCheckins, 1, t);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->retry_after_s, 1);
  EXPECT_FALSE(refused->audit);  // same window
  t += 1000;  // long idle: full again, but only to the burst
  EXPECT_FALSE(limiter.take("a", DeviceBudget::kCheckins, 1, t));
  EXPECT_FALSE(limiter.take("a", DeviceBudget::kCheckins, 1, t));
  EXPECT_TRUE(limiter.take("a", DeviceBudget::kCheckins, 1, t));
  // A clock that steps back refills nothing.
  EXPECT_TRUE(limiter.take("a", DeviceBudget::kCheckins, 1, t - 500));
  // Budgets are separate: reports are untouched by check-ins.
  EXPECT_FALSE(limiter.take("a", DeviceBudget::kReports, 1, t));
}

// The limiter's memory is bounded however many identities show up: idle devices are forgotten
// first (nothing lost), and past that some entries make room.
TEST(DeviceRateLimiter, TracksABoundedNumberOfDevices) {
  IRONSEAL_REQUIREMENTS("CR 7.2");
  DeviceLimits limits;
  limits.checkins = RateLimit{1.0 / 100000, 1};
  limits.max_tracked_devices = 64;
  DeviceRateLimiter limiter(limits);
  for (int i = 0; i < 10000; ++i) {
    (void)limiter.take("SN-" + std::to_string(i), DeviceBudget::kCheckins, 1, 5);
    ASSERT_LE(limiter.tracked(), 64u) << i;
  }
  // A device that is being limited is not forgotten while idle ones can make room (forgetting it
  // would hand it a full burst again).
  DeviceRateLimiter kept(limits);
  EXPECT_FALSE(kept.take("hammer", DeviceBudget::kCheckins, 1, 10));
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t t = 20 + i;
    ASSERT_TRUE(kept.take("hammer", DeviceBudget::kCheckins, 1, t)) << i;
    (void)kept.take("idle-" + std::to_string(i), DeviceBudget::kReports, 1, t);
    ASSERT_LE(kept.tracked(), 64u) << i;
  }
}

// The budgets come from the configuration's `limits`; a budget that could never be paid (or
// never refills) is a configuration error, not a server that refuses every device.
TEST(FleetConfig, ReadsDeviceBudgetsAndRefusesUnusableOnes) {
  IRONSEAL_REQUIREMENTS("CR 7.2");
  TempDir dir;
  std::ofstream(dir / "server.key") << "not read here";
  ASSERT_EQ(::chmod((dir / "server.key").c_str(), 0600), 0);
  auto load = [&](const Json& limits) {
    const Json config{
        {"tls", {{"certificate_chain", "server.pem"}, {"private_key", "server.key"}}},
        {"device_ca", "ca.pem"},
        {"security_txt", {{"contact", "mailto:a@example.com"}, {"expires", expires_in_days(180)}}},
        {"limits", limits}};
    std::ofstream(dir / "config.json") << config.dump();
    return load_config(dir / "config.json");
  };
  auto c = load({{"device_checkins_per_minute", 6}, {"device_checkin_burst", 5},
                 {"device_report_bytes_per_minute", 60000}, {"max_reports_per_device", 10}});
  ASSERT_TRUE(c) << c.error().message;
  const DeviceLimits& l = c->service.device_limits;
  EXPECT_DOUBLE_EQ(l.checkins.per_second, 0.1);
  EXPECT_DOUBLE_EQ(l.checkins.burst, 5);
  EXPECT_DOUBLE_EQ(l.report_bytes.per_second, 1000);
  EXPECT_DOUBLE_EQ(l.reports.burst, DeviceLimits{}.reports.burst);  // default kept
  EXPECT_EQ(l.max_reports_per_device, 10u);
  for (const Json& bad : {Json{{"device_checkin_burst", 0}}, Json{{"device_reports_per_minute", 0}},
                          Json{{"device_report_bytes_per_minute", -5}},
                          Json{{"max_reports_per_device", 0}}, Json{{"max_reports_per_device", -1}},
                          Json{{"device_checkins_per_second", 1}}}) {
    auto refused = load(bad);
    ASSERT_FALSE(refused) << bad.dump();
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument) << bad.dump();
  }
}

TEST(LogThrottle, BoundsLinesPerIntervalAndSummarisesTheRest) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 2.8");
  LogThrottle log("handshakes refused", 20, 10000);
  std::size_t written = 0;
  std::vector<std::string> summaries;
  for (int i = 0; i < 38000; ++i) {
    auto d = log.admit(1000 + i / 10);  // 38,000 lines within 3.8 s
    written += d.write;
    if (!d.summary.empty()) summaries.push_back(d.summary);
  }
  EXPECT_EQ(written, 20u);
  EXPECT_TRUE(summaries.empty());
  EXPECT_EQ(log.flush(9000), "");  // the interval is still running
  const std::string summary = log.flush(11000);
  EXPECT_NE(summary.find("suppressed 37980 similar lines"), std::string::npos) << summary;
  EXPECT_NE(summary.find("handshakes refused"), std::string::npos);
  EXPECT_EQ(log.flush(30000), "");  // said once
  // A new interval writes again; its summary comes with the first line after it.
  for (int i = 0; i < 25; ++i) written += log.admit(40000).write;
  EXPECT_EQ(written, 40u);
  auto d = log.admit(50000);
  EXPECT_TRUE(d.write);
  EXPECT_NE(d.summary.find("suppressed 5 similar lines"), std::string::npos) << d.summary;
}

TEST(RequestParse, JsonMediaTypes) {
  IRONSEAL_REQUIREMENTS("CR 3.5");
  for (const char* yes : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                          " application/json ;charset=UTF-8", "application/json;"}) {
    EXPECT_TRUE(is_json_media_type(yes)) << yes;
  }
  for (const char* no : {"", "text/plain", "application/jsonx", "application/json-seq",
                         "application/x-www-form-urlencoded", "json", "application/ json",
                         "application/problem+json", "text/json; application/json"}) {
    EXPECT_FALSE(is_json_media_type(no)) << no;
  }
}

TEST(RequestParse, EveryEndpointHasItsBodyLimit) {
  IRONSEAL_REQUIREMENTS("CR 7.1; CR 3.5");
  EXPECT_EQ(endpoint_body_limit(true, "POST", "/api/v1/device/checkin"), kCheckinBodyLimit);
  EXPECT_EQ(endpoint_body_limit(true, "POST", "/api/v1/device/reports"), kReportBodyLimit);
  EXPECT_EQ(endpoint_body_limit(true, "POST", "/.well-known/est/simpleenroll"), kEnrolBodyLimit);
  EXPECT_EQ(endpoint_body_limit(false, "POST", "/api/v1/login"), kOperatorBodyLimit);
  EXPECT_EQ(endpoint_body_limit(false, "POST", "/api/v1/rollouts?x=1"), kOperatorBodyLimit);
  // No body expected: GET, the rollout commands, a device path on the operator listener, junk.
  for (auto [device, method, target] :
       {std::tuple{true, "GET", "/image/targets/v2.img"}, {false, "POST", "/api/v1/rollouts/1/pause"},
        {false, "POST", "/api/v1/device/reports"}, {true, "POST", "/api/v1/login"},
        {true, "POST", "/api/v1/../device/reports"}, {true, "PUT", "/api/v1/device/checkin"}}) {
    EXPECT_EQ(endpoint_body_limit(device, method, target), kNoBodyLimit) << method << target;
  }
}

}  // namespace
}  // namespace ironseal::fleet
