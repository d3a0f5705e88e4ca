// `ironseal image ...`: sign, verify and index boot images (MCUboot format); `image inspect` is
// in cmd_image_inspect.cc.
#include <charconv>
#include <iostream>

#include "boot/otp_map.h"
#include "cli.h"
#include "core/bytes.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "crypto/key.h"
#include "crypto/signer.h"
#include "image/chunk_index.h"
#include "image/host.h"
#include "image/inspect.h"
#include "image/sign.h"
#include "image_cli.h"
#include "progress.h"

namespace ironseal::cli {
namespace {

// Accepts decimal or 0x-prefixed hexadecimal.
Result<std::uint64_t> parse_size(const std::string& text, const char* what, std::uint64_t max) {
  std::string_view digits = text;
  int base = 10;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    digits.remove_prefix(2);
    base = 16;
  }
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || v > max) {
    return fail(ErrorCode::kInvalidArgument, "bad ", what, " '", text,
                "' (decimal or 0x hex, at most ", std::to_string(max), ")");
  }
  return v;
}

// "ID:VERSION", e.g. "1:2.0.0+0": this image needs image ID at VERSION or newer.
Result<image::Dependency> parse_dependency(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    return fail(ErrorCode::kInvalidArgument, "bad dependency '", text, "' (expected ID:VERSION)");
  }
  auto id = parse_size(text.substr(0, colon), "dependency image id", 255);
  if (!id) return std::unexpected(id.error());
  auto version = image::parse_version(std::string_view(text).substr(colon + 1));
  if (!version) return std::unexpected(version.error());
  return image::Dependency{static_cast<std::uint8_t>(*id), *version};
}

struct ImageArgs {
  std::uint32_t chunk_size = image::kDefaultChunkSize;
  std::string key;
  std::vector<std::string> keys;
  std::string version;
  std::string security_counter;
  std::string header_size = "0x200";
  std::string slot_size;
  std::string load_address = "0";
  std::vector<std::string> dependencies;
  std::string vid;
  std::string cid;
  bool pad = false;
  bool pure = false;
  bool json = false;
  std::string in;
  std::string out;
};

