#include "device/host_device.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "boot/otp_map.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "device/file_set.h"
#include "tpm/esys.h"

namespace ironseal::boot {
namespace {

// Factory writes go through the same erase-then-program path as installs.
bool write_region(Flash& flash, std::uint32_t offset, ByteView bytes) {
  return write_erased_region(flash, offset, bytes.data(), static_cast<std::uint32_t>(bytes.size()));
}

}  // namespace

HostDevice::HostDevice(const DeviceConfig& config, const Geometry& g, SimFlash::Storage storage)
    : config_(config),
      flash_(g.total_size, config.block_size, config.page_size, &faults_, storage),
      otp_(kOtpSize, &faults_),
      scratch_(std::max<std::size_t>(64 * 1024, 2u * config.page_size)) {
  device_.flash = &flash_;
  device_.otp = &otp_;
  device_.crypto = &crypto_;
  device_.geometry = g;
  device_.scratch = scratch_.data();
  device_.scratch_size = scratch_.size();
}

void HostDevice::attach_tpm(std::shared_ptr<tpm::Tpm> tpm, std::shared_ptr<void> owner,
                            MonotonicCounter* counter) {
  tpm_ = std::move(tpm);
  counter_owner_ = std::move(owner);
  device_.counter = counter;
}

Result<std::unique_ptr<HostDevice>> HostDevice::create(const DeviceConfig& c,
                                                       SimFlash::Storage storage) {
  Geometry g;
  if (c.page_size == 0 || c.page_size > 4096 || c.page_size > c.block_size ||
      c.block_size % c.page_size != 0 || c.trial_attempts == 0 ||
      !make_geometry(c.block_size, c.stage2_size, c.slot_size, c.config_size, &g)) {
    return fail(ErrorCode::kInvalidArgument,
                "bad device geometry (block size a power of two, page size dividing it and at "
                "most 4096, non-zero areas, at least one trial attempt)");
  }
  return std::unique_ptr<HostDevice>(new HostDevice(c, g, storage));
}

Result<void> provision(HostDevice& hd, const Provisioning& p) {
  Device& d = hd.device();
  if (p.root_keys.empty() || p.root_keys.size() > kOtpKeySlots) {
    return fail(ErrorCode::kInvalidArgument, "need 1 to 4 root keys");
  }
  if (p.stage2_image.size() > d.geometry.stage2_size) {
    return fail(ErrorCode::kInvalidArgument, "stage-2 image is larger than the stage-2 area");
  }
  const std::vector<image::TrustedKey> keys = image::to_trusted_keys(p.root_keys);
  std::vector<std::uint8_t> store(d.geometry.block_size, 0xff);
  if (encode_keystore(keys.data(), static_cast<std::uint32_t>(keys.size()), store.data(),
                      static_cast<std::uint32_t>(store.size())) == 0) {
    return fail(ErrorCode::kInvalidArgument, "key store does not fit one block");
  }
  if (!write_region(*d.flash, d.geometry.keystore_offset, store)) {
    return fail(ErrorCode::kIo, "flash write failed (key store)");
  }
  for (const auto& key : p.root_keys) {
    const Bytes h = crypto::sha256(key.spki_der());
    std::uint8_t hash[32];
    std::copy(h.begin(), h.end(), hash);
    if (!add_key_hash(*d.otp, hash)) return fail(ErrorCode::kIo, "OTP key slot programming failed");
  }
  if (p.vendor_uuid || p.class_uuid) {
    if (!p.vendor_uuid || !p.class_uuid) {
      return fail(ErrorCode::kInvalidArgument,
                  "hardware identity needs both vendor and class UUID");
    }
    std::uint8_t v[16], c[16];
    std::copy(p.vendor_uuid->begin(), p.vendor_uuid->end(), v);
    std::copy(p.class_uuid->begin(), p.class_uuid->end(), c);
    if (!program_hardware_id(*d.otp, v, c)) return fail(ErrorCode::kIo, "OTP programming failed");
  }
  if (!advance_lifecycle(*d.otp, Lifecycle::kSecured)) {
    return fail(ErrorCode::kIo, "OTP programming failed (lifecycle)");
  }

  // Refuse to ship what the device would not boot.
  TrustAnchors anchors;
  if (!load_trust_anchors(*d.flash, d.geometry, *d.otp, *d.crypto, &anchors)) {
    return fail(ErrorCode::kIo, "flash read failed");
  }
  image::MemorySource stage2(p.stage2_image.data(), p.stage2_image.size());
  image::ImageInfo info;
  const image::Status s2 =
      image::verify_image(image::VerifyRequest{&stage2, anchors.keys, anchors.count, d.crypto,
                                               d.scratch, d.scratch_size},
                          &info);
  if (s2 != image::Status::kOk) {
    return fail_in(image::status_error(s2), "stage-2 image would not pass the ROM check: ");
  }
  image::MemorySource fw(p.firmware_image.data(), p.firmware_image.size());
  const std::uint8_t check = check_image(d, anchors, fw, &info);
  if (check != kCheckOk) {
    return std::unexpected(Error{ErrorCode::kNotTrusted,
                                 std::string("firmware image would not boot on this device: ") +
                                     check_name(check),
                                 check_name(check)});
  }
  if (!write_region(*d.flash, d.geometry.stage2_offset, p.stage2_image) ||
      !write_region(*d.flash, slot_offset(d.geometry, SlotId::kA),
                    ByteView(p.firmware_image).first(info.total_size))) {
    return fail(ErrorCode::kIo, "flash write failed");
  }
  BootState st;
  st.primary = SlotId::kA;
  st.last_event = BootEvent::kProvisioned;
  if (!store_state(*d.flash, d.geometry, &st)) return fail(ErrorCode::kIo, "flash write failed");
  if (!advance_rollback_counter(d, info.security_counter)) {
    return fail(ErrorCode::kIo, "anti-rollback counter advance failed");
  }
  return {};
}

const image::ImageSource* RamLoader::load(SlotId, const image::ImageSource& on_flash) {
  // Size the copy from the header, bounded by the slot; the copy is then verified and run.
  image::Layout layout;
  source_.reset();
  if (image::parse_layout(on_flash, &layout) != image::Status::kOk ||
      layout.unprotected_end > on_flash.size()) {
    // Give the verifier the bytes it needs to name the problem (bad magic, truncated, ...).
    bytes_.assign(std::min<std::uint64_t>(on_flash.size(), 4096), 0);
  } else {
    bytes_.assign(layout.unprotected_end, 0);
  }
  if (!on_flash.read(0, bytes_.data(), bytes_.size())) return nullptr;
  source_.emplace(bytes_.data(), bytes_.size());
  return &*source_;
}

namespace {
nlohmann::json config_json(const DeviceConfig& c) {
  return {{"format", "ironseal-sim-device-1"},
          {"block_size", c.block_size},
          {"page_size", c.page_size},
          {"stage2_size", c.stage2_size},
          {"slot_size", c.slot_size},
          {"config_size", c.config_size},
          {"trial_attempts", c.trial_attempts},
          {"serial", c.serial},
          {"hardware_id", c.hardware_id},
          {"tpm", c.tpm},
          {"rollback_counter", c.tpm_counter ? "tpm" : "otp"},
          {"tpm_counter_index", c.tpm_counter_index}};
}
}  // namespace

DeviceFiles device_files(const std::filesystem::path& dir) {
  return {dir / "device.json", dir / "flash.img", dir / "otp.bin",
          dir / "ak.pub.pem",  dir / "tuf",       dir / "install.journal"};
}

bool holds_device(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(device_files(dir).description, ec);
}

Result<void> create_device_dir(const std::filesystem::path& dir, const DeviceConfig& config) {
  const DeviceFiles files = device_files(dir);
  if (holds_device(dir)) {
    return fail(ErrorCode::kInvalidArgument, dir.string(), " already holds a device");
  }
  auto hd = HostDevice::create(config, SimFlash::Storage::kFile);  // validates the geometry
  if (!hd) return std::unexpected(hd.error());
  if (config.tpm_counter && !config.tpm) {
    return fail(ErrorCode::kInvalidArgument,
                "a TPM anti-rollback counter needs a device with a TPM");
  }
  if (config.tpm_counter) {
    // The counter is hardware the device is born with: define it before anything else exists.
    auto tpm = tpm::Tpm::connect();
    if (!tpm) return std::unexpected(tpm.error());
    if (auto r = tpm::NvCounter::define_counter(**tpm, config.tpm_counter_index); !r) return r;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create ", dir.string(), ": ", ec.message());
  // Erased flash: every byte 0xff, written in pieces so memory stays small for large slots.
  {
    const auto& path = files.flash;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return fail(ErrorCode::kIo, "cannot create ", path.string());
    const std::vector<std::uint8_t> erased(1 << 20, 0xff);
    std::uint64_t left = (*hd)->geometry().total_size;
    bool ok = true;
    while (ok && left > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, erased.size()));
      ok = std::fwrite(erased.data(), 1, n, f) == n;
      left -= n;
    }
    ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0 && ok;
    if (std::fclose(f) != 0 || !ok) return fail(ErrorCode::kIo, "cannot write ", path.string());
  }
  if (auto r = write_file_atomic(files.otp, (*hd)->otp().bytes()); !r) return r;
  const std::string text = config_json(config).dump(2) + "\n";
  return write_file_atomic(files.description, as_bytes(text));
}

