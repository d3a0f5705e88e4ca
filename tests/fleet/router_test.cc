// The router's authorisation on its own: which role an operator request needs (required_role,
// at_least) and what the router does with a caller below it, driven through Router with the real
// parts over a SQLite store but without FleetService. Negative cases first: a viewer may read but
// change nothing, only an admin may touch accounts, and a request without a valid token is 401.
#include "fleet/router.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <memory>

#include "fleet/auth.h"
#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
using ironseal::testing::TempDir;

TEST(FleetRouterRoles, AViewerMayNotChangeAnything) {
  IRONSEAL_REQUIREMENTS("CR 2.1");
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH"}) {
    for (const char* resource : {"devices", "releases", "rollouts", "accounts", "events"}) {
      EXPECT_FALSE(at_least(Role::kViewer, required_role(method, resource)))
          << method << " " << resource;
    }
  }
}

TEST(FleetRouterRoles, OnlyAnAdminMayChangeAccounts) {
  IRONSEAL_REQUIREMENTS("CR 1.1; CR 2.1");
  EXPECT_EQ(required_role("POST", "accounts"), Role::kAdmin);
  EXPECT_FALSE(at_least(Role::kViewer, required_role("POST", "accounts")));
  EXPECT_FALSE(at_least(Role::kOperator, required_role("POST", "accounts")));
  EXPECT_TRUE(at_least(Role::kAdmin, required_role("POST", "accounts")));
}

TEST(FleetRouterRoles, AnyRoleMayReadAndAnOperatorMayChangeTheFleet) {
  IRONSEAL_REQUIREMENTS("CR 2.1");
  for (const char* resource : {"devices", "releases", "rollouts", "accounts", "events"}) {
    EXPECT_EQ(required_role("GET", resource), Role::kViewer) << resource;
  }
  for (const char* resource : {"devices", "releases", "rollouts"}) {
    EXPECT_EQ(required_role("POST", resource), Role::kOperator) << resource;
    EXPECT_TRUE(at_least(Role::kOperator, required_role("POST", resource)));
    EXPECT_TRUE(at_least(Role::kAdmin, required_role("POST", resource)));
  }
  EXPECT_TRUE(at_least(Role::kViewer, Role::kViewer));
  EXPECT_FALSE(at_least(Role::kOperator, Role::kAdmin));
}

// The router with every part it routes to, and one token per role stored directly (no Argon2id:
// the tokens are what the router checks).
class FleetRouter : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    shared_ = std::make_unique<SharedStore>(std::move(*store), [] { return 1000; });
    for (const char* role : {"viewer", "operator", "admin"}) {
      ASSERT_TRUE(shared_->store().add_account({std::string(role) + "1", role, "x", 0}));
      ASSERT_TRUE(shared_->store().add_token(
          {token_digest(std::string("tok-") + role), std::string(role) + "1", 2000}));
    }
    rollouts_ = std::make_unique<RolloutEngine>(*shared_, nullptr, metrics_, 0);
    sessions_ =
        std::make_unique<DeviceSessions>(*shared_, *rollouts_, metrics_, 60, DeviceLimits{});
    est_ = std::make_unique<EstEndpoint>(nullptr, *shared_, metrics_);
    accounts_ = std::make_unique<OperatorAccounts>(*shared_, metrics_, 3600, LoginPolicy{});
    api_ = std::make_unique<OperatorApi>(*shared_, *rollouts_, *sessions_, metrics_);
    router_ = std::make_unique<Router>(
        RouterConfig{}, Router::Parts{*shared_, *accounts_, *sessions_, *est_, *api_});
  }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& token,
                    const Json& body = nullptr) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!token.empty()) r.authorization = "Bearer " + token;
    r.content_type = "application/json";
    if (!body.is_null()) r.body = body.dump();
    return router_->handle(r);
  }

  int refusals() {
    auto lock = shared_->lock();
    auto events = shared_->store().events(100);
    EXPECT_TRUE(events);
    int n = 0;
    for (const auto& e : *events) n += e.action == "authorization" && e.outcome == "refused";
    return n;
  }

  TempDir dir_;
  Metrics metrics_;
  std::unique_ptr<SharedStore> shared_;
  std::unique_ptr<RolloutEngine> rollouts_;
  std::unique_ptr<DeviceSessions> sessions_;
  std::unique_ptr<EstEndpoint> est_;
  std::unique_ptr<OperatorAccounts> accounts_;
  std::unique_ptr<OperatorApi> api_;
  std::unique_ptr<Router> router_;
};

TEST_F(FleetRouter, AViewerPostIsRefusedAuditedAndChangesNothing) {
  IRONSEAL_REQUIREMENTS("CR 2.1; CR 2.8");
  const Json device{{"serial", "SN-1"}, {"hardware_id", "plc-x1"}};
  const HttpResponse out = call("POST", "/api/v1/devices", "tok-viewer", device);
  EXPECT_EQ(out.status, 403);
  const Json body = Json::parse(out.body);
  EXPECT_EQ(body["error"], "forbidden");
  EXPECT_EQ(body["message"], "this needs the role operator");
  EXPECT_EQ(refusals(), 1);
  auto lock = shared_->lock();
  auto stored = shared_->store().device("SN-1");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(stored->has_value());
}