Result<void> do_sign(const ImageArgs& a) {
  image::SignOptions opt;
  auto version = image::parse_version(a.version);
  if (!version) return std::unexpected(version.error());
  opt.version = *version;
  auto counter = parse_size(a.security_counter, "security counter", 0xffffffffu);
  if (!counter) return std::unexpected(counter.error());
  opt.security_counter = static_cast<std::uint32_t>(*counter);
  auto header = parse_size(a.header_size, "header size", 0xffff);
  if (!header) return std::unexpected(header.error());
  opt.header_size = static_cast<std::uint16_t>(*header);
  auto load = parse_size(a.load_address, "load address", 0xffffffffu);
  if (!load) return std::unexpected(load.error());
  opt.load_address = static_cast<std::uint32_t>(*load);
  if (!a.slot_size.empty()) {
    auto slot = parse_size(a.slot_size, "slot size", 0xffffffffu);
    if (!slot) return std::unexpected(slot.error());
    opt.slot_size = static_cast<std::uint32_t>(*slot);
  }
  opt.pad = a.pad;
  opt.pure = a.pure;
  for (const auto& d : a.dependencies) {
    auto dep = parse_dependency(d);
    if (!dep) return std::unexpected(dep.error());
    opt.dependencies.push_back(*dep);
  }

  if (!a.vid.empty()) {
    auto vid = image::parse_uuid(a.vid, image::kUuidNamespaceDns);
    if (!vid) return std::unexpected(vid.error());
    opt.vendor_uuid = *vid;
  }
  if (!a.cid.empty()) {
    if (!opt.vendor_uuid) return fail(ErrorCode::kInvalidArgument, "--cid needs --vid");
    auto cid = image::parse_uuid(a.cid, *opt.vendor_uuid);
    if (!cid) return std::unexpected(cid.error());
    opt.class_uuid = *cid;
  }

  // The OTP anti-rollback field holds kOtpCounterBits; a device that keeps its counter in fuses
  // fuses at most that, and then protects only against images below it. Say so before signing.
  std::string counter_warning;
  if (opt.security_counter > boot::kOtpCounterBits) {
    counter_warning =
        "security counter " + std::to_string(opt.security_counter) + " is above " +
        std::to_string(boot::kOtpCounterBits) +
        ", what the OTP anti-rollback fuses hold: a device counting in fuses stops at " +
        std::to_string(boot::kOtpCounterBits) +
        " and then refuses only images below that (a TPM NV counter holds the value "
        "exactly)";
    std::cerr << "ironseal: warning: " << counter_warning << "\n";
  }
  auto signer = crypto::open_signer(a.key);
  if (!signer) return std::unexpected(signer.error());
  ByteProgress bar("signing");
  auto info = image::sign_image_file(
      a.in, a.out, opt, **signer,
      [&](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
  bar.finish();
  if (!info) return std::unexpected(info.error());
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(a.out, ec);
  if (a.json) {
    nlohmann::json j = info_json(*info);
    j["file"] = a.out;
    j["file_size"] = file_size;
    if (!counter_warning.empty()) j["warnings"] = {counter_warning};
    print_json(j);
  } else {
    std::cout << "signed " << a.out << ": version " << image::format_version(opt.version)
              << ", security counter " << opt.security_counter << ", "
              << signature_kind_name(info->signature_kind) << ", " << file_size << " bytes\n";
  }
  return {};
}

Result<void> do_verify(const ImageArgs& a) {
  std::vector<crypto::PublicKey> keys;
  for (const auto& path : a.keys) {
    auto key = crypto::PublicKey::load(path);
    if (!key) return std::unexpected(key.error());
    keys.push_back(std::move(*key));
  }
  auto info = image::verify_image_file(a.in, keys);
  if (!info) {
    // Only a verdict on the image reads "NOT TRUSTED"; a file that cannot be read (missing, a
    // directory, a FIFO) is an environment error with its own message and exit code.
    if (info.error().code != ErrorCode::kNotTrusted && info.error().code != ErrorCode::kMalformed) {
      return std::unexpected(info.error());
    }
    if (a.json) {
      print_json({{"file", a.in},
                  {"trusted", false},
                  {"reason", std::string(info.error().reason_or_code())},
                  {"message", info.error().message}});
    }
    return fail_in(info.error(), "NOT TRUSTED: ", a.in, ": ");
  }
  if (a.json) {
    nlohmann::json j = info_json(*info);
    j["file"] = a.in;
    j["trusted"] = true;
    j["key_file"] = a.keys[info->key_index];
    print_json(j);
  } else {
    std::cout << "TRUSTED: " << a.in << ": version " << image::format_version(info->header.version);
    if (info->has_security_counter) std::cout << ", security counter " << info->security_counter;
    std::cout << ", " << signature_kind_name(info->signature_kind) << " signature by "
              << a.keys[info->key_index] << "\n";
  }
  return {};
}

Result<void> do_chunk(const ImageArgs& a) {
  // An index of something that is not a well-formed boot image would be signed into metadata
  // and then shipped: check the structure first (trust is the repository's check, with keys).
  auto inspection = image::inspect_image_file(a.in);
  if (!inspection) return std::unexpected(inspection.error());
  if (!inspection->well_formed()) {
    return fail_in(image::status_error(inspection->structure_status()), a.in,
                   " is not a well-formed boot image: ");
  }
  auto index = image::build_chunk_index(a.in, a.chunk_size);
  if (!index) return std::unexpected(index.error());
  const Bytes encoded = image::encode_chunk_index(*index);
  if (auto w = write_file_atomic(a.out, encoded); !w) return w;
  const std::string digest = to_hex(crypto::sha256(encoded));
  if (a.json) {
    print_json({{"file", a.out},
                {"chunk_size", index->chunk_size},
                {"chunks", index->hashes.size()},
                {"image_size", index->image_size},
                {"index_sha256", digest}});
  } else {
    std::cout << "chunk index " << a.out << ": " << index->hashes.size() << " chunks of "
              << index->chunk_size << " bytes; index SHA-256 " << digest << "\n";
  }
  return {};
}

}  // namespace

void register_image_commands(CLI::App& app) {
  auto a = std::make_shared<ImageArgs>();
  CLI::App* img = app.add_subcommand(
      "image",
      "Sign, verify and inspect boot images (MCUboot format).\n\n"
      "A boot image is the raw firmware with a header in front (magic, version, sizes) and TLV\n"
      "records behind: protected ones covered by the hash (security counter, dependencies) and\n"
      "unprotected ones (the hash, the signing key's hash, the signature). Images made here\n"
      "verify with MCUboot's imgtool, and imgtool's verify here.");
  img->require_subcommand(1);

  CLI::App* sign = img->add_subcommand(
      "sign", "Add a header to a raw firmware binary, sign it and write the boot image.");
  sign->add_option("--key", a->key,
                   "Private key file (PKCS#8 PEM, mode 0600) or PKCS#11 URI "
                   "(pkcs11:token=T;object=NAME)")
      ->required();
  sign->add_option("--version", a->version,
                   "Image version MAJOR.MINOR.REVISION+BUILD, e.g. 1.2.3+4")
      ->required();
  sign->add_option("--security-counter", a->security_counter,
                   "Anti-rollback counter: devices refuse images below their fused counter")
      ->required();
  sign->add_option("--header-size", a->header_size, "Header size in bytes (default 0x200)");
  sign->add_option("--slot-size", a->slot_size, "Slot size: refuse images that do not fit");
  sign->add_flag("--pad", a->pad, "Pad to --slot-size with 0xff and write MCUboot's trailer magic");
  sign->add_flag("--pure", a->pure,
                 "Ed25519 only: sign the image bytes themselves, not their digest (MCUboot pure)");
  sign->add_option("--load-address", a->load_address,
                   "RAM load address; non-zero sets the RAM_LOAD flag");
  sign->add_option("--dependency", a->dependencies,
                   "ID:VERSION: needs image ID at VERSION or newer (repeatable)");
  sign->add_option("--vid", a->vid,
                   "Vendor UUID, or a name (e.g. example.com) turned into a UUID as imgtool does");
  sign->add_option("--cid", a->cid,
                   "Device class UUID, or a name (UUID v5 under the vendor UUID); with --vid, "
                   "devices fused with a hardware identity accept only matching images");
  sign->add_flag("--json", a->json, "Print the signed image's description as JSON");
  sign->add_option("IN", a->in, "Raw firmware binary")->required()->check(CLI::ExistingFile);
  sign->add_option("OUT", a->out, "Signed image to write")->required();
  set_action(sign, [a] { return do_sign(*a); });

  CLI::App* verify = img->add_subcommand(
      "verify",
      "Check an image's structure, hash and signature against trusted public keys.\n"
      "Exit 0 when trusted; 1 with the reason (bad_signature, hash_mismatch, unknown_key,\n"
      "truncated, bad_magic, tlv_out_of_bounds, ...) when not.");
  verify->add_option("--key", a->keys, "Trusted public key PEM (repeatable)")->required();
  verify->add_flag("--json", a->json, "Print the result as JSON");
  verify->add_option("IMG", a->in, "Boot image")->required();
  set_action(verify, [a] { return do_verify(*a); });

  CLI::App* chunk = img->add_subcommand(
      "chunk",
      "Write the chunk index of an image: fixed-size chunks and the SHA-256 of each. Devices\n"
      "prove every chunk against it before writing it, resume at a chunk, and copy chunks they\n"
      "already have. Its SHA-256 (printed) is what the signed update metadata binds.");
  chunk->add_option("IMG", a->in, "Signed image")->required()->check(CLI::ExistingFile);
  chunk->add_option("--out", a->out, "Index file to write (e.g. IMG.chunks)")->required();
  chunk->add_option("--chunk-size", a->chunk_size,
                    "Chunk size in bytes, a power of two, 4 KiB..16 MiB (default 64 KiB)");
  chunk->add_flag("--json", a->json, "Print as JSON");
  set_action(chunk, [a] { return do_chunk(*a); });

  add_image_inspect_command(img);
}

}  // namespace ironseal::cli
