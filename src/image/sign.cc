#include "image/sign.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

#include "core/endian.h"
#include "core/file.h"
#include "crypto/hash.h"
#include "image/host.h"

namespace ironseal::image {
namespace {

void put_tlv(Bytes& out, std::uint16_t type, ByteView value) {
  std::uint8_t head[4];
  store_le16(head, type);
  store_le16(head + 2, static_cast<std::uint16_t>(value.size()));
  out.insert(out.end(), head, head + 4);
  out.insert(out.end(), value.begin(), value.end());
}

Bytes le32(std::uint32_t v) {
  Bytes b(4);
  store_le32(b.data(), v);
  return b;
}

template <typename T>
bool parse_number(std::string_view text, T max, T* out) {
  if (text.empty()) return false;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v > max) return false;
  *out = static_cast<T>(v);
  return true;
}

}  // namespace

Result<Version> parse_version(std::string_view text) {
  Version v;
  std::string_view rest = text;
  std::string_view build;
  if (auto plus = rest.find('+'); plus != std::string_view::npos) {
    build = rest.substr(plus + 1);
    rest = rest.substr(0, plus);
    if (!parse_number<std::uint32_t>(build, std::numeric_limits<std::uint32_t>::max(), &v.build)) {
      return fail(ErrorCode::kInvalidArgument, "bad build number in version '", text, "'");
    }
  }
  std::string_view parts[3];
  int count = 0;
  while (count < 3) {
    const auto dot = rest.find('.');
    parts[count++] = rest.substr(0, dot);
    if (dot == std::string_view::npos) {
      rest = {};
      break;
    }
    rest = rest.substr(dot + 1);
  }
  const bool ok = count >= 2 && rest.empty() &&
                  parse_number<std::uint8_t>(parts[0], 255, &v.major) &&
                  parse_number<std::uint8_t>(parts[1], 255, &v.minor) &&
                  (count < 3 || parse_number<std::uint16_t>(parts[2], 65535, &v.revision));
  if (!ok) {
    return fail(ErrorCode::kInvalidArgument, "bad version '", text,
                "' (expected MAJOR.MINOR[.REVISION][+BUILD], e.g. 1.2.3+4; major and minor "
                "< 256, revision < 65536)");
  }
  return v;
}

std::string format_version(const Version& v) {
  return std::to_string(v.major) + "." + std::to_string(v.minor) + "." +
         std::to_string(v.revision) + "+" + std::to_string(v.build);
}

Result<Uuid> parse_uuid(std::string_view text, const Uuid& name_space) {
  std::string hex;
  const bool dashed =
      text.size() == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-';
  if (dashed || text.size() == 32) {
    for (char c : text) {
      if (c != '-') hex.push_back(c);
    }
    if (auto raw = from_hex(hex); raw && raw->size() == 16) {
      Uuid u;
      std::copy(raw->begin(), raw->end(), u.begin());
      return u;
    }
  }
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, "empty UUID or name");
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e)
      return fail(ErrorCode::kInvalidArgument, "UUID name is not printable");
  }
  Bytes input(name_space.begin(), name_space.end());
  input.insert(input.end(), text.begin(), text.end());
  const Bytes h = crypto::sha1_for_uuid(input);
  Uuid u;
  std::copy_n(h.begin(), 16, u.begin());
  u[6] = static_cast<std::uint8_t>((u[6] & 0x0f) | 0x50);  // version 5
  u[8] = static_cast<std::uint8_t>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

