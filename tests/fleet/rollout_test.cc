// Rollout rules at the service level, with update repositories that record what the director
// would be made to sign: phase sizes, the automatic pause, what failed devices are sent back to,
// and the refusals.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>

#include "fleet/service.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
using ironseal::testing::TempDir;

class RecordingRepositories final : public UpdateRepositories {
 public:
  explicit RecordingRepositories(std::map<std::string, std::string>* signed_for)
      : signed_for_(signed_for) {}
  Result<PublishedTarget> published_target(const std::string& name) override {
    if (name != "v2.img" && name != "v3.img") return fail(ErrorCode::kNotFound, "no ", name);
    return PublishedTarget{name, name.substr(1, 1) + ".0.0", "plc-x1"};
  }
  Result<void> assign(const std::string& serial, const std::string& target) override {
    (*signed_for_)[serial] = target;
    return {};
  }
  Result<std::string> assigned(const std::string& serial) override {
    auto it = signed_for_->find(serial);
    return it == signed_for_->end() ? std::string() : it->second;
  }

 private:
  std::map<std::string, std::string>* signed_for_;
};

class Rollouts : public ::testing::Test {
 protected:
  void start(int devices, const std::string& other_hw_serial = "", Clock clock = {}) {
    IRONSEAL_REQUIREMENTS("SUM-4; CR 2.8");
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store);
    for (int i = 1; i <= devices; ++i) {
      Device d;
      d.serial = "SN-" + std::to_string(i);
      d.hardware_id = d.serial == other_hw_serial ? "other-hw" : "plc-x1";
      d.group = "line";
      d.assigned_target = "v1.img";
      ASSERT_TRUE((*store)->add_device(d));
      signed_for_[d.serial] = "v1.img";
    }
    service_ = std::make_unique<FleetService>(
        ServiceConfig{}, std::move(*store),
        std::make_unique<RecordingRepositories>(&signed_for_), nullptr, metrics_,
        std::move(clock));
    ASSERT_TRUE(service_->add_account("ops", "operator", "ops-password-1"));
    HttpRequest login;
    login.method = "POST";
    login.target = "/api/v1/login";
    login.content_type = "application/json";
    login.body = R"({"name":"ops","password":"ops-password-1"})";
    token_ = Json::parse(service_->handle(login).body)["token"];
  }

  std::pair<int, Json> op(const std::string& method, const std::string& target,
                          const Json& body = nullptr) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.authorization = "Bearer " + token_;
    r.content_type = "application/json";
    if (!body.is_null()) r.body = body.dump();
    const HttpResponse out = service_->handle(r);
    return {out.status, Json::parse(out.body, nullptr, false)};
  }

  int report(const std::string& serial, const std::string& step, const std::string& target) {
    HttpRequest r;
    r.listener = Listener::kDevice;
    r.method = "POST";
    r.target = "/api/v1/device/reports";
    r.content_type = "application/json";
    r.body = Json{{"step", step}, {"target", target}}.dump();
    r.device = DeviceIdentity{serial, "plc-x1", "01", 0, 0, false, ""};
    return service_->handle(r).status;
  }

  int count(const std::string& target) {
    int n = 0;
    for (const auto& [serial, t] : signed_for_) n += t == target;
    return n;
  }

  TempDir dir_;
  Metrics metrics_;
  std::map<std::string, std::string> signed_for_;
  std::unique_ptr<FleetService> service_;
  std::string token_;
};

