// Signing keys held in an HSM or token through PKCS#11, named by RFC 7512 URIs such as
// `pkcs11:token=release;object=fw-ed25519?pin-source=file:/etc/ironseal/pin`.
//
// The private key never leaves the token: signing happens inside it (CKM_EDDSA for Ed25519,
// CKM_ECDSA over a SHA-256 digest for P-256), keys are generated inside it as sensitive and
// non-extractable, and every signature the token returns is verified against the public key
// before it is handed out, so a misbehaving token fails closed. The PIN comes from the
// IRONSEAL_PKCS11_PIN environment variable or a `pin-source=file:` whose mode is 0600 or
// stricter; never from the command line (`pin-value` is refused) and never into a log.
//
// The module is the URI's `module-path` query attribute, else IRONSEAL_PKCS11_MODULE, else
// Debian's SoftHSM2 (/usr/lib/softhsm/libsofthsm2.so). Signers opened on the same token in one
// process share one module load and one logged-in session (PKCS#11 login state is per
// application and token); sign() is serialised on that session, so a Signer is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/key.h"
#include "crypto/signer.h"

namespace ironseal::crypto::pkcs11 {

inline constexpr std::string_view kDefaultModule = "/usr/lib/softhsm/libsofthsm2.so";

// A parsed RFC 7512 URI. Absent path attributes match anything; an ambiguous match is refused.
struct Uri {
  std::optional<std::string> token;         // CKA token label (CK_TOKEN_INFO.label)
  std::optional<std::string> manufacturer;  // CK_TOKEN_INFO.manufacturerID
  std::optional<std::string> serial;        // CK_TOKEN_INFO.serialNumber
  std::optional<std::string> model;         // CK_TOKEN_INFO.model
  std::optional<std::string> object;        // CKA_LABEL
  std::optional<Bytes> id;                  // CKA_ID (percent-decoded bytes)
  std::optional<std::string> type;          // "private" or "public"
  std::optional<std::string> pin_source;    // query: "file:/path"
  std::optional<std::string> module_path;   // query
};

// Strict parse: attribute names RFC 7512 defines but ironseal does not use, unknown names,
// duplicates, bad percent-encoding and `pin-value` are all kInvalidArgument.
Result<Uri> parse_uri(std::string_view uri);

// A Signer over the private key the URI names (kNotFound if the token or key is absent,
// kPermission for a wrong or locked PIN, or an unsafe PIN file).
Result<std::unique_ptr<Signer>> open_signer(std::string_view uri);

// The public key the URI names (from the public-key object; no login needed on SoftHSM).
Result<PublicKey> public_key(std::string_view uri);

// Generates a key pair inside the token: private key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE,
// CKA_SIGN, not CKA_EXTRACTABLE; public key CKA_VERIFY. Both carry CKA_LABEL = `object` (required)
// and the same CKA_ID (`id`, else 16 random bytes). Refuses (kInvalidArgument) if a key with that
// label or id already exists: a key is never replaced silently.
Result<PublicKey> generate_key(std::string_view uri, KeyType type);

}  // namespace ironseal::crypto::pkcs11
