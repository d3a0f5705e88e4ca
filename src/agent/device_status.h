// What a simulated device says about itself: lifecycle, counter, boot state and, per slot, the
// image's version and whether it verifies. `ironseal device status` prints it; the agent sends it
// with each check-in.
#pragma once

#include <nlohmann/json.hpp>

#include "boot/boot.h"
#include "core/result.h"
#include "device/host_device.h"

namespace ironseal::agent {

Result<nlohmann::json> device_status(boot::HostDevice& device);

// The boot state alone (no image checks), for callers that only need to follow a trial.
Result<boot::BootState> boot_state(boot::HostDevice& device);

}  // namespace ironseal::agent
