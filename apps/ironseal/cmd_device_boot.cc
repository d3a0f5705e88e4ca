// `ironseal device boot | confirm | run`: power-ons of a simulated device with the real boot core:
// ROM, stage-2, then the verified in-memory copy of the firmware runs (sealed memfd + fexecve);
// confirmation of a trial; several power cycles in a row. Fault injection (--power-cut-after,
// --torn) exists for the simulation only, so that anyone can replay a cut point and watch the
// device recover.
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "agent/device_status.h"
#include "cli.h"
#include "device/device_audit.h"
#include "device/exec.h"
#include "device/host_device.h"
#include "device_cli.h"
#include "image/sign.h"

namespace ironseal::cli {
namespace {

using boot::BootOutcome;
using boot::SlotId;

struct BootArgs {
  std::string dir;
  std::string slot;
  std::uint32_t boots = 1;
  FaultArgs faults;
  bool json = false;
  bool no_exec = false;
};

std::string hex32(const std::uint8_t (&d)[32]) {
  return to_hex(ByteView(d, 32));
}

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
Result<boot::BootReport> power_on_once(const BootArgs& a, boot::HostDevice& hd,
                                       boot::RamLoader& loader) {
  boot::BootReport r;
  boot::power_on(hd.device(), &loader, &r);
  if (auto saved = boot::save_device(a.dir, hd); !saved) return std::unexpected(saved.error());
  if (auto m = boot::measure_boot_into_tpm(hd, r); !m) return std::unexpected(m.error());
  if (r.outcome != BootOutcome::kPowerLost) {  // a cut power-on records nothing
    if (auto ok = boot::audit_boot(a.dir, r); !ok) return std::unexpected(ok.error());
  }
  return r;
}

std::vector<std::string> firmware_argv(const BootArgs& a, const boot::BootReport& r) {
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

Result<void> do_boot(const BootArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  arm_faults(a.faults, **hd);
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

// After a trial run: the firmware confirms itself through the boot core (as it would call
// MCUboot's boot_set_confirmed()); the platform records it in the device's audit trail, so the
// firmware itself links no audit code.
Result<void> record_if_confirmed(const std::string& dir, SlotId slot) {
  auto hd = boot::load_device(dir);
  if (!hd) return std::unexpected(hd.error());
  boot::BootState st;
  bool found = false;
  if (!boot::load_state((*hd)->flash(), (*hd)->geometry(), &st, &found) || !found) return {};
  if (st.primary != slot || st.pending != boot::kNoSlot) return {};
  return boot::audit_confirm(dir, (*hd)->device(), slot);
}

Result<void> do_run(const BootArgs& a) {
  std::uint64_t ops_before = 0;
  bool armed = a.faults.power_cut_after >= 0;
  for (std::uint32_t i = 1; i <= a.boots; ++i) {
    auto hd = boot::load_device(a.dir);
    if (!hd) return std::unexpected(hd.error());
    if (armed) {  // the cut counts operations over the whole run
      const std::int64_t left = a.faults.power_cut_after - static_cast<std::int64_t>(ops_before);
      if (left >= 0) (*hd)->faults().cut_after(static_cast<std::uint64_t>(left), a.faults.torn);
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
    if (r->outcome == BootOutcome::kTrial) {
      if (auto ok = record_if_confirmed(a.dir, r->slot); !ok) return ok;
    }
  }
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  auto st = agent::device_status(**hd);
  if (!st) return std::unexpected(st.error());
  std::cout << "== after " << a.boots << " power-on(s): confirmed slot "
            << (*st)["confirmed_slot"].get<std::string>() << ", last event "
            << (*st)["last_event"].get<std::string>() << ", "
            << ((*st)["rollback_counter"] == "tpm" ? "TPM" : "OTP") << " counter "
            << (*st)["otp_counter"] << "\n";
  return {};
}

Result<void> do_confirm(const BootArgs& a) {
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
  arm_faults(a.faults, **hd);
  const auto r = boot::confirm((*hd)->device(), slot);
  if (auto saved = boot::save_device(a.dir, **hd); !saved) return saved;
  if (r == boot::ConfirmResult::kConfirmed) {
    if (auto ok = boot::audit_confirm(a.dir, (*hd)->device(), slot); !ok) return ok;
  }
  switch (r) {
    case boot::ConfirmResult::kConfirmed:
      std::cout << "slot " << boot::slot_name(slot)
                << " confirmed; anti-rollback counter raised to its security counter\n";
      return {};
    case boot::ConfirmResult::kAlreadyConfirmed:
      std::cout << "slot " << boot::slot_name(slot) << " was already confirmed\n";
      return {};
    case boot::ConfirmResult::kNotInTrial:
      return fail_because(
          ErrorCode::kNotTrusted, "not_in_trial", "slot ", std::string(1, boot::slot_name(slot)),
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

}  // namespace

void add_device_boot_command(CLI::App* dev) {
  auto a = std::make_shared<BootArgs>();
  CLI::App* bootc =
      dev->add_subcommand("boot", "One power-on: ROM, stage-2, then run the firmware.");
  bootc->add_option("DIR", a->dir, "Device directory")->required();
  bootc->add_flag("--no-exec", a->no_exec, "Stop before running the firmware");
  bootc->add_flag("--json", a->json, "Print the boot decision as JSON");
  add_fault_options(bootc, a->faults);
  set_action(bootc, [a] { return do_boot(*a); });
}

void add_device_confirm_command(CLI::App* dev) {
  auto a = std::make_shared<BootArgs>();
  CLI::App* conf =
      dev->add_subcommand("confirm", "Confirm the image on trial (what healthy firmware does).");
  conf->add_option("DIR", a->dir, "Device directory")->required();
  conf->add_option("--slot", a->slot, "A or B (default: the pending slot)");
  add_fault_options(conf, a->faults);
  set_action(conf, [a] { return do_confirm(*a); });
}

void add_device_run_command(CLI::App* dev) {
  auto a = std::make_shared<BootArgs>();
  CLI::App* run =
      dev->add_subcommand("run", "Power-cycle the device N times, running the firmware each time.");
  run->add_option("DIR", a->dir, "Device directory")->required();
  run->add_option("--boots", a->boots, "Number of power-ons (default 1)");
  add_fault_options(run, a->faults);
  set_action(run, [a] { return do_run(*a); });
}

}  // namespace ironseal::cli
