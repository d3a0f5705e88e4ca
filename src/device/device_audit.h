// The device's own audit trail (docs/audit.md): DEVICE_DIR/audit, a hash-chained log of what the
// device decided — every power-on's boot decision (with the refused slots' reasons), reverts,
// confirmations with the anti-rollback counter they raise. Checkpoints are signed with the device's
// identity key when that key is a file; a TPM-held identity key does not sign checkpoints yet
// (the chain still detects changes, deletions and reordering).
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "audit/log.h"
#include "boot/boot.h"
#include "core/result.h"
#include "crypto/signer.h"

namespace ironseal::boot {

class DeviceAudit {
 public:
  // Opens (creating) DEVICE_DIR/audit; fsync per record (a device appends rarely and must not
  // lose a boot decision to a power cut).
  static Result<DeviceAudit> open(const std::filesystem::path& device_dir);

  Result<void> record(const std::string& event, const std::string& outcome,
                      nlohmann::json details);
  // The audit record of a power-on: boot.<event> (boot.trial_started, boot.reverted_unconfirmed,
  // ...) or boot.ok, with outcome ok / refused (recovery) and the slots' check results.
  Result<void> record_boot(const BootReport& report);
  // boot.confirm: `slot` confirmed itself, with the anti-rollback counter it raised.
  Result<void> record_confirm(const Device& device, SlotId slot);

  bool signs_checkpoints() const { return signer_ != nullptr; }
  // A signed checkpoint now, by the identity key (kInvalidArgument when it cannot sign).
  Result<audit::Record> checkpoint();

 private:
  std::unique_ptr<crypto::Signer> signer_;
  std::unique_ptr<audit::Log> log_;
};

// DEVICE_DIR/audit.
std::filesystem::path device_audit_dir(const std::filesystem::path& device_dir);

// Opens the device's trail and records one power-on / one confirmation in it; errors name the
// trail ("device audit trail: ...").
Result<void> audit_boot(const std::filesystem::path& device_dir, const BootReport& report);
Result<void> audit_confirm(const std::filesystem::path& device_dir, const Device& device,
                           SlotId slot);
// What the device ships to its fleet server, a witness the device cannot rewrite later: the
// trail's head {"last_seq", "head"} and its latest signed checkpoint (null before the first).
Result<nlohmann::json> audit_witness(const std::filesystem::path& device_dir);
// Any other event of the device (install.*, agent.*, identity.*, backup.*, decommission.*).
Result<void> audit_event(const std::filesystem::path& device_dir, const std::string& event,
                         const std::string& outcome, nlohmann::json details);

}  // namespace ironseal::boot
