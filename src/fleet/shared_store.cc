// The store behind its lock, the device cache and the audit log (shared_store.h).
#include "fleet/shared_store.h"

#include <ctime>
#include <utility>

namespace ironseal::fleet {
namespace {

std::int64_t system_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

Result<void> DeviceCache::load(Store& store) {
  if (loaded_) return {};
  auto list = store.devices(std::nullopt);
  if (!list) return std::unexpected(list.error());
  devices_.clear();
  for (const auto& d : *list) devices_[d.serial] = CachedDevice{d.hardware_id, d.assigned_target};
  loaded_ = true;
  return {};
}

const CachedDevice* DeviceCache::find(const std::string& serial) const {
  auto it = devices_.find(serial);
  return it == devices_.end() ? nullptr : &it->second;
}

std::string DeviceCache::assigned_target(const std::string& serial) const {
  const CachedDevice* d = find(serial);
  return d == nullptr ? std::string() : d->assigned_target;
}

void DeviceCache::put(const std::string& serial, CachedDevice device) {
  if (loaded_) devices_[serial] = std::move(device);
}

void DeviceCache::set_assigned_target(const std::string& serial, const std::string& target) {
  if (loaded_) devices_[serial].assigned_target = target;
}

SharedStore::SharedStore(std::unique_ptr<Store> store, Clock clock)
    : store_(std::move(store)), clock_(clock ? std::move(clock) : Clock(system_now)) {}

Result<void> SharedStore::audit(const std::string& actor, const std::string& action,
                                const std::string& outcome, nlohmann::json detail) {
  Event e;
  e.time = now();
  e.actor = actor;
  e.action = action;
  e.outcome = outcome;
  e.detail = std::move(detail);
  auto id = store_->add_event(e);
  if (!id) return std::unexpected(id.error());
  if (audit_log_) {
    nlohmann::json details = e.detail.is_object() ? e.detail : nlohmann::json{{"detail", e.detail}};
    details["event_id"] = *id;
    auto r = audit_log_->append(actor, action, outcome, std::move(details));
    if (!r) return fail_in(r.error(), "audit trail: ");
  }
  return {};
}

Result<void> SharedStore::open_audit_log(const std::filesystem::path& dir,
                                         std::unique_ptr<crypto::Signer> signer,
                                         std::uint64_t checkpoint_every) {
  audit_signer_ = std::move(signer);
  auto log = audit::Log::open(dir, audit_signer_.get(),
                              {.checkpoint_every = checkpoint_every, .sync_each = false});
  if (!log) return std::unexpected(log.error());
  audit_log_.emplace(std::move(*log));
  return {};
}

Result<void> SharedStore::flush_audit() {
  if (!audit_log_) return {};
  return audit_log_->flush();
}

Result<std::optional<audit::LogSnapshot>> SharedStore::audit_snapshot() {
  if (!audit_log_) return std::optional<audit::LogSnapshot>();
  if (auto ok = audit_log_->flush(); !ok) return std::unexpected(ok.error());
  auto s = audit::snapshot(audit_log_->dir());
  if (!s) return std::unexpected(s.error());
  return std::optional<audit::LogSnapshot>(std::move(*s));
}

}  // namespace ironseal::fleet