std::string format_uuid(const std::uint8_t (&uuid)[16]) {
  const std::string h = to_hex(ByteView(uuid, 16));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

Result<Bytes> sign_image(ByteView firmware, const SignOptions& options,
                         const crypto::Signer& signer) {
  Bytes image(options.header_size + firmware.size());
  std::copy(firmware.begin(), firmware.end(), image.begin() + options.header_size);
  if (auto r = sign_image_in_place(image, options, signer); !r) return std::unexpected(r.error());
  return image;
}

namespace {

// What precedes and follows the firmware, before the hash is known: the header (padded to
// header_size with 0xff, as imgtool's --pad-header does) and the protected TLV area.
struct Frame {
  Bytes header;
  Bytes protected_area;
  bool ed25519 = false;
};

Result<Frame> frame(std::uint64_t firmware_size, const SignOptions& options,
                    const crypto::Signer& signer) {
  Frame f;
  f.ed25519 = signer.key_type() == crypto::KeyType::kEd25519;
  if (options.pure && !f.ed25519) {
    return fail(ErrorCode::kInvalidArgument, "--pure is defined for Ed25519 keys only");
  }
  if (options.header_size < kHeaderSize) {
    return fail(ErrorCode::kInvalidArgument, "header size must be at least 32 bytes");
  }
  if (firmware_size > max_firmware_size(options.header_size)) {
    return fail_because(
        ErrorCode::kInvalidArgument, "too_large", "firmware is ", std::to_string(firmware_size),
        " bytes; the boot image format's 32-bit sizes allow at most ",
        std::to_string(max_firmware_size(options.header_size)), " bytes behind a header of ",
        std::to_string(options.header_size), " bytes");
  }
  if (options.pad && !options.slot_size) {
    return fail(ErrorCode::kInvalidArgument, "--pad needs --slot-size");
  }
  if (options.slot_size && options.header_size + firmware_size > *options.slot_size) {
    return fail_because(ErrorCode::kInvalidArgument, "too_large", "header and firmware (",
                        std::to_string(options.header_size + firmware_size),
                        " bytes) do not fit the slot (", std::to_string(*options.slot_size),
                        " bytes)");
  }

  // Protected TLVs: covered by the hash and the signature.
  Bytes prot_entries;
  put_tlv(prot_entries, kTlvSecurityCounter, le32(options.security_counter));
  for (const Dependency& d : options.dependencies) {
    std::uint8_t v[12] = {d.image_id, 0, 0, 0, d.min_version.major, d.min_version.minor};
    store_le16(v + 6, d.min_version.revision);
    store_le32(v + 8, d.min_version.build);
    put_tlv(prot_entries, kTlvDependency, ByteView(v, sizeof v));
  }
  if (options.vendor_uuid) put_tlv(prot_entries, kTlvUuidVendor, *options.vendor_uuid);
  if (options.class_uuid) put_tlv(prot_entries, kTlvUuidClass, *options.class_uuid);
  const std::size_t prot_size = kTlvInfoSize + prot_entries.size();
  if (prot_size > 0xffff) return fail(ErrorCode::kInvalidArgument, "too many protected TLVs");

  ImageHeader h;
  h.magic = kImageMagic;
  h.load_address = options.load_address;
  h.header_size = options.header_size;
  h.protected_tlv_size = static_cast<std::uint16_t>(prot_size);
  h.image_size = static_cast<std::uint32_t>(firmware_size);
  h.flags = options.load_address != 0 ? kFlagRamLoad : 0;
  h.version = options.version;
  std::uint8_t encoded[kHeaderSize];
  encode_header(h, encoded);
  f.header.assign(options.header_size, 0xff);
  std::copy(std::begin(encoded), std::end(encoded), f.header.begin());
  f.protected_area.resize(kTlvInfoSize);
  store_le16(f.protected_area.data(), kTlvProtectedInfoMagic);
  store_le16(f.protected_area.data() + 2, static_cast<std::uint16_t>(prot_size));
  f.protected_area.insert(f.protected_area.end(), prot_entries.begin(), prot_entries.end());
  return f;
}

crypto::HashAlgorithm image_hash(const SignOptions& options) {
  return options.pure ? crypto::HashAlgorithm::kSha512 : crypto::HashAlgorithm::kSha256;
}

// The unprotected TLV area, in imgtool's order: hash, [SIG_PURE], KEYHASH, signature.
Bytes unprotected_area(const SignOptions& options, const Frame& f, const crypto::Signer& signer,
                       ByteView digest, ByteView signature) {
  Bytes unprot;
  put_tlv(unprot, options.pure ? kTlvSha512 : kTlvSha256, digest);
  if (options.pure) {
    const std::uint8_t one = 1;
    put_tlv(unprot, kTlvSigPure, ByteView(&one, 1));
  }
  put_tlv(unprot, kTlvKeyHash, crypto::digest(image_hash(options), signer.public_key().spki_der()));
  put_tlv(unprot, f.ed25519 ? kTlvEd25519 : kTlvEcdsaSig, signature);
  Bytes area(kTlvInfoSize);
  store_le16(area.data(), kTlvInfoMagic);
  store_le16(area.data() + 2, static_cast<std::uint16_t>(kTlvInfoSize + unprot.size()));
  area.insert(area.end(), unprot.begin(), unprot.end());
  return area;
}

Result<void> check_slot_fit(std::uint64_t image_size, const SignOptions& options) {
  if (!options.slot_size) return {};
  const std::uint64_t needed = image_size + (options.pad ? kDefaultTrailerReserve : 0);
  if (needed > *options.slot_size) {
    return fail(ErrorCode::kInvalidArgument, "signed image (", std::to_string(image_size), " bytes",
                options.pad ? " + trailer" : "", ") does not fit the slot (",
                std::to_string(*options.slot_size), " bytes)");
  }
  return {};
}

}  // namespace

std::uint64_t max_firmware_size(std::uint16_t header_size) {
  return std::uint64_t{std::numeric_limits<std::uint32_t>::max()} - header_size - kMaxTlvAreasSize;
}

Result<void> sign_image_in_place(Bytes& image, const SignOptions& options,
                                 const crypto::Signer& signer) {
  if (image.size() < options.header_size) {
    return fail(ErrorCode::kInvalidArgument, "no room for the header in front of the firmware");
  }
  auto f = frame(image.size() - options.header_size, options, signer);
  if (!f) return std::unexpected(f.error());
  std::copy(f->header.begin(), f->header.end(), image.begin());
  image.insert(image.end(), f->protected_area.begin(), f->protected_area.end());

  const Bytes digest = crypto::digest(image_hash(options), image);
  Result<Bytes> signature = options.pure ? signer.sign(image)   // Ed25519 over the bytes
                            : f->ed25519 ? signer.sign(digest)  // Ed25519 over the digest
                                         : signer.sign(image);  // ECDSA over SHA-256(bytes)
  if (!signature) return std::unexpected(signature.error());
  const Bytes unprot = unprotected_area(options, *f, signer, digest, *signature);
  image.insert(image.end(), unprot.begin(), unprot.end());

  if (auto fit = check_slot_fit(image.size(), options); !fit) return fit;
  if (options.pad) {
    image.resize(*options.slot_size, 0xff);
    std::copy(std::begin(kBootMagic), std::end(kBootMagic), image.end() - sizeof kBootMagic);
  }
  return {};
}

bool sign_streams(const SignOptions& options, const crypto::Signer& signer) {
  return !options.pure && signer.key_type() == crypto::KeyType::kEd25519;
}

namespace {

// Fills to the slot size with the erased value, ending in the boot magic (imgtool --pad).
// `written` counts the bytes `emit` wrote so far, and grows as it writes.
template <typename Emit>
Result<void> emit_padding(std::uint64_t slot_size, const std::uint64_t& written, Emit& emit) {
  const Bytes fill(std::min<std::uint64_t>(slot_size - written, 1 << 20), 0xff);
  const std::uint64_t fill_to = slot_size - sizeof kBootMagic;
  while (written < fill_to) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(fill.size(), fill_to - written));
    if (auto w = emit(ByteView(fill.data(), n)); !w) return std::unexpected(w.error());
  }
  return emit(ByteView(kBootMagic, sizeof kBootMagic));
}

}  // namespace

