// The boot image format (MCUboot-compatible), as constants and bounds-checked parsers.
// docs/formats/boot-image.md specifies it in prose; this header is the single source of its
// numbers.
//
// Portable: no heap, no exceptions, no OS calls, no standard library beyond <cstdint>/<cstddef>,
// so that the Cortex-M33 bootloader compiles this file unchanged.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ironseal::image {

// ---- Header ------------------------------------------------------------------------------------
inline constexpr std::uint32_t kImageMagic = 0x96f3b83d;
inline constexpr std::uint32_t kImageMagicV1 = 0x96f3b83c;  // legacy MCUboot, refused
inline constexpr std::uint32_t kHeaderSize = 32;  // fixed fields; ih_hdr_size may pad more

// Header flags (ih_flags).
inline constexpr std::uint32_t kFlagPic = 0x00000001;
inline constexpr std::uint32_t kFlagEncryptedAes128 = 0x00000004;
inline constexpr std::uint32_t kFlagEncryptedAes256 = 0x00000008;
inline constexpr std::uint32_t kFlagNonBootable = 0x00000010;
inline constexpr std::uint32_t kFlagRamLoad = 0x00000020;
inline constexpr std::uint32_t kFlagRomFixed = 0x00000100;
// Flags this implementation understands; any other bit set is refused (fail closed).
inline constexpr std::uint32_t kSupportedFlags = kFlagNonBootable | kFlagRamLoad | kFlagRomFixed;

// ---- TLV areas ---------------------------------------------------------------------------------
inline constexpr std::uint16_t kTlvInfoMagic = 0x6907;           // unprotected area
inline constexpr std::uint16_t kTlvProtectedInfoMagic = 0x6908;  // protected area (hashed)
inline constexpr std::uint32_t kTlvInfoSize = 4;                 // magic u16 + total length u16
inline constexpr std::uint32_t kTlvEntryHeaderSize = 4;          // type u16 + length u16

enum TlvType : std::uint16_t {
  kTlvKeyHash = 0x01,    // hash of the signing key's DER SubjectPublicKeyInfo
  kTlvPublicKey = 0x02,  // the signing key's DER SubjectPublicKeyInfo itself
  kTlvSha256 = 0x10,     // SHA-256 of header + body + protected TLVs
  kTlvSha384 = 0x11,
  kTlvSha512 = 0x12,  // SHA-512 of the same (imgtool uses it for Ed25519 "pure")
  kTlvRsa2048Pss = 0x20,
  kTlvEcdsaSig = 0x22,  // ECDSA (P-256 here) over the SHA-256 digest, DER
  kTlvRsa3072Pss = 0x23,
  kTlvEd25519 = 0x24,  // Ed25519 over the digest, or over the hashed bytes when SIG_PURE is present
  kTlvSigPure = 0x25,  // one byte, 1: the signature covers the bytes, not the digest
  kTlvDependency = 0x40,
  kTlvSecurityCounter = 0x50,
  kTlvBootRecord = 0x60,
  kTlvUuidVendor = 0x74,
  kTlvUuidClass = 0x75,
};
// Protected TLVs at or above this type are vendor-defined (imgtool --custom-tlv); they are covered
// by the hash and carried through, but not interpreted.
inline constexpr std::uint16_t kTlvVendorFirst = 0x00a0;

inline constexpr std::uint32_t kMaxHashSize = 64;
inline constexpr std::uint32_t kMaxSpkiSize = 91;  // P-256 uncompressed SubjectPublicKeyInfo
inline constexpr std::uint32_t kMaxEcdsaSigSize = 72;
inline constexpr std::uint32_t kEd25519SigSize = 64;
inline constexpr std::uint32_t kMaxDependencies = 4;
inline constexpr std::uint32_t kMaxSignatures = 4;
inline constexpr std::uint32_t kUuidSize = 16;

// The MCUboot slot trailer magic written at the end of a padded slot (max_align 8).
inline constexpr std::uint8_t kBootMagic[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
                                                0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};

struct Version {
  std::uint8_t major = 0;
  std::uint8_t minor = 0;
  std::uint16_t revision = 0;
  std::uint32_t build = 0;
};

// A short name for a TLV type ("SHA256", "KEYHASH", ...), "VENDOR" for custom types, "UNKNOWN".
const char* tlv_type_name(std::uint16_t type);

// Orders versions as MCUboot does: major, minor, revision; build numbers are compared last.
int compare_versions(const Version& a, const Version& b);

struct ImageHeader {
  std::uint32_t magic = 0;
  std::uint32_t load_address = 0;
  std::uint16_t header_size = 0;
  std::uint16_t protected_tlv_size = 0;
  std::uint32_t image_size = 0;  // body only
  std::uint32_t flags = 0;
  Version version;
};

// Decodes the 32 fixed header bytes. No validation beyond decoding; see Layout.
ImageHeader decode_header(const std::uint8_t (&bytes)[kHeaderSize]);
void encode_header(const ImageHeader& header, std::uint8_t (&bytes)[kHeaderSize]);

struct Dependency {
  std::uint8_t image_id = 0;
  Version min_version;
};

}  // namespace ironseal::image
