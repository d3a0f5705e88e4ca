// RolloutEngine: rollouts (a release reaching a group in phases, pausing itself on failures) and
// the director re-signing they cause: the queue of re-signs to do after a commit, the devices
// whose re-signing failed (retried by tick()), the periodic renewal of director timestamps and the
// phase-timeout check. No HTTP: the operator endpoints (operator_api.h) and device reports
// (device_sessions.h) call it; rollout.cc has the rules.
//
// Thread contract: not thread-safe by itself; every member function requires the SharedStore's
// lock held (its state is under that lock). UpdateRepositories is only called under it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "fleet/metrics.h"
#include "fleet/repositories.h"
#include "fleet/shared_store.h"
#include "fleet/store.h"

namespace ironseal::fleet {

class RolloutEngine {
 public:
  static constexpr std::int64_t kTimeoutCheckS = 5;

  // `repositories` may be null (then rollouts are refused and nothing is re-signed).
  // `director_refresh_s`: how often every assigned device is re-signed (0 = never).
  RolloutEngine(SharedStore& shared, std::unique_ptr<UpdateRepositories> repositories,
                Metrics& metrics, std::int64_t director_refresh_s);

  bool has_repositories() const { return repositories_ != nullptr; }
  // The image repository's target (requires has_repositories()).
  Result<PublishedTarget> published_target(const std::string& name);

  // A store transaction whose body may queue director re-signing and change the device cache:
  // if it fails (rolled back), the queued work is dropped and the cache reloaded later.
  Result<void> transact(const std::function<Result<void>()>& body);
  // Re-signs what transactions queued (after their commit); failures are kept for tick().
  void flush_assignments();

  // These run inside transact().
  Result<std::int64_t> create(const std::string& release, const std::string& group,
                              const std::vector<Phase>& phases, double max_failure_rate,
                              std::int64_t phase_timeout_s, const std::string& actor);
  // "pause", "resume" or "abort".
  Result<void> command(std::int64_t id, const std::string& command, const std::string& actor);
  // A device's final install outcome for `target` ("" = whatever it was assigned).
  Result<void> outcome(const std::string& serial, const std::string& target, bool success,
                       const std::string& reason);
  Result<void> step(Rollout& rollout);

  // Startup: queues devices whose director metadata lags the store, steps every rollout, and
  // re-signs.
  Result<void> reconcile();
  // Periodic: retries failed re-signs, steps rollouts with a phase timeout (every
  // kTimeoutCheckS), renews every assigned device every director_refresh_s, then re-signs.
  void tick();

  nlohmann::json to_json(const Rollout& rollout);

 private:
  Result<void> assign(const std::string& serial, const std::string& target);
  Result<void> step_timed_rollouts();
  Result<void> expire_members(const Rollout& r, std::vector<RolloutMember>& members);
  Store& store() { return shared_.store(); }

  SharedStore& shared_;
  std::unique_ptr<UpdateRepositories> repositories_;
  Metrics& metrics_;
  const std::int64_t director_refresh_s_;
  // Re-signs queued by the running transaction, done after its commit (serial -> target).
  // Process-local state, docs/architecture.md: queued re-signs.
  std::vector<std::pair<std::string, std::string>> pending_;
  // Process-local state, docs/architecture.md: failed re-signs to retry.
  std::set<std::string> stale_;
  // The schedule of the director renewal and of the phase-timeout check.
  std::int64_t last_refresh_ = 0;        // Process-local state, docs/architecture.md: schedule.
  std::int64_t last_timeout_check_ = 0;  // Process-local state, docs/architecture.md: schedule.
};

// "1", "10%", "100%" -> Phase; phases must grow and end at 100 %.
Result<std::vector<Phase>> parse_phases(const nlohmann::json& phases);

}  // namespace ironseal::fleet
