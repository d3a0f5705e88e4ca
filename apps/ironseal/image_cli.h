// Shared by the `ironseal image` command files (cmd_image*.cc).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "image/sign.h"
#include "image/verify.h"

namespace ironseal::cli {

// An image header as `image sign/verify/inspect --json` print it.
inline nlohmann::json header_json(const image::ImageHeader& h) {
  return {{"magic", h.magic},
          {"load_address", h.load_address},
          {"header_size", h.header_size},
          {"protected_tlv_size", h.protected_tlv_size},
          {"image_size", h.image_size},
          {"flags", h.flags},
          {"version", image::format_version(h.version)}};
}

// `image inspect` (cmd_image_inspect.cc).
void add_image_inspect_command(CLI::App* image);

}  // namespace ironseal::cli
