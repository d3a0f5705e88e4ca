// Making a device directory a provisioned simulated device in one step: what `ironseal device
// init` and the set-up of `ironseal fleet simulate` do. It creates the directory's files
// (device/host_device.h names them), runs the factory step (boot::provision), and for a device with
// a TPM records the attestation key's public half. A failed provisioning leaves no half-made device
// behind: exactly the files it created are removed again (the directory too when that empties
// it), and a TPM counter it defined is given back to the TPM.
//
// No state of its own: calls for different directories may run concurrently (the TPM, when
// used, is the shared resource tpm::Tpm serialises).
#pragma once

#include <filesystem>
#include <memory>

#include "core/result.h"
#include "device/host_device.h"

namespace ironseal::boot {

// Refuses a directory that holds a device already (kInvalidArgument "... already holds a
// device; refusing to overwrite it"); otherwise the refusals of create_device_dir and provision
// (e.g. kNotTrusted for images that would not boot on the device). Returns the device, saved.
Result<std::unique_ptr<HostDevice>> provision_device_dir(const std::filesystem::path& dir,
                                                         const DeviceConfig& config,
                                                         const Provisioning& provisioning);

}  // namespace ironseal::boot