namespace {

// 1-based line of byte `offset` in `text` (nlohmann reports parse errors by byte).
std::size_t line_of(const Bytes& text, std::size_t offset) {
  const auto end = text.begin() + static_cast<std::ptrdiff_t>(std::min(offset, text.size()));
  return 1 + static_cast<std::size_t>(std::count(text.begin(), end, '\n'));
}

// A damaged device directory is the environment failing (exit 3), not an image refused (1).
std::unexpected<Error> damaged(const std::filesystem::path& file, const std::string& why) {
  return fail_because(ErrorCode::kIo, "damaged_device", file.string(), ": ", why,
                      " (the device directory is damaged; restore it or run device init again)");
}

Result<DeviceConfig> parse_device_json(const std::filesystem::path& path, const Bytes& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return damaged(path, "not valid JSON at line " + std::to_string(line_of(text, e.byte)));
  }
  if (!j.is_object()) return damaged(path, "not a JSON object");
  if (j.value("format", nlohmann::json()) != "ironseal-sim-device-1") {
    return damaged(path, "not an ironseal-sim-device-1 description (\"format\")");
  }
  DeviceConfig c;
  std::string bad;
  auto number = [&](const char* key, auto* out, bool required) {
    using T = std::remove_pointer_t<decltype(out)>;
    const auto it = j.find(key);
    if (it == j.end()) {
      if (required && bad.empty()) bad = std::string("\"") + key + "\" is missing";
      return;
    }
    if (!it->is_number_unsigned() ||
        it->template get<std::uint64_t>() > std::numeric_limits<T>::max()) {
      if (bad.empty()) bad = std::string("\"") + key + "\" is not a whole number in range";
      return;
    }
    *out = static_cast<T>(it->template get<std::uint64_t>());
  };
  auto text_field = [&](const char* key, std::string* out) {
    const auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_string()) {
      if (bad.empty()) bad = std::string("\"") + key + "\" is not a string";
      return;
    }
    *out = it->template get<std::string>();
  };
  number("block_size", &c.block_size, true);
  number("page_size", &c.page_size, true);
  number("stage2_size", &c.stage2_size, true);
  number("slot_size", &c.slot_size, true);
  number("config_size", &c.config_size, true);
  number("trial_attempts", &c.trial_attempts, true);
  number("tpm_counter_index", &c.tpm_counter_index, false);
  text_field("serial", &c.serial);
  text_field("hardware_id", &c.hardware_id);
  std::string counter = "otp";
  text_field("rollback_counter", &counter);
  if (const auto it = j.find("tpm"); it != j.end()) {
    if (it->is_boolean()) {
      c.tpm = it->get<bool>();
    } else if (bad.empty()) {
      bad = "\"tpm\" is not true or false";
    }
  }
  if (!bad.empty()) return damaged(path, bad);
  if (counter != "otp" && counter != "tpm")
    return damaged(path, "rollback_counter must be otp or tpm");
  c.tpm_counter = counter == "tpm";
  return c;
}

}  // namespace

