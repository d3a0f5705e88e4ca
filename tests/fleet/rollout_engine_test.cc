// The rollout engine on its own, without HTTP: what reaches the director and when (only after the
// transaction commits, never from one that rolled back), where a failed device is sent, the
// automatic pause, the retry of a failed re-sign, and the phase timeout. The rules' finer points
// (phase sizes, refusals) are tested through the API in rollout_test.cc.
#include "fleet/rollout_engine.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "support/requirements.h"
#include "support/test_env.h"

namespace ironseal::fleet {
namespace {

using ironseal::testing::TempDir;

// The director as a map (serial -> target it lists), failing the next `fail_next` re-signs.
class FakeDirector final : public UpdateRepositories {
 public:
  Result<PublishedTarget> published_target(const std::string& name) override {
    return PublishedTarget{name, "2.0.0", "plc-x1"};
  }
  Result<void> assign(const std::string& serial, const std::string& target) override {
    if (fail_next > 0) {
      --fail_next;
      return fail(ErrorCode::kIo, "director key unavailable");
    }
    signed_for[serial] = target;
    return {};
  }
  Result<std::string> assigned(const std::string& serial) override {
    auto it = signed_for.find(serial);
    return it == signed_for.end() ? std::string() : it->second;
  }

  std::map<std::string, std::string> signed_for;
  int fail_next = 0;
};

class FleetRolloutEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = open_sqlite_store(dir_ / "fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    shared_ = std::make_unique<SharedStore>(std::move(*store), [this] { return now_; });
    auto director = std::make_unique<FakeDirector>();
    director_ = director.get();
    engine_ = std::make_unique<RolloutEngine>(*shared_, std::move(director), metrics_, 0);
    lock_ = shared_->lock();  // every engine call needs it; the test is the only thread
    for (int i = 1; i <= 4; ++i) {
      Device d;
      d.serial = "SN-" + std::to_string(i);
      d.hardware_id = "plc-x1";
      d.group = "line";
      d.assigned_target = "v1.img";
      ASSERT_TRUE(store_().add_device(d));
      director_->signed_for[d.serial] = "v1.img";
    }
    ASSERT_TRUE(store_().add_release({"r2", "v2.img", "2.0.0", "plc-x1", now_}));
  }

  Store& store_() { return shared_->store(); }

  // A rollout of r2 to "line" with `phases`, committed; its id.
  std::int64_t create(const std::vector<Phase>& phases, double max_failure_rate = 0.5,
                      std::int64_t phase_timeout_s = 0) {
    std::int64_t id = 0;
    auto tx = engine_->transact([&]() -> Result<void> {
      auto created =
          engine_->create("r2", "line", phases, max_failure_rate, phase_timeout_s, "operator:test");
      if (!created) return std::unexpected(created.error());
      id = *created;
      return {};
    });
    EXPECT_TRUE(tx) << (tx ? "" : tx.error().message);
    return id;
  }

  int signed_count(const std::string& target) {
    int n = 0;
    for (const auto& [serial, t] : director_->signed_for) n += t == target;
    return n;
  }

  RolloutState state(std::int64_t id) {
    auto ro = store_().rollout(id);
    EXPECT_TRUE(ro && *ro);
    return (*ro)->state;
  }

  TempDir dir_;
  Metrics metrics_;
  std::int64_t now_ = 1000;
  std::unique_ptr<SharedStore> shared_;
  FakeDirector* director_ = nullptr;
  std::unique_ptr<RolloutEngine> engine_;
  std::unique_lock<std::mutex> lock_;
};

const std::vector<Phase> kCanaryThenAll{{false, 1}, {true, 100}};

TEST_F(FleetRolloutEngine, ATransactionThatRollsBackReSignsNothing) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 3.4");
  ASSERT_TRUE(shared_->devices().load(store_()));
  auto tx = engine_->transact([&]() -> Result<void> {
    if (auto created = engine_->create("r2", "line", kCanaryThenAll, 0.5, 0, "operator:test");
        !created) {
      return std::unexpected(created.error());
    }
    return fail(ErrorCode::kIo, "disk full");  // after the rollout queued its canary
  });
  ASSERT_FALSE(tx);
  engine_->flush_assignments();
  EXPECT_EQ(signed_count("v2.img"), 0);
  auto rollouts = store_().rollouts();
  ASSERT_TRUE(rollouts);
  EXPECT_TRUE(rollouts->empty());
  // The cache took the canary's assignment inside the transaction: forgotten with it.
  EXPECT_FALSE(shared_->devices().loaded());
  ASSERT_TRUE(shared_->devices().load(store_()));
  EXPECT_EQ(shared_->devices().assigned_target("SN-1"), "v1.img");
}