Result<ImageInfo> sign_image_file(const std::filesystem::path& in, const std::filesystem::path& out,
                                  const SignOptions& options, const crypto::Signer& signer,
                                  const SignProgress& progress) {
  auto file = ReadOnlyFile::open(in);
  if (!file) return std::unexpected(file.error());
  auto f = frame(file->size(), options, signer);  // refuses an oversized input before reading it
  if (!f) return std::unexpected(f.error());
  auto writer = AtomicFileWriter::create(out);
  if (!writer) return std::unexpected(writer.error());
  std::uint64_t written = 0;
  auto emit = [&](ByteView bytes) -> Result<void> {
    written += bytes.size();
    return writer->write(bytes);
  };

  if (sign_streams(options, signer)) {
    // Ed25519 over the SHA-256 digest: one pass over the firmware, memory bounded by the buffer.
    auto hasher = crypto::Hasher::create(crypto::HashAlgorithm::kSha256);
    if (!hasher) return std::unexpected(hasher.error());
    hasher->update(f->header);
    if (auto w = emit(f->header); !w) return std::unexpected(w.error());
    Bytes buffer(std::min<std::uint64_t>(file->size(), 1 << 20));
    for (std::uint64_t off = 0; off < file->size();) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), file->size() - off));
      const std::span<std::uint8_t> piece(buffer.data(), n);
      if (!file->read_at(off, piece)) return fail(ErrorCode::kIo, "cannot read ", in.string());
      hasher->update(piece);
      if (auto w = emit(piece); !w) return std::unexpected(w.error());
      off += n;
      if (progress) progress(off, file->size());
    }
    hasher->update(f->protected_area);
    if (auto w = emit(f->protected_area); !w) return std::unexpected(w.error());
    const Bytes digest = hasher->finish();
    auto signature = signer.sign(digest);
    if (!signature) return std::unexpected(signature.error());
    if (auto w = emit(unprotected_area(options, *f, signer, digest, *signature)); !w) {
      return std::unexpected(w.error());
    }
    if (auto fit = check_slot_fit(written, options); !fit) return std::unexpected(fit.error());
  } else {
    // ECDSA and pure Ed25519 sign the image bytes themselves: held in memory once.
    Bytes image;
    image.reserve(options.header_size + file->size() + kMaxTlvAreasSize);
    image.resize(options.header_size + file->size());
    if (!file->read_at(0, std::span(image.data() + options.header_size, file->size()))) {
      return fail(ErrorCode::kIo, "cannot read ", in.string());
    }
    if (progress) progress(file->size(), file->size());
    SignOptions unpadded = options;
    unpadded.pad = false;
    if (auto r = sign_image_in_place(image, unpadded, signer); !r)
      return std::unexpected(r.error());
    if (auto fit = check_slot_fit(image.size(), options); !fit) return std::unexpected(fit.error());
    if (auto w = emit(image); !w) return std::unexpected(w.error());
  }
  if (options.pad) {
    if (auto w = emit_padding(*options.slot_size, written, emit); !w) {
      return std::unexpected(w.error());
    }
  }

  // Check our own output before anyone ships it: the written bytes must verify with the signer's
  // public key. Only then does the file replace `out`.
  const crypto::PublicKey pub = signer.public_key();
  auto info = verify_image_file(writer->temp_path(), std::span(&pub, 1));
  if (!info) {
    return fail(ErrorCode::kCrypto, "signed image failed its self-check: ", info.error().message);
  }
  if (auto c = writer->commit(); !c) return std::unexpected(c.error());
  return info;
}

}  // namespace ironseal::image
