// `ironseal image inspect`: a boot image's header and TLVs, read without judging trust
// (image/inspect.h); the values the format defines are shown decoded.
#include <iostream>

#include "cli.h"
#include "image/host.h"
#include "image/inspect.h"
#include "image_cli.h"

namespace ironseal::cli {
namespace {

struct InspectArgs {
  std::string in;
  bool json = false;
};

std::string uuid_text(const image::Uuid& u) {
  std::uint8_t raw[16];
  std::copy(u.begin(), u.end(), raw);
  return image::format_uuid(raw);
}

nlohmann::json tlv_json(const image::InspectedTlv& t) {
  nlohmann::json j = {{"type", t.entry.type},
                      {"name", image::tlv_type_name(t.entry.type)},
                      {"length", t.entry.length},
                      {"offset", t.entry.value_offset},
                      {"protected", t.entry.is_protected}};
  if (!t.value) return j;
  j["value"] = to_hex(*t.value);
  if (t.security_counter) j["decoded"] = *t.security_counter;
  if (t.uuid) j["decoded"] = uuid_text(*t.uuid);
  if (t.dependency) {
    j["decoded"] = {{"image_id", t.dependency->image_id},
                    {"min_version", image::format_version(t.dependency->min_version)}};
  }
  return j;
}

void print_text(const InspectArgs& a, const image::Inspection& in, const nlohmann::json& tlvs) {
  const auto& h = in.layout.header;
  std::cout << a.in << " (" << in.file_size << " bytes; inspection checks structure, not trust)\n"
            << "  version          " << image::format_version(h.version) << "\n"
            << "  header size      " << h.header_size << "\n"
            << "  body size        " << h.image_size << "\n"
            << "  load address     0x" << std::hex << h.load_address << "\n"
            << "  flags            0x" << h.flags << std::dec << "\n"
            << "  protected TLVs   " << h.protected_tlv_size << " bytes\n"
            << "  TLVs:\n";
  for (const auto& t : tlvs) {
    std::cout << "    " << (t["protected"].get<bool>() ? "[protected] " : "            ")
              << t["name"].get<std::string>() << " (0x" << std::hex << t["type"].get<int>()
              << std::dec << ", " << t["length"].get<int>() << " bytes)";
    if (t.contains("decoded")) {
      std::cout << " "
                << (t["decoded"].is_string() ? t["decoded"].get<std::string>()
                                             : t["decoded"].dump());
    } else if (t.contains("value") && t["length"].get<int>() <= 64) {
      std::cout << " " << t["value"].get<std::string>();
    }
    std::cout << "\n";
  }
}

Result<void> do_inspect(const InspectArgs& a) {
  auto in = image::inspect_image_file(a.in);
  if (!in) return std::unexpected(in.error());
  if (in->layout_status != image::Status::kOk) {
    if (a.json) {
      print_json({{"file", a.in},
                  {"valid_layout", false},
                  {"reason", image::status_name(in->layout_status)}});
    }
    return std::unexpected(image::status_error(in->layout_status));
  }
  nlohmann::json tlvs = nlohmann::json::array();
  for (const auto& t : in->tlvs) tlvs.push_back(tlv_json(t));
  nlohmann::json j = header_json(in->layout.header);
  j["file"] = a.in;
  j["file_size"] = in->file_size;
  j["valid_layout"] = in->tlv_status == image::Status::kOk;
  if (in->security_counter) j["security_counter"] = *in->security_counter;
  j["tlvs"] = tlvs;
  if (a.json) {
    print_json(j);
  } else {
    print_text(a, *in, tlvs);
  }
  if (in->tlv_status != image::Status::kOk) {
    return std::unexpected(image::status_error(in->tlv_status));
  }
  return {};
}

}  // namespace

void add_image_inspect_command(CLI::App* img) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* inspect = img->add_subcommand(
      "inspect",
      "Show an image's header and TLVs. Checks structure only: it does not verify trust.");
  inspect->add_flag("--json", a->json, "Print as JSON");
  inspect->add_option("IMG", a->in, "Boot image")->required();
  set_action(inspect, [a] { return do_inspect(*a); });
}

}  // namespace ironseal::cli
