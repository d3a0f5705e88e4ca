#include "agent/update.h"

#include <cstdint>

#include <nlohmann/json.hpp>

#include "boot/boot.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "delivery/http_source.h"
#include "image/sign.h"
#include "image/verify.h"
#include "repo/updater.h"

namespace ironseal::agent {
namespace {

using Json = nlohmann::json;

std::string slash(std::string url) {
  if (url.empty() || url.back() != '/') url.push_back('/');
  return url;
}

Result<Json> custom_of(const repo::TargetFile& t) {
  if (t.custom.empty()) return Json::object();
  try {
    return Json::parse(t.custom);
  } catch (const Json::exception&) {
    return fail(ErrorCode::kMalformed, "target ", t.path, ": custom is not JSON");
  }
}

// Member `key` of a JSON object, or null when `j` is no object or lacks it. Signed custom
// metadata is read only through this: nlohmann's value() throws on a member of another type.
const Json* member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// The "ironseal" chunk index binding of a target: {target, sha256, length, chunk_size}.
Result<Json> chunk_binding(const Json& custom, const std::string& path) {
  const Json* ironseal = member(custom, "ironseal");
  const Json* binding = ironseal ? member(*ironseal, "chunk_index") : nullptr;
  const Json* target = binding ? member(*binding, "target") : nullptr;
  const Json* sha256 = binding ? member(*binding, "sha256") : nullptr;
  if (!target || !target->is_string() || !sha256 || !sha256->is_string()) {
    return fail(ErrorCode::kNotTrusted, "target ", path,
                " carries no chunk index binding (custom.ironseal.chunk_index with a target and "
                "a sha256)");
  }
  return *binding;
}

// Uptane's rule: the director's entry and the image repository's entry describe the same bytes
// for the same hardware.
Result<void> agree(const repo::TargetFile& director, const repo::TargetFile& image,
                   const std::string& hardware_id) {
  if (director.length != image.length) {
    return fail(ErrorCode::kNotTrusted, "director and image repository disagree on the length of ",
                image.path);
  }
  const auto d = director.hashes.find("sha256");
  const auto i = image.hashes.find("sha256");
  if (d == director.hashes.end() || i == image.hashes.end() || d->second != i->second) {
    return fail(ErrorCode::kNotTrusted, "director and image repository disagree on the SHA-256 of ",
                image.path);
  }
  for (const auto& [alg, value] : director.hashes) {
    if (auto other = image.hashes.find(alg);
        other != image.hashes.end() && other->second != value) {
      return fail(ErrorCode::kNotTrusted, "director and image repository disagree on the ", alg,
                  " of ", image.path);
    }
  }
  auto dc = custom_of(director);
  auto ic = custom_of(image);
  if (!dc) return std::unexpected(dc.error());
  if (!ic) return std::unexpected(ic.error());
  const std::string dh = dc->value("hardware_id", "");
  const std::string ih = ic->value("hardware_id", "");
  if (ih.empty() || dh != ih) {
    return fail(ErrorCode::kNotTrusted,
                "director and image repository disagree on the hardware id of ", image.path, " ('",
                dh, "' vs '", ih, "')");
  }
  if (ih != hardware_id) {
    return fail(ErrorCode::kNotTrusted, image.path, " is for hardware '", ih, "', this device is '",
                hardware_id, "'");
  }
  return {};
}

Result<repo::TargetFile> find(repo::Updater& u, const std::string& path, const char* which) {
  auto t = u.find_target(path);
  if (!t) {
    return fail_in(repo::to_error(t.error()), which, ": ");
  }
  return *t;
}

// SHA-256 of the image in a slot, or empty when the slot does not hold `length` image bytes.
std::string slot_sha256(boot::HostDevice& hd, boot::SlotId slot, std::uint64_t length) {
  const boot::FlashRegion region(hd.flash(), boot::slot_offset(hd.geometry(), slot),
                                 hd.geometry().slot_size);
  image::Layout layout;
  if (image::parse_layout(region, &layout) != image::Status::kOk ||
      layout.unprotected_end != length) {
    return {};
  }
  auto hasher = crypto::Hasher::create(crypto::HashAlgorithm::kSha256);
  if (!hasher) return {};
  Bytes buf(1 << 16);
  for (std::uint64_t off = 0; off < length; off += buf.size()) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - off));
    if (!region.read(off, buf.data(), n)) return {};
    hasher->update(ByteView(buf.data(), n));
  }
  return to_hex(hasher->finish());
}

