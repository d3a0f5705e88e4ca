// `ironseal device install`: a signed image written to the inactive slot of a simulated device,
// pending a trial: whole, or streamed chunk by chunk against an authenticated chunk index
// (verify-before-write, resumable, delta-aware; docs/delivery.md).
#include <iostream>

#include "cli.h"
#include "core/file.h"
#include "delivery/installer.h"
#include "device/device_audit.h"
#include "device/host_device.h"
#include "device_cli.h"
#include "progress.h"

namespace ironseal::cli {
namespace {

using boot::SlotId;

struct InstallArgs {
  std::string dir;
  std::string image;
  std::string chunk_index;
  std::string index_sha256;
  FaultArgs faults;
  bool json = false;
};

Result<void> do_install_chunked(const InstallArgs& a, boot::HostDevice& hd) {
  // Verify-before-write holds only if the index itself is authenticated: an index taken on its
  // own word would "prove" whatever chunks it lists. The operator states its SHA-256 (from the
  // signed target metadata, or `ironseal image chunk --json` over an image already verified).
  auto expected = from_hex(a.index_sha256);
  if (!expected || expected->size() != 32) {
    return fail(ErrorCode::kInvalidArgument,
                "--index-sha256 must be the 64-hex-digit SHA-256 of the chunk index, as the "
                "image's signed metadata states it");
  }
  image::Sha256 index_digest;
  std::copy(expected->begin(), expected->end(), index_digest.begin());
  auto encoded = read_file(a.chunk_index);
  if (!encoded) return std::unexpected(encoded.error());
  auto index = image::authenticate_chunk_index(
      *encoded, index_digest, "--index-sha256 (the chunk index " + a.chunk_index + ")");
  if (!index) return std::unexpected(index.error());
  auto source = delivery::FileChunkSource::open(a.image);
  if (!source) return std::unexpected(source.error());
  delivery::ChunkedInstallOptions opt;
  opt.journal = boot::device_files(a.dir).install_journal;
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

Result<void> do_install(const InstallArgs& a) {
  auto hd = boot::load_device(a.dir);
  if (!hd) return std::unexpected(hd.error());
  if (!a.chunk_index.empty()) {
    if (a.index_sha256.empty()) {
      return fail_because(
          ErrorCode::kInvalidArgument, "index_required",
          "--chunk-index needs --index-sha256: a chunk index is trusted "
          "only through the "
          "SHA-256 that signed metadata states for it (ironseal image chunk --json prints "
          "it for an image you have verified); without it no chunk would be proven");
    }
    arm_faults(a.faults, **hd);
    return do_install_chunked(a, **hd);
  }
  auto bytes = read_file(a.image);
  if (!bytes) return std::unexpected(bytes.error());
  arm_faults(a.faults, **hd);
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
      return std::unexpected(Error{ErrorCode::kNotTrusted,
                                   "install refused: " + reason_text(r.reason) +
                                       "; the device was not changed",
                                   reason_text(r.reason)});
    case boot::InstallResult::kPowerLost: return std::unexpected(power_cut_error(**hd));
    case boot::InstallResult::kVerifyAfterWrite:
      return fail(ErrorCode::kIo, "slot ", slot,
                  " does not verify after writing: ", reason_text(r.reason));
  }
  return {};
}

}  // namespace

Result<void> audited_install(const std::string& dir, const std::string& event,
                             const nlohmann::json& source, Result<void> r) {
  if (!r && r.error().reason == "power_cut") return r;
  nlohmann::json details = {{"source", source}};
  const char* outcome = "ok";
  if (!r) {
    details["reason"] = r.error().reason;
    details["message"] = r.error().message;
    const bool refused =
        r.error().code == ErrorCode::kNotTrusted || r.error().code == ErrorCode::kMalformed;
    outcome = refused ? "refused" : "failed";
  }
  auto a = boot::audit_event(dir, event, outcome, std::move(details));
  if (!r) return r;
  if (!a) return std::unexpected(a.error());
  return r;
}

void add_device_install_command(CLI::App* dev) {
  auto a = std::make_shared<InstallArgs>();
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
  add_fault_options(inst, a->faults);
  set_action(inst, [a] {
    return audited_install(a->dir, "install", {{"image", a->image}}, do_install(*a));
  });
}

}  // namespace ironseal::cli
