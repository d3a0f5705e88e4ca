// Portable: see format.h.
#include "image/format.h"

#include "core/endian.h"

namespace ironseal::image {

const char* tlv_type_name(std::uint16_t type) {
  switch (type) {
    case kTlvKeyHash: return "KEYHASH";
    case kTlvPublicKey: return "PUBKEY";
    case kTlvSha256: return "SHA256";
    case kTlvSha384: return "SHA384";
    case kTlvSha512: return "SHA512";
    case kTlvRsa2048Pss: return "RSA2048_PSS";
    case kTlvEcdsaSig: return "ECDSA_SIG";
    case kTlvRsa3072Pss: return "RSA3072_PSS";
    case kTlvEd25519: return "ED25519";
    case kTlvSigPure: return "SIG_PURE";
    case kTlvDependency: return "DEPENDENCY";
    case kTlvSecurityCounter: return "SEC_CNT";
    case kTlvBootRecord: return "BOOT_RECORD";
    case kTlvUuidVendor: return "UUID_VID";
    case kTlvUuidClass: return "UUID_CID";
    default: return type >= kTlvVendorFirst ? "VENDOR" : "UNKNOWN";
  }
}

int compare_versions(const Version& a, const Version& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.revision != b.revision) return a.revision < b.revision ? -1 : 1;
  if (a.build != b.build) return a.build < b.build ? -1 : 1;
  return 0;
}

ImageHeader decode_header(const std::uint8_t (&b)[kHeaderSize]) {
  ImageHeader h;
  h.magic = load_le32(b + 0);
  h.load_address = load_le32(b + 4);
  h.header_size = load_le16(b + 8);
  h.protected_tlv_size = load_le16(b + 10);
  h.image_size = load_le32(b + 12);
  h.flags = load_le32(b + 16);
  h.version.major = b[20];
  h.version.minor = b[21];
  h.version.revision = load_le16(b + 22);
  h.version.build = load_le32(b + 24);
  return h;  // bytes 28..31 are padding
}

void encode_header(const ImageHeader& h, std::uint8_t (&b)[kHeaderSize]) {
  store_le32(b + 0, h.magic);
  store_le32(b + 4, h.load_address);
  store_le16(b + 8, h.header_size);
  store_le16(b + 10, h.protected_tlv_size);
  store_le32(b + 12, h.image_size);
  store_le32(b + 16, h.flags);
  b[20] = h.version.major;
  b[21] = h.version.minor;
  store_le16(b + 22, h.version.revision);
  store_le32(b + 24, h.version.build);
  store_le32(b + 28, 0);
}

}  // namespace ironseal::image
