// The rollout engine's bookkeeping around the rules of rollout.cc (rollout_engine.h): the store
// transaction that drops queued work when it rolls back, the director re-signing after commit and
// its retries, start-up reconciliation and the periodic work.
#include "fleet/rollout_engine.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace ironseal::fleet {

RolloutEngine::RolloutEngine(SharedStore& shared, std::unique_ptr<UpdateRepositories> repositories,
                             Metrics& metrics, std::int64_t director_refresh_s)
    : shared_(shared),
      repositories_(std::move(repositories)),
      metrics_(metrics),
      director_refresh_s_(director_refresh_s),
      last_refresh_(shared.now()) {}  // start-up re-signs what lags (reconcile); the rest waits

Result<PublishedTarget> RolloutEngine::published_target(const std::string& name) {
  if (!repositories_) return fail(ErrorCode::kUnsupported, "this server has no update repository");
  return repositories_->published_target(name);
}

Result<void> RolloutEngine::transact(const std::function<Result<void>()>& body) {
  auto tx = store().transaction(body);
  if (!tx) {
    pending_.clear();
    shared_.devices().invalidate();
  }
  return tx;
}

Result<void> RolloutEngine::assign(const std::string& serial, const std::string& target) {
  if (auto ok = store().set_assigned_target(serial, target); !ok) return ok;
  shared_.devices().set_assigned_target(serial, target);
  pending_.emplace_back(serial, target);
  return {};
}

void RolloutEngine::flush_assignments() {
  auto work = std::move(pending_);
  pending_.clear();
  for (const auto& [serial, target] : work) {
    if (!repositories_) break;
    if (auto ok = repositories_->assign(serial, target); !ok) {
      // The store already says what the device should see; the next check-in or restart retries.
      metrics_.director_publish_failures++;
      stale_.insert(serial);
      std::fprintf(stderr, "ironseal-server: director metadata for %s not re-signed: %s\n",
                   serial.c_str(), ok.error().message.c_str());
    }
  }
}

Result<void> RolloutEngine::reconcile() {
  if (repositories_) {
    auto devices = store().devices(std::nullopt);
    if (!devices) return std::unexpected(devices.error());
    for (const auto& d : *devices) {
      auto listed = repositories_->assigned(d.serial);
      if (!listed || *listed != d.assigned_target)
        pending_.emplace_back(d.serial, d.assigned_target);
    }
  }
  auto tx = transact([&]() -> Result<void> {
    auto rollouts = store().rollouts();
    if (!rollouts) return std::unexpected(rollouts.error());
    for (auto& r : *rollouts) {
      if (auto ok = step(r); !ok) return ok;
    }
    return {};
  });
  if (!tx) return tx;
  flush_assignments();
  return shared_.devices().load(store());
}

// Steps every active rollout that has a phase timeout (in one transaction).
Result<void> RolloutEngine::step_timed_rollouts() {
  auto rollouts = store().rollouts();
  if (!rollouts) return std::unexpected(rollouts.error());
  if (std::none_of(rollouts->begin(), rollouts->end(), [](const Rollout& r) {
        return r.state == RolloutState::kActive && r.phase_timeout_s > 0;
      })) {
    return {};
  }
  return transact([&]() -> Result<void> {
    for (auto& r : *rollouts) {
      if (r.state != RolloutState::kActive || r.phase_timeout_s <= 0) continue;
      if (auto ok = step(r); !ok) return ok;
    }
    return {};
  });
}

void RolloutEngine::tick() {
  if (!repositories_ || !shared_.devices().load(store())) return;
  for (const auto& serial : std::exchange(stale_, {})) {
    pending_.emplace_back(serial, shared_.devices().assigned_target(serial));
  }
  // Devices that went silent in a rollout with a phase timeout: counted failed once it passes.
  if (shared_.now() - last_timeout_check_ >= kTimeoutCheckS) {
    last_timeout_check_ = shared_.now();
    if (auto ok = step_timed_rollouts(); !ok) {
      std::fprintf(stderr, "ironseal-server: rollout timeout check: %s\n",
                   ok.error().message.c_str());
    }
  }
  if (director_refresh_s_ > 0 && shared_.now() - last_refresh_ >= director_refresh_s_) {
    last_refresh_ = shared_.now();
    for (const auto& [serial, d] : shared_.devices().all()) {
      if (!d.assigned_target.empty()) pending_.emplace_back(serial, d.assigned_target);
    }
  }
  flush_assignments();
}

}  // namespace ironseal::fleet
