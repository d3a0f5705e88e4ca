// Rollouts: a release reaches a group of devices in phases, each phase a cumulative share of the
// group ("1" canary, "10%", "100%"). The rollout moves to the next phase when every device it has
// reached so far has a final outcome, and pauses by itself when the share of failures among the
// devices reached exceeds max_failure_rate. A device the rollout reaches has its director
// metadata re-signed to list the release's target; a device whose install failed (or whose
// rollout is aborted before it finished) is re-signed back to what it ran before, so it stops
// retrying. Every state change is an audit event.
//
// The rules run inside a store transaction (transact()); director re-signing is queued and done
// after the commit (flush_assignments), and reconcile() / tick() repair a crash or a failed
// re-sign in between (rollout_engine.h).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "fleet/answers.h"
#include "fleet/rollout_engine.h"

namespace ironseal::fleet {
namespace {

using Json = nlohmann::json;

std::size_t wave_size(const std::vector<Phase>& phases, std::uint32_t phase, std::size_t total) {
  std::size_t out = 0;
  for (std::uint32_t i = 0; i <= phase && i < phases.size(); ++i) {
    const auto& p = phases[i];
    const std::size_t n =
        p.percent ? static_cast<std::size_t>(std::ceil(static_cast<double>(p.value) *
                                                       static_cast<double>(total) / 100.0))
                  : p.value;
    out = std::max(out, n);
  }
  return std::min(std::max<std::size_t>(out, total == 0 ? 0 : 1), total);
}

bool started(MemberState s) {
  return s == MemberState::kAssigned || s == MemberState::kConfirmed || s == MemberState::kFailed;
}

}  // namespace

Result<std::vector<Phase>> parse_phases(const Json& phases) {
  if (!phases.is_array() || phases.empty() || phases.size() > 16) {
    return fail(ErrorCode::kInvalidArgument, "phases: a list of 1 to 16 entries like 1, \"10%\"");
  }
  std::vector<Phase> out;
  for (const auto& p : phases) {
    if (p.is_number_integer() && p.get<std::int64_t>() >= 1 && p.get<std::int64_t>() <= 1000000) {
      out.push_back({false, static_cast<std::uint32_t>(p.get<std::int64_t>())});
      continue;
    }
    if (p.is_string()) {
      const std::string s = p.get<std::string>();
      std::uint32_t v = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec == std::errc() && ptr + 1 == s.data() + s.size() && *ptr == '%' && v >= 1 &&
          v <= 100) {
        out.push_back({true, v});
        continue;
      }
    }
    return fail(ErrorCode::kInvalidArgument, "phases: '", p.dump(),
                "' is neither a device count (>= 1) nor a percentage (\"1%\"..\"100%\")");
  }
  if (!out.back().percent || out.back().value != 100) {
    return fail(ErrorCode::kInvalidArgument, "phases: the last phase must be \"100%\"");
  }
  return out;
}

Json RolloutEngine::to_json(const Rollout& r) {
  Json phases = Json::array();
  for (const auto& p : r.phases) {
    phases.push_back(p.percent ? Json(std::to_string(p.value) + "%") : Json(p.value));
  }
  Json out{{"id", r.id},
           {"release", r.release},
           {"group", r.group},
           {"phases", phases},
           {"phase", r.phase},
           {"max_failure_rate", r.max_failure_rate},
           {"phase_timeout_s", r.phase_timeout_s},
           {"state", rollout_state_name(r.state)},
           {"reason", r.reason},
           {"created_at", r.created_at},
           {"updated_at", r.updated_at}};
  if (auto members = store().members(r.id)) {
    Json counts = Json::object();
    for (auto st : {MemberState::kWaiting, MemberState::kAssigned, MemberState::kConfirmed,
                    MemberState::kFailed, MemberState::kCancelled}) {
      counts[std::string(member_state_name(st))] = std::count_if(
          members->begin(), members->end(), [&](const RolloutMember& m) { return m.state == st; });
    }
    out["devices_by_state"] = counts;
    out["wave_size"] = wave_size(r.phases, r.phase, members->size());
  }
  return out;
}

