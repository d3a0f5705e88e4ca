// The demo "PLC runtime": the firmware a simulated ironseal device boots. Stage-2 executes it
// from a sealed in-memory copy of the verified image and tells it, on the command line, which
// slot it runs from, whether it is on trial, and the measured-boot digest. It runs its own
// health check (a few scan cycles over a simulated I/O image) and, when healthy and on trial,
// confirms itself through the boot core, as firmware calls MCUboot's boot_set_confirmed().
// Built twice: plc-runtime, and plc-runtime-failing (IRONSEAL_PLC_FAIL_HEALTH) whose health check
// fails on purpose, to exercise the automatic rollback.
#include <cstdio>
#include <cstring>
#include <string>

#include "device/host_device.h"

namespace {

struct Args {
  std::string device;
  std::string slot;
  bool trial = false;
  std::string measurement;
  std::string version;
};

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--device")
      a->device = v;
    else if (k == "--slot")
      a->slot = v;
    else if (k == "--trial")
      a->trial = v == "1";
    else if (k == "--measurement")
      a->measurement = v;
    else if (k == "--version")
      a->version = v;
    else
      return false;
  }
  return !a->device.empty() && (a->slot == "A" || a->slot == "B");
}

// A few scan cycles: read inputs, run the logic, write outputs, check the I/O image is consistent.
bool health_check() {
#ifdef IRONSEAL_PLC_FAIL_HEALTH
  std::printf(
      "[plc-runtime] health check: scan cycle 1 output mismatch (test build fails on purpose)\n");
  return false;
#else
  unsigned inputs = 0x5a, outputs = 0;
  for (int cycle = 0; cycle < 3; ++cycle) {
    outputs = (inputs ^ 0xff) & 0xf0;
    inputs = (inputs << 1 | inputs >> 7) & 0xff;
  }
  const bool ok = outputs != 0;
  std::printf("[plc-runtime] health check: 3 scan cycles, I/O image consistent: %s\n",
              ok ? "healthy" : "FAILED");
  return ok;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, &a)) {
    std::fprintf(stderr,
                 "plc-runtime: run by the ironseal stage-2 only "
                 "(--device DIR --slot A|B --trial 0|1 --measurement HEX --version V)\n");
    return 2;
  }
  std::printf("[plc-runtime %s] running from slot %s%s, measured boot %s\n", a.version.c_str(),
              a.slot.c_str(), a.trial ? " (trial)" : "", a.measurement.c_str());
  if (!health_check()) return 1;
  if (!a.trial) return 0;

  auto device = ironseal::boot::load_device(a.device);
  if (!device) {
    std::fprintf(stderr, "[plc-runtime] cannot open device: %s\n", device.error().message.c_str());
    return 3;
  }
  const auto slot = a.slot == "A" ? ironseal::boot::SlotId::kA : ironseal::boot::SlotId::kB;
  const auto r = ironseal::boot::confirm((*device)->device(), slot);
  if (auto saved = ironseal::boot::save_device(a.device, **device); !saved) {
    std::fprintf(stderr, "[plc-runtime] cannot save device: %s\n", saved.error().message.c_str());
    return 3;
  }
  if (r != ironseal::boot::ConfirmResult::kConfirmed &&
      r != ironseal::boot::ConfirmResult::kAlreadyConfirmed) {
    std::fprintf(stderr, "[plc-runtime] confirmation refused\n");
    return 1;
  }
  std::printf("[plc-runtime] confirmed slot %s\n", a.slot.c_str());
  return 0;
}
