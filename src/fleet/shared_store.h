// SharedStore: the fleet service's store behind the one lock of this process, with the two things
// every part of the service needs on nearly every request: the device cache (who is registered,
// with which hardware id, and what the director lists for it) and the audit log. The store stays
// the truth; the cache is a copy, reloaded after any failed transaction (invalidate()).
//
// Thread contract: the lock (lock()) serialises every use of the store, the device cache and
// audit(); every other member function requires it held. The parts built on this (rollouts,
// device sessions, EST, operator accounts and endpoints) keep their own state under the same lock
// and have no mutex of their own, except LoginThrottle (service.h states the lock order).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "audit/log.h"
#include "audit/reader.h"
#include "core/result.h"
#include "crypto/signer.h"
#include "fleet/http_message.h"
#include "fleet/store.h"

namespace ironseal::fleet {

// What every device request needs of a registered device, kept in memory.
struct CachedDevice {
  std::string hardware_id;
  std::string assigned_target;
};

class DeviceCache {
 public:
  // Loads every device from `store` unless loaded already.
  Result<void> load(Store& store);
  // Forget the copy (a transaction that may have changed it failed); the next load() reloads.
  void invalidate() { loaded_ = false; }
  bool loaded() const { return loaded_; }

  // The cached device, or null (unknown, or the cache is not loaded).
  const CachedDevice* find(const std::string& serial) const;
  // What the director lists for `serial` as far as the cache knows ("" when unknown).
  std::string assigned_target(const std::string& serial) const;
  // Keep the copy in step with a committed change; nothing while not loaded (the load reads it).
  void put(const std::string& serial, CachedDevice device);
  void set_assigned_target(const std::string& serial, const std::string& target);

  const std::unordered_map<std::string, CachedDevice>& all() const { return devices_; }

 private:
  bool loaded_ = false;
  std::unordered_map<std::string, CachedDevice> devices_;
};

class SharedStore {
 public:
  // `clock` may be empty (then the system clock).
  SharedStore(std::unique_ptr<Store> store, Clock clock);

  [[nodiscard]] std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

  // All below: caller holds lock().
  Store& store() { return *store_; }
  DeviceCache& devices() { return devices_; }
  // Appends an audit event at now(): to the events table and, once open_audit_log() ran, to the
  // hash-chained audit trail (docs/audit.md), with the event's id. A failure of either is returned.
  Result<void> audit(const std::string& actor, const std::string& action,
                     const std::string& outcome, nlohmann::json detail);
  // The audit trail in `dir`, checkpoints signed by `signer` every `checkpoint_every` events.
  // Appends are written at once and made durable by flush_audit() (FleetService::tick).
  Result<void> open_audit_log(const std::filesystem::path& dir,
                              std::unique_ptr<crypto::Signer> signer,
                              std::uint64_t checkpoint_every);
  Result<void> flush_audit();
  // For reading the trail (GET /api/v1/audit): flushes it, so that what is read is durable, and
  // takes its snapshot (audit/reader.h), which is then read without the lock. nullopt when no trail
  // is open.
  Result<std::optional<audit::LogSnapshot>> audit_snapshot();

  // Any thread, no lock.
  std::int64_t now() const { return clock_(); }

 private:
  std::mutex mutex_;
  std::unique_ptr<Store> store_;
  Clock clock_;
  std::unique_ptr<crypto::Signer> audit_signer_;
  std::optional<audit::Log> audit_log_;
  // Process-local state, docs/architecture.md: device cache.
  DeviceCache devices_;
};

}  // namespace ironseal::fleet