// Refreshes the director's metadata for this device, then the image repository's.
Result<void> refresh_both(repo::Updater& director, repo::Updater& images,
                          const std::string& serial) {
  if (auto r = director.refresh(); !r) {
    // No director metadata for this device at all (never assigned anything): nothing to do.
    // Reported as kNotFound so an agent can tell it from a transport failure or a refusal.
    if (r.error().reason == repo::Reason::kNotFound) {
      return fail(ErrorCode::kNotFound, "the director has published nothing for ", serial, " (",
                  repo::describe(r.error()), ")");
    }
    return fail_in(repo::to_error(r.error()), "director: ");
  }
  if (auto r = images.refresh(); !r) {
    return fail_in(repo::to_error(r.error()), "image repository: ");
  }
  return {};
}

// The image the director assigns to this device: `wanted` if it is assigned, else the only one.
Result<std::string> assigned_target(const repo::Targets& assigned,
                                    const std::optional<std::string>& wanted,
                                    const std::string& serial) {
  std::vector<std::string> names;
  for (const auto& [path, t] : assigned.targets) {
    if (!path.ends_with(".chunks")) names.push_back(path);
  }
  if (wanted) {
    if (std::find(names.begin(), names.end(), *wanted) == names.end()) {
      return fail(ErrorCode::kNotTrusted, "the director does not assign ", *wanted, " to ", serial);
    }
    return *wanted;
  }
  if (names.empty()) {
    return fail(ErrorCode::kNotFound, "the director assigns no image to ", serial);
  }
  if (names.size() == 1) return names.front();
  return fail(ErrorCode::kNotTrusted, "the director assigns ", std::to_string(names.size()),
              " images to ", serial, "; name one with --target");
}

// The chunk index of target `name`: a TUF target of its own, and its SHA-256 must be the one
// `binding` (custom.ironseal.chunk_index, the same in both repositories) names.
Result<image::AuthenticatedChunkIndex> fetch_chunk_index(repo::Updater& images, const Json& binding,
                                                         const std::string& name,
                                                         const std::filesystem::path& tuf,
                                                         const std::string& base,
                                                         std::uint64_t image_length) {
  const std::string index_name = binding["target"].get<std::string>();  // checked: chunk_binding
  auto index_target = find(images, index_name, "image repository");
  if (!index_target) return std::unexpected(index_target.error());
  std::error_code ec;
  std::filesystem::create_directories(tuf / "cache", ec);
  auto index_file = images.download_target(*index_target, base + "image/targets/", tuf / "cache");
  if (!index_file) {
    return fail_in(repo::to_error(index_file.error()), "chunk index: ");
  }
  auto index_bytes = read_file(*index_file);
  if (!index_bytes) return std::unexpected(index_bytes.error());
  auto bound = from_hex(binding["sha256"].get<std::string>());
  if (!bound || bound->size() != 32) {
    return fail(ErrorCode::kNotTrusted, "the chunk index binding of ", name,
                " carries no SHA-256 (custom.ironseal.chunk_index.sha256)");
  }
  image::Sha256 bound_digest;
  std::copy(bound->begin(), bound->end(), bound_digest.begin());
  auto index = image::authenticate_chunk_index(
      *index_bytes, bound_digest,
      "the signed metadata of " + name + " (custom.ironseal.chunk_index of both repositories)");
  if (!index) return std::unexpected(index.error());
  if (index->index().image_size != image_length) {
    return fail(ErrorCode::kNotTrusted, "chunk index covers ",
                std::to_string(index->index().image_size), " bytes, the target has ",
                std::to_string(image_length));
  }
  return index;
}

// Whether the planned image already runs, or is already installed and pending, on the device.
void compare_with_slots(boot::HostDevice& hd, UpdatePlan& plan) {
  boot::BootState st;
  bool found = false;
  if (!boot::load_state(hd.flash(), hd.geometry(), &st, &found)) return;
  plan.up_to_date = slot_sha256(hd, st.primary, plan.length) == plan.sha256;
  plan.already_pending =
      !plan.up_to_date && st.pending != boot::kNoSlot &&
      slot_sha256(hd, static_cast<boot::SlotId>(st.pending), plan.length) == plan.sha256;
  const boot::FlashRegion region(hd.flash(), boot::slot_offset(hd.geometry(), st.primary),
                                 hd.geometry().slot_size);
  image::Layout layout;
  if (image::parse_layout(region, &layout) == image::Status::kOk) {
    plan.installed_version = image::format_version(layout.header.version);
  }
}

}  // namespace

Result<void> install_update_roots(const std::filesystem::path& device_dir,
                                  const std::filesystem::path& image_root,
                                  const std::filesystem::path& director_root) {
  for (auto [src, sub] : {std::pair{image_root, "image"}, std::pair{director_root, "director"}}) {
    auto bytes = read_file(src);
    if (!bytes) return std::unexpected(bytes.error());
    if (auto r =
            repo::init_metadata_dir(boot::device_files(device_dir).update_metadata / sub, *bytes);
        !r) {
      return std::unexpected(repo::to_error(r.error()));
    }
  }
  return {};
}

