// Store: everything the fleet service must remember, behind one interface so that an embedded
// SQLite database (one server process, a plant) and a shared PostgreSQL (several stateless server
// processes, a large fleet) can both sit behind it (DESIGN.md §7).
//
// The promise that matters: when a call that writes returns success, the write is durable (it
// survives a SIGKILL or a power cut), so the service may acknowledge it to a device or operator.
// `transaction` groups several writes so they land together or not at all.
//
// Not thread-safe: the service serialises access (one store per process, behind its mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace ironseal::fleet {

// A device replaced by another unit restored from its backup (docs/backup.md): the CA revokes
// the old certificate; the fleet keeps the link.
struct Replacement {
  std::string old_serial;
  std::string new_serial;
  std::string archive_sha256;  // the backup the new unit was restored from ("" when not given)
  std::int64_t replaced_at = 0;
};

struct Device {
  std::string serial;
  std::string hardware_id;
  std::string group;
  std::int64_t registered_at = 0;  // unix seconds
  // From the last check-in (what the device says about itself).
  std::string version;
  nlohmann::json state = nlohmann::json::object();
  std::int64_t last_seen = 0;
  // From the last report.
  std::string last_event;
  // What the director currently assigns to this device ("" = nothing).
  std::string assigned_target;
};

struct Report {
  std::int64_t id = 0;
  std::string serial;
  std::int64_t time = 0;
  std::string step;
  std::string target;
  std::int64_t rollout_id = 0;  // 0 = none
  nlohmann::json detail = nlohmann::json::object();
};

struct Release {
  std::string name;
  std::string target;       // TUF target path in the image repository
  std::string version;      // from the target's custom.ironseal.version
  std::string hardware_id;  // from the target's custom.hardware_id
  std::int64_t created_at = 0;
};

enum class RolloutState { kActive, kPaused, kAborted, kCompleted };
std::string_view rollout_state_name(RolloutState s);
std::optional<RolloutState> parse_rollout_state(std::string_view s);

// One phase: the cumulative share of the group that has the release once the phase is reached,
// as a device count ("1") or a percentage ("10%").
struct Phase {
  bool percent = false;
  std::uint32_t value = 0;
};

struct Rollout {
  std::int64_t id = 0;
  std::string release;
  std::string group;
  std::vector<Phase> phases;
  double max_failure_rate = 0.0;
  RolloutState state = RolloutState::kActive;
  std::uint32_t phase = 0;           // index into phases
  std::uint32_t acknowledged_failures = 0;  // failures an operator resumed past
  std::string reason;                // why the state last changed
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  // A device assigned longer than this without an outcome counts as failed ("timed out"), so a
  // device that went silent cannot hold its phase forever. 0: wait for every outcome.
  std::int64_t phase_timeout_s = 0;
};

enum class MemberState { kWaiting, kAssigned, kConfirmed, kFailed, kCancelled };
std::string_view member_state_name(MemberState s);
std::optional<MemberState> parse_member_state(std::string_view s);

struct RolloutMember {
  std::int64_t rollout_id = 0;
  std::string serial;
  std::uint32_t position = 0;        // order in which the rollout reaches the device
  std::string baseline_target;       // what the director assigned before the rollout
  MemberState state = MemberState::kWaiting;
  std::string reason;
  std::int64_t updated_at = 0;
};

struct Account {
  std::string name;
  std::string role;           // viewer | operator | admin
  std::string password_hash;  // libsodium crypto_pwhash_str (Argon2id)
  std::int64_t created_at = 0;
};

struct Token {
  std::string digest;  // SHA-256 hex of the bearer token (the token itself is never stored)
  std::string account;
  std::int64_t expires_at = 0;
};

// An auditable event (IEC 62443-4-2 CR 2.8): who did what to what, with which outcome.
struct Event {
  std::int64_t id = 0;
  std::int64_t time = 0;
  std::string actor;    // "operator:NAME", "device:SERIAL", "server"
  std::string action;   // e.g. "rollout.pause", "device.report", "auth.login"
  std::string outcome;  // "ok", "refused", ...
  nlohmann::json detail = nlohmann::json::object();
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `body`; commits (durably) when it succeeds, rolls back when it fails. Not nestable.
  virtual Result<void> transaction(const std::function<Result<void>()>& body) = 0;

  virtual Result<void> add_device(const Device& device) = 0;  // kInvalidArgument when it exists
  virtual Result<std::optional<Device>> device(const std::string& serial) = 0;
  virtual Result<std::vector<Device>> devices(const std::optional<std::string>& group) = 0;
  virtual Result<void> record_checkin(const std::string& serial, const std::string& version,
                                      const nlohmann::json& state, std::int64_t time) = 0;
  virtual Result<void> set_assigned_target(const std::string& serial,
                                           const std::string& target) = 0;

  // Stores the report and makes its step the device's last event. Returns the report's id.
  virtual Result<std::int64_t> add_report(const Report& report) = 0;
  virtual Result<std::vector<Report>> reports(const std::string& serial, std::size_t limit) = 0;
  virtual Result<std::int64_t> report_count() = 0;
  // Deletes all but the newest `keep` reports of `serial` (the per-device bound on stored reports).
  virtual Result<void> trim_reports(const std::string& serial, std::size_t keep) = 0;

  virtual Result<void> add_release(const Release& release) = 0;  // kInvalidArgument when it exists
  virtual Result<std::optional<Release>> release(const std::string& name) = 0;
  virtual Result<std::vector<Release>> releases() = 0;

  virtual Result<std::int64_t> add_rollout(const Rollout& rollout,
                                           const std::vector<RolloutMember>& members) = 0;
  virtual Result<std::optional<Rollout>> rollout(std::int64_t id) = 0;
  virtual Result<std::vector<Rollout>> rollouts() = 0;
  virtual Result<void> update_rollout(const Rollout& rollout) = 0;
  virtual Result<std::vector<RolloutMember>> members(std::int64_t rollout_id) = 0;
  virtual Result<void> update_member(const RolloutMember& member) = 0;
  // The newest rollout that assigned `target` to `serial` (its release's target, the member
  // reached: assigned, confirmed or failed); 0 when none did (or `target` is empty).
  virtual Result<std::int64_t> assigning_rollout(const std::string& serial,
                                                 const std::string& target) = 0;

  virtual Result<void> add_account(const Account& account) = 0;  // kInvalidArgument when it exists
  virtual Result<std::optional<Account>> account(const std::string& name) = 0;
  virtual Result<void> add_token(const Token& token) = 0;
  virtual Result<std::optional<Token>> token(const std::string& digest) = 0;

  // kInvalidArgument when the old device was replaced already.
  virtual Result<void> add_replacement(const Replacement& replacement) = 0;
  // The replacements that name `serial`, as the old device or the new one.
  virtual Result<std::vector<Replacement>> replacements(const std::string& serial) = 0;

  virtual Result<std::int64_t> add_event(const Event& event) = 0;
  virtual Result<std::vector<Event>> events(std::size_t limit) = 0;
};

// SQLite in WAL mode with synchronous=FULL: a committed transaction survives a power cut.
// Creates the file and schema when missing (mode 0600).
Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path);

}  // namespace ironseal::fleet
