// Building and signing boot images on the host (the release pipeline's side of the format).
// The output is byte-compatible with MCUboot's imgtool: same layout, TLV order and padding.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/signer.h"
#include "image/format.h"
#include "image/verify.h"

namespace ironseal::image {

// "1.2.3+4" or "1.2.3" or "1.2": major, minor < 256, revision < 65536, build < 2^32.
Result<Version> parse_version(std::string_view text);
std::string format_version(const Version& v);

// Bytes imgtool reserves at the end of a slot for MCUboot's trailer with its defaults (align 1,
// 128 sectors, max_align 8): 128*3 status bytes + 4*8 flag bytes + 16 magic bytes.
inline constexpr std::uint32_t kDefaultTrailerReserve = 128 * 3 + 4 * 8 + 16;

using Uuid = std::array<std::uint8_t, 16>;

// A UUID as imgtool's --vid/--cid take it: "12345678-1234-5678-1234-567812345678", 32 hex digits,
// or a printable name, turned into a version-5 UUID under `name_space` (RFC 4122). imgtool uses
// the DNS namespace for the vendor and the vendor UUID as namespace for the class.
Result<Uuid> parse_uuid(std::string_view text, const Uuid& name_space);
inline constexpr Uuid kUuidNamespaceDns = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                           0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
std::string format_uuid(const std::uint8_t (&uuid)[16]);

struct SignOptions {
  Version version;
  std::uint32_t security_counter = 0;
  std::uint16_t header_size = 0x200;
  std::uint32_t load_address = 0;  // non-zero sets the RAM_LOAD flag, as imgtool does
  bool pure = false;               // Ed25519 only: sign the bytes rather than their digest
  std::vector<Dependency> dependencies;
  std::optional<Uuid> vendor_uuid;  // hardware identity: devices with fused UUIDs require a match
  std::optional<Uuid> class_uuid;
  std::optional<std::uint32_t>
      slot_size;  // with pad: fill to this size and write the trailer magic
  bool pad = false;
};

// Room the TLV areas may take at most (protected: counter, dependencies, UUIDs; unprotected: hash,
// key hash, signature); the format's 32-bit sizes leave the rest for header and firmware.
inline constexpr std::uint32_t kMaxTlvAreasSize = 64 * 1024;
// The largest firmware the format admits behind a header of `header_size` bytes.
std::uint64_t max_firmware_size(std::uint16_t header_size);

// `firmware` is the raw binary; the header is placed in front of it.
Result<Bytes> sign_image(ByteView firmware, const SignOptions& options,
                         const crypto::Signer& signer);
// The same without copying the firmware: `image` holds options.header_size bytes of room, then
// the firmware; on success it holds the signed image (TLVs appended, padding if asked).
Result<void> sign_image_in_place(Bytes& image, const SignOptions& options,
                                 const crypto::Signer& signer);

// Whether sign_image_file streams for this key and mode: Ed25519 over the digest (the default)
// does, in one pass with memory bounded by a 1 MiB buffer; ECDSA and pure Ed25519 sign the image
// bytes themselves through the Signer interface, so the image is held in memory once.
bool sign_streams(const SignOptions& options, const crypto::Signer& signer);

// (bytes of firmware read, firmware size)
using SignProgress = std::function<void(std::uint64_t, std::uint64_t)>;

// Signs the firmware file `in` into `out`. The input's size is checked against the format's and
// the slot's limits before any of it is read; the output is written beside `out`, verified with
// the signer's public key (the self-check), and only then renamed over `out` (write_file_atomic's
// crash safety). Returns what the verifier read from the signed image.
Result<ImageInfo> sign_image_file(const std::filesystem::path& in, const std::filesystem::path& out,
                                  const SignOptions& options, const crypto::Signer& signer,
                                  const SignProgress& progress = {});

}  // namespace ironseal::image