Result<UpdatePlan> plan_update(boot::HostDevice& hd, const std::filesystem::path& dir,
                               const std::string& repo_url, repo::Fetcher& fetcher,
                               const std::optional<std::string>& wanted) {
  const auto& config = hd.config();
  const std::filesystem::path tuf = boot::device_files(dir).update_metadata;
  if (config.serial.empty() || config.hardware_id.empty() ||
      !std::filesystem::exists(tuf / "image" / "root.json") ||
      !std::filesystem::exists(tuf / "director" / "root.json")) {
    return fail(ErrorCode::kInvalidArgument, dir.string(),
                " is not set up for updates (device init --serial --hardware-id --image-root "
                "--director-root)");
  }
  const std::string base = slash(repo_url);
  repo::Updater director(tuf / "director",
                         base + "director/devices/" + config.serial + "/metadata/", fetcher);
  repo::Updater images(tuf / "image", base + "image/metadata/", fetcher);
  if (auto r = refresh_both(director, images, config.serial); !r) {
    return std::unexpected(r.error());
  }

  // What the director assigns to this device (its top-level targets, chunk indexes aside).
  const repo::Targets* assigned = director.trusted()->targets("targets");
  if (assigned == nullptr) {
    return fail(ErrorCode::kNotTrusted, "director: no trusted targets metadata after refresh");
  }
  auto chosen = assigned_target(*assigned, wanted, config.serial);
  if (!chosen) return std::unexpected(chosen.error());
  const std::string name = *chosen;

  const repo::TargetFile& by_director = assigned->targets.at(name);
  auto by_images = find(images, name, "image repository");
  if (!by_images) return std::unexpected(by_images.error());
  if (auto ok = agree(by_director, *by_images, config.hardware_id); !ok) {
    return std::unexpected(ok.error());
  }
  auto custom = custom_of(*by_images);
  if (!custom) return std::unexpected(custom.error());
  auto binding = chunk_binding(*custom, name);
  if (!binding) return std::unexpected(binding.error());
  auto director_custom = custom_of(by_director);
  const Json* director_ironseal = director_custom ? member(*director_custom, "ironseal") : nullptr;
  const Json* director_binding =
      director_ironseal ? member(*director_ironseal, "chunk_index") : nullptr;
  if (!director_binding || *director_binding != *binding) {
    return fail(ErrorCode::kNotTrusted,
                "director and image repository disagree on the chunk index of ", name);
  }
  auto index = fetch_chunk_index(images, *binding, name, tuf, base, by_images->length);
  if (!index) return std::unexpected(index.error());

  UpdatePlan plan;
  plan.target = name;
  plan.length = by_images->length;
  plan.sha256 = by_images->hashes.at("sha256");
  auto url = images.target_url(*by_images, base + "image/targets/");
  if (!url) return std::unexpected(repo::to_error(url.error()));
  plan.image_url = *url;
  const Json& meta = *member(*custom, "ironseal");  // present: chunk_binding found it
  const Json* version = member(meta, "version");
  const Json* counter = member(meta, "security_counter");
  if ((version && !version->is_string()) || (counter && (!counter->is_number_unsigned() ||
                  counter->get<std::uint64_t>() > UINT32_MAX))) {
    return fail(ErrorCode::kNotTrusted, "target ", name,
                ": custom.ironseal.version must be a string and security_counter an integer "
                "in [0, 2^32)");
  }
  plan.version = version ? version->get<std::string>() : "";
  plan.security_counter = counter ? counter->get<std::uint32_t>() : 0u;
  plan.index = std::move(*index);
  compare_with_slots(hd, plan);
  return plan;
}

Result<delivery::ChunkedInstallReport> apply_update(boot::HostDevice& hd,
                                                    const std::filesystem::path& dir,
                                                    const UpdatePlan& plan,
                                                    const delivery::ChunkedInstallOptions& options,
                                                    const delivery::HttpLimits& http) {
  auto source = delivery::HttpChunkSource::create(plan.image_url, http);
  if (!source) return std::unexpected(source.error());
  delivery::ChunkedInstallOptions opt = options;
  if (opt.journal.empty()) opt.journal = boot::device_files(dir).install_journal;
  if (!plan.index)
    return fail(ErrorCode::kNotTrusted, "no authenticated chunk index to install by");
  return delivery::install_chunked(hd, *plan.index, **source, opt);
}

}  // namespace ironseal::agent
