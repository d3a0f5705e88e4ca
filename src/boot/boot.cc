// Portable: see boot.h. No heap, no exceptions, no OS calls.
#include "boot/boot.h"

#include "boot/otp_map.h"
#include "core/ct.h"

namespace ironseal::boot {
namespace {

void sha256_chain(image::CryptoBackend& crypto, const std::uint8_t (&prev)[32],
                  const std::uint8_t* extra, std::size_t extra_len, const std::uint8_t* digest,
                  std::size_t digest_len, std::uint8_t (&out)[32]) {
  std::uint8_t tmp[32];
  crypto.hash_begin(image::HashKind::kSha256);
  crypto.hash_update(prev, 32);
  if (extra_len != 0) crypto.hash_update(extra, extra_len);
  crypto.hash_update(digest, digest_len);
  crypto.hash_finish(tmp);
  for (int i = 0; i < 32; ++i) out[i] = tmp[i];
}

image::VerifyRequest request(Device& d, const TrustAnchors& anchors,
                             const image::ImageSource& source,
                             const image::RegionDigest* prehashed = nullptr) {
  return image::VerifyRequest{&source,    anchors.keys,   anchors.count, d.crypto,
                              d.scratch,  d.scratch_size, prehashed};
}

FlashRegion slot_region(const Device& d, SlotId slot) {
  return FlashRegion(*d.flash, slot_offset(d.geometry, slot), d.geometry.slot_size);
}

// Fills the report for running `src` from `slot` and chains the measurement over the decision.
BootOutcome hand_over(Device& d, BootReport* r, SlotId slot, const image::ImageSource* src,
                      const BootState& st, bool trial) {
  r->slot = slot;
  r->image = src;
  r->state = st;
  const std::uint8_t decision[2] = {static_cast<std::uint8_t>(slot),
                                    trial ? std::uint8_t{1} : std::uint8_t{0}};
  sha256_chain(*d.crypto, r->stage2_measurement, decision, 2, r->info.digest,
               image::hash_size(r->info.hash_kind), r->measurement);
  return r->outcome = trial ? BootOutcome::kTrial : BootOutcome::kBoot;
}

// Points report->image at the bytes to verify and run for `slot`.
const image::ImageSource* load_slot(Device& d, SlotLoader* loader, SlotId slot,
                                    BootReport* report) {
  report->flash_image = slot_region(d, slot);
  if (loader == nullptr) return &report->flash_image;
  return loader->load(slot, report->flash_image);
}

}  // namespace

bool read_rollback_counter(const Device& d, std::uint32_t* value) {
  return d.counter != nullptr ? d.counter->read(value) : read_counter(*d.otp, value);
}

bool advance_rollback_counter(Device& d, std::uint32_t target) {
  return d.counter != nullptr ? d.counter->advance(target) : advance_counter(*d.otp, target);
}

const char* check_name(std::uint8_t check) {
  switch (check) {
    case kCheckOk: return "ok";
    case kCheckRolledBack: return "rolled_back";
    case kCheckWrongHardware: return "wrong_hardware";
    case kCheckTooLarge: return "too_large";
    case kCheckNoCounter: return "no_security_counter";
    case kCheckNoAnchors: return "no_trust_anchors";
    case kCheckDecommissioned: return "decommissioned";
    case kCheckBadSlot: return "slot_marked_bad";
    default: return image::status_name(static_cast<image::Status>(check));
  }
}

bool write_erased_region(Flash& flash, std::uint32_t offset, const std::uint8_t* data,
                         std::uint32_t length) {
  const std::uint32_t bs = flash.block_size();
  const std::uint32_t page = flash.page_size();
  // Block by block: erase it, then program it. Pages that are all 0xff are skipped (programming
  // erased bytes changes nothing); each run of other pages goes to the driver in one call.
  for (std::uint32_t b = 0; b < length; b += bs) {
    if (!flash.erase_block(offset + b)) return false;
    const std::uint32_t end = length - b < bs ? length : b + bs;
    std::uint32_t run = b;  // start of the current run of pages to program
    for (std::uint32_t p = b; p < end; p += page) {
      const std::uint32_t n = end - p < page ? end - p : page;
      bool erased = true;
      for (std::uint32_t k = 0; k < n && erased; ++k) erased = data[p + k] == 0xff;
      if (!erased) continue;
      if (p > run && !flash.program_pages(offset + run, data + run, p - run)) return false;
      run = p + n;
    }
    if (end > run && !flash.program_pages(offset + run, data + run, end - run)) return false;
  }
  return true;
}

bool FlashRegion::read(std::uint64_t offset, std::uint8_t* out, std::size_t length) const {
  if (flash_ == nullptr || offset > size_ || length > size_ - offset) return false;
  return flash_->read(offset_ + static_cast<std::uint32_t>(offset), out, length);
}

std::uint8_t check_image(Device& d, const TrustAnchors& anchors, const image::ImageSource& source,
                         image::ImageInfo* info, const image::RegionDigest* prehashed) {
  const image::Status s = image::verify_image(request(d, anchors, source, prehashed), info);
  if (s != image::Status::kOk) return static_cast<std::uint8_t>(s);
  if (info->total_size > d.geometry.slot_size) return kCheckTooLarge;
  if (!info->has_security_counter) return kCheckNoCounter;
  std::uint32_t counter = 0;
  if (!read_rollback_counter(d, &counter))
    return static_cast<std::uint8_t>(image::Status::kReadError);
  if (info->security_counter < counter) return kCheckRolledBack;
  HardwareId hw;
  if (!read_hardware_id(*d.otp, &hw)) return static_cast<std::uint8_t>(image::Status::kReadError);
  if (hw.programmed && (!info->has_vendor_uuid || !info->has_class_uuid ||
                        !ct_equal(info->vendor_uuid, hw.vendor, 16) ||
                        !ct_equal(info->class_uuid, hw.device_class, 16))) {
    return kCheckWrongHardware;
  }
  return kCheckOk;
}

BootOutcome power_on(Device& d, SlotLoader* loader, BootReport* r) {
  r->outcome = BootOutcome::kRecovery;
  r->event = BootEvent::kNone;
  r->image = nullptr;
  r->slot_reason[0] = r->slot_reason[1] = kCheckOk;

  // ---- ROM stage -------------------------------------------------------------------------------
  Lifecycle lifecycle = Lifecycle::kOpen;
  if (!read_lifecycle(*d.otp, &lifecycle)) return r->outcome = BootOutcome::kPowerLost;
  if (lifecycle == Lifecycle::kDecommissioned) {
    r->reason = kCheckDecommissioned;
    return r->outcome;
  }
  TrustAnchors anchors;
  if (!load_trust_anchors(*d.flash, d.geometry, *d.otp, *d.crypto, &anchors)) {
    return r->outcome = BootOutcome::kPowerLost;
  }
  if (anchors.count == 0) {
    r->reason = kCheckNoAnchors;
    return r->outcome;
  }
  const FlashRegion stage2(*d.flash, d.geometry.stage2_offset, d.geometry.stage2_size);
  image::ImageInfo stage2_info;
  const image::Status s2 = image::verify_image(request(d, anchors, stage2), &stage2_info);
  if (s2 != image::Status::kOk) {
    r->reason = static_cast<std::uint8_t>(s2);
    return r->outcome;
  }
  r->stage2_trusted = true;
  const std::uint8_t zeros[32] = {};
  sha256_chain(*d.crypto, zeros, nullptr, 0, stage2_info.digest,
               image::hash_size(stage2_info.hash_kind), r->stage2_measurement);

  // ---- Stage-2 ---------------------------------------------------------------------------------
  BootState st;
  bool found = false;
  if (!load_state(*d.flash, d.geometry, &st, &found) ||
      !read_rollback_counter(d, &r->otp_counter)) {
    return r->outcome = BootOutcome::kPowerLost;
  }
  if (st.pending != kNoSlot && st.pending == static_cast<std::uint8_t>(st.primary)) {
    st.pending = kNoSlot;  // inconsistent (forged or corrupt) state: there is nothing to try
  }

  if (st.pending != kNoSlot) {
    const SlotId p = static_cast<SlotId>(st.pending);
    std::uint8_t reason = kCheckOk;
    if (st.attempts_left == 0) {
      st.last_event = BootEvent::kRevertedUnconfirmed;
    } else {
      const image::ImageSource* src = load_slot(d, loader, p, r);
      reason = src == nullptr ? static_cast<std::uint8_t>(image::Status::kReadError)
                              : check_image(d, anchors, *src, &r->info);
      if (reason == kCheckOk) {
        // Write the used attempt down before the trial runs: a crash in the trial counts.
        st.attempts_left = static_cast<std::uint8_t>(st.attempts_left - 1);
        st.last_event = BootEvent::kTrialStarted;
        st.image_status = 0;
        ++st.boot_count;
        if (!store_state(*d.flash, d.geometry, &st)) return r->outcome = BootOutcome::kPowerLost;
        r->event = BootEvent::kTrialStarted;
        return hand_over(d, r, p, src, st, true);
      }
      st.last_event = BootEvent::kRevertedInvalid;
    }
    r->slot_reason[static_cast<int>(p)] = reason;
    st.bad[static_cast<int>(p)] = 1;
    st.pending = kNoSlot;
    st.attempts_left = 0;
    st.image_status = reason;
    ++st.revert_count;
    if (!store_state(*d.flash, d.geometry, &st)) return r->outcome = BootOutcome::kPowerLost;
    r->event = st.last_event;
    r->reason = reason;
  }

  const SlotId primary = st.primary;
  std::uint8_t primary_reason = kCheckOk;
  const SlotId candidates[2] = {primary, other(primary)};
  for (SlotId candidate : candidates) {
    std::uint8_t reason = kCheckBadSlot;
    const image::ImageSource* src = nullptr;
    if (st.bad[static_cast<int>(candidate)] == 0) {
      src = load_slot(d, loader, candidate, r);
      reason = src == nullptr ? static_cast<std::uint8_t>(image::Status::kReadError)
                              : check_image(d, anchors, *src, &r->info);
    }
    if (reason != kCheckOk) {
      if (candidate == primary) primary_reason = reason;
      r->slot_reason[static_cast<int>(candidate)] = reason;
      r->reason = reason;
      continue;
    }
    if (candidate != primary) {
      st.bad[static_cast<int>(primary)] = 1;
      st.primary = candidate;
      st.last_event = BootEvent::kPrimaryInvalid;
      st.image_status = primary_reason;
      ++st.boot_count;
      if (!store_state(*d.flash, d.geometry, &st)) return r->outcome = BootOutcome::kPowerLost;
      r->event = BootEvent::kPrimaryInvalid;
      r->reason = primary_reason;
    }
    // The confirmed image defines the floor: raise the fused counter to its security counter
    // (completes an advance a power cut interrupted during confirmation).
    if (r->info.security_counter > r->otp_counter) {
      if (!advance_rollback_counter(d, r->info.security_counter) ||
          !read_rollback_counter(d, &r->otp_counter)) {
        return r->outcome = BootOutcome::kPowerLost;
      }
    }
    return hand_over(d, r, candidate, src, st, false);
  }
  r->image = nullptr;
  r->state = st;
  return r->outcome = BootOutcome::kRecovery;
}

InstallResult install_begin(Device& d, InstallSession* session, std::uint8_t* reason) {
  *reason = kCheckOk;
  // Anchors a caller already loaded (to check the image first) are reused.
  if (session->anchors.count == 0 &&
      !load_trust_anchors(*d.flash, d.geometry, *d.otp, *d.crypto, &session->anchors)) {
    return InstallResult::kPowerLost;
  }
  if (session->anchors.count == 0) {
    *reason = kCheckNoAnchors;
    return InstallResult::kRefused;
  }
  if (d.scratch_size < 2u * d.flash->page_size()) {
    *reason = static_cast<std::uint8_t>(image::Status::kReadError);
    return InstallResult::kRefused;
  }
  BootState st;
  bool found = false;
  if (!load_state(*d.flash, d.geometry, &st, &found)) return InstallResult::kPowerLost;
  session->slot = other(st.primary);
  if (st.pending != kNoSlot) {
    // Never leave a pending mark on a slot that is about to be half rewritten.
    st.pending = kNoSlot;
    st.attempts_left = 0;
    st.last_event = BootEvent::kInstallAborted;
    if (!store_state(*d.flash, d.geometry, &st)) return InstallResult::kPowerLost;
  }
  return InstallResult::kOk;
}

InstallResult install_write(Device& d, const InstallSession& session, std::uint32_t offset,
                            const std::uint8_t* data, std::uint32_t length) {
  const std::uint32_t bs = d.geometry.block_size;
  if (offset % bs != 0 || offset > d.geometry.slot_size || length > d.geometry.slot_size - offset) {
    return InstallResult::kRefused;
  }
  return write_erased_region(*d.flash, slot_offset(d.geometry, session.slot) + offset, data, length)
             ? InstallResult::kOk
             : InstallResult::kPowerLost;
}

InstallResult install_finish(Device& d, const InstallSession& session,
                             const std::uint8_t* expected_digest, std::uint8_t attempts,
                             InstallReport* r, const image::RegionDigest* readback) {
  r->slot = session.slot;
  if (attempts == 0) {
    r->reason = static_cast<std::uint8_t>(image::Status::kReadError);
    return r->result = InstallResult::kRefused;
  }
  // Verify in place, as the bootloader will, and make sure it is the image we were given.
  const FlashRegion written = slot_region(d, session.slot);
  r->reason = check_image(d, session.anchors, written, &r->info, readback);
  if (r->reason != kCheckOk ||
      (expected_digest != nullptr &&
       !ct_equal(r->info.digest, expected_digest, image::hash_size(r->info.hash_kind)))) {
    return r->result = InstallResult::kVerifyAfterWrite;
  }
  BootState st;
  bool found = false;
  if (!load_state(*d.flash, d.geometry, &st, &found)) return r->result = InstallResult::kPowerLost;
  st.pending = static_cast<std::uint8_t>(session.slot);
  st.attempts_left = attempts;
  st.bad[static_cast<int>(session.slot)] = 0;
  st.last_event = BootEvent::kInstalled;
  st.image_status = 0;
  if (!store_state(*d.flash, d.geometry, &st)) return r->result = InstallResult::kPowerLost;
  return r->result = InstallResult::kOk;
}

InstallResult install(Device& d, const image::ImageSource& source, std::uint8_t attempts,
                      InstallReport* r) {
  r->result = InstallResult::kRefused;
  r->blocks_written = 0;
  r->blocks_skipped = 0;
  InstallSession session;
  std::uint8_t reason = kCheckOk;
  // Check the image before anything changes on flash.
  if (!load_trust_anchors(*d.flash, d.geometry, *d.otp, *d.crypto, &session.anchors)) {
    return r->result = InstallResult::kPowerLost;
  }
  r->reason = session.anchors.count == 0 ? static_cast<std::uint8_t>(kCheckNoAnchors)
                                         : check_image(d, session.anchors, source, &r->info);
  if (r->reason != kCheckOk) return r->result;
  const image::ImageInfo expected = r->info;
  if (const InstallResult b = install_begin(d, &session, &reason); b != InstallResult::kOk) {
    r->reason = reason;
    return r->result = b;
  }
  r->slot = session.slot;

  const std::uint32_t base = slot_offset(d.geometry, session.slot);
  const std::uint32_t size = static_cast<std::uint32_t>(expected.total_size);
  const std::uint32_t bs = d.geometry.block_size;
  const std::uint32_t page = d.flash->page_size();
  std::uint8_t* want = d.scratch;
  std::uint8_t* have = d.scratch + page;
  for (std::uint32_t off = 0; off < size; off += bs) {
    const std::uint32_t len = size - off < bs ? size - off : bs;
    bool same = true;
    for (std::uint32_t p = 0; p < len && same; p += page) {
      const std::uint32_t n = len - p < page ? len - p : page;
      if (!source.read(off + p, want, n)) return r->result = InstallResult::kRefused;
      if (!d.flash->read(base + off + p, have, n)) return r->result = InstallResult::kPowerLost;
      same = ct_equal(want, have, n);
    }
    if (same) {  // written before an interruption: resume after it
      ++r->blocks_skipped;
      continue;
    }
    // One block at a time through scratch: read it page-wise into the page buffer and write.
    if (!d.flash->erase_block(base + off)) return r->result = InstallResult::kPowerLost;
    for (std::uint32_t p = 0; p < len; p += page) {
      const std::uint32_t n = len - p < page ? len - p : page;
      if (!source.read(off + p, want, n)) return r->result = InstallResult::kRefused;
      bool erased = true;
      for (std::uint32_t k = 0; k < n && erased; ++k) erased = want[k] == 0xff;
      if (erased) continue;
      if (!d.flash->program(base + off + p, want, n)) return r->result = InstallResult::kPowerLost;
    }
    ++r->blocks_written;
  }
  const std::uint32_t written = r->blocks_written;
  const std::uint32_t skipped = r->blocks_skipped;
  install_finish(d, session, expected.digest, attempts, r);
  r->blocks_written = written;
  r->blocks_skipped = skipped;
  return r->result;
}

ConfirmResult confirm(Device& d, SlotId running) {
  TrustAnchors anchors;
  BootState st;
  bool found = false;
  if (!load_trust_anchors(*d.flash, d.geometry, *d.otp, *d.crypto, &anchors) ||
      !load_state(*d.flash, d.geometry, &st, &found)) {
    return ConfirmResult::kPowerLost;
  }
  const bool pending = st.pending == static_cast<std::uint8_t>(running);
  const bool trial = pending && st.last_event == BootEvent::kTrialStarted;
  const bool confirmed =
      st.pending == kNoSlot && st.primary == running && st.bad[static_cast<int>(running)] == 0;
  if (pending && !trial) return ConfirmResult::kNotInTrial;
  if (!trial && !confirmed) return ConfirmResult::kNotRunning;
  const FlashRegion slot = slot_region(d, running);
  image::ImageInfo info;
  if (check_image(d, anchors, slot, &info) != kCheckOk) return ConfirmResult::kRefused;
  if (trial) {
    st.primary = running;
    st.pending = kNoSlot;
    st.attempts_left = 0;
    st.bad[static_cast<int>(running)] = 0;
    st.last_event = BootEvent::kConfirmed;
    st.image_status = 0;
    // The state first, the fuses second: a cut in between leaves a confirmed image whose counter
    // the next boot raises; the other order could fuse a counter no confirmed image satisfies.
    if (!store_state(*d.flash, d.geometry, &st)) return ConfirmResult::kPowerLost;
  }
  if (!advance_rollback_counter(d, info.security_counter)) return ConfirmResult::kPowerLost;
  return trial ? ConfirmResult::kConfirmed : ConfirmResult::kAlreadyConfirmed;
}

}  // namespace ironseal::boot
