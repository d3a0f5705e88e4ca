// Client side of TLS for the device's libcurl transfers (TUF metadata, chunk ranges, fleet API):
// whom to trust, and, for mutual TLS, who we are. One place, so every transfer a device makes
// verifies its server the same way and presents the same identity.
//
// The identity's private key is an EVP_PKEY handed in by its owner: a key file loaded with the
// usual 0600 check, or a TPM-resident key loaded through the tpm2 OpenSSL provider. It is given to
// each connection's SSL_CTX directly (libcurl's own key-file options would need the key's bytes
// in a file), so a key that cannot leave its TPM still authenticates.
//
// Thread-safety: a ClientIdentity is immutable after it is built and may be shared by the
// transfers of several threads (each SSL_CTX takes its own reference to the key).
#pragma once

#include <openssl/types.h>

#include <filesystem>
#include <memory>

#include "core/result.h"

namespace ironseal::net {

class ClientIdentity {
 public:
  // `chain_pem`: the client certificate, then any intermediate CA certificates (PEM);
  // `extra_chain_pem` (optional): more intermediates. `key`: the certificate's private key
  // (checked to match).
  static Result<ClientIdentity> create(const std::filesystem::path& chain_pem,
                                       std::shared_ptr<EVP_PKEY> key,
                                       const std::filesystem::path& extra_chain_pem = {});
  // The same with a PEM key file (0600, unencrypted), for file-held device keys.
  static Result<ClientIdentity> load(const std::filesystem::path& chain_pem,
                                     const std::filesystem::path& key_pem);

  // Installs certificate, chain and key into an SSL_CTX. False on an OpenSSL error.
  bool install(SSL_CTX* ctx) const;

 private:
  struct Parts;
  explicit ClientIdentity(std::shared_ptr<const Parts> parts) : parts_(std::move(parts)) {}
  std::shared_ptr<const Parts> parts_;
};

struct TlsClient {
  // PEM trust anchors for the server's certificate; empty: the system's CA store. Peer and host
  // name verification are always on; nothing here can turn them off.
  std::filesystem::path ca_file;
  // Presented when the server asks for a client certificate (mutual TLS); none if empty.
  std::shared_ptr<const ClientIdentity> identity;
};

// Applies `tls` to a libcurl easy handle (CURL*). `tls` must outlive the transfers made with it.
void apply(void* curl, const TlsClient& tls);

}  // namespace ironseal::net
