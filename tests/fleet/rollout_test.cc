// Rollout rules at the service level, with update repositories that record what the director
// would be made to sign: phase sizes, the automatic pause, what failed devices are sent back to,
// and the refusals.
#include <gtest/gtest.h>

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
  void start(int devices, const std::string& other_hw_serial = "") {
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
        std::make_unique<RecordingRepositories>(&signed_for_), nullptr, metrics_);
    ASSERT_TRUE(service_->add_account("ops", "operator", "ops-password-1"));
    HttpRequest login;
    login.method = "POST";
    login.target = "/api/v1/login";
    login.body = R"({"name":"ops","password":"ops-password-1"})";
    token_ = Json::parse(service_->handle(login).body)["token"];
  }

  std::pair<int, Json> op(const std::string& method, const std::string& target,
                          const Json& body = nullptr) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.authorization = "Bearer " + token_;
    if (!body.is_null()) r.body = body.dump();
    const HttpResponse out = service_->handle(r);
    return {out.status, Json::parse(out.body, nullptr, false)};
  }

  int report(const std::string& serial, const std::string& step, const std::string& target) {
    HttpRequest r;
    r.listener = Listener::kDevice;
    r.method = "POST";
    r.target = "/api/v1/device/reports";
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

}  // namespace
}  // namespace ironseal::fleet