TEST_F(FleetRolloutEngine, ARolloutOfAnUnknownReleaseOrAnEmptyGroupIsRefused) {
  IRONSEAL_REQUIREMENTS("SUM-4");
  auto tx = engine_->transact([&]() -> Result<void> {
    auto created = engine_->create("r9", "line", kCanaryThenAll, 0.5, 0, "operator:test");
    return created ? Result<void>{} : std::unexpected(created.error());
  });
  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kNotFound);
  tx = engine_->transact([&]() -> Result<void> {
    auto created = engine_->create("r2", "empty", kCanaryThenAll, 0.5, 0, "operator:test");
    return created ? Result<void>{} : std::unexpected(created.error());
  });
  ASSERT_FALSE(tx);
  EXPECT_EQ(tx.error().code, ErrorCode::kInvalidArgument);
  engine_->flush_assignments();
  EXPECT_EQ(signed_count("v2.img"), 0);
}

TEST_F(FleetRolloutEngine, TheCanaryIsReSignedAfterTheCommitAndTheRestAfterItsSuccess) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 7.4");
  const std::int64_t id = create(kCanaryThenAll);
  EXPECT_EQ(signed_count("v2.img"), 0);  // queued, not yet re-signed
  engine_->flush_assignments();
  ASSERT_EQ(signed_count("v2.img"), 1);
  EXPECT_EQ(director_->signed_for["SN-1"], "v2.img");
  ASSERT_TRUE(engine_->transact([&] { return engine_->outcome("SN-1", "v2.img", true, ""); }));
  engine_->flush_assignments();
  EXPECT_EQ(signed_count("v2.img"), 4);
  EXPECT_EQ(state(id), RolloutState::kActive);
}

TEST_F(FleetRolloutEngine, AFailedDeviceGoesBackToItsBaselineAndTheRolloutPausesItself) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 7.4; CR 2.8");
  const std::int64_t id = create(kCanaryThenAll, 0.0);
  engine_->flush_assignments();
  ASSERT_TRUE(engine_->transact(
      [&] { return engine_->outcome("SN-1", "v2.img", false, "health check failed"); }));
  engine_->flush_assignments();
  EXPECT_EQ(director_->signed_for["SN-1"], "v1.img");
  EXPECT_EQ(signed_count("v2.img"), 0);
  EXPECT_EQ(state(id), RolloutState::kPaused);
  auto stored = store_().device("SN-1");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->assigned_target, "v1.img");
}

TEST_F(FleetRolloutEngine, AFailedReSignIsCountedAndRetriedByTheTick) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 7.4");
  create(kCanaryThenAll);
  director_->fail_next = 1;
  engine_->flush_assignments();
  EXPECT_EQ(signed_count("v2.img"), 0);
  EXPECT_EQ(metrics_.director_publish_failures.load(), 1u);
  engine_->tick();
  EXPECT_EQ(director_->signed_for["SN-1"], "v2.img");
  EXPECT_EQ(metrics_.director_publish_failures.load(), 1u);
}

TEST_F(FleetRolloutEngine, ASilentDeviceFailsWhenThePhaseTimeoutPasses) {
  IRONSEAL_REQUIREMENTS("SUM-4; CR 7.4");
  const std::int64_t id = create(kCanaryThenAll, 0.0, 600);
  engine_->flush_assignments();
  now_ += 599;
  engine_->tick();
  EXPECT_EQ(state(id), RolloutState::kActive);
  now_ += RolloutEngine::kTimeoutCheckS;
  engine_->tick();
  EXPECT_EQ(state(id), RolloutState::kPaused);
  auto members = store_().members(id);
  ASSERT_TRUE(members);
  EXPECT_EQ((*members)[0].state, MemberState::kFailed);
  // The timeout keeps its director assignment: the device may still update later.
  EXPECT_EQ(director_->signed_for["SN-1"], "v2.img");
}

}  // namespace
}  // namespace ironseal::fleet
