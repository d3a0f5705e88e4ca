// Shared by the `ironseal image` command files (cmd_image*.cc).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
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

inline const char* signature_kind_name(image::SignatureKind kind) {
  switch (kind) {
    case image::SignatureKind::kEd25519: return "ed25519";
    case image::SignatureKind::kEd25519Pure: return "ed25519-pure";
    case image::SignatureKind::kEcdsaP256: return "ecdsa-p256";
    case image::SignatureKind::kNone: break;
  }
  return "none";
}

// A verified image as `image sign/verify --json` print it.
inline nlohmann::json info_json(const image::ImageInfo& info) {
  nlohmann::json j = header_json(info.header);
  j["digest"] = to_hex(ByteView(info.digest, image::hash_size(info.hash_kind)));
  j["hash"] = info.hash_kind == image::HashKind::kSha256 ? "sha256" : "sha512";
  j["signature"] = signature_kind_name(info.signature_kind);
  j["key_index"] = info.key_index;
  j["total_size"] = info.total_size;
  if (info.has_security_counter) j["security_counter"] = info.security_counter;
  nlohmann::json deps = nlohmann::json::array();
  for (std::uint32_t i = 0; i < info.dependency_count; ++i) {
    deps.push_back({{"image_id", info.dependencies[i].image_id},
                    {"min_version", image::format_version(info.dependencies[i].min_version)}});
  }
  j["dependencies"] = deps;
  if (info.has_vendor_uuid) j["vendor_uuid"] = image::format_uuid(info.vendor_uuid);
  if (info.has_class_uuid) j["class_uuid"] = image::format_uuid(info.class_uuid);
  return j;
}

// `image inspect` (cmd_image_inspect.cc).
void add_image_inspect_command(CLI::App* image);

}  // namespace ironseal::cli