TEST_F(FleetRouter, AnOperatorMayNotCreateAccounts) {
  IRONSEAL_REQUIREMENTS("CR 1.1; CR 2.1");
  const Json account{{"name", "eve"}, {"role", "admin"}, {"password", "eve-password-1"}};
  const HttpResponse out = call("POST", "/api/v1/accounts", "tok-operator", account);
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(Json::parse(out.body)["message"], "this needs the role admin");
  EXPECT_EQ(refusals(), 1);
  auto lock = shared_->lock();
  auto stored = shared_->store().account("eve");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(stored->has_value());
}

TEST_F(FleetRouter, NoUnknownOrExpiredTokenIsAnsweredWithABearerChallenge) {
  IRONSEAL_REQUIREMENTS("CR 1.1");
  {
    auto lock = shared_->lock();
    ASSERT_TRUE(shared_->store().add_token({token_digest("tok-old"), "admin1", 1000}));
  }
  for (const std::string token : {"", "tok-nobody", "tok-old"}) {
    const HttpResponse out = call("GET", "/api/v1/devices", token);
    EXPECT_EQ(out.status, 401) << token;
    ASSERT_EQ(out.headers.size(), 1u) << token;
    EXPECT_EQ(out.headers[0].first, "WWW-Authenticate");
    EXPECT_EQ(out.headers[0].second, "Bearer");
  }
  EXPECT_EQ(call("GET", "/metrics", "tok-nobody").status, 401);
}

TEST_F(FleetRouter, AViewerMayReadAndAnOperatorMayRegister) {
  IRONSEAL_REQUIREMENTS("CR 2.1");
  EXPECT_EQ(call("GET", "/api/v1/devices", "tok-viewer").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/events", "tok-viewer").status, 200);
  EXPECT_EQ(call("GET", "/metrics", "tok-viewer").status, 200);
  const Json device{{"serial", "SN-1"}, {"hardware_id", "plc-x1"}};
  EXPECT_EQ(call("POST", "/api/v1/devices", "tok-operator", device).status, 201);
  EXPECT_EQ(refusals(), 0);
}

TEST_F(FleetRouter, AReplacementIsRecordedOnceForTheSameHardwareAndAudited) {
  IRONSEAL_REQUIREMENTS("CR 7.3; CR 7.6; CR 2.8");
  for (const auto& [serial, hw] : {std::pair{"SN-1", "plc-x1"}, {"SN-2", "plc-x1"}, {"SN-9", "plc-y9"}}) {
    ASSERT_EQ(call("POST", "/api/v1/devices", "tok-operator",
                   {{"serial", serial}, {"hardware_id", hw}})
                  .status,
              201);
  }
  const std::string sha(64, 'a');
  EXPECT_EQ(call("POST", "/api/v1/devices/SN-1/replacement", "tok-viewer", {{"serial", "SN-2"}}).status,
            403);
  EXPECT_EQ(call("POST", "/api/v1/devices/SN-1/replacement", "tok-operator", {{"serial", "SN-9"}}).status,
            409);  // other hardware
  EXPECT_EQ(call("POST", "/api/v1/devices/SN-1/replacement", "tok-operator", {{"serial", "SN-1"}}).status,
            400);
  EXPECT_EQ(call("POST", "/api/v1/devices/SN-1/replacement", "tok-operator", {{"serial", "SN-404"}}).status,
            404);
  const HttpResponse ok = call("POST", "/api/v1/devices/SN-1/replacement", "tok-operator",
                               {{"serial", "SN-2"}, {"archive_sha256", sha}});
  ASSERT_EQ(ok.status, 201) << ok.body;
  const HttpResponse again = call("POST", "/api/v1/devices/SN-1/replacement", "tok-operator",
                                  {{"serial", "SN-2"}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Json::parse(again.body)["message"], "device SN-1 was replaced already");
  const Json old = Json::parse(call("GET", "/api/v1/devices/SN-1", "tok-viewer").body);
  EXPECT_EQ(old["replaced_by"]["serial"], "SN-2");
  EXPECT_EQ(old["replaced_by"]["archive_sha256"], sha);
  const Json fresh = Json::parse(call("GET", "/api/v1/devices/SN-2", "tok-viewer").body);
  EXPECT_EQ(fresh["replaces"]["serial"], "SN-1");
  auto lock = shared_->lock();
  auto events = shared_->store().events(100);
  ASSERT_TRUE(events);
  EXPECT_EQ(std::count_if(events->begin(), events->end(),
                          [](const Event& e) { return e.action == "device.replace"; }),
            1);
}

TEST_F(FleetRouter, ADeviceRequestNeedsARegisteredCertificate) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 2.1");
  HttpRequest r;
  r.listener = Listener::kDevice;
  r.method = "POST";
  r.target = "/api/v1/device/checkin";
  r.content_type = "application/json";
  r.body = "{}";
  EXPECT_EQ(router_->handle(r).status, 401);  // no certificate
  r.device = DeviceIdentity{"SN-9", "plc-x1", "01", 0, 0, false, ""};
  const HttpResponse out = router_->handle(r);
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(Json::parse(out.body)["error"], "not_registered");
}

}  // namespace
}  // namespace ironseal::fleet