Result<std::int64_t> RolloutEngine::create(const std::string& release_name,
                                           const std::string& group,
                                           const std::vector<Phase>& phases,
                                           double max_failure_rate, std::int64_t phase_timeout_s,
                                           const std::string& actor) {
  if (!repositories_) return fail(ErrorCode::kConflict, "this server has no update repository");
  auto release = store().release(release_name);
  if (!release) return std::unexpected(release.error());
  if (!*release) return fail(ErrorCode::kNotFound, "no release '", release_name, "'");
  auto devices = store().devices(group);
  if (!devices) return std::unexpected(devices.error());
  if (devices->empty()) return fail(ErrorCode::kInvalidArgument, "group '", group, "' is empty");
  for (const auto& d : *devices) {
    if (!(*release)->hardware_id.empty() && d.hardware_id != (*release)->hardware_id) {
      return fail(ErrorCode::kInvalidArgument, "device ", d.serial, " is hardware '", d.hardware_id,
                  "', release ", release_name, " is for '", (*release)->hardware_id, "'");
    }
  }
  auto existing = store().rollouts();
  if (!existing) return std::unexpected(existing.error());
  for (const auto& ro : *existing) {
    if (ro.group == group &&
        (ro.state == RolloutState::kActive || ro.state == RolloutState::kPaused)) {
      return fail(ErrorCode::kConflict, "group '", group, "' already has rollout ",
                  std::to_string(ro.id), " (", std::string(rollout_state_name(ro.state)),
                  "); abort it first");
    }
  }
  Rollout r;
  r.release = release_name;
  r.group = group;
  r.phases = phases;
  r.max_failure_rate = max_failure_rate;
  r.phase_timeout_s = phase_timeout_s;
  r.created_at = r.updated_at = shared_.now();
  r.reason = "created by " + actor;
  std::vector<RolloutMember> members;
  std::uint32_t position = 0;
  for (const auto& d : *devices) {
    RolloutMember m;
    m.serial = d.serial;
    m.position = position++;
    m.baseline_target = d.assigned_target;
    m.updated_at = r.created_at;
    members.push_back(std::move(m));
  }
  auto id = store().add_rollout(r, members);
  if (!id) return std::unexpected(id.error());
  r.id = *id;
  if (auto ok = shared_.audit(actor, "rollout.create", "ok",
                              {{"rollout", r.id},
                               {"release", release_name},
                               {"group", group},
                               {"devices", members.size()}});
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = step(r); !ok) return std::unexpected(ok.error());
  return r.id;
}

Result<void> RolloutEngine::step(Rollout& r) {
  if (r.state != RolloutState::kActive) return {};
  auto release = store().release(r.release);
  if (!release) return std::unexpected(release.error());
  if (!*release)
    return fail(ErrorCode::kNotFound, "rollout ", std::to_string(r.id), ": no release");
  auto members = store().members(r.id);
  if (!members) return std::unexpected(members.error());
  const std::size_t total = members->size();
  const Rollout before = r;
  if (auto ok = expire_members(r, *members); !ok) return ok;
  for (;;) {
    std::size_t reached = 0;
    std::size_t failed = 0;
    bool all_final = true;
    for (const auto& m : *members) {
      if (started(m.state)) ++reached;
      if (m.state == MemberState::kFailed) ++failed;
      if (m.state == MemberState::kAssigned) all_final = false;
    }
    const std::size_t counted = failed - std::min<std::size_t>(failed, r.acknowledged_failures);
    if (reached > 0 &&
        static_cast<double>(counted) / static_cast<double>(reached) > r.max_failure_rate) {
      r.state = RolloutState::kPaused;
      r.reason = "paused by itself: " + std::to_string(counted) + " of " + std::to_string(reached) +
                 " devices failed (max failure rate " + std::to_string(r.max_failure_rate) + ")";
      if (auto ok = shared_.audit("server", "rollout.auto_pause", "ok",
                                  {{"rollout", r.id}, {"failed", counted}, {"reached", reached}});
          !ok) {
        return ok;
      }
      break;
    }
    const std::size_t wave = wave_size(r.phases, r.phase, total);
    if (reached < wave) {
      for (auto& m : *members) {
        if (reached >= wave) break;
        if (m.state != MemberState::kWaiting) continue;
        m.state = MemberState::kAssigned;
        m.updated_at = shared_.now();
        m.reason = "phase " + std::to_string(r.phase);
        if (auto ok = store().update_member(m); !ok) return ok;
        if (auto ok = assign(m.serial, (*release)->target); !ok) return ok;
        ++reached;
      }
      break;  // wait for the new devices' outcomes
    }
    if (!all_final) break;
    if (r.phase + 1 < r.phases.size()) {
      ++r.phase;
      r.reason = "phase " + std::to_string(r.phase) + " reached";
      if (auto ok = shared_.audit("server", "rollout.phase", "ok",
                                  {{"rollout", r.id}, {"phase", r.phase}});
          !ok) {
        return ok;
      }
      continue;
    }
    r.state = RolloutState::kCompleted;
    r.reason = "every device in the group has an outcome";
    if (auto ok = shared_.audit("server", "rollout.complete", "ok", {{"rollout", r.id}}); !ok)
      return ok;
    break;
  }
  if (r.state != before.state || r.phase != before.phase || r.reason != before.reason) {
    r.updated_at = shared_.now();
    return store().update_rollout(r);
  }
  return {};
}

