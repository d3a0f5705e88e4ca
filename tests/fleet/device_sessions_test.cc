// Device sessions on their own, without the router: admission by the registered serial and
// hardware id (refusals first), check-ins buffered until flushed and not written per request, and
// the per-device budget answered 429 with Retry-After.
#include "fleet/device_sessions.h"

#include <gtest/gtest.h>

#include <memory>

#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;
using ironseal::testing::TempDir;

class FleetDeviceSessions : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    shared_ = std::make_unique<SharedStore>(std::move(*store), [this] { return now_; });
    Device d;
    d.serial = "SN-1";
    d.hardware_id = "plc-x1";
    d.group = "line";
    d.assigned_target = "v1.img";
    ASSERT_TRUE(shared_->store().add_device(d));
    rollouts_ = std::make_unique<RolloutEngine>(*shared_, nullptr, metrics_, 0);
    DeviceLimits limits;
    limits.checkins = {1.0, 2};  // two at once, then one a second
    sessions_ = std::make_unique<DeviceSessions>(*shared_, *rollouts_, metrics_, 60, limits);
  }

  static HttpRequest checkin_request(const std::string& version) {
    HttpRequest r;
    r.listener = Listener::kDevice;
    r.method = "POST";
    r.target = "/api/v1/device/checkin";
    r.content_type = "application/json";
    r.body = Json{{"version", version}}.dump();
    return r;
  }

  std::int64_t last_seen(const std::string& serial) {
    auto lock = shared_->lock();
    auto d = shared_->store().device(serial);
    EXPECT_TRUE(d && *d);
    return (*d)->last_seen;
  }

  TempDir dir_;
  Metrics metrics_;
  std::int64_t now_ = 1000;
  std::unique_ptr<SharedStore> shared_;
  std::unique_ptr<RolloutEngine> rollouts_;
  std::unique_ptr<DeviceSessions> sessions_;
};

TEST_F(FleetDeviceSessions, AnUnregisteredSerialOrAnotherHardwareIdIsRefused) {
  IRONSEAL_REQUIREMENTS("CR 1.2; CR 2.8");
  const HttpRequest r = checkin_request("1.0.0");
  auto refused = sessions_->admit(r, DeviceIdentity{"SN-9", "plc-x1", "01", 0, 0, false, ""});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(Json::parse(refused->body)["error"], "not_registered");
  refused = sessions_->admit(r, DeviceIdentity{"SN-1", "other-hw", "01", 0, 0, false, ""});
  ASSERT_TRUE(refused);
  EXPECT_EQ(Json::parse(refused->body)["error"], "hardware_mismatch");
  auto lock = shared_->lock();
  auto events = shared_->store().events(10);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 2u);
  for (const auto& e : *events) EXPECT_EQ(e.action, "device.access");
}

TEST_F(FleetDeviceSessions, TheRegisteredDeviceIsAdmittedAndItsCheckInsAreBufferedUntilFlushed) {
  IRONSEAL_REQUIREMENTS("CR 1.2");
  const DeviceIdentity id{"SN-1", "plc-x1", "01", 0, 0, false, ""};
  const HttpRequest r = checkin_request("1.0.0");
  EXPECT_FALSE(sessions_->admit(r, id));
  const HttpResponse out = sessions_->checkin(r, id);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(Json::parse(out.body)["assigned_target"], "v1.img");
  EXPECT_EQ(last_seen("SN-1"), 0);  // buffered, not written
  {
    auto lock = shared_->lock();
    sessions_->flush_checkins();
  }
  EXPECT_EQ(last_seen("SN-1"), 1000);
}

TEST_F(FleetDeviceSessions, ADeviceOverItsCheckInBudgetIsAnswered429) {
  IRONSEAL_REQUIREMENTS("CR 7.1");
  const DeviceIdentity id{"SN-1", "plc-x1", "01", 0, 0, false, ""};
  EXPECT_EQ(sessions_->checkin(checkin_request("1"), id).status, 200);
  EXPECT_EQ(sessions_->checkin(checkin_request("1"), id).status, 200);
  const HttpResponse out = sessions_->checkin(checkin_request("1"), id);
  EXPECT_EQ(out.status, 429);
  ASSERT_FALSE(out.headers.empty());
  EXPECT_EQ(out.headers[0].first, "Retry-After");
  EXPECT_EQ(metrics_.device_rate_limited.load(), 1u);
  now_ += 1;
  EXPECT_EQ(sessions_->checkin(checkin_request("1"), id).status, 200);
}

}  // namespace
}  // namespace ironseal::fleet
