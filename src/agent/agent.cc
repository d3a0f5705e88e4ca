#include "agent/agent.h"

#include <ctime>

#include "agent/device_status.h"
#include "agent/identity.h"
#include "agent/update.h"
#include "core/file.h"
#include "device/device_audit.h"
#include "device/host_device.h"
#include "repo/fetcher.h"

namespace ironseal::agent {
namespace {

std::filesystem::path state_path(const std::filesystem::path& dir) {
  return dir / "agent.json";
}

nlohmann::json load_state(const std::filesystem::path& dir) {
  nlohmann::json fresh{{"phase", "idle"}, {"failed", nlohmann::json::object()}};
  auto bytes = read_file(state_path(dir));
  if (!bytes) return fresh;
  auto j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr, false);
  // A damaged state file costs only a fresh start: flash and boot state hold the truth.
  if (j.is_discarded() || !j.is_object() || !j.contains("phase") || !j["phase"].is_string()) {
    return fresh;
  }
  if (!j.contains("failed") || !j["failed"].is_object()) j["failed"] = nlohmann::json::object();
  return j;
}

std::string confirmed_version(const nlohmann::json& status) {
  const std::string slot = status.value("confirmed_slot", "");
  for (const auto& s : status.value("slots", nlohmann::json::array())) {
    if (s.value("slot", "") == slot && s.contains("version")) return s["version"];
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::create(AgentOptions options,
                                             std::unique_ptr<FleetClient> client) {
  if (!options.reboot) return fail(ErrorCode::kInvalidArgument, "the agent needs a reboot action");
  if (!boot::holds_device(options.device_dir)) {
    return fail(ErrorCode::kNotFound, options.device_dir.string(), " holds no device");
  }
  return std::unique_ptr<Agent>(new Agent(std::move(options), std::move(client)));
}

Agent::Agent(AgentOptions options, std::unique_ptr<FleetClient> client)
    : options_(std::move(options)),
      client_(std::move(client)),
      state_(load_state(options_.device_dir)) {}

Result<void> Agent::save() {
  return write_file_atomic(state_path(options_.device_dir), as_bytes(state_.dump(2) + "\n"));
}

void Agent::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

void Agent::report(const std::string& step, const std::string& target, const std::string& reason,
                   const nlohmann::json& detail) {
  // The device's own trail keeps every decision of the agent, delivered to the server or not.
  const bool refused = step == "refused";
  const bool failed = step == "failed" || step == "renew_failed" || step == "reverted";
  nlohmann::json trail = {{"target", target}, {"detail", detail}};
  if (!reason.empty()) trail["reason"] = reason;
  if (auto a = boot::audit_event(options_.device_dir, "agent." + step,
                                 refused ? "refused" : failed ? "failed" : "ok", std::move(trail));
      !a) {
    log(a.error().message);
  }
  auto r = client_->report(step, target, reason, detail);
  if (!r) {
    // Not fatal for the device: the next check-in carries the state. Logged for the operator.
    log("report " + step + " not delivered: " + r.error().message);
  } else {
    log("reported " + step + (target.empty() ? "" : " " + target) +
        (reason.empty() ? "" : " (" + reason + ")"));
  }
}

Result<CycleResult> Agent::cycle() {
  const auto& dir = options_.device_dir;
  CycleResult result;
  if (auto c = check_in(&result); !c) return std::unexpected(c.error());
  renew_if_due(&result);
  if (state_["phase"] == "trial") return follow_trial(result);

  auto hd = boot::load_device(dir);
  if (!hd) return std::unexpected(hd.error());
  repo::FetchLimits limits;
  limits.tls = client_->tls();
  auto fetcher = repo::CurlFetcher::create(limits);
  if (!fetcher) return fail(ErrorCode::kIo, repo::describe(fetcher.error()));
  auto plan = plan_update(**hd, dir, client_->server(), **fetcher);
  if (!plan) {
    if (plan.error().code == ErrorCode::kNotFound) {
      result.outcome = "idle";
      return result;
    }
    if (plan.error().code == ErrorCode::kIo) return std::unexpected(plan.error());
    // The assignment did not verify: an attack or a broken release. Reported once per reason.
    result.outcome = "refused";
    result.reason = plan.error().message;
    if (state_.value("last_refusal", "") != result.reason) {
      report("refused", "", result.reason, nlohmann::json::object());
      state_["last_refusal"] = result.reason;
      if (auto s = save(); !s) return std::unexpected(s.error());
    }
    return result;
  }
  state_.erase("last_refusal");
  result.target = plan->target;
  if (plan->up_to_date) {
    result.outcome = "up_to_date";
    return result;
  }
  if (state_["failed"].contains(plan->sha256)) {
    result.outcome = "held";
    result.reason = "reverted here before: " + state_["failed"][plan->sha256].get<std::string>();
    return result;
  }
  if (!plan->already_pending) {
    auto installed = install(**hd, *plan, &result);
    if (!installed) return std::unexpected(installed.error());
    if (!*installed) return result;
  }
  auto st = boot_state(**hd);
  if (!st) return std::unexpected(st.error());
  if (st->pending == boot::kNoSlot)
    return fail(ErrorCode::kIo, "installed, but nothing is pending");
  state_["phase"] = "trial";
  state_["target"] = plan->target;
  state_["sha256"] = plan->sha256;
  state_["slot"] = std::string(1, boot::slot_name(static_cast<boot::SlotId>(st->pending)));
  if (auto s = save(); !s) return std::unexpected(s.error());
  return follow_trial(result);
}

// Tells the fleet service what the device runs and what the agent is doing; takes its answer.
Result<void> Agent::check_in(CycleResult* result) {
  auto hd = boot::load_device(options_.device_dir);
  if (!hd) return std::unexpected(hd.error());
  auto status = device_status(**hd);
  if (!status) return std::unexpected(status.error());
  nlohmann::json body{
      {"version", confirmed_version(*status)},
      {"status", *status},
      {"agent", {{"phase", state_["phase"]}, {"target", state_.value("target", "")}}}};
  // The trail's head and latest checkpoint go to the server with every check-in: a witness of
  // what the device recorded, which a later rewrite on the device cannot change.
  if (auto witness = boot::audit_witness(options_.device_dir)) {
    body["audit"] = std::move(*witness);
  } else {
    log(witness.error().message);
  }
  auto answer = client_->checkin(body);
  if (!answer) return std::unexpected(answer.error());
  // The server's hints; a member of another type is ignored, never a crash (value() would throw).
  auto integer = [&](const char* key) -> std::int64_t {
    const auto it = answer->is_object() ? answer->find(key) : answer->end();
    return it != answer->end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  };
  result->poll_interval_s = integer("poll_interval_s");
  result->renew_after = integer("renew_after");
  return {};
}

Result<bool> Agent::install(boot::HostDevice& hd, const UpdatePlan& plan, CycleResult* result) {
  const auto& dir = options_.device_dir;
  state_["phase"] = "installing";
  state_["target"] = plan.target;
  state_["sha256"] = plan.sha256;
  if (auto s = save(); !s) return std::unexpected(s.error());
  report("downloading", plan.target, "",
         {{"version", plan.version},
          {"length", plan.length},
          {"chunks", plan.index->index().hashes.size()}});
  delivery::ChunkedInstallOptions opt;
  delivery::HttpLimits http;
  http.tls = client_->tls();
  auto r = apply_update(hd, dir, plan, opt, http);
  if (auto saved = boot::save_device(dir, hd); !saved) return std::unexpected(saved.error());
  if (!r) {
    if (r.error().code == ErrorCode::kIo) return std::unexpected(r.error());  // retry: resumes
    report("failed", plan.target, r.error().message, nlohmann::json::object());
    state_["phase"] = "idle";
    if (auto s = save(); !s) return std::unexpected(s.error());
    result->outcome = "failed";
    result->reason = r.error().message;
    return false;
  }
  const auto& t = r->totals;
  report("installed", plan.target, "",
         {{"slot", std::string(1, boot::slot_name(r->slot))},
          {"image_size", t.image_size},
          {"downloaded", t.downloaded},
          {"copied_from_active_slot", t.local},
          {"resumed", t.resumed}});
  return true;
}

void Agent::renew_if_due(CycleResult* result) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  if (!options_.renew_now && (result->renew_after == 0 || now < result->renew_after)) return;
  auto renewed = renew_certificate(*client_, options_.device_dir, now);
  if (!renewed) {
    // Not fatal: the current certificate is still valid; the next cycle tries again.
    report("renew_failed", "", renewed.error().message, nlohmann::json::object());
    return;
  }
  auto tls = device_tls(options_.device_dir, options_.ca_override);
  if (!tls) {
    report("renew_failed", "", tls.error().message, nlohmann::json::object());
    return;
  }
  client_->set_tls(std::move(*tls));
  options_.renew_now = false;
  result->renewed_serial = renewed->serial_hex;
  report("renewed", "", "",
         {{"certificate_serial", renewed->serial_hex}, {"not_after", renewed->not_after}});
}

Result<CycleResult> Agent::follow_trial(CycleResult result) {
  const auto& dir = options_.device_dir;
  const std::string target = state_.value("target", "");
  const std::string slot_name = state_.value("slot", "A");
  const boot::SlotId slot = slot_name == "B" ? boot::SlotId::kB : boot::SlotId::kA;
  result.target = target;
  report("rebooting", target, "", {{"slot", slot_name}});
  for (std::uint32_t boots = 0; boots <= options_.max_boots_per_trial; ++boots) {
    auto hd = boot::load_device(dir);
    if (!hd) return std::unexpected(hd.error());
    auto st = boot_state(**hd);
    if (!st) return std::unexpected(st.error());
    if (st->pending == boot::kNoSlot) {
      const bool confirmed = st->primary == slot && st->bad[static_cast<int>(slot)] == 0;
      auto status = device_status(**hd);
      nlohmann::json detail{{"boots", boots}};
      if (status) detail["version"] = confirmed_version(*status);
      if (confirmed) {
        result.outcome = "confirmed";
        report("confirmed", target, "", detail);
      } else {
        result.outcome = "reverted";
        result.reason = std::string("the bootloader reverted to the previous image: ") +
                        (st->image_status != 0 ? std::string("the trial image failed its check (") +
                                                     boot::check_name(st->image_status) + ")"
                                               : "the firmware never confirmed its trial (" +
                                                     std::to_string(boots) + " boots)");
        report("reverted", target, result.reason, detail);
        state_["failed"][state_.value("sha256", target)] = result.reason;
      }
      state_["phase"] = "idle";
      state_.erase("slot");
      if (auto s = save(); !s) return std::unexpected(s.error());
      return result;
    }
    if (boots == options_.max_boots_per_trial) break;
    auto code = options_.reboot();
    if (!code) return std::unexpected(code.error());
    log("power cycle: firmware exited with " + std::to_string(*code));
  }
  return fail(ErrorCode::kIo, "the trial of ", target, " did not settle after ",
              std::to_string(options_.max_boots_per_trial), " boots");
}

}  // namespace ironseal::agent
