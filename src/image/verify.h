// Verification of a boot image: the one function that decides whether an image is trusted.
//
// verify_image() takes the image bytes (through ImageSource, so a slot on flash or a 256 MiB file
// never has to sit in RAM), the trusted public keys, and the crypto primitives (CryptoBackend:
// OpenSSL on the host, a verify-only implementation on the bootloader). It returns Status::kOk
// and a filled ImageInfo, or the first reason the image is not trusted. Every length and offset
// taken from the image is bounds-checked in 64-bit arithmetic before use.
//
// Signature rule (the same as MCUboot's): each signature TLV belongs to the KEYHASH or PUBKEY TLV
// before it. Signatures by keys that are not trusted are skipped; the image is trusted when at
// least one signature by a trusted key verifies. A failed signature by a trusted key is not fatal
// on its own, so that a second, valid signature (key rotation) still admits the image.
//
// Portable: no heap, no exceptions, no OS calls. Not thread-safe per backend object.
#pragma once

#include <cstddef>
#include <cstdint>

#include "image/format.h"

namespace ironseal::image {

enum class Status : std::uint8_t {
  kOk = 0,
  kReadError,            // the source could not deliver bytes it claims to have
  kTruncated,            // the image ends before a structure it declares
  kBadMagic,             // header magic is not 0x96f3b83d
  kBadHeader,            // header fields are inconsistent (e.g. header size < 32)
  kUnsupportedFlags,     // encrypted, compressed or otherwise unsupported image
  kBadTlvInfo,           // TLV area magic or total length wrong
  kTlvOutOfBounds,       // a TLV entry crosses the end of its area
  kBadTlvLength,         // a known TLV has a length its type does not allow
  kUnknownTlv,           // a TLV type that is not allowed in its area
  kDuplicateTlv,         // a TLV that must appear once appears again
  kTooManyEntries,       // more signatures or dependencies than this verifier holds
  kMissingHash,          // no SHA-256/SHA-512 TLV
  kUnsupportedHash,      // SHA-384 or a hash that does not fit the signature type
  kHashMismatch,         // computed digest differs from the hash TLV
  kMissingSignature,     // no signature TLV at all
  kSignatureWithoutKey,  // a signature TLV with no KEYHASH/PUBKEY before it
  kUnknownKey,           // signatures exist, but none by a trusted key
  kKeyTypeMismatch,      // signature type does not match the trusted key's type
  kBadSignature,         // a trusted key's signature does not verify
};

// A short stable name ("bad_signature") and a one-line explanation.
const char* status_name(Status status);
const char* status_message(Status status);

// ---- What the verifier needs from its environment ---------------------------------------------

// Random-access bytes of one image (a file, a flash slot, a memory buffer).
class ImageSource {
 public:
  virtual std::uint64_t size() const = 0;
  // Copies exactly `length` bytes at `offset`; false on failure (treated as kReadError).
  virtual bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) const = 0;
  // Memory-backed sources return a direct pointer to skip copying; others return nullptr.
  virtual const std::uint8_t* direct(std::uint64_t offset, std::size_t length) const {
    (void)offset;
    (void)length;
    return nullptr;
  }

 protected:
  ~ImageSource() = default;
};

// An ImageSource over bytes already in memory.
class MemorySource final : public ImageSource {
 public:
  MemorySource(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint64_t size() const override { return size_; }
  bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) const override;
  const std::uint8_t* direct(std::uint64_t offset, std::size_t length) const override;

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

enum class HashKind : std::uint8_t { kSha256, kSha512 };
inline constexpr std::uint32_t hash_size(HashKind kind) {
  return kind == HashKind::kSha256 ? 32 : 64;
}

enum class KeyKind : std::uint8_t { kEd25519, kEcdsaP256 };

// A trusted public key as DER SubjectPublicKeyInfo (what MCUboot's KEYHASH hashes).
struct TrustedKey {
  KeyKind kind = KeyKind::kEd25519;
  std::uint8_t spki[kMaxSpkiSize] = {};
  std::uint32_t spki_size = 0;
};

// Builds a TrustedKey from the raw key (Ed25519: 32 bytes; P-256: 65-byte uncompressed point).
// Returns false for a wrong length or a compressed point.
bool make_trusted_key(KeyKind kind, const std::uint8_t* raw, std::uint32_t raw_size,
                      TrustedKey* out);
// The raw key inside a TrustedKey's SubjectPublicKeyInfo (32 or 65 bytes).
const std::uint8_t* raw_public_key(const TrustedKey& key, std::uint32_t* size);

class CryptoBackend {
 public:
  // Streaming hash: begin, any number of updates, finish writes hash_size(kind) bytes.
  virtual void hash_begin(HashKind kind) = 0;
  virtual void hash_update(const std::uint8_t* data, std::size_t length) = 0;
  virtual void hash_finish(std::uint8_t* out) = 0;
  // Ed25519 (RFC 8032) over a message held in memory (MCUboot's digest mode signs the digest).
  virtual bool ed25519_verify(const TrustedKey& key, const std::uint8_t* message,
                              std::size_t length, const std::uint8_t (&signature)[64]) = 0;
  // Ed25519 over the first `length` bytes of `source` (MCUboot's "pure" mode).
  virtual bool ed25519_verify_source(const TrustedKey& key, const ImageSource& source,
                                     std::uint64_t length, const std::uint8_t (&signature)[64]) = 0;
  // ECDSA P-256 over a SHA-256 digest; `der` is the exact DER signature (padding removed).
  virtual bool ecdsa_p256_verify_digest(const TrustedKey& key, const std::uint8_t (&digest)[32],
                                        const std::uint8_t* der, std::size_t der_length) = 0;