Result<std::unique_ptr<HostDevice>> load_device(const std::filesystem::path& dir) {
  const DeviceFiles files = device_files(dir);
  // A power-on first completes (or discards) a restore that a power cut interrupted.
  if (holds_device(dir)) {
    if (auto r = recover_file_set(dir); !r) return std::unexpected(r.error());
  }
  const auto& json_path = files.description;
  auto text = read_file(json_path, 1 << 20);
  if (!text) {
    return fail(text.error().code == ErrorCode::kNotFound ? ErrorCode::kNotFound : ErrorCode::kIo,
                dir.string(), " is not a device directory: ", text.error().message);
  }
  auto c = parse_device_json(json_path, *text);
  if (!c) return std::unexpected(c.error());
  auto hd = HostDevice::create(*c, SimFlash::Storage::kFile);
  if (!hd) return damaged(json_path, hd.error().message);
  if (auto r = (*hd)->flash().attach_file(files.flash); !r) {
    return damaged(files.flash, r.error().message);
  }
  auto otp = read_file(files.otp, 1 << 20);
  if (!otp) return damaged(files.otp, otp.error().message);
  if (otp->size() != (*hd)->otp().bytes().size()) {
    return damaged(files.otp, "is " + std::to_string(otp->size()) + " bytes, the OTP is " +
                                  std::to_string((*hd)->otp().bytes().size()));
  }
  (*hd)->otp().bytes() = std::move(*otp);
  const DeviceConfig& config = *c;
  if (config.tpm) {
    auto tpm = tpm::Tpm::connect();
    if (!tpm) return std::unexpected(tpm.error());
    std::shared_ptr<tpm::NvCounter> counter;
    if (config.tpm_counter) {
      // Fail closed: a device whose counter is in the TPM never falls back to the fuses.
      auto opened = tpm::NvCounter::open(*tpm, config.tpm_counter_index);
      if (!opened) return std::unexpected(opened.error());
      counter = std::move(*opened);
    }
    tpm::NvCounter* raw = counter.get();
    (*hd)->attach_tpm(*tpm, std::move(counter), raw);
  }
  return hd;
}

Result<void> measure_boot_into_tpm(HostDevice& hd, const BootReport& r) {
  if (!hd.tpm()) return {};
  std::vector<tpm::Digest> events;
  tpm::Digest d;
  // A power cut during the boot is a TPM reset too: the PCR starts over with nothing in it, so a
  // quote never shows an earlier boot's measurements for a boot that did not finish.
  const bool finished = r.outcome != BootOutcome::kPowerLost;
  if (finished && r.stage2_trusted) {
    std::copy(std::begin(r.stage2_measurement), std::end(r.stage2_measurement), d.begin());
    events.push_back(d);
  }
  if (finished && (r.outcome == BootOutcome::kBoot || r.outcome == BootOutcome::kTrial)) {
    std::copy(std::begin(r.measurement), std::end(r.measurement), d.begin());
    events.push_back(d);
  }
  return tpm::measure_boot(*hd.tpm(), events);
}

Result<void> save_device(const std::filesystem::path& dir, HostDevice& hd) {
  if (auto r = hd.flash().sync(); !r) return r;  // flash is written through; make it durable
  return write_file_atomic(device_files(dir).otp, hd.otp().bytes());
}

}  // namespace ironseal::boot
