// `ironseal device ...`: a simulated device (a directory holding flash.img, otp.bin and
// device.json; device/host_device.h) with the real boot core: init (the factory step,
// device/provisioning.h), attest, status here; boot, install, confirm and run in
// cmd_device_boot.cc and cmd_device_install.cc.
#include <iostream>

#include "agent/device_status.h"
#include "agent/update.h"
#include "cli.h"
#include "core/file.h"
#include "crypto/key.h"
#include "device/host_device.h"
#include "device/provisioning.h"
#include "device_cli.h"
#include "image/sign.h"
#include "tpm/esys.h"

namespace ironseal::cli {
namespace {

struct DeviceArgs {
  std::string dir;
  std::vector<std::string> root_keys;
  std::string stage2;
  std::string firmware;
  std::string vid;
  std::string cid;
  std::string serial;
  std::string hardware_id;
  std::string image_root;
  std::string director_root;
  std::uint32_t slot_size = 4 * 1024 * 1024;
  std::uint32_t block_size = 4096;
  std::uint32_t page_size = 256;
  std::uint32_t attempts = 3;
  bool json = false;
  bool tpm = false;
  std::string rollback_counter = "otp";
  std::string nonce;
  std::string out;
};

Result<nlohmann::json> status_json(boot::HostDevice& hd) {
  return agent::device_status(hd);
}

Result<boot::Provisioning> provisioning(const DeviceArgs& a) {
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
  return p;
}

Result<void> do_init(const DeviceArgs& a) {
  if (boot::holds_device(a.dir)) {
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
  auto p = provisioning(a);
  if (!p) return std::unexpected(p.error());
  auto hd = boot::provision_device_dir(a.dir, config, *p);
  if (!hd) return std::unexpected(hd.error());
  if (!a.image_root.empty()) {
    if (auto r = agent::install_update_roots(a.dir, a.image_root, a.director_root); !r) return r;
  }
  if (a.json) {
    auto st = status_json(**hd);
    if (!st) return std::unexpected(st.error());
    print_json(*st);
    return {};
  }
  std::cout << "device " << a.dir << ": " << p->root_keys.size()
            << " root key hash(es) fused, lifecycle secured, stage-2 and firmware written to "
               "slot A (confirmed)\n";
  if ((*hd)->tpm()) {
    std::cout << "TPM: measured boot into PCR " << tpm::kMeasuredBootPcr
              << ", attestation key at 0x81000010 (public key in "
              << boot::device_files(a.dir).attestation_key.string()
              << "), anti-rollback counter in "
              << (config.tpm_counter ? "a TPM NV counter" : "OTP fuses") << "\n";
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

  add_device_boot_command(dev);
  add_device_install_command(dev);
  add_device_confirm_command(dev);
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

  add_device_run_command(dev);
}

}  // namespace ironseal::cli
