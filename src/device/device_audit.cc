#include "device/device_audit.h"

#include "core/file.h"
#include "device/identity.h"

namespace ironseal::boot {
namespace fs = std::filesystem;

fs::path device_audit_dir(const fs::path& device_dir) { return device_dir / "audit"; }

namespace {
// A device appends rarely and must not lose a boot decision to a power cut: fsync per record.
const audit::LogOptions kTrailOptions{.checkpoint_every = 64, .sync_each = true};
}  // namespace

namespace {

// The device's identity key (file or TPM, device/identity.h) as the trail's checkpoint signer:
// ECDSA P-256 over SHA-256, DER, the semantics of crypto::Signer for P-256.
class IdentitySigner final : public crypto::Signer {
 public:
  IdentitySigner(pki::KeyPair key, crypto::PublicKey pub)
      : key_(std::move(key)), public_(std::move(pub)) {}
  crypto::KeyType key_type() const override { return crypto::KeyType::kEcdsaP256; }
  const crypto::PublicKey& public_key() const override { return public_; }
  Result<Bytes> sign(ByteView message) const override { return key_.sign(message); }

 private:
  pki::KeyPair key_;
  crypto::PublicKey public_;
};

}  // namespace

Result<DeviceAudit> DeviceAudit::open(const fs::path& device_dir) {
  DeviceAudit a;
  // Checkpoints are signed by the identity key wherever it lives (a TPM key too); a device not
  // yet provisioned keeps an unsigned chain until it has one.
  // A key that cannot be used now (its TPM unreachable) delays checkpoints; it never stops the
  // device from recording: the chain alone still shows any change.
  const auto paths = pki::identity_paths(device_dir);
  if (pki::device_key_backend(paths)) {
    if (auto key = pki::load_device_key(paths)) {
      auto pub = crypto::PublicKey::from_der(key->spki_der());
      if (!pub) return fail_in(pub.error(), "device audit: identity key: ");
      a.signer_ = std::make_unique<IdentitySigner>(std::move(*key), std::move(*pub));
    }
  }
  auto log = audit::Log::open(device_audit_dir(device_dir), a.signer_.get(),
                              kTrailOptions);
  if (!log) return std::unexpected(log.error());
  a.log_ = std::make_unique<audit::Log>(std::move(*log));
  return a;
}

Result<void> DeviceAudit::record(const std::string& event, const std::string& outcome,
                                 nlohmann::json details) {
  auto r = log_->append("device", event, outcome, std::move(details));
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<void> DeviceAudit::record_boot(const BootReport& r) {
  const char* outcome = r.outcome == BootOutcome::kBoot       ? "boot"
                        : r.outcome == BootOutcome::kTrial    ? "trial"
                        : r.outcome == BootOutcome::kRecovery ? "recovery"
                                                              : "power_lost";
  nlohmann::json details = {
      {"decision", outcome},
      {"slot", std::string(1, slot_name(r.slot))},
      {"slot_a", check_name(r.slot_reason[0])},
      {"slot_b", check_name(r.slot_reason[1])},
      {"anti_rollback_counter", r.otp_counter},
      {"stage2_trusted", r.stage2_trusted}};
  if (r.outcome == BootOutcome::kRecovery) details["reason"] = check_name(r.reason);
  const std::string event = r.event == BootEvent::kNone
                                ? "boot.power_on"
                                : std::string("boot.") + boot_event_name(r.event);
  const bool refused = r.outcome == BootOutcome::kRecovery ||
                       r.event == BootEvent::kRevertedUnconfirmed ||
                       r.event == BootEvent::kRevertedInvalid ||
                       r.event == BootEvent::kPrimaryInvalid;
  return record(event, refused ? "refused" : "ok", std::move(details));
}

Result<void> DeviceAudit::record_confirm(const Device& device, SlotId slot) {
  std::uint32_t counter = 0;
  (void)read_rollback_counter(device, &counter);
  return record("boot.confirm", "ok",
                {{"slot", std::string(1, slot_name(slot))}, {"anti_rollback_counter", counter}});
}

namespace {

// Opens the device's trail and records one thing in it; errors name the trail.
template <typename Record>
Result<void> record_in_trail(const fs::path& device_dir, Record record) {
  auto trail = DeviceAudit::open(device_dir);
  if (!trail) return fail_in(trail.error(), "device audit trail: ");
  if (auto ok = record(*trail); !ok) return fail_in(ok.error(), "device audit trail: ");
  return {};
}

}  // namespace

Result<void> audit_boot(const fs::path& device_dir, const BootReport& report) {
  return record_in_trail(device_dir, [&](DeviceAudit& t) { return t.record_boot(report); });
}

Result<void> audit_confirm(const fs::path& device_dir, const Device& device, SlotId slot) {
  return record_in_trail(device_dir,
                         [&](DeviceAudit& t) { return t.record_confirm(device, slot); });
}

Result<audit::Record> DeviceAudit::checkpoint() {
  if (!signer_) {
    return fail(ErrorCode::kInvalidArgument,
                "the device has no usable identity key to sign a checkpoint (none yet, or its TPM "
                "is unreachable)");
  }
  return log_->checkpoint();
}

Result<nlohmann::json> audit_witness(const fs::path& device_dir) {
  // The head and the latest checkpoint only: no signer, so the identity key (a TPM key too) is
  // not loaded at every check-in.
  auto log = audit::Log::open(device_audit_dir(device_dir), nullptr,
                              kTrailOptions);
  if (!log) return fail_in(log.error(), "device audit trail: ");
  nlohmann::json checkpoint = nullptr;
  if (auto text = read_file(log->dir() / audit::kCheckpointFile, 64 * 1024)) {
    auto j = nlohmann::json::parse(text->begin(), text->end(), nullptr, false);
    if (!j.is_discarded()) checkpoint = std::move(j);
  }
  return nlohmann::json{
      {"last_seq", log->last_seq()}, {"head", log->head()}, {"checkpoint", checkpoint}};
}

Result<void> audit_event(const fs::path& device_dir, const std::string& event,
                         const std::string& outcome, nlohmann::json details) {
  return record_in_trail(device_dir, [&](DeviceAudit& t) {
    return t.record(event, outcome, std::move(details));
  });
}

}  // namespace ironseal::boot
