// Portable: see verify.h. No heap, no exceptions, no OS calls; all buffers are on the stack with
// sizes fixed by format.h.
#include "image/verify.h"

#include "core/ct.h"
#include "core/endian.h"

namespace ironseal::image {
namespace {

// DER SubjectPublicKeyInfo prefixes for the two key kinds; the raw key follows.
constexpr std::uint8_t kEd25519SpkiPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                               0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr std::uint8_t kP256SpkiPrefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                            0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                            0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

void copy_bytes(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
}

// Feeds bytes [0, length) of `source` to the backend's running hash.
bool hash_region(const VerifyRequest& req, std::uint64_t length) {
  std::uint64_t offset = 0;
  if (const std::uint8_t* all = req.source->direct(0, static_cast<std::size_t>(length));
      all != nullptr && length <= static_cast<std::size_t>(-1)) {
    req.crypto->hash_update(all, static_cast<std::size_t>(length));
    return true;
  }
  while (offset < length) {
    const std::uint64_t left = length - offset;
    const std::size_t n =
        left < req.scratch_size ? static_cast<std::size_t>(left) : req.scratch_size;
    if (!req.source->read(offset, req.scratch, n)) return false;
    req.crypto->hash_update(req.scratch, n);
    offset += n;
  }
  return true;
}

// Where the trusted key for a signature came from: the TLV just before it.
struct KeyRef {
  bool present = false;
  int key_index = -1;  // -1: not a trusted key
};

struct PendingSignature {
  std::uint16_t type = 0;
  std::uint16_t length = 0;
  std::uint64_t offset = 0;
  int key_index = -1;
};

int find_key_by_hash(const VerifyRequest& req, const std::uint8_t* hash, std::uint32_t length) {
  const HashKind kind = length == 32 ? HashKind::kSha256 : HashKind::kSha512;
  for (std::uint32_t i = 0; i < req.key_count; ++i) {
    std::uint8_t computed[kMaxHashSize];
    req.crypto->hash_begin(kind);
    req.crypto->hash_update(req.keys[i].spki, req.keys[i].spki_size);
    req.crypto->hash_finish(computed);
    if (ct_equal(computed, hash, length)) return static_cast<int>(i);
  }
  return -1;
}

int find_key_by_spki(const VerifyRequest& req, const std::uint8_t* spki, std::uint32_t length) {
  for (std::uint32_t i = 0; i < req.key_count; ++i) {
    if (req.keys[i].spki_size == length && ct_equal(req.keys[i].spki, spki, length)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// An ECDSA signature TLV is DER, optionally followed by zero padding (older imgtool padded to 72
// bytes). Returns the DER length, or 0 when the bytes are not one short-form DER SEQUENCE followed
// by zeros only.
std::size_t ecdsa_der_length(const std::uint8_t* sig, std::size_t length) {
  if (length < 8 || sig[0] != 0x30 || sig[1] >= 0x80) return 0;
  const std::size_t der = 2u + sig[1];
  if (der > length) return 0;
  for (std::size_t i = der; i < length; ++i) {
    if (sig[i] != 0) return 0;
  }
  return der;
}

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kReadError: return "read_error";
    case Status::kTruncated: return "truncated";
    case Status::kBadMagic: return "bad_magic";
    case Status::kBadHeader: return "bad_header";
    case Status::kUnsupportedFlags: return "unsupported_flags";
    case Status::kBadTlvInfo: return "bad_tlv_info";
    case Status::kTlvOutOfBounds: return "tlv_out_of_bounds";
    case Status::kBadTlvLength: return "bad_tlv_length";
    case Status::kUnknownTlv: return "unknown_tlv";
    case Status::kDuplicateTlv: return "duplicate_tlv";
    case Status::kTooManyEntries: return "too_many_entries";
    case Status::kMissingHash: return "missing_hash";
    case Status::kUnsupportedHash: return "unsupported_hash";
    case Status::kHashMismatch: return "hash_mismatch";
    case Status::kMissingSignature: return "missing_signature";
    case Status::kSignatureWithoutKey: return "signature_without_key";
    case Status::kUnknownKey: return "unknown_key";
    case Status::kKeyTypeMismatch: return "key_type_mismatch";
    case Status::kBadSignature: return "bad_signature";
  }
  return "unknown_status";
}

const char* status_message(Status s) {
  switch (s) {
    case Status::kOk: return "image is trusted";
    case Status::kReadError: return "the image could not be read";
    case Status::kTruncated: return "the image ends before a structure it declares";
    case Status::kBadMagic: return "the header magic is not an MCUboot image (0x96f3b83d)";
    case Status::kBadHeader: return "the header fields are inconsistent";
    case Status::kUnsupportedFlags: return "the header sets flags this verifier does not support";
    case Status::kBadTlvInfo: return "a TLV area has a wrong magic or total length";
    case Status::kTlvOutOfBounds: return "a TLV entry crosses the end of its area";
    case Status::kBadTlvLength: return "a TLV has a length its type does not allow";
    case Status::kUnknownTlv: return "a TLV type is not allowed in its area";
    case Status::kDuplicateTlv: return "a TLV that may appear once appears twice";
    case Status::kTooManyEntries: return "too many signatures or dependencies";
    case Status::kMissingHash: return "the image has no hash TLV";
    case Status::kUnsupportedHash: return "the hash type is not supported with this signature";
    case Status::kHashMismatch: return "the image digest does not match its hash TLV";
    case Status::kMissingSignature: return "the image is not signed";
    case Status::kSignatureWithoutKey: return "a signature TLV is not preceded by a key TLV";
    case Status::kUnknownKey: return "no signature is by a trusted key";
    case Status::kKeyTypeMismatch: return "the signature type does not match the trusted key";
    case Status::kBadSignature: return "the signature by a trusted key does not verify";
  }
  return "unknown status";
}

bool MemorySource::read(std::uint64_t offset, std::uint8_t* out, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) return false;
  copy_bytes(out, data_ + offset, length);
  return true;
}

const std::uint8_t* MemorySource::direct(std::uint64_t offset, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) return nullptr;
  return data_ + offset;
}

bool make_trusted_key(KeyKind kind, const std::uint8_t* raw, std::uint32_t raw_size,
                      TrustedKey* out) {
  const std::uint8_t* prefix = kind == KeyKind::kEd25519 ? kEd25519SpkiPrefix : kP256SpkiPrefix;
  const std::uint32_t prefix_size =
      kind == KeyKind::kEd25519 ? sizeof kEd25519SpkiPrefix : sizeof kP256SpkiPrefix;
  const std::uint32_t expected = kind == KeyKind::kEd25519 ? 32 : 65;
  if (raw == nullptr || raw_size != expected) return false;
  if (kind == KeyKind::kEcdsaP256 && raw[0] != 0x04) return false;  // uncompressed only
  out->kind = kind;
  copy_bytes(out->spki, prefix, prefix_size);
  copy_bytes(out->spki + prefix_size, raw, raw_size);
  out->spki_size = prefix_size + raw_size;
  return true;
}

const std::uint8_t* raw_public_key(const TrustedKey& key, std::uint32_t* size) {
  const std::uint32_t prefix =
      key.kind == KeyKind::kEd25519 ? sizeof kEd25519SpkiPrefix : sizeof kP256SpkiPrefix;
  *size = key.spki_size - prefix;
  return key.spki + prefix;
}

Status parse_layout(const ImageSource& source, Layout* layout) {
  const std::uint64_t size = source.size();
  if (size < kHeaderSize) return Status::kTruncated;
  std::uint8_t raw[kHeaderSize];
  if (!source.read(0, raw, kHeaderSize)) return Status::kReadError;
  const ImageHeader h = decode_header(raw);
  if (h.magic != kImageMagic) return Status::kBadMagic;
  if (h.header_size < kHeaderSize) return Status::kBadHeader;
  if ((h.flags & ~kSupportedFlags) != 0) return Status::kUnsupportedFlags;

  Layout l;
  l.header = h;
  l.body_offset = h.header_size;
  l.protected_offset = std::uint64_t{h.header_size} + h.image_size;  // 64-bit: cannot overflow
  l.protected_end = l.protected_offset + h.protected_tlv_size;
  if (l.protected_end > size) return Status::kTruncated;
  if (h.protected_tlv_size != 0) {
    if (h.protected_tlv_size < kTlvInfoSize) return Status::kBadTlvInfo;
    std::uint8_t info[kTlvInfoSize];
    if (!source.read(l.protected_offset, info, kTlvInfoSize)) return Status::kReadError;
    if (load_le16(info) != kTlvProtectedInfoMagic || load_le16(info + 2) != h.protected_tlv_size) {
      return Status::kBadTlvInfo;
    }
  }
  l.unprotected_offset = l.protected_end;
  if (l.unprotected_offset + kTlvInfoSize > size) return Status::kTruncated;
  std::uint8_t info[kTlvInfoSize];
  if (!source.read(l.unprotected_offset, info, kTlvInfoSize)) return Status::kReadError;
  const std::uint16_t total = load_le16(info + 2);
  if (load_le16(info) != kTlvInfoMagic || total < kTlvInfoSize) return Status::kBadTlvInfo;
  l.unprotected_end = l.unprotected_offset + total;
  if (l.unprotected_end > size) return Status::kTruncated;
  *layout = l;
  return Status::kOk;
}

TlvIterator::TlvIterator(const ImageSource& source, const Layout& layout)
    : source_(source),
      layout_(layout),
      offset_(layout.protected_end > layout.protected_offset
                  ? layout.protected_offset + kTlvInfoSize
                  : layout.unprotected_offset + kTlvInfoSize),
      in_protected_(layout.protected_end > layout.protected_offset) {}

Status TlvIterator::next(TlvEntry* entry, bool* done) {
  *done = false;
  if (in_protected_ && offset_ >= layout_.protected_end) {
    in_protected_ = false;
    offset_ = layout_.unprotected_offset + kTlvInfoSize;
  }
  const std::uint64_t end = in_protected_ ? layout_.protected_end : layout_.unprotected_end;
  if (offset_ >= end) {
    *done = true;
    return Status::kOk;
  }
  if (offset_ + kTlvEntryHeaderSize > end) return Status::kTlvOutOfBounds;
  std::uint8_t head[kTlvEntryHeaderSize];
  if (!source_.read(offset_, head, kTlvEntryHeaderSize)) return Status::kReadError;
  entry->type = load_le16(head);
  entry->length = load_le16(head + 2);
  entry->value_offset = offset_ + kTlvEntryHeaderSize;
  entry->is_protected = in_protected_;
  if (entry->value_offset + entry->length > end) return Status::kTlvOutOfBounds;
  offset_ = entry->value_offset + entry->length;
  return Status::kOk;
}

namespace {

// Reads and checks one protected TLV into `info`.
Status take_protected(const VerifyRequest& req, const TlvEntry& e, ImageInfo* info) {
  std::uint8_t value[kUuidSize];
  switch (e.type) {
    case kTlvSecurityCounter:
      if (e.length != 4) return Status::kBadTlvLength;
      if (info->has_security_counter) return Status::kDuplicateTlv;
      if (!req.source->read(e.value_offset, value, 4)) return Status::kReadError;
      info->has_security_counter = true;
      info->security_counter = load_le32(value);
      return Status::kOk;
    case kTlvDependency: {
      if (e.length != 12) return Status::kBadTlvLength;
      if (info->dependency_count == kMaxDependencies) return Status::kTooManyEntries;
      std::uint8_t dep[12];
      if (!req.source->read(e.value_offset, dep, 12)) return Status::kReadError;
      Dependency& d = info->dependencies[info->dependency_count++];
      d.image_id = dep[0];
      d.min_version.major = dep[4];
      d.min_version.minor = dep[5];
      d.min_version.revision = load_le16(dep + 6);
      d.min_version.build = load_le32(dep + 8);
      return Status::kOk;
    }
    case kTlvUuidVendor:
    case kTlvUuidClass: {
      if (e.length != kUuidSize) return Status::kBadTlvLength;
      const bool vendor = e.type == kTlvUuidVendor;
      bool& has = vendor ? info->has_vendor_uuid : info->has_class_uuid;
      if (has) return Status::kDuplicateTlv;
      if (!req.source->read(e.value_offset, vendor ? info->vendor_uuid : info->class_uuid,
                            kUuidSize)) {
        return Status::kReadError;
      }
      has = true;
      return Status::kOk;
    }
    case kTlvBootRecord:
      return Status::kOk;  // CBOR measured-boot record: hashed, carried, not interpreted here
    default: return e.type >= kTlvVendorFirst ? Status::kOk : Status::kUnknownTlv;
  }
}

struct Unprotected {
  bool has_hash = false;
  HashKind hash_kind = HashKind::kSha256;
  std::uint8_t hash[kMaxHashSize] = {};
  bool pure = false;
  KeyRef pending_key;
  std::uint32_t signature_count = 0;
  PendingSignature signatures[kMaxSignatures];
};

Status take_unprotected(const VerifyRequest& req, const TlvEntry& e, Unprotected* u) {
  switch (e.type) {
    case kTlvSha256:
    case kTlvSha512: {
      const HashKind kind = e.type == kTlvSha256 ? HashKind::kSha256 : HashKind::kSha512;
      if (e.length != hash_size(kind)) return Status::kBadTlvLength;
      if (u->has_hash) return Status::kDuplicateTlv;
      if (!req.source->read(e.value_offset, u->hash, e.length)) return Status::kReadError;
      u->has_hash = true;
      u->hash_kind = kind;
      return Status::kOk;
    }
    case kTlvSha384: return Status::kUnsupportedHash;
    case kTlvKeyHash: {
      if (e.length != 32 && e.length != 64) return Status::kBadTlvLength;
      std::uint8_t hash[kMaxHashSize];
      if (!req.source->read(e.value_offset, hash, e.length)) return Status::kReadError;
      u->pending_key = KeyRef{true, find_key_by_hash(req, hash, e.length)};
      return Status::kOk;
    }
    case kTlvPublicKey: {
      if (e.length == 0 || e.length > kMaxSpkiSize) return Status::kBadTlvLength;
      std::uint8_t spki[kMaxSpkiSize];
      if (!req.source->read(e.value_offset, spki, e.length)) return Status::kReadError;
      u->pending_key = KeyRef{true, find_key_by_spki(req, spki, e.length)};
      return Status::kOk;
    }
    case kTlvSigPure: {
      if (e.length != 1) return Status::kBadTlvLength;
      if (u->pure) return Status::kDuplicateTlv;
      std::uint8_t flag = 0;
      if (!req.source->read(e.value_offset, &flag, 1)) return Status::kReadError;
      if (flag != 1) return Status::kBadTlvLength;
      u->pure = true;
      return Status::kOk;
    }
    case kTlvEd25519:
    case kTlvEcdsaSig: {
      const bool ed = e.type == kTlvEd25519;
      if (ed ? e.length != kEd25519SigSize : (e.length < 8 || e.length > kMaxEcdsaSigSize)) {
        return Status::kBadTlvLength;
      }
      if (!u->pending_key.present) return Status::kSignatureWithoutKey;
      if (u->signature_count == kMaxSignatures) return Status::kTooManyEntries;
      u->signatures[u->signature_count++] =
          PendingSignature{e.type, e.length, e.value_offset, u->pending_key.key_index};
      u->pending_key = KeyRef{};  // each signature names its own key
      return Status::kOk;
    }
    default: return Status::kUnknownTlv;
  }
}

enum class SigOutcome { kValid, kInvalid, kWrongKeyType };

SigOutcome check_signature(const VerifyRequest& req, const Unprotected& u, const ImageInfo& info,
                           const PendingSignature& s, Status* fatal) {
  const TrustedKey& key = req.keys[s.key_index];
  std::uint8_t sig[kMaxEcdsaSigSize];
  if (!req.source->read(s.offset, sig, s.length)) {
    *fatal = Status::kReadError;
    return SigOutcome::kInvalid;
  }
  if (s.type == kTlvEd25519) {
    if (key.kind != KeyKind::kEd25519) return SigOutcome::kWrongKeyType;
    const auto& sig64 = *reinterpret_cast<const std::uint8_t(*)[kEd25519SigSize]>(sig);
    const bool ok =
        u.pure ? req.crypto->ed25519_verify_source(key, *req.source, info.protected_end, sig64)
               : req.crypto->ed25519_verify(key, info.digest, hash_size(info.hash_kind), sig64);
    return ok ? SigOutcome::kValid : SigOutcome::kInvalid;
  }
  // ECDSA P-256 signs the SHA-256 digest; "pure" is defined for Ed25519 only.
  if (key.kind != KeyKind::kEcdsaP256) return SigOutcome::kWrongKeyType;
  if (u.pure || info.hash_kind != HashKind::kSha256) {
    *fatal = Status::kUnsupportedHash;
    return SigOutcome::kInvalid;
  }
  const std::size_t der = ecdsa_der_length(sig, s.length);
  if (der == 0) return SigOutcome::kInvalid;
  const auto& digest32 = *reinterpret_cast<const std::uint8_t(*)[32]>(info.digest);
  return req.crypto->ecdsa_p256_verify_digest(key, digest32, sig, der) ? SigOutcome::kValid
                                                                       : SigOutcome::kInvalid;
}

}  // namespace

Status verify_image(const VerifyRequest& req, ImageInfo* out) {
  if (req.source == nullptr || req.crypto == nullptr || out == nullptr || req.scratch == nullptr ||
      req.scratch_size < 64 || (req.keys == nullptr && req.key_count != 0)) {
    return Status::kReadError;
  }
  Layout layout;
  if (Status s = parse_layout(*req.source, &layout); s != Status::kOk) return s;

  ImageInfo info;
  info.header = layout.header;
  info.protected_end = layout.protected_end;
  info.total_size = layout.unprotected_end;

  Unprotected u;
  TlvIterator it(*req.source, layout);
  for (;;) {
    TlvEntry e;
    bool done = false;
    if (Status s = it.next(&e, &done); s != Status::kOk) return s;
    if (done) break;
    const Status s = e.is_protected ? take_protected(req, e, &info) : take_unprotected(req, e, &u);
    if (s != Status::kOk) return s;
  }
  if (!u.has_hash) return Status::kMissingHash;

  info.hash_kind = u.hash_kind;
  if (req.prehashed != nullptr && req.prehashed->kind == u.hash_kind &&
      req.prehashed->length == layout.protected_end) {
    for (std::uint32_t i = 0; i < hash_size(u.hash_kind); ++i) info.digest[i] = req.prehashed->digest[i];
  } else {
    req.crypto->hash_begin(u.hash_kind);
    if (!hash_region(req, layout.protected_end)) return Status::kReadError;
    req.crypto->hash_finish(info.digest);
  }
  if (!ct_equal(info.digest, u.hash, hash_size(u.hash_kind))) return Status::kHashMismatch;

  if (u.signature_count == 0) return Status::kMissingSignature;
  bool trusted_failed = false;
  bool wrong_type = false;
  for (std::uint32_t i = 0; i < u.signature_count; ++i) {
    const PendingSignature& s = u.signatures[i];
    if (s.key_index < 0) continue;  // not by a trusted key: neither helps nor hurts
    Status fatal = Status::kOk;
    const SigOutcome outcome = check_signature(req, u, info, s, &fatal);
    if (fatal != Status::kOk) return fatal;
    if (outcome == SigOutcome::kValid) {
      info.signature_kind = s.type == kTlvEcdsaSig ? SignatureKind::kEcdsaP256
                            : u.pure               ? SignatureKind::kEd25519Pure
                                                   : SignatureKind::kEd25519;
      info.key_index = static_cast<std::uint32_t>(s.key_index);
      *out = info;
      return Status::kOk;
    }
    (outcome == SigOutcome::kWrongKeyType ? wrong_type : trusted_failed) = true;
  }
  if (trusted_failed) return Status::kBadSignature;
  if (wrong_type) return Status::kKeyTypeMismatch;
  return Status::kUnknownKey;
}

}  // namespace ironseal::image
