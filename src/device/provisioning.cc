#include "device/provisioning.h"

#include "core/file.h"
#include "tpm/esys.h"

namespace ironseal::boot {
namespace {

namespace fs = std::filesystem;

// Undoes what create_device_dir and provision made of `dir` after `failure`: the files it
// created, the directory if that leaves it empty, and a TPM anti-rollback counter it defined
// (the counter belongs to no device now). Returns `failure`, with the TPM's refusal appended when
// the counter stays.
Error undo_provisioning(const fs::path& dir, HostDevice& hd, Error failure) {
  const DeviceFiles files = device_files(dir);
  std::error_code ec;
  for (const fs::path& f : {files.description, files.flash, files.otp, files.attestation_key}) {
    fs::remove(f, ec);
  }
  fs::remove(dir, ec);  // only succeeds when empty
  if (hd.config().tpm_counter && hd.tpm()) {
    hd.device().counter = nullptr;
    if (auto u = tpm::NvCounter::undefine_counter(*hd.tpm(), hd.config().tpm_counter_index); !u) {
      failure.message += "; and the TPM counter could not be removed: " + u.error().message;
    }
  }
  return failure;
}

}  // namespace

Result<std::unique_ptr<HostDevice>> provision_device_dir(const fs::path& dir,
                                                         const DeviceConfig& config,
                                                         const Provisioning& provisioning) {
  if (holds_device(dir)) {
    return fail(ErrorCode::kInvalidArgument, dir.string(),
                " already holds a device; refusing to overwrite it");
  }
  if (auto r = create_device_dir(dir, config); !r) return std::unexpected(r.error());
  auto hd = load_device(dir);
  if (!hd) return std::unexpected(hd.error());
  if (auto r = provision(**hd, provisioning); !r) {
    return std::unexpected(undo_provisioning(dir, **hd, r.error()));
  }
  if (auto r = save_device(dir, **hd); !r) return std::unexpected(r.error());
  if ((*hd)->tpm()) {
    // The attestation key is made with the device; its public half is what the factory records
    // for verifiers (ironseal attest verify --ak).
    auto ak = tpm::ensure_attestation_key(*(*hd)->tpm());
    if (!ak) return std::unexpected(ak.error());
    if (auto w = write_file_atomic(device_files(dir).attestation_key, as_bytes(*ak)); !w) {
      return std::unexpected(w.error());
    }
  }
  return hd;
}

}  // namespace ironseal::boot
