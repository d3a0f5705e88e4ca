#include "agent/device_status.h"

#include "boot/otp_map.h"
#include "image/sign.h"

namespace ironseal::agent {
namespace {

using boot::SlotId;

nlohmann::json slot_json(boot::HostDevice& hd, const boot::TrustAnchors& anchors, SlotId slot) {
  boot::FlashRegion region(hd.flash(), boot::slot_offset(hd.geometry(), slot),
                           hd.geometry().slot_size);
  image::ImageInfo info;
  const std::uint8_t check = boot::check_image(hd.device(), anchors, region, &info);
  nlohmann::json j = {{"slot", std::string(1, boot::slot_name(slot))},
                      {"check", boot::check_name(check)}};
  image::Layout layout;
  if (image::parse_layout(region, &layout) == image::Status::kOk) {
    j["version"] = image::format_version(layout.header.version);
  }
  if (check == boot::kCheckOk || info.has_security_counter)
    j["security_counter"] = info.security_counter;
  return j;
}

}  // namespace

Result<boot::BootState> boot_state(boot::HostDevice& hd) {
  boot::Device& d = hd.device();
  boot::BootState st;
  bool found = false;
  if (!boot::load_state(*d.flash, d.geometry, &st, &found)) {
    return fail(ErrorCode::kIo, "cannot read the device's boot state");
  }
  return st;
}

Result<nlohmann::json> device_status(boot::HostDevice& hd) {
  boot::Device& d = hd.device();
  boot::TrustAnchors anchors;
  boot::BootState st;
  bool found = false;
  std::uint32_t counter = 0;
  boot::Lifecycle lifecycle;
  if (!boot::load_trust_anchors(*d.flash, d.geometry, *d.otp, *d.crypto, &anchors) ||
      !boot::load_state(*d.flash, d.geometry, &st, &found) ||
      !boot::read_rollback_counter(d, &counter) || !boot::read_lifecycle(*d.otp, &lifecycle)) {
    return fail(ErrorCode::kIo, "cannot read the device");
  }
  const char* lc = lifecycle == boot::Lifecycle::kOpen      ? "open"
                   : lifecycle == boot::Lifecycle::kSecured ? "secured"
                                                            : "decommissioned";
  nlohmann::json slots = nlohmann::json::array();
  for (SlotId s : {SlotId::kA, SlotId::kB}) {
    nlohmann::json j = slot_json(hd, anchors, s);
    j["confirmed"] = st.primary == s && st.bad[static_cast<int>(s)] == 0;
    j["pending"] = st.pending == static_cast<std::uint8_t>(s);
    j["bad"] = st.bad[static_cast<int>(s)] == 1;
    slots.push_back(j);
  }
  return nlohmann::json{
      {"lifecycle", lc},
      {"trust_anchors", anchors.count},
      {"otp_counter", counter},  // the anti-rollback counter, wherever it lives
      {"rollback_counter", d.counter != nullptr ? "tpm" : "otp"},
      {"tpm", hd.tpm() != nullptr},
      {"boot_state_found", found},
      {"boot_state_sequence", st.sequence},
      {"confirmed_slot", std::string(1, boot::slot_name(st.primary))},
      {"pending_slot",
       st.pending == boot::kNoSlot
           ? nlohmann::json(nullptr)
           : nlohmann::json(std::string(1, boot::slot_name(static_cast<SlotId>(st.pending))))},
      {"attempts_left", st.attempts_left},
      {"last_event", boot::boot_event_name(st.last_event)},
      {"last_reason", st.image_status == 0 ? "none" : boot::check_name(st.image_status)},
      {"revert_count", st.revert_count},
      {"slots", slots}};
}

}  // namespace ironseal::agent
