// `ironseal device ...`: a simulated device (a directory holding flash.img, otp.bin and
// device.json) with the real boot core: init (factory), boot (one power-on), install, confirm,
// status, run (several power cycles). Fault injection (--power-cut-after, --torn) exists for the
// simulation only, so that anyone can replay a cut point and watch the device recover.
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "agent/device_status.h"
#include "agent/update.h"
#include "boot/exec.h"
#include "boot/host_device.h"
#include "boot/otp_map.h"
#include "cli.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "delivery/installer.h"
#include "image/sign.h"
#include "progress.h"
#include "tpm/esys.h"

namespace ironseal::cli {
namespace {

using boot::BootOutcome;
using boot::SlotId;

struct DeviceArgs {
  std::string dir;
  std::vector<std::string> root_keys;
  std::string stage2;
  std::string firmware;
  std::string image;
  std::string chunk_index;
  std::string index_sha256;
  std::string vid;
  std::string cid;
  std::string serial;
  std::string hardware_id;
  std::string image_root;
  std::string director_root;
  std::string slot;
  std::uint32_t slot_size = 4 * 1024 * 1024;
  std::uint32_t block_size = 4096;
  std::uint32_t page_size = 256;
  std::uint32_t attempts = 3;
  std::uint32_t boots = 1;
  std::int64_t power_cut_after = -1;
  bool torn = false;
  bool json = false;
  bool no_exec = false;
  bool tpm = false;
  std::string rollback_counter = "otp";
  std::string nonce;
  std::string out;
};

std::string hex32(const std::uint8_t (&d)[32]) {
  return to_hex(ByteView(d, 32));
}
std::string reason_text(std::uint8_t r) {
  return boot::check_name(r);
}

void arm_faults(const DeviceArgs& a, boot::HostDevice& d) {
  if (a.power_cut_after >= 0)
    d.faults().cut_after(static_cast<std::uint64_t>(a.power_cut_after), a.torn);
}

Error power_cut_error(boot::HostDevice& d) {
  return Error{ErrorCode::kIo, "POWER CUT (simulated) after " +
                                   std::to_string(d.faults().operations() - 1) +
                                   " flash/OTP operations; the device keeps what landed"};
}

Result<nlohmann::json> status_json(boot::HostDevice& hd) { return agent::device_status(hd); }

nlohmann::json boot_json(const boot::BootReport& r) {
  const char* outcome = r.outcome == BootOutcome::kBoot       ? "boot"
                        : r.outcome == BootOutcome::kTrial    ? "trial"
                        : r.outcome == BootOutcome::kRecovery ? "recovery"
                                                              : "power_lost";
  nlohmann::json j = {{"outcome", outcome},
                      {"stage2_trusted", r.stage2_trusted},
                      {"event", boot::boot_event_name(r.event)},
                      {"reason", reason_text(r.reason)},
                      {"otp_counter", r.otp_counter}};
  if (r.stage2_trusted) j["stage2_measurement"] = hex32(r.stage2_measurement);
  if (r.outcome == BootOutcome::kBoot || r.outcome == BootOutcome::kTrial) {
    j["slot"] = std::string(1, boot::slot_name(r.slot));
    j["version"] = image::format_version(r.info.header.version);
    j["security_counter"] = r.info.security_counter;
    j["measurement"] = hex32(r.measurement);
  }
  return j;
}

void print_boot(const boot::BootReport& r) {
  if (!r.stage2_trusted) {
    std::cout << "ROM: stage-2 NOT trusted: " << reason_text(r.reason) << "; nothing runs\n";
    return;
  }
  std::cout << "ROM: stage-2 verified against the OTP root-key hashes (measurement "
            << hex32(r.stage2_measurement).substr(0, 16) << "...)\n";
  if (r.event == boot::BootEvent::kRevertedUnconfirmed) {
    std::cout << "stage-2: REVERT: the trial image was not confirmed within its attempts\n";
  } else if (r.event == boot::BootEvent::kRevertedInvalid) {
    std::cout << "stage-2: REVERT: the pending image failed verification: " << reason_text(r.reason)
              << "\n";
  } else if (r.event == boot::BootEvent::kPrimaryInvalid) {
    std::cout << "stage-2: the confirmed slot failed verification (" << reason_text(r.reason)
              << "); falling back to the other slot\n";
  }
  if (r.outcome == BootOutcome::kRecovery) {
    std::cout << "stage-2: RECOVERY: no slot holds an image this device may run (last refusal: "
              << reason_text(r.reason) << "); nothing runs\n";
    return;
  }
  if (r.outcome == BootOutcome::kPowerLost) return;
  std::cout << "stage-2: " << (r.outcome == BootOutcome::kTrial ? "TRIAL boot" : "boot")
            << " of slot " << boot::slot_name(r.slot) << ": version "
            << image::format_version(r.info.header.version) << ", security counter "
            << r.info.security_counter << " (OTP counter " << r.otp_counter << ")";
  if (r.outcome == BootOutcome::kTrial) {
    std::cout << ", " << static_cast<int>(r.state.attempts_left)
              << " attempt(s) left after this one";
  }
  std::cout << "\nstage-2: measured boot digest " << hex32(r.measurement) << "\n";
}

// One power-on; saves what it changed. `loader` keeps the verified copy for the exec.
Result<boot::BootReport> power_on_once(const DeviceArgs& a, boot::HostDevice& hd,
                                       boot::RamLoader& loader) {
  boot::BootReport r;
  boot::power_on(hd.device(), &loader, &r);
  if (auto saved = boot::save_device(a.dir, hd); !saved) return std::unexpected(saved.error());
  if (auto m = boot::measure_boot_into_tpm(hd, r); !m) return std::unexpected(m.error());
  return r;
}

std::vector<std::string> firmware_argv(const DeviceArgs& a, const boot::BootReport& r) {
  return {"plc-runtime",
          "--device",
          a.dir,
          "--slot",
          std::string(1, boot::slot_name(r.slot)),
          "--trial",
          r.outcome == BootOutcome::kTrial ? "1" : "0",
          "--measurement",
          hex32(r.measurement),
          "--version",
          image::format_version(r.info.header.version)};
}

Result<void> do_init(const DeviceArgs& a) {
  if (std::filesystem::exists(std::filesystem::path(a.dir) / "device.json")) {
    return fail(ErrorCode::kInvalidArgument, a.dir,
                " already holds a device; refusing to overwrite it");
  }
  boot::DeviceConfig config;
  config.slot_size = a.slot_size;
  config.block_size = a.block_size;
  config.serial = a.serial;
  config.hardware_id = a.hardware_id;
  config.page_size = a.page_size;
  config.trial_attempts = static_cast<std::uint8_t>(a.attempts);
  if (a.rollback_counter != "otp" && a.rollback_counter != "tpm") {
    return fail(ErrorCode::kInvalidArgument, "--rollback-counter is otp or tpm");
  }
  config.tpm_counter = a.rollback_counter == "tpm";
  config.tpm = a.tpm || config.tpm_counter;
  if (a.attempts == 0 || a.attempts > 255) {
    return fail(ErrorCode::kInvalidArgument, "--attempts must be 1..255");
  }
  boot::Provisioning p;
  for (const auto& k : a.root_keys) {
    auto key = crypto::PublicKey::load(k);
    if (!key) return std::unexpected(key.error());
    p.root_keys.push_back(*key);
  }
  auto stage2 = read_file(a.stage2);
  if (!stage2) return std::unexpected(stage2.error());
  auto firmware = read_file(a.firmware);
  if (!firmware) return std::unexpected(firmware.error());
  p.stage2_image = std::move(*stage2);
  p.firmware_image = std::move(*firmware);
  if (!a.vid.empty()) {
    auto vid = image::parse_uuid(a.vid, image::kUuidNamespaceDns);
    if (!vid) return std::unexpected(vid.error());
    p.vendor_uuid = *vid;
    auto cid = image::parse_uuid(a.cid, *vid);
    if (!cid) return std::unexpected(cid.error());
    p.class_uuid = *cid;
  }
  if (auto r = boot::create_device_dir(a.dir, config); !r) return r;
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  if (auto r = boot::provision(**hd, p); !r) {
    // A half-made device must not be mistaken for a good one: remove exactly what init created
    // (and the directory only if that leaves it empty).
    std::error_code ec;
    for (const char* f : {"device.json", "flash.img", "otp.bin", "ak.pub.pem"}) {
      std::filesystem::remove(std::filesystem::path(a.dir) / f, ec);
    }
    std::filesystem::remove(a.dir, ec);
    if (config.tpm_counter && (*hd)->tpm()) {
      // The counter init defined belongs to no device: give the TPM back its handles.
      (*hd)->device().counter = nullptr;
      if (auto u = tpm::NvCounter::undefine_counter(*(*hd)->tpm(), config.tpm_counter_index); !u) {
        return fail(r.error().code, r.error().message,
                    "; and the TPM counter could not be "
                    "removed: ",
                    u.error().message);
      }
    }
    return r;
  }
  if (auto r = boot::save_device(a.dir, **hd); !r) return r;
  if ((*hd)->tpm()) {
    // The attestation key is made with the device; its public half is what the factory records
    // for verifiers (ironseal attest verify --ak).
    auto ak = tpm::ensure_attestation_key(*(*hd)->tpm());
    if (!ak) return std::unexpected(ak.error());
    if (auto w = write_file_atomic(std::filesystem::path(a.dir) / "ak.pub.pem", as_bytes(*ak));
        !w) {
      return w;
    }
  }
  if (!a.image_root.empty()) {
    if (auto r = agent::install_update_roots(a.dir, a.image_root, a.director_root); !r) return r;
  }
  if (a.json) {
    auto st = status_json(**hd);
    if (!st) return std::unexpected(st.error());
    print_json(*st);
  } else {
    std::cout << "device " << a.dir << ": " << p.root_keys.size()
              << " root key hash(es) fused, lifecycle secured, stage-2 and firmware written to "
                 "slot A (confirmed)\n";
    if ((*hd)->tpm()) {
      std::cout << "TPM: measured boot into PCR " << tpm::kMeasuredBootPcr
                << ", attestation key at 0x81000010 (public key in " << a.dir
                << "/ak.pub.pem), anti-rollback counter in "
                << (config.tpm_counter ? "a TPM NV counter" : "OTP fuses") << "\n";
    }
  }
  return {};
}

Result<void> do_boot(const DeviceArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  arm_faults(a, **hd);
  boot::RamLoader loader;
  auto r = power_on_once(a, **hd, loader);
  if (!r) return std::unexpected(r.error());
  if (a.json)
    print_json(boot_json(*r));
  else
    print_boot(*r);
  if (r->outcome == BootOutcome::kPowerLost) return std::unexpected(power_cut_error(**hd));
  if (r->outcome == BootOutcome::kRecovery) {
    return fail(ErrorCode::kNotTrusted, "device is in recovery: ", reason_text(r->reason));
  }
  if (a.no_exec) return {};
  auto fd = boot::sealed_body(loader.bytes(), r->info);
  if (!fd) return std::unexpected(fd.error());
  std::cout << "stage-2: executing the verified in-memory copy (" << r->info.header.image_size
            << " bytes, sealed memfd)\n"
            << std::flush;
  return std::unexpected(boot::exec_sealed(*fd, firmware_argv(a, *r)));
}

Result<void> do_run(const DeviceArgs& a) {
  std::uint64_t ops_before = 0;
  bool armed = a.power_cut_after >= 0;
  for (std::uint32_t i = 1; i <= a.boots; ++i) {
    auto hd = boot::load_device(a.dir);
    if (!hd) return std::unexpected(hd.error());
    if (armed) {  // the cut counts operations over the whole run
      const std::int64_t left = a.power_cut_after - static_cast<std::int64_t>(ops_before);
      if (left >= 0) (*hd)->faults().cut_after(static_cast<std::uint64_t>(left), a.torn);
    }
    boot::RamLoader loader;
    auto r = power_on_once(a, **hd, loader);
    if (!r) return std::unexpected(r.error());
    ops_before += (*hd)->faults().operations();
    std::cout << "== power-on " << i << "\n";
    print_boot(*r);
    if (r->outcome == BootOutcome::kPowerLost) {
      std::cout << "POWER CUT (simulated) during this boot; powering on again\n";
      armed = false;
      continue;
    }
    if (r->outcome == BootOutcome::kRecovery) {
      return fail(ErrorCode::kNotTrusted, "device is in recovery: ", reason_text(r->reason));
    }
    auto fd = boot::sealed_body(loader.bytes(), r->info);
    if (!fd) return std::unexpected(fd.error());
    std::cout << std::flush;
    const pid_t pid = ::fork();
    if (pid < 0) return fail(ErrorCode::kIo, "fork failed");
    if (pid == 0) {
      const Error e = boot::exec_sealed(*fd, firmware_argv(a, *r));
      std::cerr << "ironseal: " << e.message << "\n";
      ::_exit(127);
    }
    ::close(*fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::cout << "firmware exited with " << code
              << (code == 0 ? "" : " (not confirmed; the bootloader will count the attempt)")
              << "\n";
  }
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  auto st = status_json(**hd);
  if (!st) return std::unexpected(st.error());
  std::cout << "== after " << a.boots << " power-on(s): confirmed slot "
            << (*st)["confirmed_slot"].get<std::string>() << ", last event "
            << (*st)["last_event"].get<std::string>() << ", "
            << ((*st)["rollback_counter"] == "tpm" ? "TPM" : "OTP") << " counter "
            << (*st)["otp_counter"] << "\n";
  return {};
}

Result<void> do_install_chunked(const DeviceArgs& a, boot::HostDevice& hd) {
  // Verify-before-write holds only if the index itself is authenticated: an index taken on its
  // own word would "prove" whatever chunks it lists. The operator states its SHA-256 (from the
  // signed target metadata, or `ironseal image chunk --json` over an image already verified).
  auto expected = from_hex(a.index_sha256);
  if (!expected || expected->size() != 32) {
    return fail(ErrorCode::kInvalidArgument,
                "--index-sha256 must be the 64-hex-digit SHA-256 of the chunk index, as the "
                "image's signed metadata states it");
  }
  delivery::Sha256 index_digest;
  std::copy(expected->begin(), expected->end(), index_digest.begin());
  auto encoded = read_file(a.chunk_index);
  if (!encoded) return std::unexpected(encoded.error());
  auto index = delivery::authenticate_chunk_index(
      *encoded, index_digest, "--index-sha256 (the chunk index " + a.chunk_index + ")");
  if (!index) return std::unexpected(index.error());
  auto source = delivery::FileChunkSource::open(a.image);
  if (!source) return std::unexpected(source.error());
  delivery::ChunkedInstallOptions opt;
  opt.journal = std::filesystem::path(a.dir) / "install.journal";
  opt.progress = InstallProgressLine();
  auto r = delivery::install_chunked(hd, *index, *source, opt);
  if (auto saved = boot::save_device(a.dir, hd); !saved) return saved;
  if (!r) return std::unexpected(r.error());
  const auto& t = r->totals;
  if (a.json) {
    print_json({{"result", "installed"},
                {"slot", std::string(1, boot::slot_name(r->slot))},
                {"image_size", t.image_size},
                {"downloaded", t.downloaded},
                {"copied_from_active_slot", t.local},
                {"resumed", t.resumed}});
  } else {
    std::cout << "installed " << a.image << " into slot " << boot::slot_name(r->slot) << ": "
              << t.downloaded << " bytes read from the source, " << t.local
              << " copied from the active slot, " << t.resumed
              << " already in place; verified in place, pending a trial boot\n";
  }
  return {};
}

Result<void> do_install(const DeviceArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  if (!a.chunk_index.empty()) {
    if (a.index_sha256.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "index_required: --chunk-index needs --index-sha256: a chunk index is trusted only through the "
                  "SHA-256 that signed metadata states for it (ironseal image chunk --json prints "
                  "it for an image you have verified); without it no chunk would be proven");
    }
    arm_faults(a, **hd);
    return do_install_chunked(a, **hd);
  }
  auto bytes = read_file(a.image);
  if (!bytes) return std::unexpected(bytes.error());
  arm_faults(a, **hd);
  boot::InstallReport r;
  const image::MemorySource src(bytes->data(), bytes->size());
  boot::install((*hd)->device(), src, (*hd)->config().trial_attempts, &r);
  if (auto saved = boot::save_device(a.dir, **hd); !saved) return saved;
  const char* slot = r.slot == SlotId::kA ? "A" : "B";
  if (a.json) {
    print_json(
        {{"result", r.result == boot::InstallResult::kOk          ? "installed"
                    : r.result == boot::InstallResult::kRefused   ? "refused"
                    : r.result == boot::InstallResult::kPowerLost ? "power_lost"
                                                                  : "verify_after_write_failed"},
         {"reason", reason_text(r.reason)},
         {"slot", slot},
         {"blocks_written", r.blocks_written},
         {"blocks_skipped", r.blocks_skipped}});
  }
  switch (r.result) {
    case boot::InstallResult::kOk:
      if (!a.json) {
        std::cout << "installed " << a.image << " into slot " << slot << " (" << r.blocks_written
                  << " blocks written, " << r.blocks_skipped << " already in place), verified in "
                  << "place, pending a trial boot with "
                  << static_cast<int>((*hd)->config().trial_attempts) << " attempt(s)\n";
      }
      return {};
    case boot::InstallResult::kRefused:
      return fail(ErrorCode::kNotTrusted, "install refused: ", reason_text(r.reason),
                  "; the device was not changed");
    case boot::InstallResult::kPowerLost: return std::unexpected(power_cut_error(**hd));
    case boot::InstallResult::kVerifyAfterWrite:
      return fail(ErrorCode::kIo, "slot ", slot,
                  " does not verify after writing: ", reason_text(r.reason));
  }
  return {};
}

Result<void> do_confirm(const DeviceArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  boot::BootState st;
  bool found = false;
  if (!boot::load_state((*hd)->flash(), (*hd)->geometry(), &st, &found)) {
    return fail(ErrorCode::kIo, "cannot read boot state");
  }
  SlotId slot = st.pending != boot::kNoSlot ? static_cast<SlotId>(st.pending) : st.primary;
  if (!a.slot.empty()) {
    if (a.slot != "A" && a.slot != "B")
      return fail(ErrorCode::kInvalidArgument, "--slot is A or B");
    slot = a.slot == "A" ? SlotId::kA : SlotId::kB;
  }
  arm_faults(a, **hd);
  const auto r = boot::confirm((*hd)->device(), slot);
  if (auto saved = boot::save_device(a.dir, **hd); !saved) return saved;
  switch (r) {
    case boot::ConfirmResult::kConfirmed:
      std::cout << "slot " << boot::slot_name(slot)
                << " confirmed; anti-rollback counter raised to its security counter\n";
      return {};
    case boot::ConfirmResult::kAlreadyConfirmed:
      std::cout << "slot " << boot::slot_name(slot) << " was already confirmed\n";
      return {};
    case boot::ConfirmResult::kNotInTrial:
      return fail(ErrorCode::kNotTrusted, "not_in_trial: slot ",
                  std::string(1, boot::slot_name(slot)),
                  " is pending but has not started its trial boot; only the image that is running "
                  "its trial can be confirmed (boot it first: ironseal device boot)");
    case boot::ConfirmResult::kNotRunning:
      return fail(ErrorCode::kNotTrusted, "slot ", std::string(1, boot::slot_name(slot)),
                  " is neither on trial nor confirmed");
    case boot::ConfirmResult::kRefused:
      return fail(ErrorCode::kNotTrusted, "slot ", std::string(1, boot::slot_name(slot)),
                  " no longer verifies; not confirmed");
    case boot::ConfirmResult::kPowerLost: return std::unexpected(power_cut_error(**hd));
  }
  return {};
}

// A quote of the measured-boot PCR over the verifier's nonce, as the document that
// `ironseal attest verify` reads.
Result<void> do_attest(const DeviceArgs& a) {
  auto nonce = from_hex(a.nonce);
  if (!nonce || nonce->empty() || nonce->size() > 64) {
    return fail(ErrorCode::kInvalidArgument, "--nonce must be 1 to 64 bytes in hex");
  }
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  const auto& tpm = (*hd)->tpm();
  if (!tpm) {
    return fail(ErrorCode::kInvalidArgument, a.dir,
                " has no TPM (provision it with `ironseal device init --tpm`)");
  }
  auto ak = tpm::ensure_attestation_key(*tpm);  // first use on a device made without one
  if (!ak) return std::unexpected(ak.error());
  auto q = tpm::quote(*tpm, *nonce);
  if (!q) return std::unexpected(q.error());
  const nlohmann::json doc = {
      {"format", "ironseal-tpm-quote-1"},
      {"pcr", q->pcr},
      {"bank", "sha256"},
      {"nonce", to_hex(*nonce)},
      {"attest", to_hex(q->attest)},
      {"signature", to_hex(q->signature)},
      {"pcr_value", to_hex(ByteView(q->pcr_value.data(), q->pcr_value.size()))}};
  if (!a.out.empty()) {
    if (auto w = write_file_atomic(a.out, as_bytes(doc.dump(2) + "\n")); !w) return w;
  }
  if (a.json) {
    print_json(doc);
  } else {
    std::cout << "TPM quote of PCR " << q->pcr
              << " (SHA-256) = " << doc["pcr_value"].get<std::string>() << " over nonce " << a.nonce
              << ", signed by the attestation key at 0x81000010";
    if (!a.out.empty()) std::cout << "; written to " << a.out;
    std::cout << "\n";
  }
  return {};
}

Result<void> do_status(const DeviceArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  auto st = status_json(**hd);
  if (!st) return std::unexpected(st.error());
  if (a.json) {
    print_json(*st);
    return {};
  }
  const auto& j = *st;
  std::cout << "lifecycle " << j["lifecycle"].get<std::string>() << ", " << j["trust_anchors"]
            << " trust anchor(s), " << (j["rollback_counter"] == "tpm" ? "TPM NV" : "OTP")
            << " anti-rollback counter " << j["otp_counter"] << "\n"
            << "boot state #" << j["boot_state_sequence"] << ": confirmed slot "
            << j["confirmed_slot"].get<std::string>() << ", pending "
            << (j["pending_slot"].is_null()
                    ? std::string("none")
                    : j["pending_slot"].get<std::string>() + " (" +
                          std::to_string(j["attempts_left"].get<int>()) + " attempt(s) left)")
            << "\nlast event " << j["last_event"].get<std::string>() << " (reason "
            << j["last_reason"].get<std::string>() << "), " << j["revert_count"] << " revert(s)\n";
  for (const auto& s : j["slots"]) {
    std::cout << "slot " << s["slot"].get<std::string>() << ": "
              << (s.contains("version") ? s["version"].get<std::string>() : std::string("empty"));
    if (s.contains("security_counter")) std::cout << ", security counter " << s["security_counter"];
    std::cout << ", check " << s["check"].get<std::string>()
              << (s["confirmed"].get<bool>() ? ", CONFIRMED" : "")
              << (s["pending"].get<bool>() ? ", PENDING" : "")
              << (s["bad"].get<bool>() ? ", BAD" : "") << "\n";
  }
  return {};
}

void add_fault_options(CLI::App* cmd, DeviceArgs& a) {
  cmd->add_option("--power-cut-after", a.power_cut_after,
                  "Simulation only: cut power after N flash/OTP operations")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--torn", a.torn, "Simulation only: the cut operation lands half-way");
}

}  // namespace

void register_device_commands(CLI::App& app) {
  auto a = std::make_shared<DeviceArgs>();
  CLI::App* dev = app.add_subcommand(
      "device",
      "A simulated device with the real boot chain.\n\n"
      "A device directory holds OTP fuses (otp.bin: root-key hashes, anti-rollback counter,\n"
      "lifecycle), NOR flash (flash.img: key store, stage-2, slots A and B, boot state) and\n"
      "device.json. Power-on: ROM verifies stage-2, stage-2 picks a slot, verifies it, and runs\n"
      "exactly the verified in-memory copy. An install writes the inactive slot and marks it\n"
      "pending; its first boots are trials; the firmware confirms after its health check, or\n"
      "stage-2 reverts by itself.");
  dev->require_subcommand(1);

  CLI::App* init =
      dev->add_subcommand("init", "Provision a new simulated device (the factory step).");
  init->add_option("DIR", a->dir, "Device directory to create")->required();
  init->add_option("--root-key", a->root_keys,
                   "Root public key whose hash is fused (repeatable, max 4)")
      ->required();
  init->add_option("--stage2", a->stage2, "Signed stage-2 image")->required();
  init->add_option("--firmware", a->firmware, "Signed first firmware image (goes to slot A)")
      ->required();
  init->add_option("--vid", a->vid,
                   "Vendor UUID or name to fuse as hardware identity (with --cid)");
  init->add_option("--cid", a->cid, "Device class UUID or name")->needs("--vid");
  init->add_option("--slot-size", a->slot_size, "Slot size in bytes (default 4 MiB)");
  init->add_option("--serial", a->serial,
                   "Serial number (the director addresses the device by it)");
  init->add_option("--hardware-id", a->hardware_id, "Hardware id images must be published for");
  CLI::Option* image_root =
      init->add_option("--image-root", a->image_root, "Trusted root.json of the image repository");
  CLI::Option* director_root =
      init->add_option("--director-root", a->director_root, "Trusted root.json of the director");
  image_root->needs(director_root)->needs("--serial")->needs("--hardware-id");
  director_root->needs(image_root);
  init->add_option("--block-size", a->block_size, "Flash erase block size (default 4096)");
  init->add_option("--page-size", a->page_size,
                   "Flash program page size, at most 4096 (default 256)");
  init->add_option("--attempts", a->attempts,
                   "Trial boots before an unconfirmed image reverts (default 3)");
  init->add_flag("--tpm", a->tpm,
                 "The device has a TPM 2.0 (TPM2OPENSSL_TCTI): measure each boot into PCR 16 and "
                 "create the attestation key (public key in DIR/ak.pub.pem)");
  init->add_option("--rollback-counter", a->rollback_counter,
                   "Where the anti-rollback counter lives: otp (fuses, default) or tpm (a TPM NV "
                   "counter; implies --tpm)")
      ->check(CLI::IsMember({"otp", "tpm"}));
  init->add_flag("--json", a->json, "Print the new device's status as JSON");
  set_action(init, [a] { return do_init(*a); });

  CLI::App* bootc =
      dev->add_subcommand("boot", "One power-on: ROM, stage-2, then run the firmware.");
  bootc->add_option("DIR", a->dir, "Device directory")->required();
  bootc->add_flag("--no-exec", a->no_exec, "Stop before running the firmware");
  bootc->add_flag("--json", a->json, "Print the boot decision as JSON");
  add_fault_options(bootc, *a);
  set_action(bootc, [a] { return do_boot(*a); });

  CLI::App* inst =
      dev->add_subcommand("install", "Write a signed image to the inactive slot, pending a trial.");
  inst->add_option("DIR", a->dir, "Device directory")->required();
  inst->add_option("IMAGE", a->image, "Signed image")->required();
  inst->add_option("--chunk-index", a->chunk_index,
                   "Stream the image chunk by chunk, proving each against this index "
                   "(ironseal image chunk) before writing; resumable, delta-aware");
  inst->add_option("--index-sha256", a->index_sha256,
                   "Expected SHA-256 of the chunk index (as signed metadata states it)")
      ->needs("--chunk-index");
  inst->add_flag("--json", a->json, "Print the result as JSON");
  add_fault_options(inst, *a);
  set_action(inst, [a] { return do_install(*a); });

  CLI::App* conf =
      dev->add_subcommand("confirm", "Confirm the image on trial (what healthy firmware does).");
  conf->add_option("DIR", a->dir, "Device directory")->required();
  conf->add_option("--slot", a->slot, "A or B (default: the pending slot)");
  add_fault_options(conf, *a);
  set_action(conf, [a] { return do_confirm(*a); });

  CLI::App* att = dev->add_subcommand(
      "attest",
      "Quote the measured-boot PCR over a verifier's nonce with the TPM's attestation key.\n\n"
      "The verifier checks it with `ironseal attest verify` against the attestation key recorded\n"
      "at the factory (DIR/ak.pub.pem) and the boot measurements it expects.");
  att->add_option("DIR", a->dir, "Device directory (made with device init --tpm)")->required();
  att->add_option("--nonce", a->nonce, "The verifier's challenge, 1 to 64 bytes in hex")
      ->required();
  att->add_option("--out", a->out, "Write the quote document to this file");
  att->add_flag("--json", a->json, "Print the quote document as JSON");
  set_action(att, [a] { return do_attest(*a); });

  CLI::App* stat = dev->add_subcommand(
      "status", "Slots, versions, counters, pending trial, last revert reason.");
  stat->add_option("DIR", a->dir, "Device directory")->required();
  stat->add_flag("--json", a->json, "Print as JSON");
  set_action(stat, [a] { return do_status(*a); });

  CLI::App* run =
      dev->add_subcommand("run", "Power-cycle the device N times, running the firmware each time.");
  run->add_option("DIR", a->dir, "Device directory")->required();
  run->add_option("--boots", a->boots, "Number of power-ons (default 1)");
  add_fault_options(run, *a);
  set_action(run, [a] { return do_run(*a); });
}

}  // namespace ironseal::cli
