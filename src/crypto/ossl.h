// The one RAII family for OpenSSL handles (Owned<T, T_free>), and the error text of OpenSSL's
// error queue. Every OpenSSL object ironseal creates is owned by one of these the moment it exists.
//
// Who may include this file or <openssl/...>: src/crypto; the X.509 code of src/pki (through
// pki/ossl_x509.h); the TLS set-up (src/net/tls_client.cc, src/fleet/tls.*); and the tpm2
// provider glue (src/tpm/device_key.*, src/tpm/bridge_key.cc). Everything else reaches OpenSSL
// through src/crypto's public headers (hash.h, key.h, verifier.h, ...). docs/decisions.md says
// why; tests/lint/openssl_boundary.sh keeps it so.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "crypto/key.h"

namespace ironseal::crypto::ossl {

// Frees an OpenSSL object with its own free function. One template for every handle type:
//   Owned<X509, X509_free> cert(d2i_X509(...));
// A free function that is a macro (OPENSSL_free, the sk_*_free family) gets a small function
// wrapper first (free_openssl_memory below; pki/ossl_x509.h for the stacks).
template <auto FreeFn>
struct Free {
  template <typename T>
  void operator()(T* p) const noexcept {
    FreeFn(p);
  }
};
template <typename T, auto FreeFn>
using Owned = std::unique_ptr<T, Free<FreeFn>>;

// Memory OpenSSL allocated for the caller (i2d_* output, BN_bn2hex, OSSL_ENCODER_to_data).
inline void free_openssl_memory(void* p) {
  OPENSSL_free(p);
}
template <typename T>
using OwnedMemory = Owned<T, free_openssl_memory>;

using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtxPtr = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using BioPtr = Owned<BIO, BIO_free>;
using BnPtr = Owned<BIGNUM, BN_free>;
using EcdsaSigPtr = Owned<ECDSA_SIG, ECDSA_SIG_free>;

// Drains OpenSSL's thread-local error queue into one line (empty if the queue was empty).
std::string drain_errors();

// A PEM password callback that never prompts: an encrypted PEM fails to load instead.
int no_passphrase(char* buf, int size, int rwflag, void* u);
// A read-only memory BIO over `text` (which must outlive it).
BioPtr mem_bio(std::string_view text);
// Everything written to a memory BIO, as text.
std::string bio_text(BIO* bio);

// Ed25519 or EC on P-256, else kUnsupported (the key types of PublicKey and PrivateKey).
Result<KeyType> classify(EVP_PKEY* pkey);

}  // namespace ironseal::crypto::ossl

namespace ironseal::crypto {

// What a PublicKey / PrivateKey / verifier holds: one EVP_PKEY, immutable once made.
struct PublicKey::Handle {
  ossl::PkeyPtr pkey;
};

}  // namespace ironseal::crypto