Result<void> RolloutEngine::outcome(const std::string& serial, const std::string& target,
                                    bool success, const std::string& reason) {
  auto rollouts = store().rollouts();
  if (!rollouts) return std::unexpected(rollouts.error());
  for (auto& r : *rollouts) {
    if (r.state != RolloutState::kActive && r.state != RolloutState::kPaused) continue;
    auto release = store().release(r.release);
    if (!release) return std::unexpected(release.error());
    if (!*release || (!target.empty() && target != (*release)->target)) continue;
    auto members = store().members(r.id);
    if (!members) return std::unexpected(members.error());
    for (auto& m : *members) {
      if (m.serial != serial || m.state != MemberState::kAssigned) continue;
      m.state = success ? MemberState::kConfirmed : MemberState::kFailed;
      m.reason = reason;
      m.updated_at = shared_.now();
      if (auto ok = store().update_member(m); !ok) return ok;
      // A failed device goes back to what it runs, so it does not try the release again.
      if (!success) {
        if (auto ok = assign(serial, m.baseline_target); !ok) return ok;
      }
      return step(r);
    }
  }
  return {};
}

Result<void> RolloutEngine::command(std::int64_t id, const std::string& command,
                                    const std::string& actor) {
  auto found = store().rollout(id);
  if (!found) return std::unexpected(found.error());
  if (!*found) return fail(ErrorCode::kNotFound, "no rollout ", std::to_string(id));
  Rollout r = **found;
  const std::string state(rollout_state_name(r.state));
  if (command == "pause") {
    if (r.state != RolloutState::kActive) return fail(ErrorCode::kConflict, "rollout is ", state);
    r.state = RolloutState::kPaused;
    r.reason = "paused by " + actor;
  } else if (command == "resume") {
    if (r.state != RolloutState::kPaused) return fail(ErrorCode::kConflict, "rollout is ", state);
    auto members = store().members(id);
    if (!members) return std::unexpected(members.error());
    // Failures so far are acknowledged by the operator; the failure rate counts new ones.
    r.acknowledged_failures = static_cast<std::uint32_t>(
        std::count_if(members->begin(), members->end(),
                      [](const RolloutMember& m) { return m.state == MemberState::kFailed; }));
    r.state = RolloutState::kActive;
    r.reason = "resumed by " + actor;
  } else if (command == "abort") {
    if (r.state != RolloutState::kActive && r.state != RolloutState::kPaused) {
      return fail(ErrorCode::kConflict, "rollout is ", state);
    }
    auto members = store().members(id);
    if (!members) return std::unexpected(members.error());
    for (auto& m : *members) {
      if (m.state != MemberState::kWaiting && m.state != MemberState::kAssigned) continue;
      if (m.state == MemberState::kAssigned) {
        if (auto ok = assign(m.serial, m.baseline_target); !ok) return ok;
      }
      m.state = MemberState::kCancelled;
      m.reason = "rollout aborted";
      m.updated_at = shared_.now();
      if (auto ok = store().update_member(m); !ok) return ok;
    }
    r.state = RolloutState::kAborted;
    r.reason = "aborted by " + actor;
  } else {
    return fail(ErrorCode::kInvalidArgument, "unknown rollout command ", command);
  }
  r.updated_at = shared_.now();
  if (auto ok = store().update_rollout(r); !ok) return ok;
  if (auto ok = shared_.audit(actor, "rollout." + command, "ok", {{"rollout", id}}); !ok) return ok;
  return step(r);
}

// A device assigned longer than the phase timeout without an outcome has failed, for the failure
// rate as for the phase (its director assignment stays: it may still update later).
Result<void> RolloutEngine::expire_members(const Rollout& r, std::vector<RolloutMember>& members) {
  if (r.phase_timeout_s <= 0) return {};
  for (auto& m : members) {
    if (m.state != MemberState::kAssigned || shared_.now() - m.updated_at < r.phase_timeout_s) {
      continue;
    }
    m.state = MemberState::kFailed;
    m.reason = "timed out: no outcome within " + std::to_string(r.phase_timeout_s) +
               " s of being assigned";
    m.updated_at = shared_.now();
    if (auto ok = store().update_member(m); !ok) return ok;
    if (auto ok = shared_.audit(
            "server", "rollout.timeout", "failed",
            {{"rollout", r.id}, {"serial", m.serial}, {"after_s", r.phase_timeout_s}});
        !ok) {
      return ok;
    }
  }
  return {};
}

}  // namespace ironseal::fleet
