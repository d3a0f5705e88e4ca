// Staging image targets in a TUF image repository (repository.h): each boot image is checked,
// stored content-addressed under targets/ with its chunk index, and described in
// staged-targets.json until `publish` signs the chain.
#include <algorithm>

#include "core/file.h"
#include "crypto/hash.h"
#include "evidence/sbom.h"
#include "image/chunk_index.h"
#include "image/host.h"
#include "image/inspect.h"
#include "image/sign.h"
#include "image/verify.h"
#include "publish/repository.h"
#include "publish/repository_internal.h"

namespace ironseal::repo {
namespace {

constexpr std::uint64_t kMaxSbomBytes = 64 << 20;

using namespace detail;

// Target names become file names (SHA256.NAME) and URL segments: keep them plain.
Result<void> check_target_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 200 && name.front() != '.' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '+' ||
                           c == '~';
                  });
  if (!ok) {
    return fail(ErrorCode::kInvalidArgument, "bad target name '", name,
                "' (letters, digits and . _ - + ~, not starting with '.')");
  }
  if (name.ends_with(".chunks")) {
    return fail(ErrorCode::kInvalidArgument, "target name '", name,
                "' ends in .chunks, which names chunk indexes");
  }
  return {};
}

Result<void> check_printable(const std::string& text, const char* what) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return fail(ErrorCode::kInvalidArgument, "bad ", what, " '", text,
                "' (printable ASCII without spaces)");
  }
  return {};
}

// Structure, not trust: header and both TLV areas must parse; returns version and counter.
struct ImageFacts {
  std::string version;
  std::uint32_t security_counter = 0;
};

Result<ImageFacts> inspect_boot_image(const fs::path& path) {
  auto inspection = image::inspect_image_file(path);
  if (!inspection) return std::unexpected(inspection.error());
  if (!inspection->well_formed()) {
    return fail_in(image::status_error(inspection->structure_status()), path.string(),
                   " is not a valid boot image: ");
  }
  // Devices compare a slot's first `length` bytes with the target: publish the image exactly,
  // without slot padding or trailer behind its TLVs.
  if (inspection->file_size != inspection->layout.unprotected_end) {
    return fail(ErrorCode::kMalformed, path.string(), " has ",
                std::to_string(inspection->file_size - inspection->layout.unprotected_end),
                " bytes after its TLV area (slot padding?); publish the unpadded image");
  }
  return ImageFacts{image::format_version(inspection->layout.header.version),
                    inspection->security_counter.value_or(0)};
}

// Writes `bytes` to targets/SHA256.NAME (content-addressed: an existing file is the same bytes).
Result<std::string> store_target(const fs::path& targets_dir, const std::string& name,
                                 ByteView bytes) {
  const std::string sha = to_hex(crypto::sha256(bytes));
  const fs::path path = targets_dir / (sha + "." + name);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (auto ok = write_bytes(path, bytes); !ok) return std::unexpected(ok.error());
  }
  return sha;
}

// The staged entry of a release's SBOM, stored as target `sbom_name` beside image target `of`;
// null when there is none. Refused unless the file is a CycloneDX 1.6 document.
Result<Json> stage_sbom(const fs::path& targets, const fs::path& sbom, const std::string& sbom_name,
                        const std::string& of) {
  if (sbom.empty()) return Json();
  auto bytes = read_file(sbom, kMaxSbomBytes);
  if (!bytes) return fail_in(bytes.error(), "--sbom ", sbom.string(), ": ");
  auto parsed = evidence::parse_sbom(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), sbom.string());
  if (!parsed) return std::unexpected(parsed.error());
  auto sha = store_target(targets, sbom_name, *bytes);
  if (!sha) return std::unexpected(sha.error());
  return Json{{"length", bytes->size()},
              {"hashes", {{"sha256", *sha}}},
              {"custom", {{"ironseal", {{"sbom_of", of}, {"serial_number", parsed->serial}}}}}};
}

}  // namespace

Result<Json> Repository::staged_targets() const {
  std::error_code ec;
  if (fs::exists(dir_ / kStagedName, ec)) {
    auto staged = read_json(dir_ / kStagedName);
    if (!staged) return std::unexpected(staged.error());
    if (!staged->is_object() || !staged->contains("targets") || !(*staged)["targets"].is_object()) {
      return fail(ErrorCode::kMalformed, (dir_ / kStagedName).string(), ": no targets object");
    }
    return (*staged)["targets"];
  }
  auto published = chain_role(metadata_dir(), "targets");
  if (!published) return std::unexpected(published.error());
  return published->is_null() ? Json::object() : (*published)["targets"];
}