 protected:
  ~CryptoBackend() = default;
};

// ---- The result -------------------------------------------------------------------------------

enum class SignatureKind : std::uint8_t { kNone, kEd25519, kEd25519Pure, kEcdsaP256 };

struct ImageInfo {
  ImageHeader header;
  std::uint64_t protected_end = 0;  // end of the hashed region: header + body + protected TLVs
  std::uint64_t total_size = 0;     // end of the unprotected TLV area
  HashKind hash_kind = HashKind::kSha256;
  std::uint8_t digest[kMaxHashSize] = {};
  bool has_security_counter = false;
  std::uint32_t security_counter = 0;
  std::uint32_t dependency_count = 0;
  Dependency dependencies[kMaxDependencies];
  bool has_vendor_uuid = false;
  std::uint8_t vendor_uuid[kUuidSize] = {};
  bool has_class_uuid = false;
  std::uint8_t class_uuid[kUuidSize] = {};
  SignatureKind signature_kind = SignatureKind::kNone;
  std::uint32_t key_index = 0;  // index in the trusted key list of the key whose signature held
};

// A digest of bytes [0, length) of the source that the caller computed itself from the same
// bytes, for example while reading a slot back chunk by chunk as it was written. The verifier uses
// it instead of reading and hashing the region again only when `kind` is the image's hash kind and
// `length` is exactly the image's protected_end; otherwise it is ignored. It never makes an image
// trusted that the full check would refuse: the digest is still compared with the hash TLV and the
// signatures are still verified over it.
struct RegionDigest {
  HashKind kind = HashKind::kSha256;
  std::uint64_t length = 0;
  std::uint8_t digest[kMaxHashSize] = {};
};

struct VerifyRequest {
  const ImageSource* source = nullptr;
  const TrustedKey* keys = nullptr;
  std::uint32_t key_count = 0;
  CryptoBackend* crypto = nullptr;
  // Working memory for streaming the hashed region; any size >= 64 works, larger is faster.
  std::uint8_t* scratch = nullptr;
  std::size_t scratch_size = 0;
  const RegionDigest* prehashed = nullptr;  // optional; see RegionDigest
};

Status verify_image(const VerifyRequest& request, ImageInfo* info);

// ---- Structure without trust ----------------------------------------------------------------

// Where the parts of an image lie, after every bounds check but before any crypto. For `inspect`
// and for the verifier itself; a Layout says nothing about whether the image is trusted.
struct Layout {
  ImageHeader header;
  std::uint64_t body_offset = 0;
  std::uint64_t protected_offset = 0;  // start of the protected TLV info (== body end)
  std::uint64_t protected_end = 0;
  std::uint64_t unprotected_offset = 0;  // start of the unprotected TLV info
  std::uint64_t unprotected_end = 0;
};

Status parse_layout(const ImageSource& source, Layout* layout);

struct TlvEntry {
  std::uint16_t type = 0;
  std::uint16_t length = 0;
  std::uint64_t value_offset = 0;  // absolute offset of the value in the image
  bool is_protected = false;
};

// Iterates the entries of both TLV areas of a parsed Layout, protected area first.
class TlvIterator {
 public:
  TlvIterator(const ImageSource& source, const Layout& layout);
  // Returns kOk with `*entry` filled, kOk with *done = true at the end, or the error.
  Status next(TlvEntry* entry, bool* done);

 private:
  const ImageSource& source_;
  const Layout& layout_;
  std::uint64_t offset_;
  bool in_protected_;
};

}  // namespace ironseal::image
