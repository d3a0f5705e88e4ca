// Signature and hash checks of TUF metadata, through src/crypto (crypto::Verifier::from_tuf_key,
// crypto::digest); no OpenSSL here.
//
// Supported keys (securesystemslib's encodings): "ed25519"/"ed25519" (keyval.public = hex of the
// raw 32-byte key); "ecdsa" or "ecdsa-sha2-nistp256"/"ecdsa-sha2-nistp256" and the nistp384 pair
// (PEM SubjectPublicKeyInfo, DER signature over SHA-256 / SHA-384); "rsa" with
// "rsassa-pss-sha{224,256,384,512}" (PSS, MGF1 with the same hash, any salt length, as
// securesystemslib verifies; it signs with salt length = digest length) and
// "rsa-pkcs1v15-sha{224,256,384,512}". Anything else never verifies; it never fails loudly.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "repo/error.h"
#include "repo/metadata.h"

namespace ironseal::repo {

// True only if `sig_hex` is a valid signature by `key` over `message`.
bool verify_signature(const Key& key, ByteView message, std::string_view sig_hex);

// Counts the distinct keyids of `role` whose key is in `keys` and whose signature over
// `canonical_signed` verifies; refuses with kThresholdNotMet below `role.threshold`. Signatures by
// keys the role does not authorize, unknown key types and bad signatures count for nothing.
TufResult<void> verify_threshold(std::string_view role_name, const RoleKeys& role,
                                 const KeyMap& keys, const std::vector<Signature>& signatures,
                                 std::string_view canonical_signed);

// Checks `data` against every listed hash (all must match; an algorithm this client cannot
// compute is a mismatch) and, when given, the length. Algorithms: sha224/256/384/512.
TufResult<void> verify_length_and_hashes(ByteView data, std::optional<std::uint64_t> length,
                                         const std::map<std::string, std::string>& hashes,
                                         std::string_view what);

}  // namespace ironseal::repo