Result<std::string> Repository::add_image_target(const fs::path& image,
                                                 const ImageTargetOptions& options) {
  if (kind_ != RepositoryKind::kImage) {
    return fail(ErrorCode::kInvalidArgument, dir_.string(),
                " is a director, not an image repository");
  }
  const std::string name = options.name.empty() ? image.filename().string() : options.name;
  if (auto ok = check_target_name(name); !ok) return std::unexpected(ok.error());
  if (auto ok = check_printable(options.hardware_id, "hardware id"); !ok) {
    return std::unexpected(ok.error());
  }
  if (options.chunk_size < image::kMinChunkSize || options.chunk_size > image::kMaxChunkSize ||
      (options.chunk_size & (options.chunk_size - 1)) != 0) {
    return fail(ErrorCode::kInvalidArgument, "chunk size must be a power of two, 4 KiB..16 MiB");
  }
  Json custom = Json::object();
  if (!options.custom.is_null()) {
    if (!options.custom.is_object()) {
      return fail(ErrorCode::kInvalidArgument, "--custom must be a JSON object");
    }
    if (options.custom.contains("hardware_id") || options.custom.contains("ironseal")) {
      return fail(ErrorCode::kInvalidArgument,
                  "--custom must not set hardware_id or ironseal (they are derived)");
    }
    if (auto c = canonical(options.custom); !c) {
      return fail(ErrorCode::kInvalidArgument, "--custom cannot be signed: ", c.error().message);
    }
    custom = options.custom;
  }
  auto facts = inspect_boot_image(image);
  if (!facts) return std::unexpected(facts.error());
  auto bytes = read_file(image);
  if (!bytes) return std::unexpected(bytes.error());
  if (auto ok = make_dir(targets_dir()); !ok) return std::unexpected(ok.error());
  auto sha = store_target(targets_dir(), name, *bytes);
  if (!sha) return std::unexpected(sha.error());
  // The index is built from the stored copy: exactly the bytes the metadata will describe.
  auto index = image::build_chunk_index(targets_dir() / (*sha + "." + name), options.chunk_size);
  if (!index) return std::unexpected(index.error());
  const Bytes encoded = image::encode_chunk_index(*index);
  const std::string index_name = name + ".chunks";
  auto index_sha = store_target(targets_dir(), index_name, encoded);
  if (!index_sha) return std::unexpected(index_sha.error());

  const std::string sbom_name = name + ".cdx.json";
  auto sbom_entry = stage_sbom(targets_dir(), options.sbom, sbom_name, name);
  if (!sbom_entry) return std::unexpected(sbom_entry.error());
  custom["hardware_id"] = options.hardware_id;
  custom["ironseal"] = {{"version", facts->version},
                        {"security_counter", facts->security_counter},
                        {"chunk_index",
                         {{"target", index_name},
                          {"sha256", *index_sha},
                          {"length", encoded.size()},
                          {"chunk_size", options.chunk_size}}}};
  if (!sbom_entry->is_null()) {
    const Json& e = *sbom_entry;
    custom["ironseal"]["sbom"] = {{"target", sbom_name}, {"sha256", e["hashes"]["sha256"]},
                                  {"length", e["length"]},
                                  {"serial_number", e["custom"]["ironseal"]["serial_number"]}};
  }
  auto staged = staged_targets();
  if (!staged) return std::unexpected(staged.error());
  (*staged)[name] = {{"length", bytes->size()}, {"hashes", {{"sha256", *sha}}}, {"custom", custom}};
  (*staged)[index_name] = {{"length", encoded.size()},
                           {"hashes", {{"sha256", *index_sha}}},
                           {"custom", {{"ironseal", {{"chunk_index_of", name}}}}}};
  if (!sbom_entry->is_null()) {
    (*staged)[sbom_name] = *sbom_entry;
  } else {
    staged->erase(sbom_name);  // a re-added image without an SBOM must not keep a stale one
  }
  if (auto ok =
          write_bytes(dir_ / kStagedName, to_bytes(Json{{"targets", *staged}}.dump(1) + "\n"));
      !ok) {
    return std::unexpected(ok.error());
  }
  return name;
}

Result<ChainReport> Repository::publish() {
  if (kind_ != RepositoryKind::kImage) {
    return fail(ErrorCode::kInvalidArgument, dir_.string(),
                " is a director: its metadata is published per device by `director assign`");
  }
  auto desired = staged_targets();
  if (!desired) return std::unexpected(desired.error());
  auto report = publish_chain(metadata_dir(), *desired);
  if (!report) return report;
  std::error_code ec;
  fs::remove(dir_ / kStagedName, ec);  // published: nothing staged any more (idempotent if kept)
  return report;
}

}  // namespace ironseal::repo
