// Signer: the one interface through which ironseal signs anything (images, metadata, CSRs).
// A key file or an HSM (PKCS#11, crypto/pkcs11.h) backs it, so callers
// never learn where the private key lives. Signature semantics follow the key type, as for
// PrivateKey::sign().
#pragma once

#include <memory>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/key.h"

namespace ironseal::crypto {

class Signer {
 public:
  virtual ~Signer() = default;
  virtual KeyType key_type() const = 0;
  virtual const PublicKey& public_key() const = 0;
  virtual Result<Bytes> sign(ByteView message) const = 0;
};

// A Signer over a private key held in memory (loaded from a 0600 key file).
class KeyFileSigner final : public Signer {
 public:
  explicit KeyFileSigner(PrivateKey key) : key_(std::move(key)), public_(key_.public_key()) {}
  KeyType key_type() const override { return key_.type(); }
  const PublicKey& public_key() const override { return public_; }
  Result<Bytes> sign(ByteView message) const override { return key_.sign(message); }

 private:
  PrivateKey key_;
  PublicKey public_;
};

// Opens the signer a user named: a path to a PEM key file, or an RFC 7512 PKCS#11 URI
// ("pkcs11:token=...;object=...") for a key held in an HSM (crypto/pkcs11.h).
Result<std::unique_ptr<Signer>> open_signer(std::string_view key_ref);

}  // namespace ironseal::crypto