TEST_F(Rollouts, PhasesArePercentagesOfTheGroupRoundedUp) {
  start(25);
  ASSERT_EQ(op("POST", "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}}).first, 201);
  auto [status, ro] = op("POST", "/api/v1/rollouts",
                         {{"release", "r2"}, {"group", "line"}, {"phases", {1, "10%", "100%"}}});
  ASSERT_EQ(status, 201) << ro.dump();
  EXPECT_EQ(count("v2.img"), 1);
  EXPECT_EQ(signed_for_["SN-1"], "v2.img");  // the first registered device is the canary
  EXPECT_EQ(report("SN-1", "confirmed", "v2.img"), 201);
  EXPECT_EQ(count("v2.img"), 3);  // 10 % of 25, rounded up
  EXPECT_EQ(report("SN-2", "installed", "v2.img"), 201);
  EXPECT_EQ(report("SN-2", "confirmed", "v2.img"), 201);
  EXPECT_EQ(count("v2.img"), 3);  // SN-3 has no outcome yet
  EXPECT_EQ(report("SN-3", "confirmed", "v2.img"), 201);
  EXPECT_EQ(count("v2.img"), 25);
  for (int i = 4; i <= 25; ++i) report("SN-" + std::to_string(i), "confirmed", "v2.img");
  EXPECT_EQ(op("GET", "/api/v1/rollouts/1").second["state"], "completed");
}

// A device that goes silent after being assigned cannot hold its phase forever: once the phase
// timeout passes (the server's periodic tick notices), it counts as failed, for the failure rate
// as for the phase.
TEST_F(Rollouts, ASilentDeviceTimesOutAndCountsAsFailed) {
  std::int64_t t = 1'800'000'000;
  start(4, "", [&t] { return t; });
  op("POST", "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}});
  auto [status, ro] = op("POST", "/api/v1/rollouts",
                         {{"release", "r2"}, {"group", "line"}, {"phases", {1, "100%"}},
                          {"max_failure_rate", 0.5}, {"phase_timeout_s", 600}});
  ASSERT_EQ(status, 201) << ro.dump();
  EXPECT_EQ(ro["phase_timeout_s"], 600);
  EXPECT_EQ(count("v2.img"), 1);  // the canary, which then says nothing
  t += 599;
  service_->tick();
  ro = op("GET", "/api/v1/rollouts/1").second;
  EXPECT_EQ(ro["state"], "active");
  EXPECT_EQ(ro["devices_by_state"]["assigned"], 1);
  t += FleetService::kTimeoutCheckS;  // 600 s passed, and the tick looks again
  service_->tick();
  ro = op("GET", "/api/v1/rollouts/1").second;
  EXPECT_EQ(ro["state"], "paused");  // 1 of 1 reached failed > 0.5
  EXPECT_EQ(ro["devices_by_state"]["failed"], 1);
  ASSERT_FALSE(ro["devices"].empty());
  EXPECT_NE(ro["devices"][0]["reason"].get<std::string>().find("timed out"), std::string::npos)
      << ro["devices"][0].dump();
  EXPECT_EQ(count("v2.img"), 1);  // nobody else was reached
  auto events = op("GET", "/api/v1/events").second["events"];
  EXPECT_TRUE(std::any_of(events.begin(), events.end(),
                          [](const Json& e) { return e["action"] == "rollout.timeout"; }));
}

// Under the failure limit a timed-out device does not stop the rollout: the next phase starts.
TEST_F(Rollouts, ATimedOutCanaryUnderTheFailureLimitLetsThePhaseEnd) {
  std::int64_t t = 1'800'000'000;
  start(4, "", [&t] { return t; });
  op("POST", "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}});
  ASSERT_EQ(op("POST", "/api/v1/rollouts",
                {{"release", "r2"}, {"group", "line"}, {"phases", {1, "100%"}},
                 {"max_failure_rate", 1.0}, {"phase_timeout_s", 60}})
                .first,
            201);
  EXPECT_EQ(count("v2.img"), 1);
  t += 61;
  service_->tick();
  EXPECT_EQ(count("v2.img"), 4);  // the canary timed out; phase 2 reached everyone
  // Without a timeout the same silence holds the phase.
  for (const auto& [status, body] :
       {op("POST", "/api/v1/rollouts", {{"release", "r2"}, {"group", "line"}, {"phase_timeout_s", -1}}),
        op("POST", "/api/v1/rollouts", {{"release", "r2"}, {"group", "line"}, {"phase_timeout_s", "1h"}})}) {
    EXPECT_EQ(status, 400);
    EXPECT_EQ(body["error"], "bad_field");
  }
}

// A store made before rollouts had a phase timeout opens, gains the column, and keeps its rollout
// (with no timeout).
TEST(RolloutStore, AnOlderStoreGainsThePhaseTimeoutColumn) {
  IRONSEAL_REQUIREMENTS("CR 7.4");  // an older store keeps its state across an upgrade
  TempDir dir;
  const auto path = dir / "fleet.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE rollouts (id INTEGER PRIMARY KEY AUTOINCREMENT, release TEXT "
                         "NOT NULL, grp TEXT NOT NULL, phases TEXT NOT NULL, max_failure_rate REAL "
                         "NOT NULL, state TEXT NOT NULL, phase INTEGER NOT NULL, "
                         "acknowledged_failures INTEGER NOT NULL, reason TEXT NOT NULL, created_at "
                         "INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
                         "INSERT INTO rollouts(release, grp, phases, max_failure_rate, state, phase, "
                         "acknowledged_failures, reason, created_at, updated_at) VALUES('r1', "
                         "'line', '[1,\"100%\"]', 0.2, 'completed', 1, 0, 'done', 1, 2);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = open_sqlite_store(path);
  ASSERT_TRUE(store) << store.error().message;
  auto old = (*store)->rollout(1);
  ASSERT_TRUE(old && *old);
  EXPECT_EQ((*old)->release, "r1");
  EXPECT_EQ((*old)->phase_timeout_s, 0);
  Rollout r;
  r.release = "r2";
  r.group = "line";
  r.phases = {{true, 100}};
  r.phase_timeout_s = 900;
  auto id = (*store)->add_rollout(r, {});
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ((*(*store)->rollout(*id))->phase_timeout_s, 900);
  store->reset();
  EXPECT_TRUE(open_sqlite_store(path));  // and opens again once upgraded
}

TEST_F(Rollouts, PausesByItselfAboveTheFailureRateAndSendsFailedDevicesBack) {
  start(10);
  op("POST", "/api/v1/releases", {{"name", "r3"}, {"target", "v3.img"}});
  ASSERT_EQ(op("POST", "/api/v1/rollouts",
                {{"release", "r3"}, {"group", "line"}, {"phases", {"50%", "100%"}},
                 {"max_failure_rate", 0.2}})
                .first,
            201);
  EXPECT_EQ(count("v3.img"), 5);
  report("SN-1", "reverted", "v3.img");  // 1 of 5 = 0.2: not above the limit
  EXPECT_EQ(op("GET", "/api/v1/rollouts/1").second["state"], "active");
  EXPECT_EQ(signed_for_["SN-1"], "v1.img");  // back to what it ran
  report("SN-2", "failed", "v3.img");  // 2 of 5 = 0.4
  auto ro = op("GET", "/api/v1/rollouts/1").second;
  EXPECT_EQ(ro["state"], "paused");
  EXPECT_NE(ro["reason"].get<std::string>().find("2 of 5 devices failed"), std::string::npos);
  // Paused: the remaining outcomes are recorded but nobody new is reached.
  for (int i = 3; i <= 5; ++i) report("SN-" + std::to_string(i), "confirmed", "v3.img");
  EXPECT_EQ(count("v3.img"), 3);
  EXPECT_EQ(signed_for_["SN-6"], "v1.img");
  auto events = op("GET", "/api/v1/events").second["events"];
  EXPECT_TRUE(std::any_of(events.begin(), events.end(),
                          [](const Json& e) { return e["action"] == "rollout.auto_pause"; }));
}

TEST_F(Rollouts, OutcomesForAnotherTargetDoNotCount) {
  start(3);
  op("POST", "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}});
  op("POST", "/api/v1/rollouts", {{"release", "r2"}, {"group", "line"}, {"phases", {1, "100%"}}});
  report("SN-1", "reverted", "v1.img");
  auto ro = op("GET", "/api/v1/rollouts/1").second;
  EXPECT_EQ(ro["state"], "active");
  EXPECT_EQ(ro["devices_by_state"]["assigned"], 1);
}

TEST_F(Rollouts, RefusesASecondRolloutForTheGroupAndForeignHardware) {
  start(3, "SN-3");
  op("POST", "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}});
  auto [status, body] =
      op("POST", "/api/v1/rollouts", {{"release", "r2"}, {"group", "line"}});
  EXPECT_EQ(status, 400);
  EXPECT_NE(body["message"].get<std::string>().find("SN-3"), std::string::npos) << body.dump();
  EXPECT_EQ(count("v2.img"), 0);
}

TEST_F(Rollouts, OneActiveRolloutPerGroupAndPhasesMustEndAt100) {
  start(2);
  op("POST", "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}});
  EXPECT_EQ(op("POST", "/api/v1/rollouts",
               {{"release", "r2"}, {"group", "line"}, {"phases", {1, "50%"}}})
                .first,
            400);
  EXPECT_EQ(op("POST", "/api/v1/rollouts", {{"release", "r2"}, {"group", "line"}}).first, 201);
  auto [status, body] = op("POST", "/api/v1/rollouts", {{"release", "r2"}, {"group", "line"}});
  EXPECT_EQ(status, 409);
  EXPECT_EQ(body["error"], "conflict");
  EXPECT_EQ(op("POST", "/api/v1/rollouts", {{"release", "nope"}, {"group", "line"}}).first, 404);
  EXPECT_EQ(op("POST", "/api/v1/releases", {{"name", "rx"}, {"target", "v9.img"}}).first, 404);
}

// A report records the rollout that assigned the device what it runs toward, as the server knows
// it: a device's own "rollout" field is ignored, a device not yet reached reports under none, and
// the outcome report of a failing release still belongs to that release's rollout.
TEST_F(Rollouts, AReportCarriesTheRolloutThatAssignedTheDevice) {
  IRONSEAL_REQUIREMENTS("CR 2.8; CR 3.5");
  start(3);
  op("POST", "/api/v1/releases", {{"name", "r2"}, {"target", "v2.img"}});
  op("POST", "/api/v1/releases", {{"name", "r3"}, {"target", "v3.img"}});
  auto [status, ro2] = op("POST", "/api/v1/rollouts",
                          {{"release", "r2"}, {"group", "line"}, {"phases", {1, "100%"}},
                           {"max_failure_rate", 0.5}});
  ASSERT_EQ(status, 201) << ro2.dump();
  const std::int64_t r2 = ro2["id"];
  EXPECT_EQ(report("SN-1", "downloading", "v2.img"), 201);
  EXPECT_EQ(report("SN-2", "checking", ""), 201);  // not reached yet
  {
    HttpRequest r;  // a device claiming a rollout of its own choosing
    r.listener = Listener::kDevice;
    r.method = "POST";
    r.target = "/api/v1/device/reports";
    r.content_type = "application/json";
    r.body = R"({"step":"installed","target":"v2.img","rollout":99})";
    r.device = DeviceIdentity{"SN-1", "plc-x1", "01", 0, 0, false, ""};
    EXPECT_EQ(service_->handle(r).status, 201);
  }
  EXPECT_EQ(report("SN-1", "confirmed", "v2.img"), 201);  // phase 100%: SN-2, SN-3 reached
  EXPECT_EQ(report("SN-2", "installed", "v2.img"), 201);
  EXPECT_EQ(report("SN-2", "confirmed", "v2.img"), 201);
  EXPECT_EQ(report("SN-3", "confirmed", "v2.img"), 201);
  ASSERT_EQ(op("GET", "/api/v1/rollouts/" + std::to_string(r2)).second["state"], "completed");

  auto [status3, ro3] = op("POST", "/api/v1/rollouts",
                           {{"release", "r3"}, {"group", "line"}, {"phases", {1, "100%"}}});
  ASSERT_EQ(status3, 201) << ro3.dump();
  const std::int64_t r3 = ro3["id"];
  ASSERT_NE(r3, r2);
  EXPECT_EQ(report("SN-1", "downloading", "v3.img"), 201);
  EXPECT_EQ(report("SN-1", "reverted", "v3.img"), 201);  // sends SN-1 back to v2
  EXPECT_EQ(report("SN-1", "checking", ""), 201);        // now under r2's assignment again

  auto rollouts_of = [&](const std::string& serial) {
    std::vector<std::int64_t> out;  // oldest first
    const auto reports = op("GET", "/api/v1/devices/" + serial).second["reports"];
    for (auto it = reports.rbegin(); it != reports.rend(); ++it) out.push_back((*it)["rollout"]);
    return out;
  };
  EXPECT_EQ(rollouts_of("SN-1"), (std::vector<std::int64_t>{r2, r2, r2, r3, r3, r2}));
  EXPECT_EQ(rollouts_of("SN-2"), (std::vector<std::int64_t>{0, r2, r2}));
  EXPECT_EQ(rollouts_of("SN-3"), (std::vector<std::int64_t>{r2}));
}

}  // namespace
}  // namespace ironseal::fleet
