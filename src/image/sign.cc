#include "image/sign.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

#include "core/endian.h"
#include "crypto/hash.h"

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

Result<void> sign_image_in_place(Bytes& image, const SignOptions& options,
                                 const crypto::Signer& signer) {
  if (image.size() < options.header_size) {
    return fail(ErrorCode::kInvalidArgument, "no room for the header in front of the firmware");
  }
  const std::size_t firmware_size = image.size() - options.header_size;
  const bool ed25519 = signer.key_type() == crypto::KeyType::kEd25519;
  if (options.pure && !ed25519) {
    return fail(ErrorCode::kInvalidArgument, "--pure is defined for Ed25519 keys only");
  }
  if (options.header_size < kHeaderSize) {
    return fail(ErrorCode::kInvalidArgument, "header size must be at least 32 bytes");
  }
  if (firmware_size > std::numeric_limits<std::uint32_t>::max() - options.header_size) {
    return fail(ErrorCode::kInvalidArgument, "firmware is larger than the format allows (4 GiB)");
  }
  if (options.pad && !options.slot_size) {
    return fail(ErrorCode::kInvalidArgument, "--pad needs --slot-size");
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

  // imgtool's --pad-header fills the header's tail with the erased value 0xff.
  std::fill(image.begin(), image.begin() + options.header_size, 0xff);
  std::uint8_t header[kHeaderSize];
  encode_header(h, header);
  std::copy(header, header + kHeaderSize, image.begin());
  std::uint8_t info[kTlvInfoSize];
  store_le16(info, kTlvProtectedInfoMagic);
  store_le16(info + 2, static_cast<std::uint16_t>(prot_size));
  image.insert(image.end(), info, info + kTlvInfoSize);
  image.insert(image.end(), prot_entries.begin(), prot_entries.end());

  // Unprotected TLVs, in imgtool's order: hash, [SIG_PURE], KEYHASH, signature.
  const auto alg = options.pure ? crypto::HashAlgorithm::kSha512 : crypto::HashAlgorithm::kSha256;
  const Bytes digest = crypto::digest(alg, image);
  const Bytes key_hash = crypto::digest(alg, signer.public_key().spki_der());
  Result<Bytes> signature = options.pure ? signer.sign(image)   // Ed25519 over the bytes
                            : ed25519    ? signer.sign(digest)  // Ed25519 over the digest
                                         : signer.sign(image);     // ECDSA over SHA-256(bytes)
  if (!signature) return std::unexpected(signature.error());

  Bytes unprot;
  put_tlv(unprot, options.pure ? kTlvSha512 : kTlvSha256, digest);
  if (options.pure) {
    const std::uint8_t one = 1;
    put_tlv(unprot, kTlvSigPure, ByteView(&one, 1));
  }
  put_tlv(unprot, kTlvKeyHash, key_hash);
  put_tlv(unprot, ed25519 ? kTlvEd25519 : kTlvEcdsaSig, *signature);
  store_le16(info, kTlvInfoMagic);
  store_le16(info + 2, static_cast<std::uint16_t>(kTlvInfoSize + unprot.size()));
  image.insert(image.end(), info, info + kTlvInfoSize);
  image.insert(image.end(), unprot.begin(), unprot.end());

  if (options.slot_size) {
    const std::uint64_t needed = image.size() + (options.pad ? kDefaultTrailerReserve : 0);
    if (needed > *options.slot_size) {
      return fail(ErrorCode::kInvalidArgument, "signed image (", std::to_string(image.size()),
                  " bytes", options.pad ? " + trailer" : "", ") does not fit the slot (",
                  std::to_string(*options.slot_size), " bytes)");
    }
    if (options.pad) {
      image.resize(*options.slot_size, 0xff);
      std::copy(std::begin(kBootMagic), std::end(kBootMagic), image.end() - sizeof kBootMagic);
    }
  }
  return {};
}

}  // namespace ironseal::image
