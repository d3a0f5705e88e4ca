// The backup archive (docs/backup.md): configuration and security configuration of a device or a
// fleet server, encrypted to one or more operators' backup keys and signed by the identity that
// made it. One format for both; what goes in is the caller's (device/device_backup.h,
// fleet/server_backup.h).
//
//   offset  size  content (integers little-endian)
//   0       16    magic "IRONSEAL-BACKUP\0"
//   16      4     format version (1)
//   20      4     H, then H bytes: the header, JSON (clear text, signed)
//           8     P, then P bytes: the payload, AES-256-GCM (nonce || ciphertext || tag) with
//                 bytes [0, end of header) as associated data
//           4     S, then S bytes: the signer's ECDSA P-256 signature (DER) over SHA-256 of
//                 bytes [0, end of payload)
//   nothing may follow.
//
// Header: {"format": "ironseal-backup", "format_version": 1, "kind": "device"|"server",
//          "created": RFC 3339, "subject": {...}, "trust": {...},
//          "recipients": [{"key_id", "type", "ephemeral", "wrapped"}],   (hex)
//          "signer": ["PEM leaf", "PEM issuing CA", ...]}
// Plaintext of the payload (zlib-compressed before encryption): u32 M, M bytes of JSON {"manifest": {...}, "entries": [{"path",
// "size", "sha256", "version"?}]}, then every entry's bytes in that order, nothing more.
//
// Reading is in three steps, each refusing for its own reason (ErrorCode and reason token):
//   parse_archive       structure only: kMalformed "malformed_archive" (truncated, trailing bytes,
//                       bad JSON, a field of the wrong type), kMalformed "unknown_format"
//   verify_signer       kNotTrusted: "bad_signature", or the certificate's reason (untrusted_chain,
//                       revoked, expired, crl_unavailable, ...), "signer_mismatch" (the certificate
//                       names another device than the header)
//   open_archive        kInvalidArgument "not_a_recipient", kNotTrusted "decrypt_failed" (wrong key or
//                       altered bytes), kMalformed "malformed_archive", kNotTrusted
//                       "manifest_mismatch" (an entry whose bytes do not hash to the manifest)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/seal.h"
#include "pki/certificate.h"
#include "pki/verify.h"

namespace ironseal::backup {

inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kMaxHeaderBytes = 1 << 20;
inline constexpr std::size_t kMaxManifestBytes = 16 << 20;
inline constexpr std::uint64_t kMaxPayloadBytes = std::uint64_t{4} << 30;
inline constexpr std::size_t kMaxRecipients = 16;
// What a reader of an archive file reads at most: every part at its limit.
inline constexpr std::uint64_t kMaxArchiveBytes = kMaxPayloadBytes + kMaxHeaderBytes + 4096;

struct Entry {
  std::string path;  // relative, [A-Za-z0-9._/-], no "." or ".." components
  Bytes content;
  std::optional<std::uint64_t> version;  // e.g. a TUF metadata file's version
};

struct Contents {
  nlohmann::json manifest = nlohmann::json::object();  // what the kind records (identity, trust)
  std::vector<Entry> entries;
};

struct Header {
  std::uint32_t format_version = kFormatVersion;
  std::string kind;  // "device" or "server"
  std::string created;
  nlohmann::json subject = nlohmann::json::object();
  nlohmann::json trust = nlohmann::json::object();
  std::vector<crypto::WrappedKey> recipients;
  std::vector<std::string> signer_pem;  // leaf first
};

struct Archive {
  Header header;
  Bytes bytes;                  // the whole archive
  std::size_t header_end = 0;   // associated data of the payload: bytes [0, header_end)
  std::size_t payload_end = 0;  // signed: bytes [0, payload_end)
  ByteView payload() const;
  ByteView signature() const;
};

// A path an entry may carry (and restore may write under its root); kMalformed otherwise.
Result<void> check_entry_path(std::string_view path);

// Encrypts `contents` to every recipient, signs with `signer` whose certificate (and chain) go in
// the header. `header.recipients` and `header.signer_pem` are filled here.
Result<Bytes> seal_archive(Header header, const Contents& contents,
                           std::span<const crypto::SealRecipient> recipients,
                           const pki::KeyPair& signer, const pki::Certificate& signer_certificate,
                           std::span<const pki::Certificate> chain);

Result<Archive> parse_archive(Bytes bytes);

struct VerifiedSigner {
  pki::VerifiedCertificate certificate;
  std::string subject;
};
// The signature over the archive, and the signer's certificate against `anchors` (with CRLs as
// `options` says). A device archive needs a device certificate naming the header's serial and
// hardware id (options.purpose kDeviceClient); a server archive a server certificate.
Result<VerifiedSigner> verify_signer(const Archive& archive,
                                     std::span<const pki::Certificate> anchors,
                                     const pki::VerifyOptions& options);

// The payload's plaintext (u32 M, manifest JSON, entries' bytes), as open_archive reads it after
// decryption; exposed for the fuzz target.
Result<Contents> parse_contents(ByteView plaintext);
// The payload's zlib stream, inflated to at most `limit` bytes (kMalformed "malformed_archive"
// beyond, or for anything but one complete stream); exposed for the fuzz target.
Result<Bytes> inflate_bounded(ByteView in, std::uint64_t limit);

// What an archive's signer is checked against: the PKI's root and the issuing CA's CRL.
struct Trust {
  std::vector<pki::Certificate> anchors;
  std::vector<pki::Crl> crls;
};
// `ca`: a CA directory (`ironseal ca init`: root-ca.cert.pem, and the CRL of the CA that issues
// `kind`'s certificates, device-ca/ or server-ca/crl.pem) or a root certificate file, with `crl`
// that CRL. Revocation is always checked: no CRL is kInvalidArgument "crl_unavailable".
Result<Trust> load_trust(const std::filesystem::path& ca, const std::filesystem::path& crl,
                         const std::string& kind);

// verify_signer at `now` for an archive of `kind` ("device": a device certificate naming the
// header's device; "server": a server certificate): kInvalidArgument "wrong_kind" for another.
Result<VerifiedSigner> verify_signer_of(const Archive& archive, const std::string& kind,
                                        const Trust& trust, pki::UnixTime now);

// Decrypts with the operator's key and checks every entry against the manifest.
Result<Contents> open_archive(const Archive& archive, const crypto::SealPrivateKey& key);

}  // namespace ironseal::backup
